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
 * What-if physics as ?physics=name:value,... (the share link's form: only the changed constants) -> {name:
 * value} for the env's `constants` (spec.constants), or a string that says why not: an unknown or repeated
 * name, or a value that is not a decimal number within the constant's range (the panel's sliders).
 */
export function parsePhysics(text, constants = {}) {
  const names = Object.keys(constants),
    out = {};
  if (!names.length) return 'this env has no physical constants to change';
  for (const item of text.split(',')) {
    const [name, value, extra] = item.split(':');
    const c = Object.hasOwn(constants, name) ? constants[name] : null;
    if (!c) return `each item is name:value, the names ${names.join(', ')}`;
    if (Object.hasOwn(out, name)) return `${name} is given twice`;
    const v =
      /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value ?? '') && extra === undefined ? Number(value) : NaN;
    if (!(v >= c.min && v <= c.max)) return `${name} is a number from ${c.min} to ${c.max}`;
    out[name] = v;
  }
  return out;
}

/** The ?physics= text of the constants that differ from the env's defaults ('' when none do). */
export const physicsText = (now, constants = {}) =>
  Object.keys(constants)
    .filter((k) => now[k] !== constants[k].value)
    .map((k) => `${k}:${String(now[k]).replace('e+', 'e')}`) // a '+' in a query reads as a space
    .join(',');

/**
 * readParams(search, backends, constants) -> {seed, speed, backend, embed, physics, notes}: seed (null:
 * random), speed (a SPEEDS entry), backend (one of `backends`), embed (bool), physics ({name: value} of
 * `constants`, spec.constants; {} for Gymnasium's); notes: one sentence per refused parameter.
 */
export function readParams(search, backends, constants) {
  const q = new URLSearchParams(search),
    notes = [];
  const refuse = (name, value, want, fallback) =>
    notes.push(`?${name}=${value} ignored: ${want}; using ${fallback}.`);
  let seed = null,
    speed = '1',
    backend = 'wasm',
    embed = false,
    physics = {};
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
  if (q.has('physics')) {
    const v = q.get('physics'),
      p = parsePhysics(v, constants);
    if (typeof p === 'string') refuse('physics', v, p, "Gymnasium's physics");
    else physics = p;
  }
  return { seed, speed, backend, embed, physics, notes };
}
