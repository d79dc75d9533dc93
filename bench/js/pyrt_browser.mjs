// Python runtimes in Chromium: window.runPy(cfg) -> {result}. One runtime per page load, so that the
// resources it fetched can be counted (Resource Timing, gzipped bodies as served by bench/serve.py).
// cfg: {runtime: 'micropython' | 'pyodide', io, src, weights, quick}
import { measurePython } from './pyrt.mjs';

const text = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.text();
};
const fetched = (prefix) =>
  performance
    .getEntriesByType('resource')
    .filter((e) => e.name.includes(prefix))
    .reduce(
      (a, e) => ({ body: a.body + e.encodedBodySize, decoded: a.decoded + e.decodedBodySize, n: a.n + 1 }),
      { body: 0, decoded: 0, n: 0 },
    );

window.runPy = async (cfg) => {
  const io = JSON.parse(await text(cfg.io));
  const [src, weights] = await Promise.all([text(cfg.src), text(cfg.weights)]);
  const t0 = performance.now();
  let rt, prefix;
  if (cfg.runtime === 'micropython') {
    prefix = '/nm/@micropython/';
    const { loadMicroPython } = await import(
      '/nm/@micropython/micropython-webassembly-pyscript/micropython.mjs'
    );
    rt = await loadMicroPython();
  } else {
    prefix = '/nm/pyodide/';
    const { loadPyodide } = await import('/nm/pyodide/pyodide.mjs');
    rt = await loadPyodide({ indexURL: '/nm/pyodide/' });
  }
  const loadMs = performance.now() - t0;
  const bytes = fetched(prefix);
  const m = measurePython(rt, src, weights, io, cfg.quick, cfg.runtime === 'pyodide');
  return { ...m, load_ms: loadMs, fetched: bytes, crossOriginIsolated: self.crossOriginIsolated };
};
window.benchReady = true;
