#!/usr/bin/env node
// Bundle the site (contract 3) from compiled kernel folders (contract 2); what each flag does: USAGE below
// (`--help` prints it).
// Relative URLs only. Same inputs give byte-identical outputs. Every input is checked before anything is
// written; files go to a temporary folder first and are renamed into place, so a failed build leaves the
// previous site intact. <out>/.rl-web-build.json records what the builds wrote: a rebuild removes only those
// of its own files that nothing references any more.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BuildError, RECOMPILE, bundleWebgpu, fail, readKernel, readSnapshots, sha256 } from './kernel.mjs';
import { PY_NAMES, pythonFiles } from './python.mjs';
import { checkOut, readRecord, recordFiles, writeSite } from './site.mjs';
import { engineWasm, isLoader, loaderWithoutEval } from './mujoco_engine.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(HERE, 'src');
const GALLERY = path.join(HERE, 'gallery');
const ROOT = path.dirname(HERE);
const STATIC = path.join(ROOT, 'public'); // committed static files (favicon.svg, _headers)
const ENVS_INDEX = path.join(SRC, 'envs', 'index.js'); // ENVS[envId] = {spec, Env, module} (docs/design.md)
const BUDGET_GZ = 32 * 1024;
const ENGINE_BUDGET_GZ = 1536 * 1024; // a page with a physics engine (MuJoCo: ~1.27 MB of it, issue 15)
const USAGE = `usage: node bundle/build.mjs --out DIR [--env ID]... [--kernels DIR] [--single] [--ported-only]
       node bundle/build.mjs --kernel KERNEL_DIR --out DIR [--single]

  --out DIR          the site folder <out> (required): one page per env at <out>/<env-id>/index.html, shared
                     content-hashed assets in <out>/assets/, and the gallery <out>/index.html (every env page
                     built so far into <out>)
  --env ID           build this env's page, its kernel from <kernels>/ID/ (repeatable; default: every kernel
                     folder under <kernels>)
  --kernels DIR      <kernels>: the compiled kernel folders, one per env id (default: build/kernels)
  --kernel DIR       one kernel folder: its env's page alone at <out>/index.html, e.g. to embed it elsewhere
  --single           one self-contained page per env, <out>/<env-id>.html (works from file://), no gallery
  --ported-only      leave out, with a note, the envs with no JS port yet (\`make bundle\`: every env with a
                     policy)
  -h, --help         this text`;

