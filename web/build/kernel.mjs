// Reading a compiled kernel folder (docs/design.md) without trusting it: every file the bundler publishes or
// inlines is read through kernelFile(), confined to the folder (no `..`, no absolute paths, no symlink that
// leads out), and policy.wasm must be the module the manifest describes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The exports the kernel folder promises, per module; the page calls these. */
const WASM_EXPORTS = ['memory', 'input_ptr', 'output_ptr', 'forward'];
const LAZY_EXPORTS = [
  'input_ptr',
  'batch_size',
  'batch_input_ptr',
  'batch_output_ptr',
  'forward_batch',
  'saliency',
  'saliency_ptr',
];
const LAZY_VALUE_EXPORT = 'value'; // a policy with a critic's (the manifest's outputs name a value)
// Gymnasium's id grammar ([namespace/]name[-vN]); the id also names the page's folder, so no path tricks.
const ENV_ID = /^(?:[\w:.-]+\/)?[\w:.-]+?(?:-v\d+)?$/;

/** A bad input: main() prints its one-line message and exits 1, having written nothing. */
export class BuildError extends Error {}

export const fail = (msg) => {
  throw new BuildError(msg);
};
/** The fix for a kernel folder the bundler refuses. */
export const RECOMPILE = 'recompile the kernel with `make compile-kernel`';

const posInt = (v) => Number.isInteger(v) && v > 0;
/** Whether records a and b hold the same JSON under each of keys. */
const agree = (a, b, keys) => keys.every((f) => JSON.stringify(a?.[f]) === JSON.stringify(b?.[f]));
export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/**
 * The path of `name` inside the kernel folder `dir`, or a BuildError: `name` must be a plain relative path
 * whose real location (symlinks followed) is a regular file inside the folder's real location.
 */
export function kernelFile(dir, name, what = name) {
  if (
    typeof name !== 'string' ||
    !name ||
    name.includes('\0') ||
    path.isAbsolute(name) ||
    name.split(/[\\/]/).includes('..')
  ) {
    fail(
      `${dir}/manifest.json names ${JSON.stringify(name)} for ${what}: a path outside the kernel folder ` +
        `(refusing to publish it); ${RECOMPILE}`,
    );
  }
  const real = fs.realpathSync(dir);
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) fail(`${file} missing (${what}): ${RECOMPILE}`);
  const target = fs.realpathSync(file);
  const rel = path.relative(real, target);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) {
    fail(
      `${file} (${what}) leads outside the kernel folder (to ${target}): refusing to publish it; ` +
        RECOMPILE,
    );
  }
  if (!fs.statSync(target).isFile()) fail(`${file} (${what}) is not a regular file: ${RECOMPILE}`);
  return target;
}

function checkManifest(m, mpath) {
  for (const key of ['env_id', 'obs_dim', 'action', 'outputs']) {
    if (!(key in m)) fail(`${mpath} lacks '${key}' (docs/design.md, the kernel folder): ${RECOMPILE}`);
  }
  if (typeof m.env_id !== 'string' || !ENV_ID.test(m.env_id)) {
    fail(`${mpath}: env_id ${JSON.stringify(m.env_id)} is not a Gymnasium id: ${RECOMPILE}`);
  }
  if (!posInt(m.obs_dim)) fail(`${mpath}: obs_dim must be a positive integer: ${RECOMPILE}`);
  if (
    !Array.isArray(m.outputs) ||
    !m.outputs.every((o) => o && typeof o.name === 'string' && posInt(o.size))
  ) {
    fail(`${mpath}: outputs must be [{name, size}, ...] (docs/design.md, the kernel folder): ${RECOMPILE}`);
  }
  if (m.hidden != null && !(Array.isArray(m.hidden) && m.hidden.every(posInt))) {
    fail(`${mpath}: hidden must be a list of layer widths, e.g. [64, 64]: ${RECOMPILE}`);
  }
  const ev = m.eval;
  if (ev != null && !(Number.isFinite(ev.mean) && posInt(ev.episodes))) {
    fail(
      `${mpath}: eval must be null or {mean, episodes} (the checkpoint's evaluation at training time): ` +
        RECOMPILE,
    );
  }
}

/**
 * The kernel's policy.weights.json (the python backend's weights, the kernel folder), when it has one, must be a JSON
 * export of this kernel's policy: one from another kernel has another env, observation size or outputs.
 */
function checkWeightsJson(file, m) {
  let w;
  try {
    w = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file} is not valid JSON (${e.message}): ${RECOMPILE}`);
  }
  if (!agree(w, m, ['env_id', 'obs_dim', 'outputs'])) {
    fail(
      `${file} holds another policy's weights (env_id, obs_dim or outputs differ from the manifest): ` +
        RECOMPILE,
    );
  }
}

/**
 * policy.wasm (policy.lazy.wasm: lazy) must be the manifest's: its sha256 equals manifest.wasm_sha256
 * (lazy_wasm_sha256), and it is a WebAssembly module with the kernel folder's exports and imports (none;
 * the lazy one policy.wasm's memory). Returns the module's bytes.
 */
