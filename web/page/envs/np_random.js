// NumPy's default_rng(seed) (SeedSequence -> PCG64 -> Generator), the stream Gymnasium's env.np_random draws
// from, so reset({seed}) makes Gymnasium's own start states, terrain and engine dispersion. Ported from
// numpy/random/bit_generator.pyx (SeedSequence), pcg64.h (PCG64: XSL-RR 128/64) and distributions.c
// (next_double, the buffered 32-bit half, Lemire's bounded integers). 128-bit arithmetic in BigInt: a few
// draws per step.

const MASK32 = 0xffffffff;
const M64 = (1n << 64n) - 1n,
  M128 = (1n << 128n) - 1n;
const PCG_MULT = 0x2360ed051fc65da44385df649fccf645n; // PCG_DEFAULT_MULTIPLIER_128

// SeedSequence's hash constants (bit_generator.pyx)
const INIT_A = 0x43b0d7e5,
  MULT_A = 0x931e8875,
  INIT_B = 0x8b51f9dd,
  MULT_B = 0x58f38ded,
  MIX_MULT_L = 0xca01f9dd,
  MIX_MULT_R = 0x4973f715,
  POOL_SIZE = 4;

/** A non-negative integer seed as little-endian 32-bit words (0 -> [0]), as SeedSequence reads an int. */
function words(seed) {
  let n = BigInt(seed);
  if (n < 0n) throw new Error(`a seed must be a non-negative integer, got ${seed}`);
  const out = [];
  do {
    out.push(Number(n & 0xffffffffn));
    n >>= 32n;
  } while (n > 0n);
  return out;
}

/** SeedSequence(seed).generate_state(n) (uint32 words, as numbers): SeedSequence's pool hashed out n words. */
export function generateState(seed, n) {
  const entropy = words(seed);
  let hashA = INIT_A;
  const hashmix = (v) => {
    v = (v ^ hashA) >>> 0;
    hashA = Math.imul(hashA, MULT_A) >>> 0;
    v = Math.imul(v, hashA) >>> 0;
    return (v ^ (v >>> 16)) >>> 0;
  };
  const mix = (x, y) => {
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const pool = [];
  for (let i = 0; i < POOL_SIZE; i++) pool.push(hashmix(i < entropy.length ? entropy[i] : 0));
  for (let s = 0; s < POOL_SIZE; s++)
    for (let d = 0; d < POOL_SIZE; d++) if (s !== d) pool[d] = mix(pool[d], hashmix(pool[s]));
  for (let s = POOL_SIZE; s < entropy.length; s++)
    for (let d = 0; d < POOL_SIZE; d++) pool[d] = mix(pool[d], hashmix(entropy[s]));
  let hashB = INIT_B;
  const state = [];
  for (let i = 0; i < n; i++) {
    let v = (pool[i % POOL_SIZE] ^ hashB) >>> 0;
    hashB = Math.imul(hashB, MULT_B) >>> 0;
    v = Math.imul(v, hashB) >>> 0;
    state.push((v ^ (v >>> 16)) >>> 0);
  }
  return state;
}

/** SeedSequence(seed).generate_state(4, uint64) as two 128-bit integers: [state seed, increment seed]. */
export function seedSequence(seed) {
  const state = generateState(seed, 8);
  // uint32 pairs viewed as little-endian uint64s u[0..3]; PCG64 seeds with (u0 << 64 | u1, u2 << 64 | u3)
  const u = [0, 2, 4, 6].map((i) => (BigInt(state[i + 1]) << 32n) | BigInt(state[i]));
  return [(u[0] << 64n) | u[1], (u[2] << 64n) | u[3]];
}

/** numpy.random.default_rng(seed): uniform, random and integers as numpy.random.Generator draws them. */
export class Generator {
  #state = 0n;
  #inc = 0n;
  #hasHalf = false; // PCG64's buffered upper half of a 64-bit draw (next_uint32), kept across calls
  #half = 0;

  constructor(seed) {
    const [initState, initSeq] = seedSequence(seed);
    // pcg_setseq_128_srandom_r
    this.#inc = ((initSeq << 1n) | 1n) & M128;
    this.#step();
    this.#state = (this.#state + initState) & M128;
    this.#step();
  }

  #step() {
    this.#state = (this.#state * PCG_MULT + this.#inc) & M128;
  }

  /** The next 64-bit output (step, then XSL-RR of the new state), as a BigInt. */
  next64() {
    this.#step();
    const s = this.#state;
    const x = ((s >> 64n) ^ s) & M64,
      rot = s >> 122n;
    return ((x >> rot) | (x << ((64n - rot) & 63n))) & M64;
  }

  /** The next 32-bit output: each 64-bit draw serves two, low half first. */
  next32() {
    if (this.#hasHalf) {
      this.#hasHalf = false;
      return this.#half;
    }
    const v = this.next64();
    this.#hasHalf = true;
    this.#half = Number(v >> 32n);
    return Number(v & 0xffffffffn);
  }

  /** Generator.random(): a double in [0, 1) from the top 53 bits of a 64-bit draw. */
  random() {
    return Number(this.next64() >> 11n) * 2 ** -53;
  }

  /** Generator.uniform(low, high): low + (high - low) * random(). */
  uniform(low, high) {
    return low + (high - low) * this.random();
  }

  /** Generator.integers(low, high) (int64, high exclusive) for ranges below 2^32: Lemire's method on 32-bit
   * draws, as NumPy's random_bounded_uint64 does for such ranges. */
  integers(low, high) {
    const rng = high - low - 1;
    if (!(Number.isInteger(low) && Number.isInteger(high)) || rng < 0 || rng > MASK32 - 1) {
      throw new Error(`integers(${low}, ${high}): the port supports integer ranges of 1 .. 2^32 - 1 values`);
    }
    if (rng === 0) return low;
    const excl = BigInt(rng + 1);
    let m = BigInt(this.next32()) * excl;
    let left = Number(m & 0xffffffffn);
    if (left < rng + 1) {
      const threshold = (MASK32 - rng) % (rng + 1);
      while (left < threshold) {
        m = BigInt(this.next32()) * excl;
        left = Number(m & 0xffffffffn);
      }
    }
    return low + Number(m >> 32n);
  }
}
