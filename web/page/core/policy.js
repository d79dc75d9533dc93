// loadPolicy (the page API): one interface over the backends. The wasm backend is bundled; the others are
// lazy modules (code-split) listed by the build in 'virtual:backends'.
import { load as loadWasm } from './backends/wasm.js';
import { kernelFile, outputSize, split } from './backends/common.js';
import lazy from 'virtual:backends';

// Plain object, not `import * as`: a namespace object would make esbuild emit a shared helper chunk.
const lib = { kernelFile, outputSize, split };

export const BACKENDS = ['wasm', ...Object.keys(lazy), 'auto'];

/**
 * loadPolicy(manifestUrl | manifest, {backend, baseUrl, wasmResponse}) -> policy
 * {backend, forward(obs) -> {probs | mean, value} (a Promise on async backends), note?, source?, warm?}.
 * warm(), where a backend has it (wasm), fetches what the first decision does not need, the value among it:
 * until then forward()'s value is NaN. The page calls it once the agent has acted.
 * Backend modules: `async load(manifest, baseUrl, {lib}) -> policy`, lib = backends/common.js (passed in, so
 * lazy backends share no chunk with the page's entry).
 * 'auto' uses WebGPU only where it loads and passes a probe, else wasm; any failing non-wasm backend falls
 * back to wasm, and policy.note says so; with fallback: false it throws instead.
 */
export async function loadPolicy(
  manifestUrl,
  { backend = 'wasm', baseUrl, wasmResponse, fallback = true } = {},
) {
  let manifest = manifestUrl;
  if (typeof manifestUrl === 'string' || manifestUrl instanceof URL) {
    const url = new URL(manifestUrl, globalThis.location?.href);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`manifest answered HTTP ${res.status} at ${url}`);
    manifest = await res.json();
    baseUrl ??= new URL('.', url);
  }
  const order = backend === 'auto' ? ['webgpu'] : backend === 'wasm' ? [] : [backend];
  let note = '';
  for (const name of order) {
    try {
      if (!lazy[name]) throw new Error(`this build has no '${name}' backend`);
      const policy = await (await lazy[name]()).load(manifest, baseUrl, { lib });
      policy.note = backend === 'auto' ? `auto chose ${name}` : '';
      return policy;
    } catch (err) {
      if (!fallback) throw err;
      note = `${name} unavailable (${err.message || err}): using wasm`;
    }
  }
  const policy = await loadWasm(manifest, baseUrl, { response: wasmResponse });
  policy.note = note || (backend === 'auto' ? 'auto chose wasm' : '');
  return policy;
}
