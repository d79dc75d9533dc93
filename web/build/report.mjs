// What a build prints: each page's files (raw and gzipped bytes) and its bytes until the first agent action
// against the budget; the size helpers the page and the gallery share.
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { engineFor } from './engines.mjs';

// What a page may fetch until its first agent action, gzipped. The one place these numbers are written: an
// engine env's budget is its engine's (web/build/engines.mjs ENGINES), the others' CLASSIC_BUDGET_GZ; the build
// records each page's in .rl-web-build.json (pages.<html>.info.budget_gz), where the tests and the bench read it.
// The classic-control pages: 19,305 B (Pendulum) to 20,624 B (Acrobot) on 2026-12-05, every feature kept (the
// critic's weights, which only the value estimate needs, come after the first action with policy.lazy.wasm).
export const CLASSIC_BUDGET_GZ = 24 * 1024;

/** The budget of a page for an env with this spec (an unknown engine is engineFor's one-line error). */
export const budgetGz = (spec) => (spec.engine ? engineFor(spec.engine).budgetGz : CLASSIC_BUDGET_GZ);
export const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
export const gz = (b) => gzipSync(b, { level: 9 }).length;

export function report(args, built) {
  console.log(`wrote ${path.join(args.out, '')}${args.single ? ' (single files)' : ''}:`);
  for (const { env, page } of built) {
    const rows = [...page.files]
      .map(([rel, b]) => [rel, b.length, gz(b)])
      .sort((a, b) => a[0].localeCompare(b[0]));
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`${env.id}: ${page.html}`);
    for (const [rel, raw, z] of rows)
      console.log(`  ${rel.padEnd(w)}  ${kb(raw).padStart(9)}  ${kb(z).padStart(9)} gz`);
    const total = page.info.first_action_gz;
    if (args.single)
      console.log(
        `  (one file with every backend inlined; the ${kb(page.info.budget_gz)} budget is for the multi-file site)`,
      );
    else {
      const budget = page.info.budget_gz;
      console.log(
        `  ${env.id}: bytes until the first agent action: ${kb(total)} gzipped (budget ${kb(budget)})` +
          (total > budget ? '  OVER BUDGET' : ''),
      );
      const py = rows.filter(([rel]) => /^assets\/((micro)?python-.*|policy\.weights-.*\.json)$/.test(rel));
      if (py.length)
        console.log(
          `  python backend, fetched only when chosen: ${kb(py.reduce((a, r) => a + r[2], 0))} gzipped`,
        );
    }
  }
}
