// The gallery (<out>/index.html): a card per env page the site holds, each with a preview its env's own
// renderer draws (web/page/gallery/).
import fs from 'node:fs';
import path from 'node:path';
import { engineLoaders, esbuildInto } from './bundler.mjs';
import { engineData, engineFor } from './engines.mjs';
import { esc, fill, pageCsp, urlPath } from './html.mjs';
import { envFiles } from './page.mjs';
import { GALLERY, PAGE } from './paths.mjs';
import { kb } from './report.mjs';

/** The gallery (<out>/index.html): a card per multi-file env page in `pages` (the record's). */
export async function buildGallery(pages, envs) {
  const order = Object.values(envs).map((e) => e.spec.id); // the registry's order (its keys name variants too)
  const entries = Object.entries(pages)
    .filter(([html, p]) => !p.info.single && html.endsWith('/index.html'))
    .sort(
      ([, a], [, b]) =>
        (order.indexOf(a.env) + 1 || 1e9) - (order.indexOf(b.env) + 1 || 1e9) || a.env.localeCompare(b.env),
    );
  // Previews: each env module and renderer present in this tree. An engine env's are chunks of their own,
  // loaded with the engine and engine data its page ships (the same hashed files, so a visit to the page finds
  // them cached) only when its card comes into view.
  const previews = entries
    .filter(([, p]) => order.includes(p.env))
    .map(([, p]) => ({ ...envFiles(envs, p.env, p.frames), files: p.files ?? [] }));
  const eager = previews.filter((e) => !e.engine);
  // an engine env's files as its page has them: the engine, and the engine data (a ROM) when it takes one,
  // each with the integrity the page checks; null when the page lacks one of them (then no preview)
  const asset = (e, ext) => e.files.find((f) => new RegExp(`^assets/engine-[^/]+\\.${ext}$`).test(f));
  const engineOf = (e) => {
    const engine = { url: asset(e, 'wasm'), integrity: engineFor(e.engine).integrity };
    const d = engineData(e.engine, e.spec);
    if (d) engine.data = { url: asset(e, 'data'), integrity: d.integrity };
    return engine.url && (!d || engine.data.url) ? engine : null;
  };
  const lazy = previews
    .filter((e) => e.engine)
    .map((e) => ({ ...e, load: engineOf(e) }))
    .filter((e) => e.load);
  const src = [
    ...eager.map(
      (e, i) =>
        `import { Env as E${i} } from ${JSON.stringify(e.envJs)};\n` +
        `import { renderer as R${i} } from ${JSON.stringify(e.renderJs)};`,
    ),
    'export default {',
    ...eager.map((e, i) => `  ${JSON.stringify(e.id)}: { Env: E${i}, renderer: R${i} },`),
    ...lazy.map(
      (e) =>
        `  ${JSON.stringify(e.id)}: { lazy: () => Promise.all([import(${JSON.stringify(e.envJs)}), ` +
        `import(${JSON.stringify(e.renderJs)})]), engine: ${JSON.stringify(e.load)}, ` +
        `variant: ${JSON.stringify(e.variant)} },`,
    ),
    '};',
  ].join('\n');
  const plugin = {
    name: 'gallery',
    setup(b) {
      b.onResolve({ filter: /^virtual:gallery$/ }, (a) => ({ path: a.path, namespace: 'virtual' }));
      b.onLoad({ filter: /.*/, namespace: 'virtual' }, () => ({
        contents: src,
        resolveDir: PAGE,
        loader: 'js',
      }));
      engineLoaders(b);
    },
  };
  const built = await esbuildInto(
    { gallery: path.join(GALLERY, 'gallery.js'), 'gallery-style': path.join(GALLERY, 'gallery.css') },
    plugin,
    false,
  );
  const js = built.entry('gallery'),
    css = built.entry('gallery-style');
  const cards = entries.map(([, p]) => card(p));
  const doc = fill(fs.readFileSync(path.join(GALLERY, 'index.html'), 'utf8'), {
    CSP: esc(pageCsp(false)),
    HEAD: [
      `<link rel="stylesheet" href="assets/${esc(css)}">`,
      `<script type="module" src="assets/${esc(js)}"></script>`,
    ].join('\n'),
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
    evalText =
      `<span${mark}>${esc(num(ev.mean))}</span>` +
      (solved === null ? '' : ` (solved ≥ ${esc(num(solved))}${ok ? ' ✓' : ''})`);
  } else if (solved !== null) evalText = `– (solved ≥ ${esc(num(solved))})`;
  const budget = info.budget_gz && info.first_action_gz <= info.budget_gz ? 'ok' : 'no';
  // './' first: an id with a colon must not read as a URL scheme
  return (
    `<li class="card"><a href="./${esc(urlPath(p.env))}/">` +
    `<canvas data-env="${esc(p.env)}" width="300" height="200" role="img" ` +
    `aria-label="${esc(info.title)}: the first state, drawn by its renderer"></canvas>` +
    `<h2>${esc(info.title)}<small>${esc(p.env)}</small></h2></a>` +
    `<dl><dt>Eval return</dt><dd>${evalText}</dd>` +
    `<dt>Kernel</dt><dd>${esc(kb(info.wasm_bytes))} wasm</dd>` +
    `<dt>Page</dt><dd><span class="${budget}">${esc(kb(info.first_action_gz))}</span> gz to first action` +
    (info.budget_gz ? ` (budget ${esc(kb(info.budget_gz))})` : '') +
    '</dd>' +
    '</dl></li>'
  );
}
