// Input: the simulation controls, human control from spec.human (keys, on-screen buttons, and for box actions
// one slider per dimension that springs back to idle on release, usable on touch screens), and perturbation
// by clicking or dragging the scene (renderer.hit / renderer.push, then env.setState).
import { spec, renderer } from 'virtual:env';
import { $, el } from './dom.js';
import { S, env, box, newEpisode, stepOnce } from './loop.js';
import { idleBox } from './actions.js';
import { SPEEDS } from './params.js';
import { canvas, toWorld } from './stage.js';

const keys = spec.human?.keys ?? {};
const GLYPH = { ArrowLeft: '←', ArrowRight: '→', ArrowUp: '↑', ArrowDown: '↓', ' ': 'Space' };
const glyph = (k) => GLYPH[k] ?? (k.length === 1 ? k.toUpperCase() : k);
const num = (x) => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(Math.round(x * 100) / 100)}`;
/** A key's action in words: the discrete action's name, or each box dimension's name and value. */
const label = (a) =>
  !box
    ? (spec.actionNames?.[a] ?? `action ${a}`)
    : a.map((x, i) => `${spec.actionNames?.[i] ?? `a[${i}]`} ${num(x)}`).join(', ');

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

// ---- human control ----

const pressed = []; // human keys held now, oldest first (the newest decides)
let sliders = [],
  sliding = false;

/** The human's action from what is held now: the newest key, else the sliders while held, else idle. */
function update() {
  const acts = pressed.map((k) => keys[k]);
  if (!box) {
    S.held = acts;
    return;
  }
  const { low, high } = spec.action;
  const v = acts.length
    ? acts[acts.length - 1]
    : sliding
      ? sliders.map((s) => Number(s.value))
      : idleBox(spec);
  S.boxAction = v.map((x, i) => Math.min(Math.max(x, low[i]), high[i]));
  if (!sliding)
    sliders.forEach((s, i) => {
      s.value = String(S.boxAction[i]);
    });
}

function press(key) {
  setMode('human');
  if (!pressed.includes(key)) pressed.push(key);
  update();
}
function release(key) {
  const i = pressed.indexOf(key);
  if (i >= 0) pressed.splice(i, 1);
  update();
}

function humanControls() {
  const bar = $('human-controls'),
    hints = [];
  for (const [key, action] of Object.entries(keys)) {
    const name = label(action),
      b = el('button', {
        type: 'button',
        textContent: `${glyph(key)} ${name}`,
        title: `${name} (${glyph(key)}): takes over from the agent`,
      });
    b.setAttribute('aria-keyshortcuts', key);
    const hold = (on) => (e) => {
      e.preventDefault();
      (on ? press : release)(key);
    };
    b.onpointerdown = hold(true);
    b.onpointerup = b.onpointerleave = b.onpointercancel = hold(false);
    b.onkeydown = (e) => {
      if (e.key === 'Enter' || e.key === ' ') hold(true)(e);
    };
    b.onkeyup = (e) => {
      if (e.key === 'Enter' || e.key === ' ') hold(false)(e);
    };
    bar.append(b);
    hints.push(`${glyph(key)} ${name}`);
  }
  if (box) {
    const { low, high } = spec.action;
    sliders = low.map((lo, i) => {
      const s = el('input', {
        type: 'range',
        min: String(lo),
        max: String(high[i]),
        step: 'any',
        value: String(S.boxAction[i]),
        title: 'Drag to act (takes over); it springs back when released',
      });
      const grab = () => {
        sliding = true;
        setMode('human');
        update();
      };
      const letGo = () => {
        if (sliding) {
          sliding = false;
          update();
        }
      };
      s.oninput = grab;
      s.onpointerup = s.onpointercancel = s.onkeyup = s.onblur = letGo;
      bar.append(el('label', { className: 'slider' }, `${spec.actionNames?.[i] ?? `a[${i}]`} `, s));
      return s;
    });
  }
  $('human-keys').textContent = hints.length ? ` · ${hints.join(' · ')} (hold: takes over)` : '';
}

// ---- perturbation ----

const pushable = typeof renderer.hit === 'function' && typeof renderer.push === 'function';

/** Apply the renderer's perturbation of `handle` by the drag d (world pixels): outside Gymnasium's dynamics. */
export function perturb(handle, d) {
  env.setState(renderer.push(env.state, handle, d));
  S.pushed = true;
}

/** Grab what is at p0 (world pixels) and drag it to p1, as a pointer would; false when nothing is there. */
export function drag(p0, p1) {
  const handle = renderer.hit?.(env.state, p0, env.constants) ?? null;
  if (!pushable || handle === null) return false;
  perturb(handle, click(p0, p1));
  return true;
}

// A release within 4 world pixels of the press is a click: the renderer's default shove.
const click = (p0, p1) =>
  Math.hypot(p1[0] - p0[0], p1[1] - p0[1]) < 4 ? [0, 0] : [p1[0] - p0[0], p1[1] - p0[1]];

function pointerPush() {
  let grab = null;
  canvas.onpointerdown = (e) => {
    const p = toWorld(e),
      handle = renderer.hit(env.state, p, env.constants);
    if (handle === null || handle === undefined) return;
    grab = { handle, p0: p };
    canvas.setPointerCapture(e.pointerId);
  };
  canvas.onpointermove = (e) => {
    const p = toWorld(e);
    if (grab) S.drag = { handle: grab.handle, d: [p[0] - grab.p0[0], p[1] - grab.p0[1]] };
    else canvas.style.cursor = renderer.hit(env.state, p, env.constants) === null ? '' : 'grab';
  };
  canvas.onpointerup = (e) => {
    if (!grab) return;
    perturb(grab.handle, click(grab.p0, toWorld(e)));
    grab = S.drag = null;
  };
  canvas.onpointercancel = () => {
    grab = S.drag = null;
  };
}

// ---- wiring ----

/** Hook up every control; `backend(name)` switches the backend. */
export function wireInput(backend) {
  $('play').onclick = () => setRunning(!S.running);
  $('step').onclick = () => {
    stepOnce();
    setRunning(false);
  };
  $('reset').onclick = () => newEpisode();
  $('speed').onchange = (e) => setSpeed(e.target.value);
  $('backend').onchange = (e) => backend(e.target.value);
  for (const r of document.querySelectorAll('input[name=mode]')) r.onchange = () => setMode(r.value);
  humanControls();
  if (pushable) pointerPush();
  $('push-hint').hidden = !pushable;

  addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest?.('select, input, textarea')) return;
    const k = e.key;
    if (k in keys) press(k);
    else if (k === ' ' && e.target.tagName !== 'BUTTON') setRunning(!S.running);
    else if (k === 's' || k === 'S') $('step').onclick();
    else if (k === 'r' || k === 'R') newEpisode();
    else if (k === 'a' || k === 'A') setMode('agent');
    else if (k === 'h' || k === 'H') setMode('human');
    else if (k === '+' || k === '=' || k === '-') {
      const i = SPEEDS.indexOf(String(S.speed)) + (k === '-' ? -1 : 1);
      setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i))]);
    } else return;
    e.preventDefault();
  });
  addEventListener('keyup', (e) => {
    if (e.key in keys) release(e.key);
  });
  addEventListener('blur', () => {
    pressed.length = 0;
    sliding = false;
    update();
  });
}
