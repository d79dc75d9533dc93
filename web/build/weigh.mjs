#!/usr/bin/env node
// Where a page's first-action bytes are: node web/build/weigh.mjs [--kernels DIR] ID...
// For each env page (built in memory, as build.mjs builds it): every file fetched until the first agent action
// (raw, gzip -9), the eager script's bytes per source module (esbuild's metafile: minified bytes each puts in
// the output; gzip is not additive, so they rank, not split, the gzipped size), and policy.wasm's sections and
// function bodies (by size; the module is stripped: functions by index, exports named).
import path from 'node:path';
import { BuildError, fail, readKernel } from './kernel.mjs';
import { buildPage, envFiles, loadEnvs } from './page.mjs';
import { ROOT } from './paths.mjs';
import { gz } from './report.mjs';

const SECTIONS = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start'];
SECTIONS.push('element', 'code', 'data', 'datacount');

function leb(b, i) {
  let r = 0,
    shift = 0,
    x;
  do {
    x = b[i++];
    r += (x & 0x7f) * 2 ** shift;
    shift += 7;
  } while (x & 0x80);
  return [r, i];
}

/** A wasm module's sections [name, bytes] and code bodies [{index, bytes, export}], biggest first. */
function wasmParts(b) {
  const sections = [],
    bodies = [],
    names = {};
  let i = 8,
    imported = 0;
  while (i < b.length) {
    const id = b[i];
    const [n, at] = leb(b, i + 1);
    sections.push([SECTIONS[id] ?? `#${id}`, n]);
    if (id === 2) {
      // imports: module, name, kind, then its type: a function's index, a table's or memory's limits, a global's
      let [count, j] = leb(b, at);
      for (; count > 0; count--) {
        for (let k = 0; k < 2; k++) {
          const [len, p] = leb(b, j);
          j = p + len;
        }
        const kind = b[j++];
        if (kind === 0) {
          imported++;
          j = leb(b, j)[1];
        } else if (kind === 3) j += 2;
        else {
          if (kind === 1) j++; // the table's element type
          const flags = b[j++];
          j = leb(b, j)[1];
          if (flags & 1) j = leb(b, j)[1];
        }
      }
    }
    if (id === 7) {
      let [count, j] = leb(b, at);
      for (; count > 0; count--) {
        const [len, p] = leb(b, j);
        const name = new TextDecoder().decode(b.subarray(p, p + len));
        const kind = b[p + len];
        const [index, q] = leb(b, p + len + 1);
        if (kind === 0) names[index] = name;
        j = q;
      }
    }
    if (id === 10) {
      let [count, j] = leb(b, at);
      for (let f = 0; f < count; f++) {
        const [size, p] = leb(b, j);
        bodies.push({ index: imported + f, bytes: p - j + size });
        j = p + size;
      }
    }
    i = at + n;
  }
  for (const f of bodies) f.export = names[f.index] ?? '';
  return { sections, bodies: bodies.sort((x, y) => y.bytes - x.bytes) };
}

async function main() {
  const argv = process.argv.slice(2);
  let kernels = path.join(ROOT, 'build', 'kernels');
  const ids = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kernels') kernels = argv[++i] ?? fail('--kernels needs a folder');
    else if (argv[i].startsWith('-')) fail(`unknown argument '${argv[i]}' (weigh.mjs [--kernels DIR] ID...)`);
    else ids.push(argv[i]);
  }
  if (!ids.length) fail('name an env, e.g. node web/build/weigh.mjs CartPole-v1');
  const envs = await loadEnvs();
  for (const id of ids) {
    const k = readKernel(path.join(kernels, id));
    const page = await buildPage(k, envFiles(envs, id, k.manifest.frames ?? null), {
      single: false,
      dir: `${id}/`,
    });
    const rows = page.firstAction.filter((rel) => page.files.has(rel));
    console.log(
      `${id}: ${page.info.first_action_gz} B gzipped until the first action (budget ${page.info.budget_gz}; ` +
        "the files below and the site's favicon.svg)",
    );
    for (const rel of rows) {
      const b = page.files.get(rel);
      console.log(`  ${rel.padEnd(40)} ${String(b.length).padStart(7)} B  ${String(gz(b)).padStart(6)} B gz`);
    }
    const eager = new Set(rows.filter((r) => r.endsWith('.js')).map((r) => path.basename(r)));
    for (const [out, o] of Object.entries(page.metafile.outputs)) {
      if (!eager.has(path.basename(out))) continue;
      console.log(`  ${path.basename(out)}, minified bytes per module:`);
      const inputs = Object.entries(o.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
      for (const [f, { bytesInOutput }] of inputs)
        console.log(`    ${String(bytesInOutput).padStart(6)}  ${f.replace(/^.*web\/page\//, '')}`);
    }
    for (const [name, bytes] of [
      ['policy.wasm', k.wasmBytes],
      ...(k.lazyBytes ? [['policy.lazy.wasm (on first use)', k.lazyBytes]] : []),
    ]) {
      const { sections, bodies } = wasmParts(bytes);
      console.log(`  ${name} sections: ${sections.map(([n, b]) => `${n} ${b}`).join(', ')}`);
      console.log(
        `    function bodies: ${bodies.map((f) => `${f.export || `f${f.index}`} ${f.bytes}`).join(', ')}`,
      );
    }
  }
}

main().catch((e) => {
  if (!(e instanceof BuildError)) throw e;
  console.error(`weigh.mjs: ${e.message}`);
  process.exit(1);
});
