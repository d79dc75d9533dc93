// The page: the exact CartPole env, stepped at Gymnasium's 50 steps/s (times the speed), drawn on every
// animation frame, driven by the compiled policy or by a human. window.app is the read-only API of
// contract 3 plus documented test hooks.
import kernel from 'virtual:kernel';
import { CartPole, MAX_STEPS, TAU } from './envs/cartpole.js';
import { draw, fit, cartX, AXLE_Y } from './render/cartpole.js';
import { loadPolicy, BACKENDS } from './policy.js';
import { greedy } from './backends/common.js';

const $ = (id) => document.getElementById(id);
const canvas = $('view'), ctx = canvas.getContext('2d'), spark = $('spark'), sctx = spark.getContext('2d');
const params = new URLSearchParams(location.search);
const baseUrl = new URL('.', import.meta.url); // assets/, wherever the site is hosted
const STEPS_PER_S = 1 / TAU; // 50, Gymnasium's render_fps for CartPole
const POLE_LEN = 125; // world pixels (render/cartpole.js)

// Start fetching the kernel before anything else: the preload in index.html makes this a cache hit.
let wasmResponse = kernel.urls ? fetch(new URL(kernel.urls['policy.wasm'], baseUrl)) : undefined;
wasmResponse?.catch(() => {});

const env = new CartPole();
const seed = params.has('seed') ? Number(params.get('seed')) : undefined;
env.reset({ seed });

const S = {
  policy: null, backend: null, error: null, note: '', mode: 'agent', running: true, speed: 1,
  episode: 1, episodeReturn: 0, pushed: false, human: false, out: null, values: [], lastAction: null,
  firstActionMs: null, forwardMicros: null, kernelMicros: null, warn: false, sync: true, lastEnd: null, pendingReset: false, holdUntil: 0,
  agentReturns: [], agentBest: 0, agentSum: 0, humanBest: null, bestReturn: 0, frames: 0, arrow: null,
  keys: { left: false, right: false },
};

// ---- stepping ----

function decide(out) {
  if (S.mode === 'agent') return greedy(out);
  const { left, right } = S.keys;
  if (left !== right) return right ? 1 : 0;
  return S.lastAction === 1 ? 0 : 1; // CartPole has no "no force" action: alternate, zero net force
}

function finishEpisode(reason) {
  const ret = S.episodeReturn;
  if (S.human) S.humanBest = Math.max(S.humanBest ?? 0, ret);
  else {
    S.agentReturns.push(ret);
    S.agentBest = Math.max(S.agentBest, ret);
    S.agentSum += ret;
  }
  S.lastEnd = reason;
  S.pendingReset = true;
  S.holdUntil = S.speed === 'max' ? 0 : performance.now() + 700;
}

function newEpisode() {
  env.reset();
  S.episode++;
  S.episodeReturn = 0;
  S.values = [];
  S.pushed = false;
  S.human = S.mode === 'human';
  S.pendingReset = false;
  S.out = null;
}

/** One environment step from the policy output for the current observation. */
function apply(out) {
  S.out = out;
  const a = decide(out);
  if (S.firstActionMs === null && S.mode === 'agent') S.firstActionMs = performance.now();
  if (S.mode === 'human') S.human = true;
  const r = env.step(a);
  S.lastAction = a;
  S.episodeReturn += r.reward;
  S.bestReturn = Math.max(S.bestReturn, S.episodeReturn);
  if (Number.isFinite(out.value)) S.values.push(out.value);
  if (!env.state.every(Number.isFinite)) finishEpisode('non-finite state');
  else if (r.terminated) finishEpisode('terminated');
  else if (r.truncated) finishEpisode('truncated');
}

