#!/usr/bin/env node
// Bundle the page: node bundle/build.mjs --kernel build/kernels/CartPole-v1 --out public [--single]
//
// Multi-file (default): <out>/index.html + <out>/assets/ (content-hashed JS, CSS, wasm, WebGPU weights),
// relative URLs only. --single: one self-contained <out>/cartpole.html (kernel inlined) that works from
// file://. Same inputs give byte-identical outputs. Files are written to a temporary folder first, then
// renamed into place, so a failed build leaves the previous site intact.
// With bundle/src/backends/python.js (multi-file only), a lazy `python` backend: MicroPython's runtime and
// wasm from node_modules, tiny_infer/reference.py and the weights JSON (the kernel's policy.weights.json, else
// `python -m tiny_infer export-json` of the checkpoint its manifest names, checked against policy.wasm).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(HERE, 'src');
const ROOT = path.dirname(HERE);
const STATIC = path.join(ROOT, 'public'); // committed static files (favicon.svg, _headers)
const ENVS_INDEX = path.join(SRC, 'envs', 'index.js'); // ENVS[envId] = {spec, Env, module} (docs/design.md)
const BUDGET_GZ = 32 * 1024;
const MICROPYTHON = path.join(ROOT, 'node_modules', '@micropython', 'micropython-webassembly-pyscript');

function die(msg) {
  console.error(`build.mjs: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { kernel: null, out: null, single: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--single') args.single = true;
    else if (a === '--kernel' || a === '--out') {
      if (!argv[i + 1]) die(`${a} needs a folder`);
      args[a.slice(2)] = argv[++i];
    } else if (a === '-h' || a === '--help') {
      console.log('usage: node bundle/build.mjs --kernel build/kernels/<env-id> --out public [--single]');
      process.exit(0);
    } else die(`unknown argument '${a}' (usage: --kernel DIR --out DIR [--single])`);
  }
  if (!args.kernel || !args.out) die('--kernel DIR and --out DIR are required');
  return args;
}

const hash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 10);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function readKernel(dir) {
  const mpath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(mpath)) die(`no kernel at ${dir} (manifest.json missing): run \`make compile-kernel\``);
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(mpath, 'utf8'));
  } catch (e) {
    die(`${mpath} is not valid JSON (${e.message}): recompile with \`make compile-kernel\``);
  }
  for (const key of ['env_id', 'obs_dim', 'action', 'outputs']) {
    if (!(key in manifest)) die(`${mpath} lacks '${key}' (contract 2): recompile with \`make compile-kernel\``);
  }
  const wasm = path.join(dir, 'policy.wasm');
  if (!fs.existsSync(wasm)) die(`${wasm} missing: run \`make compile-kernel\``);
  const gpuJs = path.join(dir, 'policy.webgpu.js');
  const files = Object.keys(manifest.files || {});
  // The WebGPU weights: whatever non-code file the manifest lists besides the wasm/C/JS.
  const weights = manifest.webgpu?.weights ??
    files.find((f) => /\.(bin|safetensors)$/.test(f) && fs.existsSync(path.join(dir, f))) ?? null;
  return { manifest, wasm, gpuJs: fs.existsSync(gpuJs) ? path.resolve(gpuJs) : null, weights, dir };
}

/** The build-time manifest the page inlines: contract 2's fields plus hashed URLs or inlined bytes. */
function pageManifest(k, single) {
  const m = k.manifest;
  const out = {
    env_id: m.env_id, obs_dim: m.obs_dim, action: m.action, outputs: m.outputs, batch_size: m.batch_size,
    hidden: m.hidden, tinygrad_version: m.tinygrad_version, webgpuWeights: k.gpuJs ? k.weights : null,
  };
  const assets = new Map(); // asset name -> bytes
  const names = ['policy.wasm', ...(k.gpuJs && k.weights ? [k.weights] : [])];
  if (single) out.inline = {};
  else out.urls = {};
  for (const name of names) {
    const bytes = fs.readFileSync(path.join(k.dir, name));
    if (single) out.inline[name] = bytes.toString('base64');
    else {
      const ext = path.extname(name), hashed = `${path.basename(name, ext)}-${hash(bytes)}${ext}`;
      out.urls[name] = hashed;
      assets.set(hashed, bytes);
    }
  }
  return { manifest: out, assets };
}

/**
 * The weights JSON the python backend reads (tiny_infer/export_json.py's format): the kernel's own
 * policy.weights.json when it has one, else exported now from the checkpoint its manifest names.
 */
