// Kernel latency in Chromium: window.runBench(cfg) -> {results}; the page is served by bench/serve.py.
// cfg: {io, weights, onnx, wasm: {name: url}, lazy: {name: url of its policy.lazy.wasm}, webgpu: url of policy.webgpu.js or null, weightsBin, peers, quick}
import { measurePeer, OPTS, pairedRatios } from './measure.mjs';
import { ortPeer, tfjsPeer, wasmPeer } from './peers.mjs';
import { webgpuPeer } from './webgpu_peer.mjs';

const get = async (url, kind) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return kind === 'json' ? r.json() : new Uint8Array(await r.arrayBuffer());
};

async function make(cfg, name) {
  if (cfg.wasm[name])
    return wasmPeer(name, await get(cfg.wasm[name]), cfg.lazy?.[name] ? await get(cfg.lazy[name]) : null);
  if (name === 'ort') {
    const ort = await import('/nm/onnxruntime-web/dist/ort.wasm.bundle.min.mjs');
    return ortPeer(ort, await get(cfg.onnx));
  }
  if (name === 'webgpu') return webgpuPeer(cfg.webgpu, cfg.webgpuWeights);
  const tf = window.tf;
  const weights = await get(cfg.weights, 'json');
  if (name === 'tfjs-cpu') return tfjsPeer(tf, 'cpu', weights);
  if (name === 'tfjs-wasm') {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.wasm.setWasmPaths('/nm/@tensorflow/tfjs-backend-wasm/dist/');
    return tfjsPeer(tf, 'wasm', weights);
  }
  throw new Error(`unknown peer ${name}`);
}

window.runBench = async (cfg) => {
  const io = await get(cfg.io, 'json');
  const opts = cfg.quick ? OPTS.quick : OPTS.full;
  const results = {},
    made = {};
  for (const name of cfg.peers) {
    try {
      const peer = await make(cfg, name);
      made[name] = peer;
      results[name] = await measurePeer(peer, io, name === 'webgpu' ? { ...opts, check: 64 } : opts);
      if (peer.adapterInfo) results[name].adapter = peer.adapterInfo;
    } catch (e) {
      results[name] = { error: String(e?.message || e).split('\n')[0] };
    }
  }
  const paired = pairedRatios(made, results, io, opts);
  return { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, results, paired };
};
window.benchReady = true;
