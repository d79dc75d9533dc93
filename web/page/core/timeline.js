// The training timeline, the eager half (in the page's entry): the snapshot list the build put in the kernel
// manifest, and the loader of lazy/timeline.js. That module is code-split and loaded only after the first
// agent action (or when window.app asks for it); it imports nothing from the page: what it needs is passed in,
// so no chunk is shared with the entry.
import kernel from 'virtual:kernel';
import { spec, Env, renderer } from 'virtual:env';
import { $, el } from './dom.js';
import { S, env, episodeSeed, newEpisode } from './loop.js';
import { agentAction } from './actions.js';
import { loadPolicy } from './policy.js';
import { switchBackend } from './switcher.js';

const list = kernel.snapshots ?? [];
const final = list.find((s) => s.final) ?? null;

/** window.app.snapshots(): [{id, steps}] in order of training steps ([] when the build has none). */
export const snapshotList = () => list.map(({ id, steps }) => ({ id, steps }));

/** The id of the snapshot playing now (the final one when the page's own policy plays); null without any. */
export const currentSnapshot = () => (list.length ? (S.policy?.snapshot ?? final?.id ?? null) : null);

let controller = null,
  ready = null;
/** The timeline controller (lazy/timeline.js), loaded once; rejects when the build has no snapshots. */
export function timeline() {
  if (!list.length)
    return Promise.reject(new Error('this page has no training snapshots (its policy has none)'));
  const baseUrl = new URL('.', import.meta.url);
  // the lazy half, and the snapshots' eval and kernel URLs (a JSON asset of the build: not in the page's script)
  const table = () =>
    fetch(new URL(kernel.snapshot_table, baseUrl)).then((r) => {
      if (!r.ok) throw new Error(`the snapshot list answered HTTP ${r.status}`);
      return r.json();
    });
  controller ??= Promise.all([import('../lazy/timeline.js'), table()]).then(
    ([m, table]) =>
      (ready = m.mountTimeline({
        kernel,
        table,
        spec,
        Env,
        renderer,
        $,
        el,
        S,
        getEnv: () => env,
        episodeSeed,
        newEpisode,
        agentAction,
        loadPolicy,
        switchBackend,
        baseUrl,
      })),
  );
  return controller;
}

/** status().compare: the side-by-side run (lazy/timeline.js compareStatus), null when none was started. */
export const compareStatus = () => ready?.compareStatus() ?? null;

const SETTLE_MS = 1500; // after the first action, the page's own lazy parts (saliency) load first

/** Mount the timeline a moment after the agent's first action: its chunk never competes with the page's start. */
export function mountAfterFirstAction() {
  if (!list.length) return;
  const mount = () =>
    timeline().catch((err) => {
      console.warn(`timeline: ${err?.message || err}`); // optional: the page plays on without it
    });
  const wait = () =>
    setTimeout(S.firstActionMs === null ? wait : mount, S.firstActionMs === null ? 100 : SETTLE_MS);
  wait();
}
