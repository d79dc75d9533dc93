// The WebAssembly backend: contract 2's policy.wasm (no imports, weights in its data segment).
import { kernelFile, outputSize, split, greedy } from './common.js';

async function instantiate(manifest, baseUrl, response) {
  const file = kernelFile(manifest, 'policy.wasm', baseUrl);
  if (typeof file !== 'string') return WebAssembly.instantiate(file, {});
  const res = await (response ?? fetch(file));
  if (!res.ok) throw new Error(`policy.wasm answered HTTP ${res.status} ${res.statusText} at ${file}`);
  // Streaming compiles while the bytes arrive, but only with the right MIME type, which some CDNs get wrong.
  if ((res.headers.get('content-type') || '').startsWith('application/wasm')) {
    return WebAssembly.instantiateStreaming(res, {});
  }
  return WebAssembly.instantiate(await res.arrayBuffer(), {});
}

/** load(manifest, baseUrl, {response}) -> policy; response: an already started fetch of the wasm. */
export async function load(manifest, baseUrl, { response } = {}) {
  const { instance } = await instantiate(manifest, baseUrl, response);
  const e = instance.exports;
  for (const name of ['memory', 'input_ptr', 'output_ptr', 'forward']) {
    if (!(name in e)) throw new Error(`policy.wasm lacks the export '${name}' (contract 2): recompile the kernel`);
  }
  const nOut = outputSize(manifest), inPtr = e.input_ptr() >> 2, outPtr = e.output_ptr() >> 2;
  let f32 = new Float32Array(e.memory.buffer);
  const forward = (obs) => {
    if (f32.buffer !== e.memory.buffer) f32 = new Float32Array(e.memory.buffer); // memory grew
    f32.set(obs, inPtr);
    e.forward();
    return split(manifest, f32.subarray(outPtr, outPtr + nOut));
  };
  return { backend: 'wasm', forward, act: (obs) => greedy(forward(obs)) };
}
