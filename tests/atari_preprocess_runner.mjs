// The JS side of tests/test_atari_preprocess.py: web/page/envs/atari/preprocess.js behind one JSON request on
// stdin and one JSON answer on stdout. Frames travel through files (raw uint8, tens of MB: too big for JSON).
//
// {gray: {in, out}}             in: N RGB pixels; out: grayCv2 of them (N bytes)
// {warp: {in, out, n}}          in: n screens of 210x160x3; out: warpSb3 of each, then warpCleanrl (n*84*84 each)
// {episodes: [{in, n, out}]}    in: n = 1 + 4k consecutive screens from a reset (one per emulator frame); out:
//                               per pipeline (sb3-atari, then cleanrl-atari) the k + 1 stacked inputs the
//                               policy sees: reset's, then one per 4-frame skip (the max of its last two)
// {bench: {in, n, repeat}}      median microseconds per screen of each pipeline, and of maxPool
import { readFileSync, writeFileSync } from 'node:fs';
import {
  FRAME,
  FrameStack,
  PIPELINES,
  SCREEN_H,
  SCREEN_W,
  grayCv2,
  maxPool,
  warpCleanrl,
  warpSb3,
} from '../web/page/envs/atari/preprocess.js';

const SCREEN = SCREEN_H * SCREEN_W * 3;
const req = JSON.parse(readFileSync(0, 'utf8'));
const read = (path) => new Uint8Array(readFileSync(path));
const screen = (all, i) => all.subarray(i * SCREEN, (i + 1) * SCREEN);
const answer = {};

if (req.gray) {
  const rgb = read(req.gray.in),
    n = rgb.length / 3,
    out = new Uint8Array(n);
  grayCv2(rgb, out);
  writeFileSync(req.gray.out, out);
}

if (req.warp) {
  const { n } = req.warp,
    all = read(req.warp.in),
    out = new Uint8Array(2 * n * FRAME);
  for (let i = 0; i < n; i++) {
    warpSb3(screen(all, i), out.subarray(i * FRAME, (i + 1) * FRAME));
    warpCleanrl(screen(all, i), out.subarray((n + i) * FRAME, (n + i + 1) * FRAME));
  }
  writeFileSync(req.warp.out, out);
}

for (const ep of req.episodes ?? []) {
  // as the page will run it: MaxAndSkipEnv's pooled screen, the pipeline's warp, the stack
  const all = read(ep.in),
    k = (ep.n - 1) / 4,
    pooled = new Uint8Array(SCREEN),
    frame = new Uint8Array(FRAME),
    out = [];
  for (const name of ['sb3-atari', 'cleanrl-atari']) {
    const { warp, pad } = PIPELINES[name],
      stack = new FrameStack(pad);
    out.push(stack.reset(warp(screen(all, 0), frame)).slice());
    for (let s = 1; s <= k; s++) {
      maxPool(screen(all, 4 * s - 1), screen(all, 4 * s), pooled);
      out.push(stack.push(warp(pooled, frame)).slice());
    }
  }
  writeFileSync(ep.out, Buffer.concat(out));
}

if (req.bench) {
  const { n, repeat } = req.bench,
    all = read(req.bench.in),
    frame = new Uint8Array(FRAME),
    pooled = new Uint8Array(SCREEN);
  const median = (f) => {
    const t = [];
    for (let r = 0; r < repeat; r++) {
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        f(i);
        t.push(Number(process.hrtime.bigint() - t0) / 1e3);
      }
    }
    t.sort((a, b) => a - b);
    return t[t.length >> 1];
  };
  const cases = {
    'sb3-atari': (i) => warpSb3(screen(all, i), frame),
    'cleanrl-atari': (i) => warpCleanrl(screen(all, i), frame),
    maxPool: (i) => maxPool(screen(all, i), screen(all, (i + 1) % n), pooled),
  };
  for (const f of Object.values(cases)) median(f); // warm up: the JIT compiles the loops
  answer.micros = Object.fromEntries(Object.entries(cases).map(([name, f]) => [name, median(f)]));
}

console.log(JSON.stringify(answer));
