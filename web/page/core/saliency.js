// Saliency bars, the eager half: loads lazy/saliency.js (the bars of the policy's gradient) once the first
// action is taken, so nothing of it counts until then, and refreshes them. The lazy half gets the page's
// pieces as arguments: importing them would split the page's own modules into a shared chunk.
import { spec } from 'virtual:env';
import { el } from './dom.js';
import { agentAction } from './actions.js';
import { S, env } from './loop.js';

let loaded = null; // lazy/saliency.js's update(), once loading started

/** Refresh the bars, once loaded (core/app.js calls it at the panel's refresh rate). */
export const refreshSaliency = () => loaded?.then((update) => update());

/** Load the bars after the first action (optional: a failed load leaves the page without them). */
export function loadSaliency() {
  if (loaded || S.firstActionMs === null) return;
  loaded = import('../lazy/saliency.js')
    .then((m) => m.saliencyPanel({ S, env, spec, agentAction, el }))
    .catch((err) => {
      console.warn(`saliency: ${err?.message || err}`);
      return () => {};
    });
}
