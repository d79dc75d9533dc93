// window.app, the lazy half (core/api.js installs it once the agent has acted or the page has failed): the page
// API's read-only status, plus documented hooks for tests and embedding. The page's pieces are passed in
// (importing them would split the page's own modules into a chunk it fetches before its first action).
const copy = (v) => (v === null || v === undefined ? null : typeof v === 'number' ? v : Array.from(v));

/** Install window.app; ctx: the page's pieces (core/api.js), with `params`, the validated query parameters. */
export function installApi(ctx) {
  const { spec, S, getEnv, episodeSeed, newEpisode, stepOnce, drag, setMode, setRunning, setSpeed } = ctx;
  const { switchBackend, recording, shareLink, BACKENDS, setPhysics, sweep, params } = ctx;
  const { compareStatus, currentSnapshot, snapshotList, timeline } = ctx;
  window.app = Object.freeze({
    /** Contract 3's status (a read-only snapshot), plus fields for tests and embedding. */
    status: () => ({
      backend: S.backend,
      episode: S.episode,
      step: getEnv().steps,
      episodeReturn: S.episodeReturn,
      bestReturn: S.agentBest,
      firstActionMs: S.firstActionMs,
      forwardMicros: S.forwardMicros,
      error: S.error,
      env: spec.id,
      returns: S.agentReturns.slice(),
      kernelMicros: S.kernelMicros,
      mode: S.mode,
      running: S.running,
      speed: S.speed,
      lastAction: copy(S.lastAction),
      lastEnd: S.lastEnd,
      pushed: S.pushed,
      note: S.note,
      frames: S.frames,
      state: Array.from(getEnv().state),
      seed: episodeSeed(),
      start: S.start.slice(),
      probs: copy(S.out?.probs),
      q: copy(S.out?.q),
      mean: copy(S.out?.mean),
      value: Number.isFinite(S.out?.value) ? S.out.value : null, // none until the lazy kernel is there
      agentReturns: S.agentReturns.slice(),
      humanBest: S.humanBest,
      embed: params.embed,
      paramNotes: params.notes.slice(),
      recording: recording(),
      engineBytes: getEnv().engineBytes ?? null, // an engine env's memory (MuJoCo), null for the others
      saliency: copy(S.saliency), // d decision / d obs for the action taken (lazy/saliency.js), obs_dim numbers
      physics: { ...getEnv().constants },
      whatIf: S.whatIf, // constants in force; this episode ran with changed ones
      snapshot: currentSnapshot(),
      compare: compareStatus(), // training timeline: snapshot playing, side by side
      mounted: S.mounted.slice(), // the UI's lazy parts loaded (after the first action): 'panel', 'input'
    }),
    // Hooks (all outside Gymnasium's dynamics except play/pause/step/reset/speed/mode/backend):
    /** Grab what is at world pixel p0 (y down) and drag it to p1, as the mouse does; false if nothing is there. */
    drag: (p0, p1) => drag(p0.map(Number), p1.map(Number)),
    /** Overwrite the env's state (Gymnasium's layout); the episode is marked as pushed. */
    setState: (s) => {
      getEnv().setState(Float64Array.from(s, Number));
      S.pushed = true;
    },
    play: () => setRunning(true),
    pause: () => setRunning(false),
    step: stepOnce,
    reset: () => newEpisode(),
    setSpeed: (v) => setSpeed(String(v)),
    setMode,
    setBackend: (name) => switchBackend(name),
    shareLink: () => shareLink(),
    /** New physical constants by name (a new Env from the current state) -> Promise of the constants in force. */
    setPhysics,
    /** Mean return of `episodes` greedy episodes at each value of `param` -> Promise of [{value, meanReturn}]. */
    sweep,
    /** Training snapshots [{id, steps}]; useSnapshot(id) plays one; compare(a, b) plays two side by side from the
     * same state (Promises; timeline.js); compareDrag(i, p0, p1) pushes both as a drag on side i's canvas would. */
    snapshots: snapshotList,
    useSnapshot: (id) => timeline().then((t) => t.useSnapshot(id)),
    compare: (a, b) => timeline().then((t) => t.compare(a, b)),
    compareDrag: (i, p0, p1) => timeline().then((t) => t.pushBoth(i, p0.map(Number), p1.map(Number))),
    backends: BACKENDS,
    /** The env's spec (docs/design.md), as plain data. */
    spec: JSON.parse(JSON.stringify(spec)),
  });
}