let busy = false;
/** Up to n steps before the deadline; awaits only when the backend's forward() is async. */
async function run(n, deadline) {
  busy = true;
  try {
    for (let i = 0; i < n && !S.pendingReset && performance.now() < deadline; i++) {
      const policy = S.policy, t0 = performance.now();
      let out = policy.forward(env.obs);
      if (out instanceof Promise) {
        out = await out;
        if (policy.lost) throw new Error(`WebGPU device lost (${policy.lost})`);
        if (policy !== S.policy) break; // the backend changed while we waited
      }
      if (!S.sync) { // async or slow backends: time each step's call (a running average)
        const us = 1000 * (performance.now() - t0);
        S.forwardMicros = 0.9 * (S.forwardMicros ?? us) + 0.1 * us;
      }
      apply(out);
    }
  } catch (err) {
    if (S.backend && S.backend !== 'wasm') { // a GPU that fails mid-run: carry on with wasm, and say so
      switchBackend('wasm', `${S.backend} failed (${err.message || err}): using wasm`);
    } else fail(err);
  } finally {
    busy = false;
  }
}

function stepOnce() {
  S.running = false;
  if (S.pendingReset) newEpisode();
  else if (S.policy && !busy) run(1, Infinity);
}

// ---- frame loop ----

let last = 0, acc = 0;
function frame(t) {
  requestAnimationFrame(frame);
  const dt = last ? Math.min(t - last, 100) : 0;
  last = t;
  S.frames++;
  if (S.pendingReset && S.running && t >= S.holdUntil) newEpisode();
  if (S.running && S.policy && !busy && !S.pendingReset) {
    if (S.speed === 'max') {
      acc = 0;
      run(Infinity, t + 10);
    } else {
      acc = Math.min(acc + (dt / 1000) * STEPS_PER_S * S.speed, 8);
      const n = Math.floor(acc);
      acc -= n;
      if (n) run(n, t + 12);
    }
  }
  maybeCalibrate(t);
  paint(t);
}

// Forward-pass timing waits until after the first action (it must not delay it); on synchronous backends
// one more burst (about 1 ms) every 2 s lets the median settle on the JIT's optimised code.
let lastCalib = 0;
// Slow backends (python) time their own steps; the kernel is timed beside them on the same observations.
function maybeCalibrate(t) {
  const p = S.policy;
  if (!p || busy || S.firstActionMs === null) return;
  if (p.slow) {
    if (!kernelNow || (S.kernelMicros !== null && t - lastCalib < 2000)) return;
    lastCalib = t;
    busy = true;
    calibrate(kernelNow, S.kernelMicros === null ? 3 : 1, true, kernelBursts)
      .then((us) => { if (p === S.policy) S.kernelMicros = us; }, fail)
      .finally(() => { busy = false; });
    return;
  }
  if (S.forwardMicros !== null && !(S.sync && t - lastCalib > 2000)) return;
  lastCalib = t;
  busy = true;
  calibrate(p, S.forwardMicros === null ? 3 : 1)
    .then((us) => { if (p === S.policy) S.forwardMicros = us; }, fail)
    .finally(() => { busy = false; });
}

// ---- drawing ----

let cssW = 0, cssH = 0, dpr = 1;
function resize() {
  const r = canvas.getBoundingClientRect();
  dpr = window.devicePixelRatio || 1;
  cssW = r.width;
  cssH = r.height;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const sr = spark.getBoundingClientRect();
  spark.width = Math.round(sr.width * dpr);
  spark.height = Math.round(sr.height * dpr);
  sparkKey = '';
}
new ResizeObserver(resize).observe(canvas);

const ENDS = { terminated: 'the pole fell', truncated: '500 steps: time limit', 'non-finite state':
  'non-finite state: episode ended' };
function paint(t) {
  if (!cssW || window.devicePixelRatio !== dpr) resize(); // zoom or a move to another screen
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const steps = env.steps;
  const hud = [`t ${(steps * TAU).toFixed(2)} s   score ${S.episodeReturn}`,
    `episode ${S.episode} · ${S.mode === 'agent' ? 'agent' : 'human'} driving${S.running ? '' : ' · paused'}`];
  if (S.pendingReset) hud.push(ENDS[S.lastEnd]);
  const arrow = S.arrow && (S.arrow.until === 0 || t < S.arrow.until) ? S.arrow.w : 0;
  draw(ctx, env.state, { width: cssW, height: cssH, hud,
    badge: S.pushed ? 'pushed: outside Gymnasium dynamics' : '', arrow });
  if (S.frames % 3 === 0 || !S.running) panel(); // numbers at 20 Hz: readable, and a third of the DOM work
}