function checkWasm(file, m, mpath, lazy = false) {
  const bytes = fs.readFileSync(file);
  const field = lazy ? 'lazy_wasm_sha256' : 'wasm_sha256';
  if (typeof m[field] !== 'string') fail(`${mpath} has no ${field} (an older compile): ${RECOMPILE}`);
  if (sha256(bytes) !== m[field]) {
    fail(
      `${file} is not the kernel its manifest describes (sha256 ${sha256(bytes).slice(0, 12)}…, manifest ` +
        `${field} ${m[field].slice(0, 12)}…): ${RECOMPILE}`,
    );
  }
  let mod;
  try {
    mod = new WebAssembly.Module(bytes);
  } catch (e) {
    fail(`${file} is not a WebAssembly module (${e.message}): ${RECOMPILE}`);
  }
  const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  const hasValue = m.outputs?.some((o) => o.name === 'value');
  const want = lazy ? [...LAZY_EXPORTS, ...(hasValue ? [LAZY_VALUE_EXPORT] : [])] : WASM_EXPORTS;
  const missing = want.filter((e) => !exported.has(e));
  if (missing.length)
    fail(`${file} lacks the exports ${missing.join(', ')} (docs/design.md, the kernel folder): ${RECOMPILE}`);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
  if (imports.join() !== (lazy ? 'env.memory:memory' : ''))
    fail(
      `${file} imports ${imports.join(', ') || 'nothing'} (the kernel folder: policy.wasm nothing, ` +
        `policy.lazy.wasm env.memory alone): ${RECOMPILE}`,
    );
  return bytes;
}

/**
 * policy.webgpu.data.js must be what compile writes (rl_web_agent/compiler/webgpu.py): `//` comment lines, then
 * `export default {...};` holding JSON and nothing else, fitting the manifest and the weights file. Returns
 * the data; the bundle re-serialises it (bundleWebgpu), so the module the page gets is data whatever the file
 * held.
 */
function checkWebgpuData(file, m, weightsFile) {
  const text = fs.readFileSync(file, 'utf8').replace(/^(\/\/[^\n]*\n)*/, '');
  const body = /^export default (\{[\s\S]*\});\n?$/.exec(text)?.[1];
  let data;
  try {
    data = body && JSON.parse(body);
  } catch {
    data = null;
  }
  if (!data)
    fail(`${file} is not a WebGPU data module (comment lines, then export default {JSON};): ${RECOMPILE}`);
  if (
    data.obs_dim !== m.obs_dim ||
    data.batch !== (m.batch_size ?? 0) || // a convolutional kernel has no batched pass: batch 0
    data.input !== (m.input?.dtype === 'uint8' ? 'uint8' : 'float32') ||
    !posInt(data.weights_bytes) ||
    data.n_out !== m.outputs.reduce((n, o) => n + o.size, 0)
  ) {
    fail(`${file} does not fit its manifest (obs_dim, input, outputs or batch_size): ${RECOMPILE}`);
  }
  if (fs.statSync(weightsFile).size !== data.weights_bytes) {
    fail(
      `${weightsFile} is ${fs.statSync(weightsFile).size} bytes, ${file} expects ` +
        `${data.weights_bytes} (weights_bytes): ${RECOMPILE}`,
    );
  }
  return data;
}

/**
 * Read and check the kernel folder `dir`: {dir, manifest, wasm (path), wasmBytes, lazyBytes (policy.lazy.wasm;
 * null for a kernel whose manifest lists it in not_built),
 * gpuJs (path|null),
 * gpuData (the WebGPU data module's data|null), weights (name|null), weightsFile (path|null),
 * weightsJson (path|null)}. Throws BuildError (one line).
 */
export function readKernel(dir) {
  const mpath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(mpath)) fail(`no kernel at ${dir} (manifest.json missing): run \`make compile-kernel\``);
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(kernelFile(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    if (e instanceof BuildError) throw e;
    fail(`${mpath} is not valid JSON (${e.message}): ${RECOMPILE}`);
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) {
    fail(`${mpath} is not a JSON object: ${RECOMPILE}`);
  }
  checkManifest(manifest, mpath);
  const wasm = kernelFile(dir, 'policy.wasm', 'the wasm kernel');
  const wasmBytes = checkWasm(wasm, manifest, mpath);
  // A convolutional policy's kernel has no lazy half yet (its manifest's not_built says so, and it records no
  // lazy_wasm_sha256): null, and its page has no policy.lazy.wasm (forward() computes the value too; there is
  // no batch or saliency export). Every other kernel must have one.
  const noLazy = manifest.not_built?.['policy.lazy.wasm'] != null && manifest.lazy_wasm_sha256 == null;
  const lazyBytes = noLazy
    ? null
    : checkWasm(kernelFile(dir, 'policy.lazy.wasm', 'the lazy wasm kernel'), manifest, mpath, true);
  const gpu = manifest.webgpu ?? null; // the kernel folder: {module, data, weights}, or null for a wasm-only kernel
  let gpuJs = null,
    gpuData = null,
    weights = null,
    weightsFile = null;
  if (gpu !== null) {
    for (const key of ['module', 'data', 'weights']) {
      if (typeof gpu[key] !== 'string')
        fail(`${mpath}: webgpu.${key} must name a file of the kernel: ${RECOMPILE}`);
    }
    gpuJs = kernelFile(dir, gpu.module, 'the WebGPU module');
    const dataFile = kernelFile(dir, gpu.data, 'the WebGPU data module');
    weights = gpu.weights;
    weightsFile = kernelFile(dir, weights, 'the WebGPU weights');
    gpuData = checkWebgpuData(dataFile, manifest, weightsFile);
  }
  const own = path.join(dir, 'policy.weights.json');
  const weightsJson = fs.existsSync(own)
    ? kernelFile(dir, 'policy.weights.json', 'the python weights')
    : null;
  if (weightsJson !== null) checkWeightsJson(weightsJson, manifest);
  return { dir, manifest, wasm, wasmBytes, lazyBytes, gpuJs, gpuData, weights, weightsFile, weightsJson };
}

