// Latency protocol shared by Node and Chromium: check the outputs against PyTorch, warm up, then time
// repetitions of `inner` calls each (inner calibrated so one repetition lasts ~repMs) and take the median.

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function maxErr(got, ref) {
  let e = 0;
  for (let j = 0; j < ref.length; j++)
    e = Math.max(e, Math.abs(got[j] - ref[j]) / Math.max(1, Math.abs(ref[j])));
  return e;
}

async function timeLoop(call, opts) {
  const { warmupMs, repMs, reps } = opts;
  let sink = 0;
  const t0 = now();
  let calls = 0;
  while (now() - t0 < warmupMs || calls < 3) {
    sink += (await call(calls)) ? 1 : 0;
    calls++;
  }
  const per = (now() - t0) / calls;
  const inner = Math.max(1, Math.round(repMs / Math.max(per, 1e-4)));
  const times = [];
  for (let r = 0; r < reps; r++) {
    const s = now();
    for (let i = 0; i < inner; i++) sink += (await call(i)) ? 1 : 0;
    times.push((now() - s) / inner);
  }
  return { ms: median(times), inner, reps, sink };
}

function syncLoop(call, opts) {
  // Same as timeLoop without `await`: awaiting a sync call would add a microtask per call to its time.
  const { warmupMs, repMs, reps } = opts;
  let sink = 0;
  const t0 = now();
  let calls = 0;
  while (now() - t0 < warmupMs || calls < 3) {
    sink += call(calls)[0];
    calls++;
  }
  const per = (now() - t0) / calls;
  const inner = Math.max(1, Math.round(repMs / Math.max(per, 1e-5)));
  const times = [];
  for (let r = 0; r < reps; r++) {
    const s = now();
    for (let i = 0; i < inner; i++) sink += call(i)[0];
    times.push((now() - s) / inner);
  }
  return { ms: median(times), inner, reps, sink };
}

// io = {obs: [[...]], ref: [[...]]}; returns {single_us, batch_us_per_obs, batch, max_err, ...}.
export async function measurePeer(peer, io, opts) {
  const obsDim = io.obs[0].length,
    nOut = io.ref[0].length;
  peer.init(obsDim, nOut);
  const N = io.obs.length;
  const obs = io.obs.map((o) => Float32Array.from(o));
  const B = Math.min(peer.batchSize || 256, N);
  const flat = new Float32Array(B * obsDim);
  for (let i = 0; i < B; i++) flat.set(obs[i], i * obsDim);

  // Agreement with PyTorch: the same network and weights, or the timing means nothing.
  let errSingle = 0,
    errBatch = 0;
  const nCheck = Math.min(N, opts.check ?? 256);
  for (let i = 0; i < nCheck; i++) {
    const y = peer.async ? await peer.single(obs[i]) : peer.single(obs[i]);
    errSingle = Math.max(errSingle, maxErr(y, io.ref[i]));
  }
  if (peer.batch) {
    const yb = Float32Array.from(peer.async ? await peer.batch(flat, B) : peer.batch(flat, B));
    for (let i = 0; i < B; i++)
      errBatch = Math.max(errBatch, maxErr(yb.subarray(i * nOut, (i + 1) * nOut), io.ref[i]));
  }

  const pick = (i) => obs[i % N];
  const single = peer.async
    ? await timeLoop((i) => peer.single(pick(i)), opts)
    : syncLoop((i) => peer.single(pick(i)), opts);
  const batch = !peer.batch
    ? null
    : peer.async
      ? await timeLoop(() => peer.batch(flat, B), opts)
      : syncLoop(() => peer.batch(flat, B), opts);
  return {
    name: peer.name,
    single_us: single.ms * 1000,
    batch_us_per_obs: batch && (batch.ms * 1000) / B,
    batch: batch && B,
    max_err: Math.max(errSingle, errBatch),
    inner_single: single.inner,
    inner_batch: batch ? batch.inner : null,
    reps: opts.reps,
  };
}

export const OPTS = {
  full: { warmupMs: 300, repMs: 10, reps: 31 },
  quick: { warmupMs: 100, repMs: 5, reps: 9 },
};

// Ours against the hand-written C baseline with their repetitions interleaved (A, B, A, B, ...), so that a
// burst of load on a shared machine slows both sides of a pair: the median of the per-pair ratios is far
// steadier than a ratio of two medians taken seconds apart. peers: name -> the initialised peer; results:
// measurePeer's, name -> result. Returns {single: ours single / C single, batch_vs_single: ours batch per obs
// / C single}, or null unless both 'ours' and 'baseline' were measured.
export function pairedRatios(peers, results, io, opts) {
  if (['ours', 'baseline'].some((n) => !results[n] || results[n].error)) return null;
  const ours = peers.ours,
    base = peers.baseline;
  const obsDim = io.obs[0].length;
  const obs = io.obs.map((o) => Float32Array.from(o)),
    N = obs.length;
  const B = Math.min(ours.batchSize, N),
    flat = new Float32Array(B * obsDim);
  for (let i = 0; i < B; i++) flat.set(obs[i], i * obsDim);
  let sink = 0;
  const single = (p) => (i) => {
    sink += p.single(obs[i % N])[0];
  };
  const batch = (p) => () => {
    sink += p.batch(flat, B)[0] / B;
  };
  const calibrate = (f) => {
    // calls per repetition of ~repMs, after warmupMs of warm-up
    const t0 = now();
    let calls = 0;
    while (now() - t0 < opts.warmupMs || calls < 3) f(calls++);
    return Math.max(1, Math.round(opts.repMs / Math.max((now() - t0) / calls, 1e-5)));
  };
  const rep = (f, inner) => {
    const s = now();
    for (let i = 0; i < inner; i++) f(i);
    return (now() - s) / inner;
  };
  const pair = (fa, fb, perA = 1) => {
    const ia = calibrate(fa),
      ib = calibrate(fb),
      ratios = [];
    for (let r = 0; r < opts.reps; r++) ratios.push(rep(fa, ia) / perA / rep(fb, ib));
    return median(ratios);
  };
  const out = {
    single: pair(single(ours), single(base)),
    batch_vs_single: pair(batch(ours), single(base), B),
  };
  out.sink = sink;
  return out;
}
