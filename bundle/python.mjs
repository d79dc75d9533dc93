// The lazy `python` backend's files (multi-file pages only): MicroPython's runtime and wasm from node_modules,
// tiny_infer/reference.py, and the weights JSON: the kernel's policy.weights.json (contract 2), else exported
// now (`python -m tiny_infer export-json`) from the checkpoint its manifest names. Either way the JSON must
// compute what policy.wasm computes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from './kernel.mjs';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const MICROPYTHON = path.join(ROOT, 'node_modules', '@micropython', 'micropython-webassembly-pyscript');

// Stable virtual paths: the asset names come from these (and the content hash), never from a temp folder.
// micropython.mjs is served as .js: some hosts lack .mjs in their MIME table, and modules need a JS type.
export const PY_NAMES = { 'python:runtime': 'micropython.js', 'python:runtime-wasm': 'micropython.wasm',
  'python:reference': 'reference.py', 'python:weights': 'policy.weights.json' };

/** The weights JSON's bytes for kernel `k` (see the header), checked against policy.wasm. */
function pythonWeights(k) {
  if (k.weightsJson) return checkWeights(k, fs.readFileSync(k.weightsJson), k.weightsJson);
  const model = k.manifest.model;
  const fix = `export them into the kernel folder: \`python -m tiny_infer export-json MODEL_DIR --out ` +
    `${path.join(k.dir, 'policy.weights.json')}\``;
  if (typeof model !== 'string') fail(`${k.dir}/manifest.json names no 'model' for the python backend's weights; ${fix}`);
  // Only a checkpoint folder of this project (models/ or build/models/), never an arbitrary path.
  const modelDir = path.resolve(ROOT, model);
  const inside = ['models', path.join('build', 'models')].some((d) => {
    const rel = path.relative(path.join(ROOT, d), modelDir);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel);
  });
  if (!inside || !fs.existsSync(path.join(modelDir, 'policy.safetensors'))) {
    fail(`the python backend's weights: the kernel's model ${model} is no checkpoint under models/ or ` +
      `build/models/; ${fix}`);
  }
  const venv = path.join(ROOT, '.venv', 'bin', 'python');
  const python = process.env.PYTHON || (fs.existsSync(venv) ? venv : 'python3');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-web-weights-'));
  let bytes, why;
  try {
    const out = path.join(tmp, 'policy.weights.json');
    execFileSync(python, ['-m', 'tiny_infer', 'export-json', modelDir, '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    bytes = fs.readFileSync(out);
  } catch (e) {
    why = String(e.stderr || e.message).trim().split('\n').pop();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (!bytes) fail(`exporting the python backend's weights from ${modelDir} failed (${why}): run \`make setup\``);
  return checkWeights(k, bytes, `exported from ${model}`);
}

/**
 * The weights JSON must hold the kernel's weights (a checkpoint retrained after `make compile-kernel` would
 * not): run policy.wasm and the JSON's MLP on the same observations; different weights differ by far more
 * than float32 rounding.
 */
function checkWeights(k, bytes, source) {
  let w;
  try {
    w = JSON.parse(bytes.toString('utf8'));
    compareWithKernel(k, w);
  } catch (e) {
    if (e.mismatch) {
      fail(`the python backend's weights (${source}) are not the kernel's: ${e.message}; recompile the kernel ` +
        'from its model: `make compile-kernel`');
    }
    fail(`${source} is not a usable weights JSON (${e.message}): re-export it with \`python -m tiny_infer ` +
      'export-json MODEL_DIR --out FILE`');
  }
  return bytes;
}

function compareWithKernel(k, w) {
  const e = new WebAssembly.Instance(new WebAssembly.Module(k.wasmBytes), {}).exports;
  const nOut = k.manifest.outputs.reduce((n, o) => n + o.size, 0);
  const act = w.activation === 'relu' ? (v) => Math.max(v, 0) : Math.tanh;
  const mlp = (layers, x) => layers.reduce((h, { weight, bias }, i) => {
    const y = weight.map((row, j) => row.reduce((acc, wij, c) => acc + wij * h[c], bias[j]));
    return i < layers.length - 1 ? y.map(act) : y;
  }, x);
  for (let i = 0; i < 16; i++) {
    const obs = Array.from({ length: k.manifest.obs_dim }, (_, j) => Math.fround(0.4 * Math.sin(7 * i + 3 * j)));
    let x = obs;
    if (w.obs_norm) {
      const { mean, var: v, eps, clip } = w.obs_norm;
      x = x.map((o, j) => Math.min(Math.max((o - mean[j]) / Math.sqrt(v[j] + eps), -clip), clip));
    }
    let head = mlp(w.actor, x);
    if (w.action.type === 'discrete' && w.head !== 'q') { // q-values (DQN) have no softmax
      const m = Math.max(...head), ex = head.map((z) => Math.exp(z - m)), sum = ex.reduce((a, b) => a + b);
      head = ex.map((z) => z / sum);
    }
    if (w.action.squash === 'tanh') { // SAC/TD3 actors output the final action (docs/design.md, contract 1)
      const { low, high } = w.action;
      head = head.map((a, j) => low[j] + 0.5 * (Math.tanh(a) + 1) * (high[j] - low[j]));
    }
    const want = w.critic ? [...head, mlp(w.critic, x)[0]] : head;
    new Float32Array(e.memory.buffer).set(obs, e.input_ptr() >> 2);
    e.forward();
    const got = new Float32Array(e.memory.buffer, e.output_ptr(), nOut);
    const close = (v, j) => Math.abs(v - got[j]) <= 1e-3 * Math.max(1, Math.abs(v)); // false for NaN
    if (want.length !== nOut || !want.every(close)) {
      const err = new Error(`for one observation policy.wasm gives [${Array.from(got)}], the JSON [${want}]`);
      err.mismatch = true;
      throw err;
    }
  }
}

/** The python backend's files for kernel `k`: {'python:<part>': {contents, loader}} for esbuild. */
export function pythonFiles(k) {
  const files = {
    'python:runtime': [path.join(MICROPYTHON, 'micropython.mjs'), 'file'],
    'python:runtime-wasm': [path.join(MICROPYTHON, 'micropython.wasm'), 'file'],
    'python:reference': [path.join(ROOT, 'tiny_infer', 'reference.py'), 'text'],
  };
  for (const [spec, [file]] of Object.entries(files)) {
    if (!fs.existsSync(file)) fail(`${file} missing (python backend, ${spec}): run \`npm ci\``);
  }
  const loaded = Object.fromEntries(Object.entries(files).map(([spec, [file, loader]]) =>
    [spec, { contents: fs.readFileSync(file), loader }]));
  loaded['python:weights'] = { contents: pythonWeights(k), loader: 'file' };
  return loaded;
}
