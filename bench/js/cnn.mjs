// Section `cnn` of the bench, for Node and Chromium alike: a convolutional policy's decision on real Atari
// frames. runCnn(cfg, env) -> one plain object (bench/cnn.py reads it).
//   cfg: {io, frames, screens, preRef, wasm: {f32, int8}, onnx (or null), webgpu ({module, weights} of the
//        int8 kernel's WebGPU files, browser only, or null), preprocess, quick}: where each file
//        is (paths in Node, URLs in the browser). io: {n, image: [C, H, W], screen: [H, W], nAct, nOut,
//        ref: {f32: [[...]], int8: [[...]]}} (PyTorch's outputs, float64 arithmetic, on the float32 and on the
//        dequantized int8 weights); frames: uint8 [n, C, H, W], the policy's inputs; screens: uint8
//        [n + C - 1, 2, H, W], the two gray screens a 'gymnasium-atari' step max-pools; preRef: uint8
//        [n + C - 1, 84, 84], Gymnasium's frames from them (np.maximum, cv2.resize INTER_AREA).
//   env: {get(where, 'json' | 'bytes'), loadOrt() -> the onnxruntime-web module, cpu() -> CPU ms used so
//        far by this process, or null (a browser page has no such clock)}
// Every runtime's outputs are checked against PyTorch's before it is timed, and our preprocessing's frames
// against Gymnasium's, so that no row times a wrong model or a wrong picture.

import { webgpuPeer } from './webgpu_peer.mjs';

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const OPTS = {
  full: { warmupMs: 500, repMs: 20, reps: 41 },
  quick: { warmupMs: 200, repMs: 10, reps: 21 },
};

// calls of f per repetition so that one lasts ~repMs (performance.now is coarse in a browser page that is
// not cross-origin isolated: 100 us), after warmupMs of warm-up
async function calibrate(f, opts) {
  const t0 = now();
  let calls = 0;
  while (now() - t0 < opts.warmupMs || calls < 3) await f(calls++);
  return Math.max(1, Math.round(opts.repMs / Math.max((now() - t0) / calls, 1e-3)));
}

// Every function of fns ({name: f(i), sync or async: an await costs a microtask, nothing next to a
// millisecond}) timed in turn, repetition by repetition (a, b, c, a, b, c, ...), so that a burst of load from
// another tenant of a shared machine lands on one repetition of each rather than on all of one. Returns {name:
// {ms: median wall ms per call, p90_ms, cpu_ms: median CPU ms per call where cpu() exists (Node: not
// inflated by the process waiting for a core), inner, reps, wall: [per repetition]}}.
export async function timeRoundRobin(fns, opts, cpu = null) {
  const inner = {};
  for (const [k, f] of Object.entries(fns)) inner[k] = await calibrate(f, opts);
  const wall = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  const cpuT = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let r = 0; r < opts.reps; r++) {
    for (const [k, f] of Object.entries(fns)) {
      const c0 = cpu?.(),
        s = now();
      for (let i = 0; i < inner[k]; i++) await f(r * inner[k] + i);
      wall[k].push((now() - s) / inner[k]);
      if (cpu) cpuT[k].push((cpu() - c0) / inner[k]);
    }
  }
  const out = {};
  for (const k of Object.keys(fns)) {
    const sorted = [...wall[k]].sort((a, b) => a - b);
    out[k] = {
      ms: median(wall[k]),
      p90_ms: sorted[Math.floor(0.9 * sorted.length)],
      cpu_ms: cpu ? median(cpuT[k]) : null,
      inner: inner[k],
      reps: opts.reps,
      wall: wall[k],
    };
  }
  return out;
}

// a / b from the same round of timeRoundRobin: the median of the per-repetition ratios
const paired = (a, b) => median(a.wall.map((x, r) => x / b.wall[r]));

function maxAbsDiff(got, ref, n) {
  let e = 0;
  for (let j = 0; j < n; j++) e = Math.max(e, Math.abs(got[j] - ref[j]));
  return e;
}

const argmax = (a, n) => {
  let k = 0;
  for (let j = 1; j < n; j++) if (a[j] > a[k]) k = j;
  return k;
};

// policy.wasm of a convolutional policy (rl_web_agent/compiler/cnn.py): uint8 frames at input_ptr(),
// forward(), float32 outputs at output_ptr()
async function oursPeer(bytes, inBytes, nOut) {
  let t = now();
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const instantiateMs = now() - t;
  const e = instance.exports;
  const inp = new Uint8Array(e.memory.buffer, e.input_ptr(), inBytes);
  const out = new Float32Array(e.memory.buffer, e.output_ptr(), nOut);
  const res = new Float32Array(nOut);
  t = now();
  e.forward(); // the first forward() widens f16/int8 weights into float32: timed on its own
  const firstMs = now() - t;
  return {
    instantiateMs,
    firstMs,
    forward(frame) {
      inp.set(frame);
      e.forward();
      res.set(out);
      return res;
    },
  };
}

// the int8 kernel's WGSL, through the kernel bench's WebGPU peer: Chromium runs WebGPU on SwiftShader here, a CPU
// implementation, so its time says nothing about a GPU
async function oursWebgpu({ module, weights }) {
  const t = now();
  const p = await webgpuPeer(module, weights);
  return { createMs: now() - t, adapter: p.adapterInfo, forward: (frame) => p.single(frame) };
}

