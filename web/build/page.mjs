// One env's page: its modules (the env registry), the manifest it inlines, and its files (multi-file: the
// document, the esbuild output and the hashed assets; single: one self-contained document).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { esbuildInto, virtualPlugin } from './bundler.mjs';
import { esc, pageCsp, pageHtml, sha256b64 } from './html.mjs';
import { RECOMPILE, fail, readSnapshots, sha256 } from './kernel.mjs';
import { engineData, engineFor } from './engines.mjs';
import { ENVS_INDEX, PAGE, STATIC } from './paths.mjs';
import { budgetGz, gz } from './report.mjs';

const hash = (buf) => sha256(buf).slice(0, 10);

/** The env registry (web/page/envs/index.js, the page API): env id -> {spec, Env, module}. */
export async function loadEnvs() {
  return (await import(pathToFileURL(ENVS_INDEX).href)).ENVS;
}

/** The env's page modules: web/page/envs/<module>.js and web/page/render/<spec.render>.js, of the entry that
 * makes the policy's frames (policy.json `frames`; none for a state policy): an Atari id's frames are its
 * wrappers', so an imported policy's NoFrameskip-v4 game has one entry per library (web/page/envs/index.js).
 * frames undefined: the entry under the id itself (a page record from before frames were recorded). */
export function envFiles(envs, envId, frames) {
  const made = Object.values(envs).filter((e) => e.spec.id === envId);
  if (!made.length) {
    const ids = [...new Set(Object.values(envs).map((e) => e.spec.id))];
    fail(`no JS env for ${envId}: the page supports ${ids.join(', ')}`);
  }
  const entry =
    frames === undefined ? envs[envId] : made.find((e) => (e.spec.frames ?? null) === (frames ?? null));
  if (!entry) {
    const kinds = made.map((e) => `'${e.spec.frames ?? 'state'}'`).join(' or ');
    fail(
      `the policy sees '${frames ?? 'state'}' frames, the page's ${envId} makes ${kinds} ones: ` +
        'compile a policy trained under the wrappers that page reproduces',
    );
  }
  const envJs = path.join(PAGE, 'envs', `${entry.module}.js`);
  const renderJs = path.join(PAGE, 'render', `${entry.spec.render}.js`);
  for (const f of [envJs, renderJs]) if (!fs.existsSync(f)) fail(`${f} missing (env ${envId})`);
  // engine: the spec's engine name (web/build/engines.mjs), null for an env whose physics is plain JS
  // variant: the module's variants[frames] is the page's env (the bundler's virtual:env), else its spec and Env
  const variant = entry.variant ?? null;
  return { id: envId, spec: entry.spec, envJs, renderJs, engine: entry.spec.engine ?? null, variant };
}

/** The build-time manifest the page inlines: the kernel folder's fields the page reads (every byte of it is on
 * the first action's bill), plus hashed URLs or inlined bytes, and the SRI integrity of the env's engine files. */