/** The specifier of the loader's one import (rl_web_agent/compiler/webgpu_loader.js): its data module. */
const WEBGPU_DATA_IMPORT = './policy.webgpu.data.js';

/**
 * esbuild hooks that bundle kernel k's WebGPU module as `kernel:webgpu`: the loader from the kernel folder and
 * the data module it imports, rebuilt from the checked data (checkWebgpuData), under stable virtual paths
 * (where the kernel lies must not change the hashes). Any other import is refused: it could pull any file
 * outside the kernel folder into the page.
 */
export function bundleWebgpu(b, k) {
  const modules = k.gpuJs && {
    '/policy.webgpu.js': () => fs.readFileSync(k.gpuJs),
    '/policy.webgpu.data.js': () => `export default ${JSON.stringify(k.gpuData)};\n`,
  };
  b.onResolve({ filter: /^kernel:webgpu$/ }, () =>
    k.gpuJs
      ? { path: '/policy.webgpu.js', namespace: 'kernel' }
      : { errors: [{ text: 'the kernel has no policy.webgpu.js' }] },
  );
  b.onResolve({ filter: /.*/, namespace: 'kernel' }, (a) =>
    a.importer === '/policy.webgpu.js' && a.path === WEBGPU_DATA_IMPORT
      ? { path: '/policy.webgpu.data.js', namespace: 'kernel' }
      : {
          errors: [
            {
              text:
                `${a.importer.slice(1)} imports ${JSON.stringify(a.path)}: a kernel module imports ` +
                `nothing but ${WEBGPU_DATA_IMPORT}; ${RECOMPILE}`,
            },
          ],
        },
  );
  b.onLoad({ filter: /.*/, namespace: 'kernel' }, (a) => ({ contents: modules[a.path](), loader: 'js' }));
}

/**
 * The kernel's training snapshots (the page's training timeline; rl_web_agent/compiler/snapshots.py writes <dir>/snapshots/snapshots.json and a
 * kernel folder per snapshot): [{steps, eval, final, k}] by steps, k the snapshot's checked kernel (readKernel),
 * null for the final one (the page plays the policy's own kernel for it). [] when the kernel has none.
 */
export function readSnapshots(k) {
  const index = path.join(k.dir, 'snapshots', 'snapshots.json');
  if (!fs.existsSync(index)) return [];
  const fix = `${RECOMPILE} (it compiles the snapshots with --snapshots)`;
  let list;
  try {
    list = JSON.parse(
      fs.readFileSync(kernelFile(k.dir, 'snapshots/snapshots.json', 'the snapshot list'), 'utf8'),
    );
  } catch (e) {
    if (e instanceof BuildError) throw e;
    fail(`${index} is not valid JSON (${e.message}): ${fix}`);
  }
  if (!Array.isArray(list)) fail(`${index} is not a list of snapshots: ${fix}`);
  let prev = -1;
  return list.map((s) => {
    if (!s || !Number.isSafeInteger(s.steps) || s.steps <= prev) {
      fail(`${index}: each snapshot needs env steps, in increasing order: ${fix}`);
    }
    prev = s.steps;
    const ev = Number.isFinite(s.eval) ? s.eval : null;
    if (s.final === true) return { steps: s.steps, eval: ev, final: true, k: null };
    if (typeof s.dir !== 'string' || !/^\d+$/.test(s.dir))
      fail(`${index}: snapshot ${s.steps} names no folder: ${fix}`);
    const dir = path.dirname(kernelFile(k.dir, `snapshots/${s.dir}/manifest.json`, `snapshot ${s.steps}`));
    const sk = readKernel(dir);
    if (!agree(sk.manifest, k.manifest, ['env_id', 'obs_dim', 'action', 'outputs'])) {
      fail(`${dir} is not a snapshot of the kernel in ${k.dir} (another env, action or outputs): ${fix}`);
    }
    return { steps: s.steps, eval: ev, final: false, k: sk };
  });
}