function parseArgs(argv) {
  const args = { kernel: null, kernels: path.join(ROOT, 'build', 'kernels'), envs: [], out: null, single: false,
    portedOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--single') args.single = true;
    else if (a === '--ported-only') args.portedOnly = true;
    else if (['--kernel', '--kernels', '--out', '--env'].includes(a)) {
      if (!argv[i + 1]) fail(`${a} needs a value (${USAGE.split('\n')[0]})`);
      if (a === '--env') args.envs.push(argv[++i]);
      else args[a.slice(2)] = argv[++i];
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument '${a}' (${USAGE.split('\n')[0]})`);
  }
  if (!args.out) fail('--out DIR is required (the site folder, e.g. public)');
  if (args.kernel && args.envs.length) fail('--kernel builds one page: give either --kernel or --env, not both');
  args.envs = [...new Set(args.envs)];
  return args;
}

const hash = (buf) => sha256(buf).slice(0, 10);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const gz = (b) => gzipSync(b, { level: 9 }).length;
/** HTML-escape text placed in a page (element content and double-quoted attributes). */
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const sha256b64 = (s) => `sha256-${createHash('sha256').update(s).digest('base64')}`;
/** An env id as a relative URL path (ids like ALE/Pong-v5 keep their slash as a folder). */
const urlPath = (id) => id.split('/').map(encodeURIComponent).join('/');

/** The env registry (bundle/src/envs/index.js, contract 3): env id -> {spec, Env, module}. */
async function loadEnvs() {
  return (await import(pathToFileURL(ENVS_INDEX).href)).ENVS;
}

/** The env's page modules: bundle/src/envs/<module>.js and bundle/src/render/<spec.render>.js. */
function envFiles(envs, envId) {
  const entry = Object.hasOwn(envs, envId) ? envs[envId] : null;
  if (!entry) fail(`no JS env for ${envId}: the page supports ${Object.keys(envs).join(', ')}`);
  const envJs = path.join(SRC, 'envs', `${entry.module}.js`);
  const renderJs = path.join(SRC, 'render', `${entry.spec.render}.js`);
  for (const f of [envJs, renderJs]) if (!fs.existsSync(f)) fail(`${f} missing (env ${envId})`);
  return { id: envId, spec: entry.spec, envJs, renderJs, engine: Boolean(entry.spec.engine) };
}

/** The build-time manifest the page inlines: contract 2's fields plus hashed URLs or inlined bytes. */
function pageManifest(k, single, env) {
  const m = k.manifest;
  const out = {
    env_id: m.env_id, obs_dim: m.obs_dim, action: m.action, outputs: m.outputs, batch_size: m.batch_size,
    hidden: m.hidden, tinygrad_version: m.tinygrad_version, webgpu: k.gpuJs ? { weights: k.weights } : null,
  };
  if (m.saliency !== undefined) out.saliency = m.saliency;
  // The page's script carries this text; in the single file that script is inline, where '<!--' or '<script'
  // would change how the HTML parser ends it (esbuild escapes only '</script').
  JSON.stringify(out, (key, v) => {
    if (typeof v === 'string' && v.includes('<')) {
      fail(`${k.dir}/manifest.json: '${key}' holds markup (${JSON.stringify(v.slice(0, 40))}): ${RECOMPILE}`);
    }
    return v;
  });
  const assets = new Map(); // asset name -> bytes
  const files = [['policy.wasm', k.wasmBytes], ...(env.engine ? [['engine.wasm', engineWasm()]] : []),
    ...(k.gpuJs && k.weightsFile ? [[k.weights, fs.readFileSync(k.weightsFile)]] : [])];
  if (single) out.inline = {};
  else out.urls = {};
  for (const [name, bytes] of files) {
    if (single) out.inline[name] = bytes.toString('base64');
    else {
      const ext = path.extname(name), hashed = `${path.basename(name, ext)}-${hash(bytes)}${ext}`;
      out.urls[name] = hashed;
      assets.set(hashed, bytes);
    }
  }
  // The training timeline (issue 14): each snapshot's kernel a hashed asset the page fetches only when chosen
  // (the final one is the policy's own kernel). The single file leaves them out (they would all be inlined).
  const snaps = single ? [] : readSnapshots(k);
  if (snaps.length > 1) {
    out.snapshots = snaps.map((s) => {
      const entry = { id: String(s.steps), steps: s.steps, eval: s.eval };
      if (s.final) return { ...entry, final: true };
      entry.url = `snapshot-${hash(s.k.wasmBytes)}.wasm`;
      assets.set(entry.url, s.k.wasmBytes);
      return entry;
    });
  }
  return { manifest: out, assets };
}

/**
 * Whether the page gets the lazy python backend: multi-file pages (the single file would inline MicroPython)
 * of a kernel with policy.weights.json (a kernel compiled before compile wrote it has none).
 */
const hasPython = (k, single) => !single && k.weightsJson !== null;

function virtualPlugin(k, manifest, python, env) {
  const py = python ? pythonFiles(k) : {};
  const lazy = [];
  if (k.gpuJs) lazy.push(`webgpu: () => import('./backends/webgpu.js')`);
  if (python) lazy.push(`python: () => import('./backends/python.js')`);
  const modules = {
    'virtual:kernel': `export default ${JSON.stringify(manifest)};`,
    'virtual:backends': `export default {${lazy.join(', ')}};`,
    // load: an engine env's loader (docs/design.md), null for the others
    'virtual:env': `export { spec, Env${env.engine ? ', load' : ''} } from ${JSON.stringify(env.envJs)};\n` +
      (env.engine ? '' : 'export const load = null;\n') +
      `export { renderer } from ${JSON.stringify(env.renderJs)};`,
  };
  return {
    name: 'virtual',
    setup(b) {
      b.onResolve({ filter: /^virtual:/ }, (a) => (a.path in modules ? { path: a.path, namespace: 'virtual' }
        : { errors: [{ text: `${a.path}: no such virtual module in a page build` }] }));
      b.onLoad({ filter: /.*/, namespace: 'virtual' }, (a) => ({ contents: modules[a.path], resolveDir: SRC,
        loader: 'js' }));
      bundleWebgpu(b, k);
      b.onResolve({ filter: /^python:/ }, (a) => (py[a.path] ? { path: `/${PY_NAMES[a.path]}`, namespace: 'python',
        pluginData: a.path } : { errors: [{ text: `${a.path}: no such python backend file in this build` }] }));
      b.onLoad({ filter: /.*/, namespace: 'python' }, (a) => py[a.pluginData]);
      // @mujoco/mujoco's loader: its Embind stubs built without new Function (the CSP keeps 'unsafe-eval' out),
      // and the Node built-ins it imports on its Node-only path left as imports, never run in a page
      b.onLoad({ filter: /[\\/]@mujoco[\\/]mujoco[\\/]mujoco\.js$/ }, (a) =>
        (isLoader(a.path) ? { ...loaderWithoutEval(), loader: 'js' } : undefined));
      b.onResolve({ filter: /^(node:)?(module|fs|path|url|crypto)$/ }, (a) =>
        (a.importer.includes(`${path.sep}node_modules${path.sep}@mujoco${path.sep}`) ? { path: a.path, external: true }
          : undefined));
    },
  };
}

/**
 * esbuild one entry set into memory: {files: Map(name -> bytes), entry(name), closure(name)}, where
 * closure(name) is the entry's output with every chunk it imports statically (what loads before it runs).
 */
async function esbuildInto(entryPoints, plugin, single) {
  const result = await esbuild.build({
    entryPoints, absWorkingDir: ROOT, bundle: true, format: 'esm', splitting: !single, minify: true,
    target: ['es2022'],
    outdir: '/virtual/assets', entryNames: '[name]-[hash]', chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]', loader: { '.wasm': 'file', '.py': 'text', '.bin': 'file' },
    write: false, metafile: true, legalComments: 'none', charset: 'utf8', logLevel: 'silent',
    plugins: [plugin],
  }).catch((e) => {
    const first = e.errors?.[0], where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    fail(`esbuild failed${e.errors?.length > 1 ? ` (${e.errors.length} errors)` : ''}: ` +
      (first ? `${where}${first.text}` : e.message.replace(/\s+/g, ' ')));
  });
  if (result.warnings.length) {
    const msgs = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    fail(`esbuild warnings (the build must be warning-free): ${msgs.join(' ').replace(/\s+/g, ' ')}`);
  }
  const files = new Map(result.outputFiles.map((f) => [path.basename(f.path), Buffer.from(f.contents)]));
  const outputs = new Map(Object.entries(result.metafile.outputs).map(([p, o]) => [path.basename(p), o]));
  // the output of entryPoints[name] (metafile paths are relative to absWorkingDir)
  const entry = (name) => [...outputs].find(([, o]) => o.entryPoint &&
    path.resolve(ROOT, o.entryPoint) === path.resolve(entryPoints[name]))?.[0] ??
    fail(`internal: esbuild wrote no output for the entry ${name}`);
  const closure = (name) => {
    const seen = new Set([name]);
    for (const f of seen) {
      for (const imp of outputs.get(f)?.imports ?? []) {
        if (imp.kind === 'import-statement') seen.add(path.basename(imp.path));
      }
    }
    return [...seen];
  };
  return { files, entry, closure };
}

function pageCsp(single, scriptHash, styleHash) {
  if (single) {
    return [`default-src 'none'`, `script-src '${scriptHash}' 'wasm-unsafe-eval'`, `style-src '${styleHash}'`,
      `img-src data:`, `base-uri 'none'`, `form-action 'none'`].join('; ');
  }
  return [`default-src 'self'`, `script-src 'self' 'wasm-unsafe-eval'`, `style-src 'self'`, `img-src 'self' data:`,
    `connect-src 'self'`, `object-src 'none'`, `base-uri 'none'`, `form-action 'none'`].join('; ');
}

/** Fill a template's %NAME% slots: `vars` values are inserted as they are (escape them first). */
function fill(template, vars) {
  return template.replace(/%([A-Z_]+)%/g, (m, v) => (Object.hasOwn(vars, v) ? vars[v] : m));
}

function pageHtml(k, env, parts) {
  const tpl = fs.readFileSync(path.join(SRC, 'index.html'), 'utf8');
  const backends = ['wasm', ...(k.gpuJs ? ['webgpu'] : []), ...(parts.python ? ['python'] : []), 'auto'];
  const hidden = k.manifest.hidden;
  // Everything from the manifest or the spec is text, escaped here; HEAD and BODY are markup built here.
  const vars = {
    CSP: esc(parts.csp), FAVICON: esc(parts.favicon), HEAD: parts.head,
    BACKENDS: backends.map((b) => `<option value="${esc(b)}">${esc(b)}</option>`).join(''),
    TITLE: esc(env.spec.title ?? env.id), ENV_ID: esc(env.id),
    ARCH: esc(hidden ? `${hidden.join('×')} MLP` : 'MLP'),
    DESCRIPTION: esc(env.spec.description ?? `A PPO policy trained on Gymnasium's ${env.id}, compiled by ` +
      'tinygrad to WebAssembly and WebGPU, acting live in your browser.'),
    KB: esc(kb(k.wasmBytes.length)).replace(' ', '\u00a0'),
  };
  let out = fill(tpl, vars);
  if (parts.body) out = out.replace('</body>', () => `${parts.body}\n</body>`); // no $ patterns
  return out;
}

