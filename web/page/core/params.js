// The page's query parameters, validated: a value the page cannot honour is refused with a note that says
// so (shown on the page), never silently mapped to another one.

export const SPEEDS = ['0.25', '0.5', '1', '2', '4', '8', 'max'];
export const SEED_MAX = 2 ** 32 - 1;

/** A seed as the page's PRNG takes it: an integer 0..2^32-1 written in decimal digits, else null. */
export function parseSeed(text) {
  if (!/^\d{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n <= SEED_MAX ? n : null;
}

/**
 * readParams(search, backends) -> {seed, speed, backend, embed, notes}: seed (null: random), speed (a SPEEDS
 * entry), backend (one of `backends`), embed (bool); notes: one sentence per refused parameter.
 */
export function readParams(search, backends) {
  const q = new URLSearchParams(search),
    notes = [];
  const refuse = (name, value, want, fallback) =>
    notes.push(`?${name}=${value} ignored: ${want}; using ${fallback}.`);
  let seed = null,
    speed = '1',
    backend = 'wasm',
    embed = false;
  if (q.has('seed')) {
    seed = parseSeed(q.get('seed'));
    if (seed === null) {
      refuse('seed', q.get('seed'), `a seed is an integer from 0 to ${SEED_MAX}`, 'a random seed');
    }
  }
  if (q.has('speed')) {
    const v = q.get('speed');
    if (SPEEDS.includes(v)) speed = v;
    else refuse('speed', v, `the speed is one of ${SPEEDS.join(', ')}`, '1');
  }
  if (q.has('backend')) {
    const v = q.get('backend');
    if (backends.includes(v)) backend = v;
    else refuse('backend', v, `this page's backends are ${backends.join(', ')}`, 'wasm');
  }
  if (q.has('embed')) {
    const v = q.get('embed');
    if (v === '1' || v === '0') embed = v === '1';
    else refuse('embed', v, 'embed is 1 or 0', 'the full page');
  }
  return { seed, speed, backend, embed, notes };
}