const shown = {}; // last text per element id: touch the DOM only on change
const text = (id, s) => { if (shown[id] !== s) $(id).textContent = shown[id] = s; };
const fmt = (x) => (x === null || x === undefined ? '–' : String(Math.round(x * 10) / 10));
const us = (x) => (x === null ? '–' : x < 10 ? `${x.toFixed(2)} µs` : x < 1000 ? `${Math.round(x)} µs`
  : `${(x / 1000).toFixed(2)} ms`);
let sparkKey = '';
function panel() {
  const probs = S.out?.probs;
  if (probs) {
    for (let i = 0; i < 2; i++) {
      const p = Number.isFinite(probs[i]) ? probs[i].toFixed(3) : '–';
      if (shown[`p${i}`] !== p) $(`bar${i}`).style.transform = `scaleX(${Number(p) || 0})`;
      text(`p${i}`, p);
    }
  }
  text('value', S.out && Number.isFinite(S.out.value) ? S.out.value.toFixed(2) : '–');
  text('ret', String(S.episodeReturn));
  const n = S.agentReturns.length;
  text('best', n ? `${S.agentBest} / ${fmt(S.agentSum / n)} (${n} ep.)` : '–');
  text('human', fmt(S.humanBest));
  text('be', S.policy ? S.backend : S.error ? 'failed' : 'loading…');
  text('fwd', S.policy?.slow ? `${S.backend} ${us(S.forwardMicros)} · wasm kernel ${us(S.kernelMicros)}`
    : us(S.forwardMicros));
  text('note', S.note);
  $('note').classList.toggle('warn', S.warn);
  const key = `${S.episode}:${S.values.length}:${spark.width}`;
  if (key !== sparkKey) sparkline(key);
}

function sparkline(key) {
  sparkKey = key;
  const w = spark.width, h = spark.height, v = S.values;
  sctx.clearRect(0, 0, w, h);
  if (v.length < 2) return;
  let lo = Infinity, hi = -Infinity;
  for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  const span = hi - lo || 1, pad = 2 * dpr;
  sctx.strokeStyle = '#3565a8';
  sctx.lineWidth = 1.5 * dpr;
  sctx.beginPath();
  for (let i = 0; i < v.length; i++) {
    const x = (i / MAX_STEPS) * w, y = h - pad - ((v[i] - lo) / span) * (h - 2 * pad);
    i ? sctx.lineTo(x, y) : sctx.moveTo(x, y);
  }
  sctx.stroke();
}

// ---- input ----

function push(w, preview = false) {
  S.arrow = { w, until: preview ? 0 : performance.now() + 400 };
  if (preview) return;
  env.state[3] += w;
  env.obs.set(env.state);
  S.pushed = true;
}
const knock = () => push(env.state[2] >= 0 ? 0.8 : -0.8); // a shove the way the pole already leans

function setMode(mode) {
  S.mode = mode;
  if (mode === 'human') S.human = true;
  for (const r of document.querySelectorAll('input[name=mode]')) r.checked = r.value === mode;
}
function setSpeed(v) {
  S.speed = v === 'max' ? 'max' : Number(v);
  $('speed').value = String(v);
}
function setRunning(on) {
  S.running = on;
  $('play').textContent = on ? 'Pause' : 'Play';
  $('play').setAttribute('aria-pressed', String(!on));
}

$('play').onclick = () => setRunning(!S.running);
$('step').onclick = () => { stepOnce(); setRunning(false); };
$('reset').onclick = () => newEpisode();
$('push').onclick = knock;
$('speed').onchange = (e) => setSpeed(e.target.value);
$('backend').onchange = (e) => switchBackend(e.target.value);
for (const r of document.querySelectorAll('input[name=mode]')) r.onchange = () => setMode(r.value);
for (const [id, key] of [['left', 'left'], ['right', 'right']]) {
  const b = $(id);
  const hold = (on) => (e) => {
    e.preventDefault();
    if (on) setMode('human');
    S.keys[key] = on;
  };
  b.onpointerdown = hold(true);
  b.onpointerup = b.onpointerleave = b.onpointercancel = hold(false);
  b.onkeydown = (e) => { if (e.key === 'Enter' || e.key === ' ') hold(true)(e); };
  b.onkeyup = (e) => { if (e.key === 'Enter' || e.key === ' ') hold(false)(e); };
}