/**
 * One env's page. dir: '' (the page at the out folder's root) or '<env-id>/' (site mode; assets one level
 * up). Returns {html (its path), files: Map(rel -> bytes), firstAction: [rels], info}.
 */
async function buildPage(k, env, { single, dir }) {
  const { manifest: pm, assets } = pageManifest(k, single, env);
  const python = hasPython(k, single);
  const plugin = virtualPlugin(k, pm, python, env);
  const built = await esbuildInto({ app: path.join(SRC, 'app.js'), style: path.join(SRC, 'style.css') }, plugin,
    single);
  const js = built.entry('app'), css = built.entry('style');
  const files = new Map();
  const up = dir ? '../'.repeat(dir.split('/').length - 1) : '';
  let html, firstAction;
  if (single) {
    const favicon = fs.readFileSync(path.join(STATIC, 'favicon.svg'));
    const script = built.files.get(js).toString('utf8').replace(/<\/script/gi, '<\\/script');
    const style = built.files.get(css).toString('utf8');
    const doc = pageHtml(k, env, {
      csp: pageCsp(true, sha256b64(script), sha256b64(style)), python,
      favicon: `data:image/svg+xml;base64,${favicon.toString('base64')}`,
      head: `<style>${style}</style>`, body: `<script type="module">${script}</script>`,
    });
    html = `${env.id}.html`;
    files.set(html, Buffer.from(doc));
    firstAction = [html];
  } else {
    for (const [name, bytes] of [...built.files, ...assets]) files.set(`assets/${name}`, bytes);
    const wasmUrl = `${up}assets/${pm.urls['policy.wasm']}`;
    const doc = pageHtml(k, env, {
      csp: pageCsp(false), python, favicon: `${up}favicon.svg`,
      head: [`<link rel="stylesheet" href="${up}assets/${esc(css)}">`,
        `<link rel="preload" href="${esc(wasmUrl)}" as="fetch" type="application/wasm" crossorigin>`,
        ...(pm.urls['engine.wasm'] ? [`<link rel="preload" href="${esc(`${up}assets/${pm.urls['engine.wasm']}`)}" ` +
          'as="fetch" type="application/wasm" crossorigin>'] : []),
        `<script type="module" src="${up}assets/${esc(js)}"></script>`].join('\n'),
    });
    html = `${dir}index.html`;
    files.set(html, Buffer.from(doc));
    // A manifest for embedders: loadPolicy('<page>/manifest.json') resolves the URLs relative to it.
    const urls = Object.fromEntries(Object.entries(pm.urls).map(([n, u]) => [n, `${up}assets/${u}`]));
    const mname = dir ? `${dir}manifest.json` : 'assets/manifest.json';
    const murls = dir ? urls : pm.urls;
    files.set(mname, Buffer.from(`${JSON.stringify({ ...k.manifest, urls: murls }, null, 1)}\n`));
    firstAction = [html, ...built.closure(js).map((f) => `assets/${f}`), `assets/${css}`,
      `assets/${pm.urls['policy.wasm']}`, ...(pm.urls['engine.wasm'] ? [`assets/${pm.urls['engine.wasm']}`] : []),
      'favicon.svg'];
  }
  const favicon = fs.readFileSync(path.join(STATIC, 'favicon.svg'));
  const firstGz = firstAction.reduce((a, rel) => a + gz(files.get(rel) ?? favicon), 0);
  const ev = k.manifest.eval; // contract 2: the checkpoint's evaluation at training time, or null
  const info = { title: env.spec.title ?? env.id, solved: env.spec.solved ?? null,
    eval: ev ? { mean: ev.mean, episodes: ev.episodes } : null,
    wasm_bytes: k.wasmBytes.length, first_action_gz: firstGz, budget_gz: env.engine ? ENGINE_BUDGET_GZ : BUDGET_GZ,
    single };
  return { html, files, firstAction, info };
}

