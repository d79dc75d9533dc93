// The policy panel, the lazy half (core/panel.js loads it once the agent has acted): what the policy thinks (each
// discrete action's probability or Q-value, or each box dimension as a signed bar between its bounds), the value
// estimate over the episode, returns and bests (with the solved threshold), the backend and its time per forward
// pass (measured here, after the first action: it must not delay it). Built from the spec; the page's pieces are passed in (importing them would split the page's own modules
// into a chunk it fetches before its first action).

/**
 * Build the rows for the kernel's outputs; returns {update(dpr), resize(dpr), calibrate(t)} (core/panel.js calls
 * them; calibrate once a frame: the time of one forward pass, shown here).
 */
export function mountPanel(ctx) {
  const { spec, S, box, $, el, fmt, outputs, getEnv, isBusy, setBusy, wasmKernel, fail } = ctx;
  const us = (x) =>
    x === null
      ? '–'
      : x < 10
        ? `${x.toFixed(2)} µs`
        : x < 1000
          ? `${Math.round(x)} µs`
          : `${(x / 1000).toFixed(2)} ms`;

  let head = 'probs',
    meters = [],
    spark,
    sctx,
    sparkKey = '';

  function build() {
    head = outputs.find((o) => o.name !== 'value')?.name ?? 'probs';
    if (head === 'logits') head = 'probs'; // the backends add probs (core/backends/common.js split)
    const names = spec.actionNames ?? [];
    const n = box ? spec.action.shape.reduce((a, b) => a * b, 1) : spec.action.n;
    $('ph').textContent =
      head === 'q'
        ? 'What the policy thinks (Q-values: it acts by the largest)'
        : box
          ? 'What the policy does (the action mean, clipped to the bounds)'
          : 'What the policy thinks';
    $('heads').classList.toggle('box', box); // room for "1.00 (mean 1.30)"
    for (let i = 0; i < n; i++) {
      const name = names[i] ?? String(i);
      const bar = el('i');
      const meter = el('span', { className: box ? 'meter signed' : 'meter' }, bar);
      const out = el('output', { textContent: '–' });
      $('vlabel').before(
        el('span', { textContent: head === 'probs' ? `P(${name})` : head === 'q' ? `Q(${name})` : name }),
        meter,
        out,
      );
      meters.push({ bar, out, shown: '' });
      if (box) {
        // the zero line, where the bounds straddle it
        const { low, high } = spec.action,
          z = (0 - low[i]) / (high[i] - low[i]);
        if (z > 0 && z < 1) {
          const zero = el('b');
          zero.style.left = `${100 * z}%`;
          meter.append(zero);
        }
      }
    }
    const hasValue = outputs.some((o) => o.name === 'value');
    for (const id of ['vlabel', 'spark', 'value']) $(id).hidden = !hasValue;
    spark = $('spark');
    sctx = spark.getContext('2d');
    $('solved').textContent = Number.isFinite(spec.solved) ? `solved at ≥ ${spec.solved}` : '';
  }

  const shown = {}; // last text per element id: touch the DOM only on change
  const text = (id, s) => {
    if (shown[id] !== s) $(id).textContent = shown[id] = s;
  };

  function heads() {
    const v = S.out?.[head];
    if (!v) return;
    let lo = 0,
      span = 1;
    if (head === 'q') {
      // Q-values have no fixed scale: bars relative to this step's smallest and largest
      lo = Math.min(...v);
      span = Math.max(...v) - lo || 1;
    }
    const { low, high } = spec.action;
    meters.forEach((m, i) => {
      let x = v[i],
        s = Number.isFinite(x) ? x.toFixed(head === 'probs' ? 3 : 2) : '–';
      if (box && Number.isFinite(x)) {
        // the action applied is the mean clipped to the bounds (actions.js): print that, the mean where it differs
        x = Math.min(Math.max(x, low[i]), high[i]);
        const a = x.toFixed(2);
        s = a === s ? s : `${a} (mean ${s})`;
      }
      if (m.shown === s) return;
      m.shown = m.out.textContent = s;
      if (box) {
        const w = high[i] - low[i];
        const at = (y) => Math.min(Math.max((y - low[i]) / w, 0), 1);
        const z = at(0),
          p = Number.isFinite(x) ? at(x) : z;
        m.bar.style.left = `${100 * Math.min(z, p)}%`;
        m.bar.style.width = `${100 * Math.abs(p - z)}%`;
      } else m.bar.style.transform = `scaleX(${Number.isFinite(x) ? Math.max(0, (x - lo) / span) : 0})`;
    });
  }

  /** Refresh the panel's numbers from S (touches only what changed). */
  function update(dpr) {
    heads();
    text('value', S.out && Number.isFinite(S.out.value) ? S.out.value.toFixed(2) : '–');
    text('ret', fmt(S.episodeReturn));
    const n = S.agentReturns.length,
      avg = n ? S.agentSum / n : null;
    text('best', n ? `${fmt(S.agentBest)} / ${fmt(avg)} (${n} ep.)` : '–');
    $('solved').classList.toggle('met', n > 0 && avg >= spec.solved);
    text('human', fmt(S.humanBest));
    text('be', S.policy ? S.backend : S.error ? 'failed' : 'loading…');
    text(
      'fwd',
      S.policy?.slow
        ? `${S.backend} ${us(S.forwardMicros)} · wasm kernel ${us(S.kernelMicros)}`
        : us(S.forwardMicros),
    );
    text('note', S.note);
    $('note').classList.toggle('warn', S.warn);
    const key = `${S.episode}:${S.values.length}:${spark.width}`;
    if (key !== sparkKey && !spark.hidden) sparkline(key, dpr);
  }

  /** Size the sparkline's canvas to its box at this device pixel ratio. */
  function resize(dpr) {
    const r = spark.getBoundingClientRect();
    spark.width = Math.round(r.width * dpr);
    spark.height = Math.round(r.height * dpr);
    sparkKey = '';
  }

  function sparkline(key, dpr) {
    sparkKey = key;
    const w = spark.width,
      h = spark.height,
      v = S.values;
    sctx.clearRect(0, 0, w, h);
    if (v.length < 2) return;
    let lo = Infinity,
      hi = -Infinity;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const span = hi - lo || 1,
      pad = 2 * dpr;
    sctx.strokeStyle = '#3565a8';
    sctx.lineWidth = 1.5 * dpr;
    sctx.beginPath();
    for (let i = 0; i < v.length; i++) {
      // the x axis spans the whole time limit
      const x = (i / spec.maxSteps) * w,
        y = h - pad - ((v[i] - lo) / span) * (h - 2 * pad);
      i ? sctx.lineTo(x, y) : sctx.moveTo(x, y);
    }
    sctx.stroke();
  }

  /**
   * Time of one forward pass in µs: the median of bursts of many calls, as one call is far below
   * performance.now()'s resolution (100 µs without cross-origin isolation) and a busy machine preempts.
   */
  const mainBursts = [],
    kernelBursts = [];
  async function calibrate(policy, nBursts, sync = S.sync, bursts = mainBursts) {
    const obs = Float32Array.from(getEnv().obs);
    for (let i = 0; sync && i < 50; i++) policy.forward(obs); // past the baseline compiler's first calls
    const calls = sync ? 200 : 3;
    for (let b = 0; b < nBursts; b++) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) {
        const r = policy.forward(obs);
        if (!sync) await r;
      }
      bursts.push((1000 * (performance.now() - t0)) / calls);
    }
    bursts.splice(0, bursts.length - 9);
    return bursts.slice().sort((a, b) => a - b)[bursts.length >> 1];
  }

  // Forward-pass timing waits until after the first action (it must not delay it); on synchronous backends
  // one more burst (about 1 ms) every 2 s lets the median settle on the JIT's optimised code. Slow backends
  // (python) time their own steps; the kernel is timed beside them on the same observations.
  let lastCalib = 0,
    timed = null;
  /** Called once per frame at time t (ms). */
  function calibrateAt(t) {
    const p = S.policy;
    if (!p || isBusy() || S.firstActionMs === null) return;
    if (p !== timed) mainBursts.length = 0; // a new policy: its own bursts
    timed = p;
    let job;
    if (p.slow) {
      const kernelNow = wasmKernel();
      if (!kernelNow || (S.kernelMicros !== null && t - lastCalib < 2000)) return;
      job = calibrate(kernelNow, S.kernelMicros === null ? 3 : 1, true, kernelBursts).then((us) => {
        if (p === S.policy) S.kernelMicros = us;
      });
    } else {
      if (S.forwardMicros !== null && !(S.sync && t - lastCalib > 2000)) return;
      job = calibrate(p, S.forwardMicros === null ? 3 : 1).then((us) => {
        if (p === S.policy) S.forwardMicros = us;
      });
    }
    lastCalib = t;
    setBusy(true);
    job.catch(fail).finally(() => setBusy(false));
  }

  build();
  return { update, resize, calibrate: calibrateAt };
}
