// Runs rl_web_agent/runtime_py/mlp.py, unchanged, inside MicroPython and Pyodide (both WebAssembly) in Node.
//
//   node bench/python_runtimes/run.mjs JOB.json [--runtimes micropython,pyodide] [--node-modules DIR]
//
// JOB.json: {"cases": [{"name": str, "weights": path to an export-json file, "obs": [[...], ...],
//            "bench": forward passes to time (0: none)}]}
// Prints one JSON object: {"<runtime>": {"version", "load_ms", "cases": {"<name>": {"outputs", "actions",
// "call_us", "loop_us", "wall_ms"} | {"error"}}}}.
//   call_us: one forward pass called from JS with a JS array, result turned back into a JS array: what a
//            page pays per step. For MicroPython it includes garbage collection: its WebAssembly port
//            cannot scan the wasm stack, so it lets the heap grow during a call and collects at the next
//            call from JS, in time proportional to the heap.
//   loop_us: one forward pass inside a Python loop (pure interpreter speed, collection amortised).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = fs.readFileSync(path.join(ROOT, 'rl_web_agent/runtime_py/mlp.py'), 'utf8');
// MicroPython collects garbage only between calls from JS: keep the garbage of one call small
const LOOP_MAX = 200;
const CHUNK_MACS = 100000;

// Runs next to reference.py inside each interpreter; sticks to what MicroPython has.
const HARNESS = `
import json
import reference

def load(weights_path):
    global policy
    try:
        policy = reference.load(weights_path)
    except ValueError as e:
        return str(e)
    return ""

def run(obs_json):
    obs = json.loads(obs_json)
    return json.dumps([[policy.forward(o) for o in obs], [policy.act(o) for o in obs]])

def loop(obs_json):
    forward = policy.forward
    for o in json.loads(obs_json):
        forward(o)
`;

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const jobPath = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!jobPath) {
  console.error(
    'usage: node bench/python_runtimes/run.mjs JOB.json [--runtimes micropython,pyodide] [--node-modules DIR]',
  );
  process.exit(2);
}
const nodeModules = path.resolve(opt('--node-modules', path.join(ROOT, 'node_modules')));
const runtimes = opt('--runtimes', 'micropython,pyodide').split(',');
const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
const log = (s) => process.stderr.write(`${s}\n`);

async function micropython() {
  const mod = path.join(nodeModules, '@micropython/micropython-webassembly-pyscript/micropython.mjs');
  const { loadMicroPython } = await import(pathToFileURL(mod).href);
  // Keep the default 1 MiB heap (it grows on demand): the collection at every call from JS costs time
  // in proportion to the heap (measured: 1.7 ms per forward pass at 1 MiB, 7.5 ms at 64 MiB).
  const mp = await loadMicroPython({ stdout: log, stderr: log });
  return { py: mp, dir: '/', toJs: (r) => mp.PyProxy.toJs(r), free: () => {} };
}

async function pyodide() {
  const indexURL = `${path.join(nodeModules, 'pyodide')}/`;
  const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);
  const py = await loadPyodide({ indexURL, stdout: log, stderr: log });
  return { py, dir: '/home/pyodide/', toJs: (r) => r.toJs(), free: (r) => r.destroy() };
}

// Best of ROUNDS: the first rounds include V8 tiering the interpreter up from its baseline compiler,
// which takes longer when the CPU is shared.
const ROUNDS = 5;

function timeCalls(rt, forward, obs, n) {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const r = forward(obs[i % obs.length]);
      rt.toJs(r);
      rt.free(r);
    }
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  return best;
}

async function runtime(name) {
  const t0 = performance.now();
  const rt = await { micropython, pyodide }[name]();
  const load_ms = performance.now() - t0;
  const { py } = rt;
  py.FS.writeFile(`${rt.dir}reference.py`, SOURCE);
  py.FS.writeFile(`${rt.dir}harness.py`, HARNESS);
  const harness = py.pyimport('harness');
  const out = { version: py.pyimport('sys').version, load_ms, cases: {} };
  for (const c of job.cases) {
    const tc = performance.now();
    const text = fs.readFileSync(c.weights, 'utf8');
    py.FS.writeFile(`${rt.dir}weights.json`, text);
    const error = harness.load(`${rt.dir}weights.json`);
    if (error) {
      out.cases[c.name] = { error };
      continue;
    }
    const res = {};
    if (c.bench > 0) {
      // Timed first, while the heap is as small as a page keeps it: one forward pass per call from JS.
      res.call_us = timeCalls(rt, harness.policy.forward, c.obs, c.bench);
      const n = Math.min(c.bench, LOOP_MAX);
      const obsJson = JSON.stringify(Array.from({ length: n }, (_, i) => c.obs[i % c.obs.length]));
      res.loop_us = Infinity;
      for (let round = 0; round < ROUNDS; round++) {
        const t = performance.now();
        harness.loop(obsJson);
        res.loop_us = Math.min(res.loop_us, ((performance.now() - t) * 1000) / n);
      }
    }
    // The outputs, in chunks of about CHUNK_MACS multiply-adds per call (see LOOP_MAX)
    const weights = JSON.parse(text);
    const macs = weights.actor
      .concat(weights.critic)
      .reduce((n, l) => n + l.weight.length * l.weight[0].length, 0);
    const chunk = Math.max(1, Math.min(64, Math.floor(CHUNK_MACS / macs)));
    res.outputs = [];
    res.actions = [];
    for (let i = 0; i < c.obs.length; i += chunk) {
      const [y, a] = JSON.parse(harness.run(JSON.stringify(c.obs.slice(i, i + chunk))));
      res.outputs.push(...y);
      res.actions.push(...a);
    }
    res.wall_ms = performance.now() - tc;
    out.cases[c.name] = res;
  }
  return out;
}

const result = {};
try {
  for (const name of runtimes) result[name] = await runtime(name);
} catch (e) {
  // one line, not the minified source line that Node prints for an uncaught error
  console.error(`python_runtimes: ${e.name}: ${e.message}`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
