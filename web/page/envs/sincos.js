// Correctly rounded sin and cos (and the other libm calls Gymnasium's classic-control envs make), so the JS
// envs compute what Gymnasium computes, the same in every browser.
//
// Gymnasium steps its envs with the platform libm's sin/cos (glibc here). glibc's round correctly for nearly
// every argument (CartPole: all but 8 of the 500,722 angles of 1,000 trained-policy episodes); V8's
// Math.sin and Math.cos are an ulp off far more often, and other browsers' differ again. A greedy policy
// does not correct such a bit: an unstable or chaotic system grows it until an action flips. So we reduce
// the argument exactly and sum the Taylor series in double-double arithmetic (relative error below 2^-95)
// and round once: correctly rounded, except with a probability near 2^-40 per call.
//
// Range: |x| <= pi/4 directly; up to REDUCE_LIMIT by Cody-Waite reduction with a 3-part pi/2 and exact
// products (the remainder is kept as a double-double; its absolute error, below 2^-135, is far smaller than
// the closest any double in range comes to a multiple of pi/2, about 2^-60). Beyond REDUCE_LIMIT (no
// classic-control state gets there) Math.sin and Math.cos are used: not correctly rounded, browser-specific.

const SPLIT = 134217729; // 2^27 + 1: Dekker's split of a double into two 26-bit halves
export const REDUCE_LIMIT = 2 ** 20;

// Double-double products and sums, normalised, left in R = [hi, lo]: nothing is allocated per call (and a
// typed array, unlike module-level lets, needs no hole checks).
const R = new Float64Array(2);
// (ah + al) * (bh + bl); ah * bh exactly by Dekker (JS has no fused multiply-add)
function mul(ah, al, bh, bl) {
  const p = ah * bh;
  let t = SPLIT * ah;
  const ahh = t - (t - ah),
    ahl = ah - ahh;
  t = SPLIT * bh;
  const bhh = t - (t - bh),
    bhl = bh - bhh;
  const lo = ahh * bhh - p + ahh * bhl + ahl * bhh + ahl * bhl + (ah * bl + al * bh);
  const hi = p + lo;
  R[0] = hi;
  R[1] = lo - (hi - p);
}
function add(ah, al, bh, bl) {
  const s = ah + bh,
    v = s - ah;
  const lo = ah - (s - v) + (bh - v) + al + bl;
  const hi = s + lo;
  R[0] = hi;
  R[1] = lo - (hi - s);
}

const fact = (n) => (n < 2 ? 1 : n * fact(n - 1)); // exact up to 18!; the tail needs only 1/n! to a double
// 1/n as a double-double [hi, lo]: lo is the exact remainder (1 - n hi) / n, where 1 - n hi is exact
function inv(n) {
  const hi = 1 / n;
  mul(n, 0, hi, 0);
  return [hi, (1 - R[0] - R[1]) / n];
}

// Series in y = x^2: sin x = x + x y S(y), cos x = 1 + y C(y), for |x| <= 0.8 (a reduced argument may pass
// pi/4 by a rounding). The first terms in double-double, while a term exceeds 2^-50 of the result; the rest
// in doubles, cut where the next term is below 2^-100.
const S = [3, 5, 7, 9, 11, 13, 15].flatMap((k, i) => inv(i % 2 ? fact(k) : -fact(k)));
const C = [2, 4, 6, 8, 10, 12, 14, 16].flatMap((k, i) => inv(i % 2 ? fact(k) : -fact(k)));
const sTail = [17, 19, 21, 23, 25, 27, 29].map((k, i) => (i % 2 ? -1 : 1) / fact(k));
const cTail = [18, 20, 22, 24, 26, 28, 30].map((k, i) => (i % 2 ? 1 : -1) / fact(k));

// (y + yl) * series(y) into R; head: [hi0, lo0, hi1, lo1, ...]
function series(y, yl, head, tail) {
  let t = 0;
  for (let i = tail.length - 1; i >= 0; i--) t = t * y + tail[i];
  mul(t, 0, y, yl);
  for (let i = head.length - 2; i >= 0; i -= 2) {
    add(R[0], R[1], head[i], head[i + 1]);
    mul(R[0], R[1], y, yl);
  }
}