function pythonWeights(k) {
  const own = path.join(k.dir, 'policy.weights.json');
  if (fs.existsSync(own)) return checkWeights(k, fs.readFileSync(own), own);
  const model = k.manifest.model;
  const fix = 'recompile the kernel with `make compile-kernel` (or put a policy.weights.json from ' +
    '`python -m tiny_infer export-json` in the kernel folder)';
  if (!model) die(`${k.dir}/manifest.json names no 'model' for the python backend's weights: ${fix}`);
  const modelDir = path.resolve(ROOT, model);
  if (!fs.existsSync(path.join(modelDir, 'policy.safetensors'))) {
    die(`the kernel's model ${modelDir} has no policy.safetensors (python backend weights): ${fix}`);
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
  if (!bytes) {
    die(`exporting the python backend's weights from ${modelDir} failed (${why}): run \`make setup\``);
  }
  return checkWeights(k, bytes, `exported from ${model}`);
}

/**
 * The weights JSON must hold the kernel's weights (a checkpoint retrained after `make compile-kernel` would
 * not): run policy.wasm and the JSON's MLP on the same observations; different weights differ by far more
 * than float32 rounding.
 */
function checkWeights(k, bytes, source) {
  try {
    compareWithKernel(k, JSON.parse(bytes.toString('utf8')), source);
  } catch (e) {
    die(`${source} is not a usable weights JSON (${e.message}): re-export it with \`python -m tiny_infer ` +
      'export-json MODEL_DIR --out FILE`');
  }
  return bytes;
}

function compareWithKernel(k, w, source) {
  const e = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(k.wasm)), {}).exports;
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
    if (w.action.type === 'discrete') {
      const m = Math.max(...head), ex = head.map((z) => Math.exp(z - m)), sum = ex.reduce((a, b) => a + b);
      head = ex.map((z) => z / sum);
    }
    const want = [...head, mlp(w.critic, x)[0]];
    new Float32Array(e.memory.buffer).set(obs, e.input_ptr() >> 2);
    e.forward();
    const got = new Float32Array(e.memory.buffer, e.output_ptr(), nOut);
    const close = (v, j) => Math.abs(v - got[j]) <= 1e-3 * Math.max(1, Math.abs(v)); // false for NaN
    if (want.length !== nOut || !want.every(close)) {
      die(`the python backend's weights (${source}) are not the kernel's: for one observation policy.wasm gives ` +
        `[${Array.from(got)}], the JSON [${want}]; recompile the kernel from its model: \`make compile-kernel\``);
    }
  }
}

/** The python backend's files: MicroPython (runtime + wasm), tiny_infer/reference.py, the weights JSON. */
function pythonFiles(k) {
  const files = {
    'python:runtime': [path.join(MICROPYTHON, 'micropython.mjs'), 'file'],
    'python:runtime-wasm': [path.join(MICROPYTHON, 'micropython.wasm'), 'file'],
    'python:reference': [path.join(ROOT, 'tiny_infer', 'reference.py'), 'text'],
  };
  for (const [spec, [file]] of Object.entries(files)) {
    if (!fs.existsSync(file)) die(`${file} missing (python backend, ${spec}): run \`npm ci\``);
  }
  const loaded = Object.fromEntries(Object.entries(files).map(([spec, [file, loader]]) =>
    [spec, { contents: fs.readFileSync(file), loader }]));
  loaded['python:weights'] = { contents: pythonWeights(k), loader: 'file' };
  return loaded;
}

// Stable virtual paths: the asset names come from these (and the content hash), never from a temp folder.
// micropython.mjs is served as .js: some hosts lack .mjs in their MIME table, and modules need a JS type.
const PY_NAMES = { 'python:runtime': 'micropython.js', 'python:runtime-wasm': 'micropython.wasm',
  'python:reference': 'reference.py', 'python:weights': 'policy.weights.json' };

/**
 * The env registry (bundle/src/envs/index.js, contract 3): env id -> {spec, module}. Before the registry
 * existed only CartPole had a JS port; that fallback keeps older trees building.
 */
async function loadEnvs() {
  if (fs.existsSync(ENVS_INDEX)) {
    const { ENVS } = await import(pathToFileURL(ENVS_INDEX).href);
    return ENVS;
  }
  return { 'CartPole-v1': { spec: { id: 'CartPole-v1', title: 'CartPole', render: 'cartpole' }, module: 'cartpole' } };
}

/** The env's page modules: bundle/src/envs/<module>.js and bundle/src/render/<spec.render>.js. */
function envFiles(envs, envId) {
  const entry = envs[envId];
  if (!entry) die(`no JS env for ${envId}: the page supports ${Object.keys(envs).join(', ')}`);
  const envJs = path.join(SRC, 'envs', `${entry.module}.js`);
  const renderJs = path.join(SRC, 'render', `${entry.spec.render ?? entry.module}.js`);
  for (const f of [envJs, renderJs]) if (!fs.existsSync(f)) die(`${f} missing (env ${envId})`);
  return { spec: entry.spec, envJs, renderJs };
}

