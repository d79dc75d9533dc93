// What-if physics, the eager half: the panel's lazy loader and window.app's setPhysics and sweep.
// lazy/whatif.js (the sliders, setPhysics, the sweep's chart) and lazy/sweep.js load on first use, so nothing
// of them counts until the first action. They get the page's pieces through `ctx`: importing them would split
// the page's own modules into a shared chunk.
import { spec, Env } from 'virtual:env';
import kernel from 'virtual:kernel';
import { $, el } from './dom.js';
import { S, env, swapEnv, whatIf, episodeSeed } from './loop.js';

const ctx = { spec, Env, S, $, el, swapEnv, whatIf, episodeSeed, outputs: kernel.outputs, env: () => env };
let loaded = null;
const physics = () => (loaded ??= import('../lazy/whatif.js').then((m) => m.init(ctx)));

/** The page's first physics: ?physics= (core/params.js, validated), a new Env as setPhysics makes, before
 * episode 1 starts, so that the shared link's first episode runs with it from the first step. */
export function physicsAtLoad(given) {
  if (Object.keys(given).length) swapEnv(new Env({ ...env.constants, ...given }));
}

/** window.app.setPhysics({name: value, ...}) -> Promise of the constants now in force. */
export const setPhysics = (given) => physics().then((p) => p.setPhysics(given));
/** window.app.sweep({param, values?, episodes?}) -> Promise of [{value, meanReturn}]. */
export const sweep = (opts) => physics().then((p) => p.sweep(opts));

/** Load the what-if panel (lazy/input.js shows it where the env has constants, and calls this when opened);
 * a failed download is said in the panel, and tried again at the next opening. */
export const openPhysics = () =>
  physics().catch((err) => {
    loaded = null; // a later try fetches it again
    $('physics-body').textContent =
      `The what-if panel did not load (${err?.message || err}): reload the page.`;
  });
