// Kernel latency in Node: node bench/js/kernel_node.mjs CONFIG.json  -> one JSON object on stdout.
// CONFIG: {io, weights, onnx, wasm: {name: path}, lazy: {name: path of its policy.lazy.wasm}, peers: [names], quick}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { measurePeer, OPTS, pairedRatios } from './measure.mjs';
import { ortPeer, tfjsPeer, wasmPeer } from './peers.mjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const io = JSON.parse(readFileSync(cfg.io, 'utf8'));
const opts = cfg.quick ? OPTS.quick : OPTS.full;
const require = createRequire(import.meta.url);
const results = {};

async function make(name) {
  if (cfg.wasm[name])
    return wasmPeer(
      name,
      readFileSync(cfg.wasm[name]),
      cfg.lazy?.[name] ? readFileSync(cfg.lazy[name]) : null,
    );
  if (name === 'ort') return ortPeer(await import('onnxruntime-web'), readFileSync(cfg.onnx));
  const weights = JSON.parse(readFileSync(cfg.weights, 'utf8'));
  const tf = await import('@tensorflow/tfjs-core');
  if (name === 'tfjs-cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    return tfjsPeer(tf, 'cpu', weights);
  }
  if (name === 'tfjs-wasm') {
    const w = await import('@tensorflow/tfjs-backend-wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // single thread, like the other peers
    w.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
    return tfjsPeer(tf, 'wasm', weights);
  }
  throw new Error(`unknown peer ${name}`);
}

const made = {};
for (const name of cfg.peers) {
  try {
    made[name] = await make(name);
    results[name] = await measurePeer(made[name], io, opts);
  } catch (e) {
    results[name] = { error: String(e?.message || e).split('\n')[0] };
  }
}
const paired = pairedRatios(made, results, io, opts);
process.stdout.write(`${JSON.stringify({ node: process.version, results, paired })}\n`);
process.exit(0); // onnxruntime's worker pool would keep Node alive
