// The WebAssembly backend: the kernel folder's policy.wasm (no imports, weights in its data segment).
import { kernelFile, outputSize, split } from './common.js';

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
    if (!(name in e))
      throw new Error(
        `policy.wasm lacks the export '${name}' (docs/design.md, the kernel folder): recompile the kernel`,
      );
  }
  const nOut = outputSize(manifest),
    inPtr = e.input_ptr() >> 2,
    outPtr = e.output_ptr() >> 2;
  let f32 = new Float32Array(e.memory.buffer);
  const forward = (obs) => {
    if (f32.buffer !== e.memory.buffer) f32 = new Float32Array(e.memory.buffer); // memory grew
    f32.set(obs, inPtr);
    e.forward();
    return split(manifest, f32.subarray(outPtr, outPtr + nOut));
  };
  // d decision_k / d obs, f32[obs_dim] (the kernel folder's saliency(k); rl_web_agent/compiler/saliency.py), a copy
  const salPtr = e.saliency_ptr ? e.saliency_ptr() >> 2 : 0;
  const saliency = e.saliency
    ? (obs, k) => {
        if (f32.buffer !== e.memory.buffer) f32 = new Float32Array(e.memory.buffer);
        f32.set(obs, inPtr);
        e.saliency(k);
        return f32.slice(salPtr, salPtr + manifest.obs_dim);
      }
    : null;
  // Many observations at once (the kernel folder's forward_batch; the what-if sweep): rows of nOut, a view into
  // kernel memory that the next call overwrites
  const batchSize = e.forward_batch ? e.batch_size() : 0;
  const forwardBatch = (obs, n) => {
    if (f32.buffer !== e.memory.buffer) f32 = new Float32Array(e.memory.buffer);
    f32.set(obs.subarray(0, n * manifest.obs_dim), e.batch_input_ptr() >> 2);
    e.forward_batch(n);
    const at = e.batch_output_ptr() >> 2;
    return f32.subarray(at, at + n * nOut);
  };
  return { backend: 'wasm', forward, saliency, batchSize, forwardBatch: batchSize ? forwardBatch : null };
}