function pageManifest(k, single, env) {
  const m = k.manifest;
  const out = {
    env_id: m.env_id,
    obs_dim: m.obs_dim,
    action: m.action,
    outputs: m.outputs,
    batch_size: m.batch_size,
    tinygrad_version: m.tinygrad_version,
    webgpu: k.gpuJs ? { weights: k.weights } : null,
  };
  // A convolutional kernel's (only when present: no byte more for the others): `input`, what the kernel reads
  // (dtype uint8: the page writes frames as bytes), and `frames`, the preprocessing its policy was trained on
  // (the env must make its frames the same way).
  for (const key of ['input', 'frames']) if (m[key] != null) out[key] = m[key];
  // The page's script carries this text; in the single file that script is inline, where '<!--' or '<script'
  // would change how the HTML parser ends it (esbuild escapes only '</script').
  JSON.stringify(out, (key, v) => {
    if (typeof v === 'string' && v.includes('<')) {
      fail(`${k.dir}/manifest.json: '${key}' holds markup (${JSON.stringify(v.slice(0, 40))}): ${RECOMPILE}`);
    }
    return v;
  });
  const assets = new Map(); // asset name -> bytes
  const engine = env.engine ? engineFor(env.engine) : null;
  // the env's engine data: the one file its engine takes for this env (an Atari game's ROM), null for most
  const data = env.engine ? engineData(env.engine, env.spec) : null;
  // the engine's (and its data's) SRI hash: the page's fetch (and its preload) refuse any other bytes
  if (engine) out.integrity = { 'engine.wasm': engine.integrity };
  if (data) out.integrity['engine.data'] = data.integrity;
  const files = [
    ['policy.wasm', k.wasmBytes],
    // fetched on first use (batch, saliency): never before the first action; a kernel without one (a
    // convolutional policy's, so far) has none on its page either
    ...(k.lazyBytes ? [['policy.lazy.wasm', k.lazyBytes]] : []),
    ...(engine ? [['engine.wasm', engine.bytes]] : []),
    ...(data ? [['engine.data', data.bytes]] : []),
    ...(k.gpuJs && k.weightsFile ? [[k.weights, fs.readFileSync(k.weightsFile)]] : []),
  ];
  if (single) out.inline = {};
  else out.urls = {};
  for (const [name, bytes] of files) {
    if (single) out.inline[name] = bytes.toString('base64');
    else {
      const ext = path.extname(name),
        hashed = `${path.basename(name, ext)}-${hash(bytes)}${ext}`;
      out.urls[name] = hashed;
      assets.set(hashed, bytes);
    }
  }
  // The training timeline: each snapshot's kernel a hashed asset the page fetches only when chosen (the final
  // one is the policy's own kernel). The page's script lists the snapshots (id, steps); what only the timeline's
  // lazy half reads (eval, the kernels' URLs) is a JSON asset it fetches, off the first action's bill. The
  // single file leaves them out (they would all be inlined).
  const snaps = single ? [] : readSnapshots(k);
  if (snaps.length > 1) {
    const table = {};
    out.snapshots = snaps.map((s) => {
      const entry = { id: String(s.steps), steps: s.steps };
      table[entry.id] = { eval: s.eval };
      if (s.final) return { ...entry, final: true };
      const url = `snapshot-${hash(s.k.wasmBytes)}.wasm`;
      assets.set(url, s.k.wasmBytes);
      Object.assign(table[entry.id], { url });
      if (s.k.lazyBytes) {
        // its own lazy half: another kernel's reads the weights at that kernel's addresses
        const lazy = `snapshot-${hash(s.k.lazyBytes)}.lazy.wasm`;
        assets.set(lazy, s.k.lazyBytes);
        table[entry.id].lazy = lazy;
      }
      return entry;
    });
    const bytes = Buffer.from(`${JSON.stringify(table)}\n`);
    out.snapshot_table = `snapshots-${hash(bytes)}.json`;
    assets.set(out.snapshot_table, bytes);
  }
  return { manifest: out, assets };
}

/**
 * Whether the page gets the lazy python backend: multi-file pages (the single file would inline MicroPython)
 * of a kernel with policy.weights.json (a kernel compiled before compile wrote it has none).
 */
export const hasPython = (k, single) => !single && k.weightsJson !== null;

/**
 * One env's page. dir: '' (the page at the out folder's root) or '<env-id>/' (site mode; assets one level
 * up). Returns {html (its path), files: Map(rel -> bytes), firstAction: [rels], info, metafile (esbuild's)}.
 */
