// Backend switching: the playing backend plays on while the next one loads; a backend that fails mid-run
// hands over to wasm; errors are shown on the page. Also the timing of one forward pass.
import kernel from 'virtual:kernel';
import { $ } from './dom.js';
import { S, env, busy, run, setBusy } from './loop.js';
import { loadPolicy } from './policy.js';

const baseUrl = new URL('.', import.meta.url); // assets/, wherever the site is hosted

// Start fetching the kernel before anything else: the preload in index.html makes this a cache hit.
let wasmResponse;
/** Start the kernel's download (called first thing, before the page is wired up). */
export function prefetch() {
  wasmResponse = kernel.urls ? fetch(new URL(kernel.urls['policy.wasm'], baseUrl)) : undefined;
  wasmResponse?.catch(() => {});
}

/** Show an error on the page and stop playing: window.app.status().error says the same. */
export function fail(err) {
  const msg = String(err?.message || err);
  S.error = msg;
  S.policy = null;
  const e = $('error');
  e.textContent = `Something went wrong: ${msg}`;
  e.hidden = false;
}

/**
 * Time of one forward pass in µs: the median of bursts of many calls, as one call is far below
 * performance.now()'s resolution (100 µs without cross-origin isolation) and a busy machine preempts.
 */
const mainBursts = [],
  kernelBursts = [];
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

// Forward-pass timing waits until after the first action (it must not delay it); on synchronous backends
// one more burst (about 1 ms) every 2 s lets the median settle on the JIT's optimised code. Slow backends
// (python) time their own steps; the kernel is timed beside them on the same observations.
let lastCalib = 0;
/** Called once per frame at time t (ms). */
export function maybeCalibrate(t) {
  const p = S.policy;
  if (!p || busy || S.firstActionMs === null) return;
  let job;
  if (p.slow) {
    if (!kernelNow || (S.kernelMicros !== null && t - lastCalib < 2000)) return;
    job = calibrate(kernelNow, S.kernelMicros === null ? 3 : 1, true, kernelBursts).then((us) => {
      if (p === S.policy) S.kernelMicros = us;
    });
  } else {
    if (S.forwardMicros !== null && !(S.sync && t - lastCalib > 2000)) return;
    job = calibrate(p, S.forwardMicros === null ? 3 : 1).then((us) => {
      if (p === S.policy) S.forwardMicros = us;
    });
  }
  lastCalib = t;
  setBusy(true);
  job.catch(fail).finally(() => setBusy(false));
}

// The wasm kernel, loaded once: the default, the fallback, and what the python backend is timed against.
let kernelP = null,
  kernelNow = null;
const takeResponse = () => {
  const r = wasmResponse;
  wasmResponse = undefined;
  return r;
}; // a body reads once
function wasm() {
  kernelP ??= loadPolicy(kernel, { backend: 'wasm', baseUrl, wasmResponse: takeResponse() }).catch((err) => {
    kernelP = null;
    throw err;
  });
  return kernelP;
}

/** Make `policy` the one that plays; false when another switch started meanwhile. */
async function install(id, policy, note) {
  if (policy.backend === 'wasm' && !kernelNow) {
    kernelNow = policy;
    kernelP = Promise.resolve(policy);
  }
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
/** Load backend `name` and play on it once it works; `note` is shown beside the backend. */
export async function switchBackend(name, note = '') {
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
    const policy = await (name === 'wasm'
      ? wasm()
      : loadPolicy(kernel, { backend: name, baseUrl, wasmResponse: takeResponse(), fallback: !python }));
    if (id === loading) await install(id, policy, note);
  } catch (err) {
    if (id !== loading) return;
    if (python && S.policy) {
      // said where the backend is shown; the page plays on
      S.note = `python failed: ${err.message || err}. Still running on the wasm kernel.`;
      S.warn = true;
      $('backend').value = S.backend;
    } else {
      const msg = `could not load the policy: ${err.message || err}`;
      fail(new Error(`${msg}. Rebuild with \`make bundle\`, or check that every file was uploaded.`));
    }
  }
}

// A GPU that fails mid-run: carry on with wasm, and say so.
S.failover = (err) => {
  if (!S.backend || S.backend === 'wasm') fail(err);
  else switchBackend('wasm', `${S.backend} failed (${err.message || err}): using wasm`);
};