function virtualPlugin(k, manifest, single, env) {
  const hasPython = !single && fs.existsSync(path.join(SRC, 'backends', 'python.js'));
  const py = hasPython ? pythonFiles(k) : {};
  const lazy = [];
  if (k.gpuJs) lazy.push(`webgpu: () => import('./backends/webgpu.js')`);
  if (hasPython) lazy.push(`python: () => import('./backends/python.js')`);
  const modules = {
    'virtual:kernel': `export default ${JSON.stringify(manifest)};`,
    'virtual:backends': `export default {${lazy.join(', ')}};`,
    'virtual:env': `export { spec, Env } from ${JSON.stringify(env.envJs)};\n` +
      `export { renderer } from ${JSON.stringify(env.renderJs)};`,
  };
  return {
    name: 'virtual',
    setup(b) {
      b.onResolve({ filter: /^virtual:/ }, (a) => ({ path: a.path, namespace: 'virtual' }));
      b.onLoad({ filter: /.*/, namespace: 'virtual' }, (a) => ({ contents: modules[a.path], resolveDir: SRC,
        loader: 'js' }));
      b.onResolve({ filter: /^kernel:webgpu$/ }, () => (k.gpuJs ? { path: k.gpuJs }
        : { errors: [{ text: 'the kernel has no policy.webgpu.js' }] }));
      b.onResolve({ filter: /^python:/ }, (a) => (py[a.path] ? { path: `/${PY_NAMES[a.path]}`, namespace: 'python',
        pluginData: a.path } : { errors: [{ text: `${a.path}: no such python backend file in this build` }] }));
      b.onLoad({ filter: /.*/, namespace: 'python' }, (a) => py[a.pluginData]);
    },
  };
}

async function bundle(k, manifest, single, env) {
  const result = await esbuild.build({
    entryPoints: { app: path.join(SRC, 'app.js'), style: path.join(SRC, 'style.css') },
    bundle: true, format: 'esm', splitting: !single, minify: true, target: ['es2022'],
    outdir: '/virtual/assets', entryNames: '[name]-[hash]', chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]', loader: { '.wasm': 'file', '.py': 'text', '.bin': 'file' },
    write: false, metafile: true, legalComments: 'none', charset: 'utf8', logLevel: 'silent',
    plugins: [virtualPlugin(k, manifest, single, env)],
  }).catch((e) => die(`esbuild failed:\n${e.message}`));
  if (result.warnings.length) {
    const msgs = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    die(`esbuild warnings (the build must be warning-free):\n${msgs.join('\n')}`);
  }
  const files = new Map(result.outputFiles.map((f) => [path.basename(f.path), Buffer.from(f.contents)]));
  const entry = (name) => [...files.keys()].find((f) => f.startsWith(`${name}-`) && /\.(js|css)$/.test(f));
  return { files, js: entry('app'), css: entry('style') };
}

function csp(single, scriptHash, styleHash) {
  if (single) {
    return [`default-src 'none'`, `script-src '${scriptHash}' 'wasm-unsafe-eval'`, `style-src '${styleHash}'`,
      `img-src data:`, `base-uri 'none'`, `form-action 'none'`].join('; ');
  }
  return [`default-src 'self'`, `script-src 'self' 'wasm-unsafe-eval'`, `style-src 'self'`, `img-src 'self' data:`,
    `connect-src 'self'`, `object-src 'none'`, `base-uri 'none'`, `form-action 'none'`].join('; ');
}

function html(k, pm, parts) {
  const tpl = fs.readFileSync(path.join(SRC, 'index.html'), 'utf8');
  const backends = ['wasm', ...(k.gpuJs ? ['webgpu'] : []), ...(parts.python ? ['python'] : []), 'auto'];
  const hidden = k.manifest.hidden;
  const arch = Array.isArray(hidden) && hidden.every(Number.isInteger) ? `${hidden.join('×')} MLP` : 'MLP';
  const title = parts.spec.title ?? k.manifest.env_id;
  // Everything from the manifest or the spec is text: escaped here (HEAD is markup this script made).
  const vars = {
    CSP: esc(parts.csp), FAVICON: esc(parts.favicon), HEAD: parts.head,
    BACKENDS: backends.map((b) => `<option value="${esc(b)}">${esc(b)}</option>`).join(''),
    TITLE: esc(title), ENV_ID: esc(k.manifest.env_id), ARCH: esc(arch),
    DESCRIPTION: esc(parts.spec.description ?? `A PPO policy trained on Gymnasium's ${k.manifest.env_id}, ` +
      'compiled by tinygrad to WebAssembly and WebGPU, acting live in your browser.'),
    KB: esc(kb(fs.statSync(k.wasm).size)).replace(' ', '\u00a0'),
  };
  let out = tpl.replace(/%([A-Z]+)%/g, (m, v) => (v in vars ? vars[v] : m));
  if (parts.body) out = out.replace('</body>', () => `${parts.body}\n</body>`); // no $ patterns
  return out;
}

