#!/usr/bin/env node
// Bundle the site (the page API) from compiled kernel folders; what each flag does: cli.mjs USAGE
// (`--help` prints it).
// Relative URLs only. Same inputs give byte-identical outputs. Every input is checked before anything is
// written; files go to a temporary folder first and are renamed into place, so a failed build leaves the
// previous site intact. <out>/.rl-web-build.json records what the builds wrote: a rebuild removes only those
// of its own files that nothing references any more.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from './cli.mjs';
import { buildGallery } from './gallery.mjs';
import { BuildError, RECOMPILE, fail, readKernel } from './kernel.mjs';
import { buildPage, envFiles, hasPython, loadEnvs } from './page.mjs';
import { STATIC } from './paths.mjs';
import { report } from './report.mjs';
import { checkOut, readRecord, recordFiles, writeSite } from './site.mjs';

/** The env ids to build in site mode: --env ones, else every kernel folder under --kernels. */
function siteEnvs(args) {
  if (args.envs.length) return args.envs;
  if (!fs.existsSync(args.kernels)) fail(`no kernels in ${args.kernels}: run \`make compile-kernel\``);
  // a namespaced id (ALE/Pong-v5) has a folder per part, as make's kernel and model folders do
  const has = (id) => fs.existsSync(path.join(args.kernels, id, 'manifest.json'));
  const inside = (d) => {
    const dir = path.join(args.kernels, d);
    return fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()
      ? fs.readdirSync(dir).map((sub) => `${d}/${sub}`)
      : [];
  };
  const ids = fs
    .readdirSync(args.kernels)
    .flatMap((d) => (has(d) ? [d] : inside(d).filter(has)))
    .sort();
  if (!ids.length) fail(`no kernels in ${args.kernels}: run \`make compile-kernel\``);
  return ids;
}

/**
 * The build. Its inputs: the kernel folders (docs/design.md) and this repository's web/, public/'s static
 * files, rl_web_agent/runtime_py/mlp.py and node_modules, the engines `make engines` built (build/engines/) and
 * an Atari page's ROM, read from the ale-py installed in .venv (web/build/engines.mjs); nothing else (no
 * checkpoint, no Python run: Node alone builds).
 */
async function main() {
  const args = parseArgs(process.argv.slice(2));
  checkOut(args.out);
  const envs = await loadEnvs();
  const site = !args.kernel;
  let ids = site ? siteEnvs(args) : [null];
  if (site && args.portedOnly) {
    const ported = new Set(Object.values(envs).map((e) => e.spec.id)); // the registry's keys name variants too
    const unported = ids.filter((id) => !ported.has(id));
    if (unported.length) console.log(`left out (no JS port in web/page/envs yet): ${unported.join(', ')}`);
    ids = ids.filter((id) => ported.has(id));
    if (!ids.length) fail(`none of the envs has a JS port: the page supports ${[...ported].join(', ')}`);
  }
  const jobs = ids.map((id) => ({ id, kernel: id === null ? args.kernel : path.join(args.kernels, id) }));
  // Check every kernel first: a bad one fails the build before anything is bundled or written.
  const checked = jobs.map(({ id, kernel }) => {
    if (id !== null && !fs.existsSync(path.join(kernel, 'manifest.json'))) {
      fail(`no kernel for ${id} in ${kernel}: run \`make compile-kernel ENV=${id}\``);
    }
    const k = readKernel(kernel);
    if (id !== null && k.manifest.env_id !== id) {
      fail(
        `${kernel}/manifest.json is a kernel for ${k.manifest.env_id}, not ${id}: recompile it with ` +
          `\`make compile-kernel ENV=${id}\``,
      );
    }
    return { k, env: envFiles(envs, k.manifest.env_id, k.manifest.frames ?? null) };
  });
  for (const { k } of checked) {
    if (!args.single && !hasPython(k, args.single)) {
      // a kernel compile cannot give one says why (a convolutional policy's); else it is an old compile
      const why = k.manifest.not_built?.['policy.weights.json'];
      console.log(
        `${k.manifest.env_id}: no python backend on its page (` +
          (why ?? `${k.dir} has no policy.weights.json: ${RECOMPILE} to add it`) +
          ')',
      );
    }
  }

  const old = readRecord(args.out);
  const record = { format: 1, pages: {}, extra: [] };
  const out = new Map();
  const built = [];
  for (const { k, env } of checked) {
    const page = await buildPage(k, env, {
      single: args.single,
      dir: site && !args.single ? `${env.id}/` : '',
    });
    for (const [rel, bytes] of page.files) out.set(rel, bytes);
    record.pages[page.html] = {
      env: env.id,
      frames: env.spec.frames ?? null,
      files: [...page.files.keys()].sort(),
      info: page.info,
    };
    built.push({ env, page });
  }
  // Earlier builds' pages stay (and stay in the gallery) while their files are there; a site build's
  // gallery replaces a single page built at the root.
  for (const [html, p] of Object.entries(old.pages)) {
    if (record.pages[html] || (site && !args.single && html === 'index.html')) continue;
    if ((p.files ?? []).every((f) => fs.existsSync(path.join(args.out, f)))) record.pages[html] = p;
  }
  if (site && !args.single) {
    // the gallery's files: its page, script and style, and the chunks its engine envs' previews load
    const gallery = await buildGallery(record.pages, envs);
    for (const [rel, bytes] of gallery) out.set(rel, bytes);
    record.extra.push(...gallery.keys());
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

main().catch((e) => {
  if (!(e instanceof BuildError)) throw e;
  console.error(`build.mjs: ${e.message}`);
  process.exit(1);
});