/** The gallery (<out>/index.html): a card per multi-file env page in `pages` (the record's). */
async function buildGallery(pages, envs) {
  const order = Object.keys(envs);
  const entries = Object.entries(pages).filter(([html, p]) => !p.info.single && html.endsWith('/index.html'))
    .sort(([, a], [, b]) => ((order.indexOf(a.env) + 1 || 1e9) - (order.indexOf(b.env) + 1 || 1e9)) ||
      a.env.localeCompare(b.env));
  // Previews: each env module and renderer present in this tree (engines that need loading are skipped).
  const previews = entries.map(([, p]) => p.env).filter((id) => Object.hasOwn(envs, id))
    .map((id) => envFiles(envs, id)).filter((e) => !e.engine);
  const src = previews.map((e, i) => `import { Env as E${i} } from ${JSON.stringify(e.envJs)};\n` +
    `import { renderer as R${i} } from ${JSON.stringify(e.renderJs)};`).join('\n') +
    `\nexport default {${previews.map((e, i) => `${JSON.stringify(e.id)}: { Env: E${i}, renderer: R${i} }`)
      .join(', ')}};`;
  const plugin = {
    name: 'gallery',
    setup(b) {
      b.onResolve({ filter: /^virtual:gallery$/ }, (a) => ({ path: a.path, namespace: 'virtual' }));
      b.onLoad({ filter: /.*/, namespace: 'virtual' }, () => ({ contents: src, resolveDir: SRC, loader: 'js' }));
    },
  };
  const built = await esbuildInto({ gallery: path.join(GALLERY, 'gallery.js'),
    'gallery-style': path.join(GALLERY, 'gallery.css') }, plugin, false);
  const js = built.entry('gallery'), css = built.entry('gallery-style');
  const cards = entries.map(([, p]) => card(p));
  const doc = fill(fs.readFileSync(path.join(GALLERY, 'index.html'), 'utf8'), {
    CSP: esc(pageCsp(false)),
    HEAD: [`<link rel="stylesheet" href="assets/${esc(css)}">`,
      `<script type="module" src="assets/${esc(js)}"></script>`].join('\n'),
    CARDS: cards.join('\n') || '<li>No environment page built yet: run <code>make bundle</code>.</li>',
  });
  const files = new Map([['index.html', Buffer.from(doc)]]);
  for (const [name, bytes] of built.files) files.set(`assets/${name}`, bytes);
  return files;
}