const SPEEDS = ['0.25', '0.5', '1', '2', '4', '8', 'max'];
addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest?.('select, input, textarea')) return;
  const k = e.key;
  if (k === 'ArrowLeft' || k === 'ArrowRight') {
    setMode('human');
    S.keys[k === 'ArrowLeft' ? 'left' : 'right'] = true;
  } else if (k === ' ' && e.target.tagName !== 'BUTTON') setRunning(!S.running);
  else if (k === 's' || k === 'S') $('step').onclick();
  else if (k === 'r' || k === 'R') newEpisode();
  else if (k === 'p' || k === 'P') knock();
  else if (k === 'a' || k === 'A') setMode('agent');
  else if (k === 'h' || k === 'H') setMode('human');
  else if (k === '+' || k === '=' || k === '-') {
    const i = SPEEDS.indexOf(String(S.speed)) + (k === '-' ? -1 : 1);
    setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i))]);
  } else return;
  e.preventDefault();
});
addEventListener('keyup', (e) => {
  if (e.key === 'ArrowLeft') S.keys.left = false;
  if (e.key === 'ArrowRight') S.keys.right = false;
});
addEventListener('blur', () => { S.keys.left = S.keys.right = false; });

// Drag the pole to shove it (release applies the impulse); a click shoves it away from the pointer.
let drag = null;
function toWorld(e) {
  const r = canvas.getBoundingClientRect(), { k, ox, oy } = fit({ width: r.width, height: r.height });
  return [(e.clientX - r.left - ox) / k, (e.clientY - r.top - oy) / k];
}
function onPole([x, y]) {
  const th = env.state[2], dx = x - cartX(env.state), dy = y - AXLE_Y;
  const along = dx * Math.sin(th) - dy * Math.cos(th), across = dx * Math.cos(th) + dy * Math.sin(th);
  return along > -10 && along < POLE_LEN + 10 && Math.abs(across) < 18 ? Math.sign(across) || 1 : 0;
}
canvas.onpointerdown = (e) => {
  const p = toWorld(e), side = onPole(p);
  if (!side) return;
  drag = { x0: p[0], side };
  canvas.setPointerCapture(e.pointerId);
};
canvas.onpointermove = (e) => {
  const p = toWorld(e);
  if (drag) push(Math.max(-3, Math.min(3, (p[0] - drag.x0) / 40)), true);
  else canvas.style.cursor = onPole(p) ? 'grab' : '';
};
canvas.onpointerup = (e) => {
  if (!drag) return;
  const dx = toWorld(e)[0] - drag.x0;
  push(Math.abs(dx) < 4 ? -0.6 * drag.side : Math.max(-3, Math.min(3, dx / 40)));
  drag = null;
};
canvas.onpointercancel = () => { drag = null; S.arrow = null; };

// ---- backends ----

function fail(err) {
  const msg = String(err?.message || err);
  S.error = msg;
  S.policy = null;
  const el = $('error');
  el.textContent = `Something went wrong: ${msg}`;
  el.hidden = false;
}
addEventListener('error', (e) => fail(e.error || e.message));
addEventListener('unhandledrejection', (e) => fail(e.reason));

/**
 * Time of one forward pass in µs: the median of bursts of many calls, as one call is far below
 * performance.now()'s resolution (100 µs without cross-origin isolation) and a busy machine preempts.
 */
const mainBursts = [], kernelBursts = [];
async function calibrate(policy, nBursts, sync = S.sync, bursts = mainBursts) {
  const obs = Float32Array.from(env.obs);
  for (let i = 0; sync && i < 50; i++) policy.forward(obs); // past the baseline compiler's first calls
  const calls = sync ? 200 : 3;
  for (let b = 0; b < nBursts; b++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const r = policy.forward(obs);
      if (!sync) await r;
    }
    bursts.push((1000 * (performance.now() - t0)) / calls);
  }
  bursts.splice(0, bursts.length - 9);
  return bursts.slice().sort((a, b) => a - b)[bursts.length >> 1];
}