async function ortPeer(ort, onnxBytes, image) {
  ort.env.wasm.numThreads = 1; // single thread: what a page without cross-origin isolation gets anyway
  const t = now();
  const session = await ort.InferenceSession.create(onnxBytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const createMs = now() - t;
  const shape = [1, ...image];
  return {
    createMs,
    async forward(frame) {
      const r = await session.run({ frames: new ort.Tensor('uint8', frame, shape) });
      return r.out.data;
    },
  };
}

export async function runCnn(cfg, env) {
  const opts = cfg.quick ? OPTS.quick : OPTS.full;
  const io = await env.get(cfg.io, 'json');
  const { n, image, screen, nAct, nOut } = io;
  const inBytes = image[0] * image[1] * image[2];
  const frames = await env.get(cfg.frames, 'bytes');
  const screens = await env.get(cfg.screens, 'bytes');
  const preRef = await env.get(cfg.preRef, 'bytes');
  const frame = (i) => frames.subarray((i % n) * inBytes, ((i % n) + 1) * inBytes);
  const pre = await import(cfg.preprocess);
  const out = { peers: {}, decision: {}, paired: {} };

  // --- the forward pass of each runtime, checked against PyTorch -------------------------------------------------
  const peers = {};
  const make = {
    ours_f32: async () => oursPeer(await env.get(cfg.wasm.f32, 'bytes'), inBytes, nOut),
    ours_int8: async () => oursPeer(await env.get(cfg.wasm.int8, 'bytes'), inBytes, nOut),
    ort: async () => ortPeer(await env.loadOrt(), await env.get(cfg.onnx, 'bytes'), image),
    ours_webgpu: async () => oursWebgpu(cfg.webgpu),
  };
  for (const [name, mk] of Object.entries(make)) {
    if ((name === 'ort' && !cfg.onnx) || (name === 'ours_webgpu' && !cfg.webgpu)) continue;
    try {
      const p = await mk();
      const ref = name === 'ours_int8' || name === 'ours_webgpu' ? io.ref.int8 : io.ref.f32;
      let diff = 0,
        diffF32 = 0,
        agree = 0;
      for (let i = 0; i < n; i++) {
        const y = await p.forward(frame(i));
        diff = Math.max(diff, maxAbsDiff(y, ref[i], nOut));
        diffF32 = Math.max(diffF32, maxAbsDiff(y, io.ref.f32[i], nOut));
        agree += argmax(y, nAct) === argmax(io.ref.f32[i], nAct) ? 1 : 0;
      }
      peers[name] = p;
      out.peers[name] = {
        max_abs_diff: diff,
        max_abs_diff_f32: diffF32,
        greedy_agree_f32: agree,
        checked: n,
        first_ms: p.firstMs,
        instantiate_ms: p.instantiateMs ?? p.createMs,
        ...(p.adapter !== undefined ? { adapter: p.adapter } : {}),
      };
    } catch (e) {
      out.peers[name] = { error: String(e?.message || e).split('\n')[0] };
    }
  }

  // --- our preprocessing: one 'gymnasium-atari' step, checked against Gymnasium's frames --------------
  const [sh, sw] = screen;
  const steps = n + image[0] - 1,
    sBytes = sh * sw,
    fBytes = pre.FRAME;
  const resize = new pre.AreaResize(sh, sw, pre.SIZE, pre.SIZE, 1);
  const pooled = new Uint8Array(sBytes),
    small = new Uint8Array(fBytes);
  const stack = new pre.FrameStack('repeat', image[0], fBytes);
  const preprocess = (i) => {
    const s = (i % steps) * 2 * sBytes;
    pre.maxPool(screens.subarray(s, s + sBytes), screens.subarray(s + sBytes, s + 2 * sBytes), pooled);
    resize.resize(pooled, small);
    return stack.push(small);
  };
  let badPixels = 0,
    badStacks = 0;
  for (let i = 0; i < steps; i++) {
    const s = i * 2 * sBytes;
    pre.maxPool(screens.subarray(s, s + sBytes), screens.subarray(s + sBytes, s + 2 * sBytes), pooled);
    resize.resize(pooled, small);
    const want = preRef.subarray(i * fBytes, (i + 1) * fBytes);
    for (let j = 0; j < fBytes; j++) badPixels += small[j] !== want[j] ? 1 : 0;
    const obs = i === 0 ? stack.reset(small) : stack.push(small);
    if (i >= image[0] - 1) {
      const f = frame(i - image[0] + 1);
      for (let j = 0; j < inBytes; j++)
        if (obs[j] !== f[j]) {
          badStacks++;
          break;
        }
    }
  }
  out.preprocess = {
    frames_checked: steps,
    pixels_differing: badPixels,
    stacks_checked: n,
    stacks_differing: badStacks,
  };

  // --- timing, all in one round robin: each forward pass, our preprocessing, each decision (the step's
  // preprocessing, the forward pass, the greedy action) -------------------------------------------------
  const fns = { preprocess };
  for (const [name, p] of Object.entries(peers)) {
    fns[`forward:${name}`] = (i) => p.forward(frame(i));
    fns[`decision:${name}`] = (i) => {
      const y = p.forward(preprocess(i));
      return y instanceof Promise ? y.then((v) => argmax(v, nAct)) : argmax(y, nAct);
    };
  }
  const t = await timeRoundRobin(fns, opts, env.cpu);
  const strip = ({ wall, ...rest }) => rest;
  Object.assign(out.preprocess, strip(t.preprocess));
  for (const name of Object.keys(peers)) {
    Object.assign(out.peers[name], strip(t[`forward:${name}`]));
    out.decision[name] = strip(t[`decision:${name}`]);
  }
  const pairs = [
    ['int8_over_f32', 'ours_int8', 'ours_f32'],
    ['f32_over_ort', 'ours_f32', 'ort'],
    ['int8_over_ort', 'ours_int8', 'ort'],
    ['webgpu_over_int8', 'ours_webgpu', 'ours_int8'],
  ];
  for (const [key, a, b] of pairs)
    if (peers[a] && peers[b]) out.paired[key] = paired(t[`forward:${a}`], t[`forward:${b}`]);
  return out;
}
