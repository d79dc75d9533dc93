// Section `cnn` in Chromium: window.runCnn(cfg) -> runCnn's object (bench/js/cnn.mjs), files as URLs
// served by bench/serve.py (cnn_harness.html).
import { runCnn } from './cnn.mjs';

const get = async (url, kind) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return kind === 'json' ? r.json() : new Uint8Array(await r.arrayBuffer());
};

window.runCnn = async (cfg) => ({
  userAgent: navigator.userAgent,
  crossOriginIsolated: self.crossOriginIsolated,
  ...(await runCnn(cfg, {
    get,
    loadOrt: () => import('/nm/onnxruntime-web/dist/ort.wasm.bundle.min.mjs'),
    cpu: null,
  })),
});
window.cnnReady = true;
