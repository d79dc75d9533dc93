// Backend switching: the playing backend plays on while the next one loads; a backend that fails mid-run
// hands over to wasm; errors are shown on the page. (The timing of one forward pass: lazy/panel.js.)
import kernel from 'virtual:kernel';
import { $ } from './dom.js';
import { S, env, busy, run } from './loop.js';
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

// The wasm kernel, loaded once: the default, the fallback, and what the python backend is timed against.
let kernelP = null,
  kernelNow = null;
/** The wasm kernel once loaded (lazy/panel.js times it beside a slow backend), else null. */
export const wasmKernel = () => kernelNow;
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
  S.forwardMicros = S.kernelMicros = null; // lazy/panel.js times the new policy
  S.policy = policy;
  if (S.firstActionMs !== null) policy.warm?.(); // the first action's bill is paid: no need to wait
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
