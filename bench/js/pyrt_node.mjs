// Python runtimes in Node: node bench/js/pyrt_node.mjs CONFIG.json -> one JSON object on stdout.
// CONFIG: {io, src (runtime_py/mlp.py), weights (export-json file), wasm: {name: path}, quick}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { measurePeer, OPTS } from './measure.mjs';
import { wasmPeer } from './peers.mjs';
import { measurePython } from './pyrt.mjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const io = JSON.parse(readFileSync(cfg.io, 'utf8'));
const src = readFileSync(cfg.src, 'utf8');
const weights = readFileSync(cfg.weights, 'utf8');
const require = createRequire(import.meta.url);
const results = {};

async function timed(load) {
  const t = performance.now();
  const rt = await load();
  return [rt, performance.now() - t];
}

const loaders = {
  micropython: async () => {
    const { loadMicroPython } = await import('@micropython/micropython-webassembly-pyscript/micropython.mjs');
    return loadMicroPython();
  },
  pyodide: async () => {
    const dir = dirname(require.resolve('pyodide/pyodide.mjs'));
    const { loadPyodide } = await import(pathToFileURL(`${dir}/pyodide.mjs`).href);
    return loadPyodide({ indexURL: `${dir}/` });
  },
};

for (const [name, load] of Object.entries(loaders)) {
  try {
    const [rt, loadMs] = await timed(load);
    results[name] = {
      ...measurePython(rt, src, weights, io, cfg.quick, name === 'pyodide'),
      load_ms: loadMs,
    };
  } catch (e) {
    results[name] = {
      error: String(e?.message || e)
        .split('\n')[0]
        .slice(0, 300),
    };
  }
}
for (const [name, path] of Object.entries(cfg.wasm)) {
  try {
    results[name] = await measurePeer(
      await wasmPeer(name, readFileSync(path), cfg.lazy?.[name] ? readFileSync(cfg.lazy[name]) : null),
      io,
      cfg.quick ? OPTS.quick : OPTS.full,
    );
  } catch (e) {
    results[name] = { error: String(e?.message || e).split('\n')[0] };
  }
}
process.stdout.write(`${JSON.stringify({ node: process.version, results })}\n`);
process.exit(0);