const num = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));

function card(p) {
  const { info } = p;
  const solved = info.solved;
  const ev = info.eval;
  let evalText = '–';
  if (ev) {
    const ok = solved === null ? null : ev.mean >= solved;
    const mark = ok === null ? '' : ok ? ' class="ok"' : ' class="no"';
    evalText = `<span${mark}>${esc(num(ev.mean))}</span>` +
      (solved === null ? '' : ` (solved ≥ ${esc(num(solved))}${ok ? ' ✓' : ''})`);
  } else if (solved !== null) evalText = `– (solved ≥ ${esc(num(solved))})`;
  const budget = info.first_action_gz <= (info.budget_gz ?? BUDGET_GZ) ? 'ok' : 'no';
  // './' first: an id with a colon must not read as a URL scheme
  return `<li class="card"><a href="./${esc(urlPath(p.env))}/">` +
    `<canvas data-env="${esc(p.env)}" width="300" height="200" role="img" ` +
    `aria-label="${esc(info.title)}: the first state, drawn by its renderer"></canvas>` +
    `<h2>${esc(info.title)}<small>${esc(p.env)}</small></h2></a>` +
    `<dl><dt>Eval return</dt><dd>${evalText}</dd>` +
    `<dt>Kernel</dt><dd>${esc(kb(info.wasm_bytes))} wasm</dd>` +
    `<dt>Page</dt><dd><span class="${budget}">${esc(kb(info.first_action_gz))}</span> gz to first action</dd>` +
    '</dl></li>';
}

