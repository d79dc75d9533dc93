// The WebAssembly backend: the kernel folder's policy.wasm (no imports, the actor's weights in its data segment:
// the forward pass, what a decision needs), and policy.lazy.wasm (the critic's value, forward_batch, saliency; on
// policy.wasm's memory), fetched after the first decision: until it is there, forward() has no value.
import { kernelFile, outputSize, split } from './common.js';

const LAZY = 'policy.lazy.wasm';

async function instantiate(name, file, response, imports) {
  if (typeof file !== 'string') return WebAssembly.instantiate(file, imports);
  const res = await (response ?? fetch(file));
  if (!res.ok) throw new Error(`${name} answered HTTP ${res.status} ${res.statusText} at ${file}`);
  // Streaming compiles while the bytes arrive, but only with the right MIME type, which some CDNs get wrong.
  if ((res.headers.get('content-type') || '').startsWith('application/wasm')) {
    return WebAssembly.instantiateStreaming(res, imports);
  }
  return WebAssembly.instantiate(await res.arrayBuffer(), imports);
}

/** load(manifest, baseUrl, {response}) -> policy; response: an already started fetch of the wasm. */
export async function load(manifest, baseUrl, { response } = {}) {
  const file = kernelFile(manifest, 'policy.wasm', baseUrl);
  const { instance } = await instantiate('policy.wasm', file, response, {});
  const e = instance.exports;
  for (const name of ['memory', 'input_ptr', 'output_ptr', 'forward']) {
    if (!(name in e))
      throw new Error(
        `policy.wasm lacks the export '${name}' (docs/design.md, the kernel folder): recompile the kernel`,
      );
  }
  const nOut = outputSize(manifest),
    hasValue = manifest.outputs.some((o) => o.name === 'value'),
    nHead = hasValue ? nOut - 1 : nOut, // forward() writes the action head; value() returns the value
    row = new Float32Array(nOut).fill(Number.NaN),
    // a convolutional kernel reads uint8 frames (manifest input.dtype), the others float32 observations
    bytesIn = manifest.input?.dtype === 'uint8',
    inPtr = bytesIn ? e.input_ptr() : e.input_ptr() >> 2,
    outPtr = e.output_ptr() >> 2;
  let f32, u8;
  const mem = () => {
    if (f32?.buffer !== e.memory.buffer) {
      f32 = new Float32Array(e.memory.buffer); // new, or memory grew
      u8 = new Uint8Array(e.memory.buffer);
    }
    return f32;
  };
  // The lazy half: the page's manifest names its URL (or inlines it); a kernel folder's lists the file.
  const hasLazy = manifest.urls ? LAZY in manifest.urls : (manifest.inline?.[LAZY] ?? manifest.files?.[LAZY]);
  const forward = (obs) => {
    if (bytesIn) {
      mem();
      u8.set(obs, inPtr);
    } else mem().set(obs, inPtr);
    e.forward();
    // a kernel without a lazy half (a convolutional one) writes its value after the head itself
    row.set(f32.subarray(outPtr, outPtr + (hasLazy ? nHead : nOut)));
    if (hasValue && lx) {
      mem().set(obs, lx.input_ptr() >> 2);
      row[nHead] = lx.value();
    }
    return split(manifest, row);
  };
  let lazy = null,
    lx = null;
  const more = () =>
    (lazy ??= instantiate(LAZY, kernelFile(manifest, LAZY, baseUrl), null, {
      env: { memory: e.memory },
    }).then((r) => (lx = r.instance.exports)));
  // Each runs at once when the lazy half is there, else returns a Promise of its result.
  const soon = (run) => (lx ? run(lx) : more().then(run));
  // d decision_k / d obs, f32[obs_dim] (the kernel folder's saliency(k); rl_web_agent/compiler/saliency.py), a copy
  const saliency = (obs, k) =>
    soon((x) => {
      mem().set(obs, x.input_ptr() >> 2);
      x.saliency(k);
      const at = x.saliency_ptr() >> 2;
      return mem().slice(at, at + manifest.obs_dim);
    });
  // Many observations at once (the kernel folder's forward_batch; the what-if sweep): rows of nOut, a view into
  // kernel memory that the next call overwrites
  const forwardBatch = (obs, n) =>
    soon((x) => {
      mem().set(obs.subarray(0, n * manifest.obs_dim), x.batch_input_ptr() >> 2);
      x.forward_batch(n);
      const at = x.batch_output_ptr() >> 2;
      return mem().subarray(at, at + n * nOut);
    });
  return {
    backend: 'wasm',
    forward,
    // the page calls it once the agent has acted: the value comes with the lazy half (should its fetch fail,
    // saliency and the sweep, which need it too, say so)
    warm: hasLazy ? () => void more().catch(() => {}) : null,
    saliency: hasLazy ? saliency : null,
    batchSize: hasLazy ? manifest.batch_size : 0,
    forwardBatch: hasLazy ? forwardBatch : null,
  };
}
