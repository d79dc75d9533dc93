// forward() latency of a convolutional policy's policy.wasm in Node (rl_web_agent/compiler/cnn.py):
// node bench/js/cnn_node.mjs policy.wasm [runs=200] [warmup=20] -> one JSON object on stdout:
// {runs, median_ms, p10_ms, p90_ms, first_ms (the first forward(), which widens f16/int8 weights), input_bytes}
import { readFileSync } from 'node:fs';

const [path, runsArg, warmArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 200);
const warmup = Number(warmArg ?? 20);
const { instance } = await WebAssembly.instantiate(readFileSync(path), {});
const { memory, input_ptr, output_ptr, forward } = instance.exports;
// the input's size: from input_ptr up to output_ptr's buffer, or the caller's hint; frames of noise
const bytes = Number(process.env.CNN_INPUT_BYTES ?? 4 * 84 * 84);
const input = new Uint8Array(memory.buffer, input_ptr(), bytes);
let seed = 12345;
const frame = () => {
  for (let i = 0; i < bytes; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    input[i] = seed >>> 24;
  }
};
frame();
let t = performance.now();
forward();
const first = performance.now() - t;
for (let i = 0; i < warmup; i++) forward();
const times = [];
for (let i = 0; i < runs; i++) {
  if (i % 10 === 0) frame();
  t = performance.now();
  forward();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
const out = new Float32Array(memory.buffer, output_ptr(), 1)[0];
console.log(
  JSON.stringify({
    runs,
    median_ms: q(0.5),
    p10_ms: q(0.1),
    p90_ms: q(0.9),
    first_ms: first,
    input_bytes: bytes,
    output0: out,
  }),
);