/** The env ids to build in site mode: --env ones, else every kernel folder under --kernels. */
function siteEnvs(args) {
  if (args.envs.length) return args.envs;
  if (!fs.existsSync(args.kernels)) fail(`no kernels in ${args.kernels}: run \`make compile-kernel\``);
  const ids = fs.readdirSync(args.kernels).filter((d) => fs.existsSync(path.join(args.kernels, d, 'manifest.json')))
    .sort();
  if (!ids.length) fail(`no kernels in ${args.kernels}: run \`make compile-kernel\``);
  return ids;
}

/**
 * The build. Its inputs: the kernel folders (contract 2) and this repository's bundle/, public/'s static
 * files, rl_web_agent/runtime_py/mlp.py and node_modules; nothing else (no checkpoint, no Python: Node alone builds).
 */
async function main() {
  const args = parseArgs(process.argv.slice(2));
  checkOut(args.out);
  const envs = await loadEnvs();
  const site = !args.kernel;
  let ids = site ? siteEnvs(args) : [null];
  if (site && args.portedOnly) {
    const unported = ids.filter((id) => !Object.hasOwn(envs, id));
    if (unported.length) console.log(`left out (no JS port in bundle/src/envs yet): ${unported.join(', ')}`);
    ids = ids.filter((id) => Object.hasOwn(envs, id));
    if (!ids.length) fail(`none of the envs has a JS port: the page supports ${Object.keys(envs).join(', ')}`);
  }
  const jobs = ids.map((id) => ({ id, kernel: id === null ? args.kernel : path.join(args.kernels, id) }));
  // Check every kernel first: a bad one fails the build before anything is bundled or written.
  const checked = jobs.map(({ id, kernel }) => {
    if (id !== null && !fs.existsSync(path.join(kernel, 'manifest.json'))) {
      fail(`no kernel for ${id} in ${kernel}: run \`make compile-kernel ENV=${id}\``);
    }
    const k = readKernel(kernel);
    if (id !== null && k.manifest.env_id !== id) {
      fail(`${kernel}/manifest.json is a kernel for ${k.manifest.env_id}, not ${id}: recompile it with ` +
        `\`make compile-kernel ENV=${id}\``);
    }
    return { k, env: envFiles(envs, k.manifest.env_id) };
  });
  for (const { k } of checked) {
    if (!args.single && !hasPython(k, args.single)) {
      console.log(`${k.manifest.env_id}: no python backend on its page (${k.dir} has no policy.weights.json: ` +
        `${RECOMPILE} to add it)`);
    }
  }

  const old = readRecord(args.out);
  const record = { format: 1, pages: {}, extra: [] };
  const out = new Map();
  const built = [];
  for (const { k, env } of checked) {
    const page = await buildPage(k, env, { single: args.single, dir: site && !args.single ? `${env.id}/` : '' });
    for (const [rel, bytes] of page.files) out.set(rel, bytes);
    record.pages[page.html] = { env: env.id, files: [...page.files.keys()].sort(), info: page.info };
    built.push({ env, page });
  }
  // Earlier builds' pages stay (and stay in the gallery) while their files are there; a site build's
  // gallery replaces a single page built at the root.
  for (const [html, p] of Object.entries(old.pages)) {
    if (record.pages[html] || (site && !args.single && html === 'index.html')) continue;
    if ((p.files ?? []).every((f) => fs.existsSync(path.join(args.out, f)))) record.pages[html] = p;
  }
  if (site && !args.single) {
    for (const [rel, bytes] of await buildGallery(record.pages, envs)) out.set(rel, bytes);
    record.extra.push('index.html', ...[...out.keys()].filter((r) => r.startsWith('assets/gallery')));
  } else if (site) record.extra.push(...old.extra); // --single leaves the gallery as it is
  if (!args.single && path.resolve(args.out) !== STATIC) {
    for (const f of fs.readdirSync(STATIC).sort()) {
      // the committed static files: not built pages, not dotfiles (a build record when public/ was built)
      if (!/\.html$/.test(f) && !f.startsWith('.') && fs.statSync(path.join(STATIC, f)).isFile()) {
        out.set(f, fs.readFileSync(path.join(STATIC, f)));
        record.extra.push(f);
      }
    }
  }
  record.extra = [...new Set(record.extra)].sort();
  record.pages = Object.fromEntries(Object.entries(record.pages).sort(([a], [b]) => a.localeCompare(b)));
  // The record lists every file the builds it describes wrote; a kept page keeps its shared assets.
  const recorded = new Set(recordFiles(record));
  for (const rel of out.keys()) {
    if (!recorded.has(rel)) fail(`internal: ${rel} is written but not recorded`);
  }
  writeSite(args.out, out, record, old);
  report(args, built);
}