// sin and cos of the double-double xh + xl (|x| <= 0.8), rounded once
function sinKernel(xh, xl) {
  mul(xh, xl, xh, xl);
  series(R[0], R[1], S, sTail);
  mul(R[0], R[1], xh, xl);
  add(xh, xl, R[0], R[1]);
  return R[0];
}
function cosKernel(xh, xl) {
  mul(xh, xl, xh, xl);
  series(R[0], R[1], C, cTail);
  add(1, 0, R[0], R[1]);
  return R[0];
}

// pi/2 = P1 + P2 + P3 (+ below 2^-160); 2/pi to a double for the quotient
const P1 = 1.5707963267948966,
  P2 = 6.123233995736766e-17,
  P3 = -1.4973849048591698e-33;
const TWO_OVER_PI = 0.6366197723675814;
const PIO4 = 0.7853981633974483; // the double below pi/4

// x - k pi/2 as a double-double in RED = [hi, lo], for |k| < 2^21: each k Pi split exactly (Dekker), the
// six parts summed with TwoSum, the rounding errors gathered in lo.
const RED = new Float64Array(2);
function reduce(x, k) {
  let hi = x,
    lo = 0;
  const sub = (d) => {
    // hi + lo -= d
    const s = hi - d,
      v = s - hi;
    lo += hi - (s - v) + (-d - v);
    hi = s;
  };
  mul(k, 0, P1, 0);
  sub(R[0]);
  sub(R[1]);
  mul(k, 0, P2, 0);
  sub(R[0]);
  sub(R[1]);
  mul(k, 0, P3, 0);
  sub(R[0]);
  sub(R[1]);
  const s = hi + lo;
  RED[0] = s;
  RED[1] = lo - (s - hi);
}

export function sin(x) {
  const ax = Math.abs(x);
  if (ax <= PIO4) return x === 0 ? x : sinKernel(x, 0); // sin(-0) = -0
  if (!(ax <= REDUCE_LIMIT)) return Math.sin(x); // NaN, infinities, huge arguments
  const k = Math.round(x * TWO_OVER_PI);
  reduce(x, k);
  switch (k & 3) {
    case 0:
      return sinKernel(RED[0], RED[1]);
    case 1:
      return cosKernel(RED[0], RED[1]);
    case 2:
      return -sinKernel(RED[0], RED[1]);
    default:
      return -cosKernel(RED[0], RED[1]);
  }
}

export function cos(x) {
  const ax = Math.abs(x);
  if (ax <= PIO4) return cosKernel(x, 0);
  if (!(ax <= REDUCE_LIMIT)) return Math.cos(x);
  const k = Math.round(x * TWO_OVER_PI);
  reduce(x, k);
  switch (k & 3) {
    case 0:
      return cosKernel(RED[0], RED[1]);
    case 1:
      return -sinKernel(RED[0], RED[1]);
    case 2:
      return -cosKernel(RED[0], RED[1]);
    default:
      return sinKernel(RED[0], RED[1]);
  }
}

// The libm calls of Gymnasium's classic-control steps, as the JS envs make them (env.libm: a test swaps in
// Gymnasium's own values to show that every difference starts at a libm misrounding). Each is correctly
// rounded: sin/cos as above; sq(x) = pow(x, 2) is x * x (glibc's pow misrounds ~0.08% of squares);
// sqf = powf(x, 2) and sinf/cosf (NumPy's float32 sin/cos) round the exact value to float32 (through a
// double: a second rounding changes a float32 result only with probability near 2^-29).
export const LIBM = Object.freeze({
  sin,
  cos,
  sq: (x) => x * x,
  sqf: (x) => Math.fround(x * x), // x * x of a float32 is exact in a double
  sinf: (x) => Math.fround(sin(x)),
  cosf: (x) => Math.fround(cos(x)),
});
