// Input, the eager half: the simulation controls' state (play/pause, speed, driver) that window.app sets too, the
// scene's perturbation (renderer.hit / renderer.push, then env.setState), and the loader of lazy/input.js (human
// control, pointer pushes, the controls' wiring), which loads once the agent has acted or the page has failed.
import { spec, renderer } from 'virtual:env';
import { $, el } from './dom.js';
import { S, env, box, newEpisode, stepOnce } from './loop.js';
import { idleBox } from './actions.js';
import { SPEEDS } from './params.js';
import { canvas, toWorld } from './stage.js';
import { shareHandlers } from './share.js';
import { openPhysics } from './whatif.js';

export function setMode(mode) {
  S.mode = mode;
  if (mode === 'human') S.human = true;
  for (const r of document.querySelectorAll('input[name=mode]')) r.checked = r.value === mode;
}
export function setSpeed(v) {
  S.speed = v === 'max' ? 'max' : Number(v);
  $('speed').value = String(v);
}
export function setRunning(on) {
  S.running = on;
  $('play').textContent = on ? 'Pause' : 'Play';
  $('play').setAttribute('aria-pressed', String(!on));
}

// ---- perturbation ----

const pushable = typeof renderer.hit === 'function' && typeof renderer.push === 'function';

/** Apply the renderer's perturbation of `handle` by the drag d (world pixels): outside Gymnasium's dynamics. */
export function perturb(handle, d) {
  env.setState(renderer.push(env.state, handle, d));
  S.pushed = true;
}

// A release within 4 world pixels of the press is a click: the renderer's default shove.
const click = (p0, p1) =>
  Math.hypot(p1[0] - p0[0], p1[1] - p0[1]) < 4 ? [0, 0] : [p1[0] - p0[0], p1[1] - p0[1]];

/** Grab what is at p0 (world pixels) and drag it to p1, as a pointer would; false when nothing is there. */
export function drag(p0, p1) {
  const handle = renderer.hit?.(env.state, p0, env.constants) ?? null;
  if (!pushable || handle === null) return false;
  perturb(handle, click(p0, p1));
  return true;
}

// ---- wiring ----

let backend = null, // what the backend select calls (wireInput's argument); null once loading started
  loading = false;

/** Hook up every control, `switchTo(name)` switching the backend: now the hint, the rest once loaded. */
export function wireInput(switchTo) {
  $('push-hint').hidden = !pushable;
  backend = switchTo;
}

/** Load lazy/input.js after the first action (or an error); core/app.js calls it every frame. */
export function loadInput() {
  if (loading || !backend || (S.firstActionMs === null && S.error === null)) return;
  loading = true;
  import('../lazy/input.js')
    .then((m) => {
      m.wireInput({
        spec,
        renderer,
        $,
        el,
        S,
        box,
        getEnv: () => env,
        newEpisode,
        stepOnce,
        idleBox,
        SPEEDS,
        canvas,
        toWorld,
        setMode,
        setSpeed,
        setRunning,
        perturb,
        click,
        pushable,
        backend,
        share: shareHandlers(),
        openPhysics,
      });
      S.mounted.push('input');
    })
    .catch((err) => {
      S.note = `the controls did not load: ${err?.message || err}`; // the agent plays on
      S.warn = true;
    });
}