function report(args, built) {
  console.log(`wrote ${path.join(args.out, '')}${args.single ? ' (single files)' : ''}:`);
  for (const { env, page } of built) {
    const rows = [...page.files].map(([rel, b]) => [rel, b.length, gz(b)]).sort((a, b) => a[0].localeCompare(b[0]));
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`${env.id}: ${page.html}`);
    for (const [rel, raw, z] of rows) console.log(`  ${rel.padEnd(w)}  ${kb(raw).padStart(9)}  ${kb(z).padStart(9)} gz`);
    const total = page.info.first_action_gz;
    if (args.single) console.log('  (one file with every backend inlined; the 32 KB budget is for the multi-file site)');
    else {
      const budget = page.info.budget_gz;
      console.log(`  ${env.id}: bytes until the first agent action: ${kb(total)} gzipped (budget ${kb(budget)})` +
        (total > budget ? '  OVER BUDGET' : ''));
      const py = rows.filter(([rel]) => /^assets\/((micro)?python-.*|policy\.weights-.*\.json)$/.test(rel));
      if (py.length) console.log(`  python backend, fetched only when chosen: ${kb(py.reduce((a, r) => a + r[2], 0))} gzipped`);
    }
  }
}

main().catch((e) => {
  if (!(e instanceof BuildError)) throw e;
  console.error(`build.mjs: ${e.message}`);
  process.exit(1);
});