// The wasm kernel, loaded once: the default, the fallback, and what the python backend is timed against.
let kernelP = null, kernelNow = null;
const takeResponse = () => { const r = wasmResponse; wasmResponse = undefined; return r; }; // a body reads once
function wasm() {
  kernelP ??= loadPolicy(kernel, { backend: 'wasm', baseUrl, wasmResponse: takeResponse() })
    .catch((err) => { kernelP = null; throw err; });
  return kernelP;
}

/** Make `policy` the one that plays; false when another switch started meanwhile. */
async function install(id, policy, note) {
  if (policy.backend === 'wasm' && !kernelNow) kernelP = Promise.resolve(kernelNow = policy);
  const probe = policy.forward(env.obs);
  await probe;
  if (id !== loading) return false;
  S.sync = !(probe instanceof Promise) && !policy.slow;
  mainBursts.length = 0;
  S.forwardMicros = S.kernelMicros = null;
  S.policy = policy;
  S.backend = policy.backend;
  S.note = note || policy.note || '';
  S.warn = false;
  S.error = null;
  $('error').hidden = true;
  const src = $('source');
  src.hidden = !policy.source;
  if (policy.source) src.querySelector('pre').textContent = policy.source;
  if (S.running && !busy && !S.pendingReset) run(1, Infinity); // act now, not at the next frame
  return true;
}

let loading = 0;
async function switchBackend(name, note = '') {
  const id = ++loading;
  $('backend').value = name;
  const url = new URL(location.href);
  if (url.searchParams.get('backend') !== name) {
    url.searchParams.set('backend', name);
    history.replaceState(null, '', url);
  }
  // The playing backend plays on while the next one loads. python first downloads its runtime: the kernel
  // plays meanwhile, and keeps playing if python fails.
  const python = name === 'python';
  const loadingNote = python ? 'loading Python runtime…' : `loading ${name}…`;
  S.note = loadingNote;
  try {
    if (python && S.policy?.backend !== 'wasm') {
      if (!(await install(id, await wasm(), loadingNote))) return;
    }
    const policy = await (name === 'wasm' ? wasm()
      : loadPolicy(kernel, { backend: name, baseUrl, wasmResponse: takeResponse(), fallback: !python }));
    if (id === loading) await install(id, policy, note);
  } catch (err) {
    if (id !== loading) return;
    if (python && S.policy) { // said where the backend is shown; the page plays on
      S.note = `python failed: ${err.message || err}. Still running on the wasm kernel.`;
      S.warn = true;
      $('backend').value = S.backend;
    } else {
      const msg = `could not load the policy: ${err.message || err}`;
      fail(new Error(`${msg}. Rebuild with \`make bundle\`, or check that every file was uploaded.`));
    }
  }
}

const requested = params.get('backend') || 'wasm';
if (BACKENDS.includes(requested)) switchBackend(requested);
else switchBackend('wasm', `unknown backend '${requested}' in the URL: using wasm`);
requestAnimationFrame(frame);

// ---- the page's API ----

window.app = Object.freeze({
  /** Contract 3's status (read-only snapshot), plus a few extra fields for tests and embedding. */
  status: () => ({
    backend: S.backend, episode: S.episode, step: env.steps, episodeReturn: S.episodeReturn,
    bestReturn: S.bestReturn, firstActionMs: S.firstActionMs, forwardMicros: S.forwardMicros, error: S.error,
    kernelMicros: S.kernelMicros,
    mode: S.mode, running: S.running, speed: S.speed, lastAction: S.lastAction, lastEnd: S.lastEnd,
    pushed: S.pushed, note: S.note, frames: S.frames, state: Array.from(env.state),
    probs: S.out?.probs ? Array.from(S.out.probs) : null, value: S.out?.value ?? null,
    agentReturns: S.agentReturns.slice(), humanBest: S.humanBest,
  }),
  // Test hooks (all outside Gymnasium's dynamics except play/pause/step/reset/speed/mode/backend).
  push: (dThetaDot) => push(Number(dThetaDot)),
  setState: (s) => { env.state.set(s.map(Number)); env.obs.set(env.state); S.pushed = true; },
  play: () => setRunning(true),
  pause: () => setRunning(false),
  step: stepOnce,
  reset: newEpisode,
  setSpeed: (v) => setSpeed(String(v)),
  setMode,
  setBackend: (name) => switchBackend(name),

  backends: BACKENDS,
});