/** HTML-escape text placed in the page (element content and double-quoted attributes). */
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const sha256b64 = (s) => `sha256-${createHash('sha256').update(s).digest('base64')}`;

function writeAtomically(outDir, files, single) {
  // Write everything next to the target, then rename into place: assets first (new hashed names never
  // collide with live ones), the HTML last, then drop assets the new HTML no longer references.
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(outDir, '.build-'));
  try {
    for (const [rel, bytes] of files) {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), bytes);
    }
    const order = [...files.keys()].sort((a, b) => a.endsWith('.html') - b.endsWith('.html') || a.localeCompare(b));
    for (const rel of order) {
      fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
      fs.renameSync(path.join(tmp, rel), path.join(outDir, rel));
    }
    const assetsDir = path.join(outDir, 'assets');
    if (!single && fs.existsSync(assetsDir)) {
      for (const f of fs.readdirSync(assetsDir)) {
        if (!files.has(`assets/${f}`)) fs.rmSync(path.join(assetsDir, f), { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const k = readKernel(args.kernel);
  const env = envFiles(await loadEnvs(), k.manifest.env_id);
  const { manifest: pm, assets } = pageManifest(k, args.single);
  const { files: built, js, css } = await bundle(k, pm, args.single, env);
  const python = !args.single && fs.existsSync(path.join(SRC, 'backends', 'python.js'));
  const favicon = fs.readFileSync(path.join(STATIC, 'favicon.svg'));
  const out = new Map();
  let firstAction; // the files fetched until the first agent action (default backend: wasm)

  if (args.single) {
    const script = built.get(js).toString('utf8').replace(/<\/script/gi, '<\\/script');
    const style = built.get(css).toString('utf8');
    const doc = html(k, pm, {
      spec: env.spec, csp: csp(true, sha256b64(script), sha256b64(style)), python,
      favicon: `data:image/svg+xml;base64,${favicon.toString('base64')}`,
      head: `<style>${style}</style>`, body: `<script type="module">${script}</script>`,
    });
    out.set('cartpole.html', Buffer.from(doc));
    firstAction = ['cartpole.html'];
  } else {
    for (const [name, bytes] of [...built, ...assets]) out.set(`assets/${name}`, bytes);
    const wasmUrl = `assets/${pm.urls['policy.wasm']}`;
    const doc = html(k, pm, {
      spec: env.spec, csp: csp(false), python, favicon: 'favicon.svg',
      head: [`<link rel="stylesheet" href="assets/${css}">`,
        `<link rel="preload" href="${wasmUrl}" as="fetch" type="application/wasm" crossorigin>`,
        `<script type="module" src="assets/${js}"></script>`].join('\n'),
    });
    out.set('index.html', Buffer.from(doc));
    // A manifest for embedders: loadPolicy('assets/manifest.json') resolves the files next to it.
    out.set('assets/manifest.json', Buffer.from(`${JSON.stringify({ ...k.manifest, urls: pm.urls }, null, 1)}\n`));
    if (path.resolve(args.out) !== STATIC) {
      for (const f of fs.readdirSync(STATIC)) {
        if (!/\.html$/.test(f) && fs.statSync(path.join(STATIC, f)).isFile()) {
          out.set(f, fs.readFileSync(path.join(STATIC, f)));
        }
      }
    }
    firstAction = ['index.html', `assets/${js}`, `assets/${css}`, wasmUrl, 'favicon.svg'];
  }
  writeAtomically(args.out, out, args.single);

  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const sizeOf = (rel) => (out.get(rel) ?? fs.readFileSync(path.join(args.out, rel)));
  const rows = [...out.keys()].sort().map((rel) => [rel, out.get(rel).length, gz(out.get(rel))]);
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`wrote ${path.join(args.out, '')} (${k.manifest.env_id}${args.single ? ', single file' : ''}):`);
  for (const [rel, raw, z] of rows) console.log(`  ${rel.padEnd(w)}  ${kb(raw).padStart(9)}  ${kb(z).padStart(9)} gz`);
  const total = firstAction.reduce((a, rel) => a + gz(sizeOf(rel)), 0);
  if (args.single) console.log('(one file with every backend inlined; the 32 KB budget is for the multi-file site)');
  else {
    console.log(`bytes until the first agent action: ${kb(total)} gzipped (budget ${kb(BUDGET_GZ)})` +
      (total > BUDGET_GZ ? '  OVER BUDGET' : ''));
    const py = rows.filter(([rel]) => /^assets\/((micro)?python-.*|policy\.weights-.*\.json)$/.test(rel));
    const pyGz = py.reduce((a, r) => a + r[2], 0);
    if (py.length) console.log(`python backend, fetched only when chosen: ${kb(pyGz)} gzipped`);
  }
}

main();
