// The policy panel, the eager half: the number format the canvas HUD shares, and the loader of lazy/panel.js
// (what the policy thinks, the value over the episode, returns and bests, the backend and its timing), which
// loads once the agent has acted or the page has failed: until then the page's HTML shows its placeholders.
import kernel from 'virtual:kernel';
import { spec } from 'virtual:env';
import { $, el } from './dom.js';
import { S, box, busy, env, setBusy } from './loop.js';
import { fail, wasmKernel } from './switcher.js';

export const fmt = (x) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : String(Math.round(x * 10) / 10);

let panel = null, // lazy/panel.js's {update, resize}, once mounted
  loading = false,
  dpr = 1;

/** Load the panel after the first action (or an error); core/app.js calls it every frame. */
export function loadPanel() {
  if (loading || (S.firstActionMs === null && S.error === null)) return;
  loading = true;
  import('../lazy/panel.js')
    .then((m) => {
      panel = m.mountPanel({
        spec,
        S,
        box,
        $,
        el,
        fmt,
        outputs: kernel.outputs,
        getEnv: () => env,
        isBusy: () => busy,
        setBusy,
        wasmKernel,
        fail,
      });
      panel.calibrate(performance.now()); // the forward pass's time, as soon as the panel shows it
      panel.resize(dpr);
      S.mounted.push('panel');
    })
    .catch((err) => {
      S.note = `the panel did not load: ${err?.message || err}`; // the agent plays on
      S.warn = true;
    });
}

/** Time the forward pass now and then (at frame time t, ms), once the panel is there. */
export const maybeCalibrate = (t) => panel?.calibrate(t);

/** Refresh the panel's numbers from S, once it is there. */
export const updatePanel = (d) => panel?.update(d);

/** Size the value sparkline to its box at this device pixel ratio (now, or when the panel mounts). */
export function resizeSpark(d) {
  dpr = d;
  panel?.resize(d);
}
