// Stepping: the env, advanced at spec.renderFps steps/s times the speed (or as fast as the backend allows at
// "max"), one policy forward pass per step; episodes, returns and bests. The page's other modules read S.
import { spec, Env } from 'virtual:env';
import loadEngine from 'virtual:engine';
import { agentAction, humanAction, idleBox } from './actions.js';
import { SEED_MAX } from './params.js';

// An env with an engine (MuJoCo, Box2D) loads it before the first env is made (core/engine.js: the build's
// virtual:engine is it for such an env, null for the others, whose pages then carry none of its code).
if (loadEngine) await loadEngine();
export let env = new Env();
/** New physics is a new Env (docs/design.md): the what-if panel swaps it in; every module sees the new one. */
export const swapEnv = (next) => {
  env = next;
};
/** Whether the env's physical constants differ from Gymnasium's (spec.constants): such episodes are marked. */
export const whatIf = () =>
  Object.entries(spec.constants ?? {}).some(([k, c]) => env.constants?.[k] !== c.value);
// An engine env holds engine memory (MuJoCo's MjData): freed when the page goes (not when it is only cached)
if (env.close)
  addEventListener('pagehide', (e) => {
    if (!e.persisted) env.close();
  });
export const box = spec.action.type === 'box';

const HUMAN_BEST_KEY = `rl-web-agent:human-best:${spec.id}`; // one best per env, kept across visits
function storedBest() {
  try {
    const v = localStorage.getItem(HUMAN_BEST_KEY);
    return v === null || !Number.isFinite(Number(v)) ? null : Number(v);
  } catch {
    // storage disabled (privacy settings, sandboxed iframe): bests last for the visit only
    return null;
  }
}

export const S = {
  policy: null,
  backend: null,
  sync: true,
  error: null,
  note: '',
  warn: false,
  mode: 'agent',
  running: true,
  speed: 1,
  seed0: 0,
  start: null,
  episode: 1,
  episodeReturn: 0,
  pushed: false,
  human: false,
  out: null,
  values: [],
  whatIf: false, // this episode ran (at least partly) with changed physics (whatif.js)
  lastAction: null,
  lastEnd: null,
  pendingReset: false,
  holdUntil: 0,
  firstActionMs: null,
  forwardMicros: null,
  kernelMicros: null,
  frames: 0,
  agentReturns: [],
  agentBest: null,
  agentSum: 0,
  humanBest: storedBest(),
  held: [], // discrete actions of the keys and buttons held now, oldest first
  mounted: [], // the lazy parts of the page's UI loaded so far, in order ('panel', 'input'): status().mounted
  boxAction: box ? idleBox(spec) : null, // the human's box action (sliders, keys)
  drag: null, // {handle, d}: a perturbation being dragged (the renderer previews it)
  recording: false, // a clip of the canvas is being recorded (lazy/share.js)
  failover: null, // set by the backend switcher: what to do when a backend fails mid-run
};

/** The seed of episode k (1-based): episodes are reproducible from the first one's seed. */
export const episodeSeed = (k = S.episode) => (S.seed0 + k - 1) % (SEED_MAX + 1);

function finishEpisode(reason) {
  const ret = S.episodeReturn;
  if (S.human) {
    if (!S.pushed && !S.whatIf && (S.humanBest === null || ret > S.humanBest)) {
      S.humanBest = ret;
      try {
        localStorage.setItem(HUMAN_BEST_KEY, String(ret));
      } catch {
        /* storage disabled */
      }
    }
  } else {
    S.agentReturns.push(ret);
    S.agentBest = S.agentBest === null ? ret : Math.max(S.agentBest, ret);
    S.agentSum += ret;
  }
  S.lastEnd = reason;
  S.pendingReset = true;
  S.holdUntil = S.speed === 'max' ? 0 : performance.now() + 700; // a moment to see how it ended
}

/** Start episode S.episode + 1 (or episode 1 again with `first`), from its seed. */
export function newEpisode(first = false) {
  S.episode = first ? 1 : S.episode + 1;
  env.reset({ seed: episodeSeed() });
  S.start = Array.from(env.state); // the episode's initial state: what its seed reproduces
  S.episodeReturn = 0;
  S.values = [];
  S.pushed = false;
  S.whatIf = whatIf();
  S.human = S.mode === 'human';
  S.pendingReset = false;
  S.out = null;
}

/** One environment step with the policy's output for the current observation. */
function apply(out) {
  S.out = out;
  const agent = S.mode === 'agent';
  const a = agent ? agentAction(spec, out) : humanAction(spec, S.held, S.boxAction, S.lastAction);
  if (S.firstActionMs === null && agent) {
    S.firstActionMs = performance.now();
    S.policy?.warm?.(); // what the first action did not need (core/policy.js)
  }
  if (!agent) S.human = true;
  const r = env.step(a);
  S.lastAction = a;
  S.episodeReturn += r.reward;
  if (Number.isFinite(out.value)) S.values.push(out.value);
  if (!env.state.every(Number.isFinite)) finishEpisode('non-finite state');
  else if (r.terminated) finishEpisode('terminated');
  else if (r.truncated) finishEpisode('truncated');
}

export let busy = false;
/** Lets another module hold the policy (timing it) so that no step runs meanwhile. */
export const setBusy = (b) => {
  busy = b;
};

/** Up to n steps before the deadline; awaits only when the backend's forward() is async. */
export async function run(n, deadline) {
  busy = true;
  try {
    for (let i = 0; i < n && !S.pendingReset && performance.now() < deadline; i++) {
      const policy = S.policy,
        t0 = performance.now();
      let out = policy.forward(env.obs);
      if (out instanceof Promise) {
        out = await out;
        if (policy.lost) throw new Error(`WebGPU device lost (${policy.lost})`);
        if (policy !== S.policy) break; // the backend changed while we waited
      }
      if (!S.sync) {
        // async or slow backends: time each step's call (a running average)
        const us = 1000 * (performance.now() - t0);
        S.forwardMicros = 0.9 * (S.forwardMicros ?? us) + 0.1 * us;
      }
      apply(out);
    }
  } catch (err) {
    S.failover(err);
  } finally {
    busy = false;
  }
}

/** One step, paused after it; at an episode's end, the next episode instead. */
export function stepOnce() {
  S.running = false;
  if (S.pendingReset) newEpisode();
  else if (S.policy && !busy) run(1, Infinity);
}

let last = 0,
  acc = 0;
/** Advance the simulation for one animation frame at time t (ms). */
export function tick(t) {
  const dt = last ? Math.min(t - last, 100) : 0;
  last = t;
  S.frames++;
  if (S.pendingReset && S.running && t >= S.holdUntil) newEpisode();
  if (!S.running || !S.policy || busy || S.pendingReset) return;
  if (S.speed === 'max') {
    acc = 0;
    run(Infinity, t + 10);
  } else {
    const rate = spec.renderFps * S.speed; // steps per second
    acc = Math.min(acc + (dt / 1000) * rate, 1 + rate / 10); // after a stall, catch up at most 0.1 s
    const n = Math.floor(acc);
    acc -= n;
    if (n) run(n, t + 12);
  }
}
