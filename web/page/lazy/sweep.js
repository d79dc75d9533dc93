// The robustness sweep: for each value of one physical constant, a batch of greedy episodes played by the
// batched kernel (the kernel folder's forward_batch, or WebGPU's batched pipeline), and their mean return.
// No DOM and no imports: the page passes the env, the kernel's batch and the action rule in (it runs in
// Node as well), and a pause() that yields to the event loop between chunks so the page stays responsive.

/**
 * runSweep(opts) -> [{value, meanReturn}], one row per value, in order.
 * opts: {Env, spec, constants (the other constants, by name), param, values, seeds (one per episode: the
 *   episodes' initial states, the same at every value), batch: {size, forward(obs Float32Array[n*obsDim], n)
 *   -> Float32Array[n*nOut] (or a Promise of it)}, outputs (the manifest's), pause?: async () => void (awaited
 *   after each batched step), onValue?(row, index)}.
 * The agent acts greedily, as on the page (actions.js agentAction: the argmax of probs or q, or the action
 * mean clipped to the bounds); written out here so that the 2.5 million steps of a sweep allocate nothing.
 */
export async function runSweep({
  Env,
  spec,
  constants,
  param,
  values,
  seeds,
  batch,
  outputs,
  pause,
  onValue,
}) {
  const nOut = outputs.reduce((n, o) => n + o.size, 0);
  const head = outputs.find((o) => o.name !== 'value') ?? outputs[0];
  const at = outputs.slice(0, outputs.indexOf(head)).reduce((n, o) => n + o.size, 0);
  const discrete = spec.action.type === 'discrete',
    { low, high } = spec.action;
  const a = discrete ? null : new Array(head.size); // the box action, refilled for each env (step copies it)
  const rows = [],
    n = seeds.length,
    live = new Int32Array(n);
  for (let vi = 0; vi < values.length; vi++) {
    const value = values[vi];
    const envs = Array.from(seeds, (seed) => {
      const e = new Env({ ...constants, [param]: value });
      e.reset({ seed });
      return e;
    });
    const returns = new Float64Array(n),
      obsDim = envs[0].obsDim;
    const obs = new Float32Array(Math.min(batch.size, n) * obsDim);
    let nLive = n;
    for (let i = 0; i < n; i++) live[i] = i;
    while (nLive) {
      let kept = 0; // live[0..kept) are the episodes still running after this step (compacted in place)
      for (let c = 0; c < nLive; c += batch.size) {
        // batches of at most the kernel's capacity
        const m = Math.min(batch.size, nLive - c);
        for (let j = 0; j < m; j++) obs.set(envs[live[c + j]].obs, j * obsDim);
        let out = batch.forward(obs, m);
        if (out instanceof Promise) out = await out;
        for (let j = 0; j < m; j++) {
          const i = live[c + j],
            e = envs[i],
            o = j * nOut + at;
          let action = 0;
          if (discrete) {
            for (let k = 1; k < head.size; k++) if (out[o + k] > out[o + action]) action = k;
          } else {
            for (let k = 0; k < head.size; k++) a[k] = Math.min(Math.max(out[o + k], low[k]), high[k]);
            action = a;
          }
          const r = e.step(action);
          returns[i] += r.reward;
          // an episode ends as on the page (loop.js): terminated, the time limit, or a non-finite state
          let finite = true;
          for (let k = 0; k < e.state.length; k++) finite &&= Number.isFinite(e.state[k]);
          if (!r.terminated && !r.truncated && finite) live[kept++] = i;
        }
      }
      nLive = kept;
      if (pause) await pause();
    }
    for (const e of envs) e.close?.(); // an engine env's memory
    let sum = 0;
    for (const r of returns) sum += r;
    const row = { value, meanReturn: sum / n };
    rows.push(row);
    onValue?.(row, vi);
  }
  return rows;
}

/** n values evenly spaced from lo to hi (both included). */
export function linspace(lo, hi, n) {
  return Array.from({ length: n }, (_, i) => (n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1)));
}
