// What every classic-control env shares: the page's seeded PRNG, physical constants by name, and the
// reset/step/time-limit bookkeeping of the interface in docs/design.md. An env subclass supplies
// initialState(uniform), observe() and advance(action) with Gymnasium's arithmetic.
import { LIBM } from './sincos.js';

// mulberry32: a small seeded PRNG (Gymnasium's PCG64 stream is not reproduced; reset({state}) is exact).
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** spec.constants' defaults overridden by `given` (a name not in spec.constants is an error). */
export function physicalConstants(spec, given = {}) {
  const out = {};
  for (const [name, c] of Object.entries(spec.constants)) out[name] = c.value;
  for (const [name, v] of Object.entries(given)) {
    if (!(name in out)) {
      const names = Object.keys(out).join(', ');
      throw new Error(`${spec.id} has no physical constant '${name}': use one of ${names}`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${spec.id}: constant '${name}' must be a finite number, got ${v}`);
    }
    out[name] = v;
  }
  return out;
}

export class ClassicEnv {
  steps = 0;
  libm = LIBM; // the libm calls of a step (sincos.js); the tests swap in Gymnasium's own values
  #rand = rng((Math.random() * 2 ** 32) >>> 0);

  constructor(spec, constants) {
    this.spec = spec;
    // frozen: derived constants are computed once, here (as Gymnasium's __init__); new physics, new Env
    this.constants = Object.freeze(physicalConstants(spec, constants));
    this.obsDim = spec.obsNames.length;
    this.state = new Float64Array(spec.stateSize);
    this.obs = new Float32Array(this.obsDim);
  }

  /** reset({seed}): a fresh state from the page's PRNG (Gymnasium's distribution); reset({state}): that
   * exact state (Gymnasium's env.unwrapped.state layout); reset({}): the next state of the PRNG's stream. */
  reset({ seed, state } = {}) {
    if (seed !== undefined) this.#rand = rng(seed);
    if (state !== undefined) {
      if (state.length !== this.state.length) {
        throw new Error(`${this.spec.id}: a state has ${this.state.length} values, got ${state.length}`);
      }
      this.state.set(state);
    } else {
      this.state.set(this.initialState(this.#rand));
    }
    this.steps = 0;
    this.afterReset();
    this.observe();
    return this.obs;
  }

  /** One step: {obs, reward, terminated, truncated} (truncated: the time limit, spec.maxSteps). */
  step(action) {
    const { reward, terminated } = this.advance(action);
    this.steps++;
    this.observe();
    return { obs: this.obs, reward, terminated, truncated: this.steps >= this.spec.maxSteps };
  }

  /** Overwrite the state (a perturbation: as Gymnasium's step leaves it), recompute obs; steps unchanged. */
  setState(state) {
    this.state.set(state);
    this.afterSetState();
    this.observe();
  }

  afterReset() {} // hooks for envs whose state's dtype changes between reset and step (Gymnasium's)
  afterSetState() {}
}

/** uniform(lo, hi) from a PRNG returning [0, 1). */
export const uniform = (rand, lo, hi) => lo + (hi - lo) * rand();