export async function buildPage(k, env, { single, dir }) {
  const { manifest: pm, assets } = pageManifest(k, single, env);
  const python = hasPython(k, single);
  const plugin = virtualPlugin(k, pm, python, env);
  const built = await esbuildInto(
    { app: path.join(PAGE, 'core', 'app.js'), style: path.join(PAGE, 'style.css') },
    plugin,
    single,
  );
  const js = built.entry('app'),
    css = built.entry('style');
  const files = new Map();
  const up = dir ? '../'.repeat(dir.split('/').length - 1) : '';
  let html, firstAction;
  if (single) {
    const favicon = fs.readFileSync(path.join(STATIC, 'favicon.svg'));
    const script = built.files
      .get(js)
      .toString('utf8')
      .replace(/<\/script/gi, '<\\/script');
    const style = built.files.get(css).toString('utf8');
    const doc = pageHtml(k, env, {
      csp: pageCsp(true, sha256b64(script), sha256b64(style)),
      python,
      favicon: `data:image/svg+xml;base64,${favicon.toString('base64')}`,
      head: `<style>${style}</style>`,
      body: `<script type="module">${script}</script>`,
    });
    html = `${env.id}.html`;
    files.set(html, Buffer.from(doc));
    firstAction = [html];
  } else {
    for (const [name, bytes] of [...built.files, ...assets]) files.set(`assets/${name}`, bytes);
    const wasmUrl = `${up}assets/${pm.urls['policy.wasm']}`;
    const doc = pageHtml(k, env, {
      csp: pageCsp(false),
      python,
      favicon: `${up}favicon.svg`,
      head: [
        `<link rel="stylesheet" href="${up}assets/${esc(css)}">`,
        `<link rel="preload" href="${esc(wasmUrl)}" as="fetch" type="application/wasm" crossorigin>`,
        // the engine and its data, fetched with their integrity (a preload without the same integrity and
        // credentials mode would be fetched twice)
        ...[
          ['engine.wasm', ' type="application/wasm"'],
          ['engine.data', ''],
        ]
          .filter(([name]) => pm.urls[name])
          .map(
            ([name, type]) =>
              `<link rel="preload" href="${esc(`${up}assets/${pm.urls[name]}`)}" as="fetch"${type} ` +
              `crossorigin integrity="${esc(pm.integrity[name])}">`,
          ),
        `<script type="module" src="${up}assets/${esc(js)}"></script>`,
      ].join('\n'),
    });
    html = `${dir}index.html`;
    files.set(html, Buffer.from(doc));
    // A manifest for embedders: loadPolicy('<page>/manifest.json') resolves the URLs relative to it.
    const urls = Object.fromEntries(Object.entries(pm.urls).map(([n, u]) => [n, `${up}assets/${u}`]));
    const mname = dir ? `${dir}manifest.json` : 'assets/manifest.json';
    const murls = dir ? urls : pm.urls;
    files.set(mname, Buffer.from(`${JSON.stringify({ ...k.manifest, urls: murls }, null, 1)}\n`));
    firstAction = [
      html,
      ...built.closure(js).map((f) => `assets/${f}`),
      `assets/${css}`,
      `assets/${pm.urls['policy.wasm']}`,
      ...['engine.wasm', 'engine.data'].filter((n) => pm.urls[n]).map((n) => `assets/${pm.urls[n]}`),
      'favicon.svg',
    ];
  }
  const favicon = fs.readFileSync(path.join(STATIC, 'favicon.svg'));
  const firstGz = firstAction.reduce((a, rel) => a + gz(files.get(rel) ?? favicon), 0);
  const ev = k.manifest.eval; // the kernel folder: the checkpoint's evaluation at training time, or null
  const info = {
    title: env.spec.title ?? env.id,
    solved: env.spec.solved ?? null,
    eval: ev ? { mean: ev.mean, episodes: ev.episodes } : null,
    wasm_bytes: k.wasmBytes.length,
    first_action_gz: firstGz,
    budget_gz: budgetGz(env.spec),
    engine: env.engine, // spec.engine: null for an env whose physics is plain JS
    single,
  };
  return { html, files, firstAction, info, metafile: built.metafile };
}
