// Correctly rounded sin and cos for |x| <= 0.5, so the JS CartPole computes what Gymnasium computes.
//
// Gymnasium steps CartPole with the platform libm's sin/cos. glibc's round correctly for nearly every angle
// an episode visits (all but 8 of the 500,722 angles of 1,000 trained-policy episodes); V8's Math.sin and
// Math.cos are an ulp off far more often, and other browsers' differ again. A greedy policy does not
// correct such a bit: the unstable pendulum grows it until an action flips. So for the angles CartPole
// visits (it ends an episode past 0.21 rad) we sum the Taylor series in double-double arithmetic (error
// below 2^-85 of the result) and round once: correctly rounded, and the same in every browser. Outside
// |x| <= 0.5 (states set by hand) Math.sin and Math.cos are used.

const SPLIT = 134217729; // 2^27 + 1: Dekker's split of a double into two 26-bit halves

// Double-double products and sums, normalised, left in R = [hi, lo]: nothing is allocated per call (and a
// typed array, unlike module-level lets, needs no hole checks).
const R = new Float64Array(2);
function mul(ah, al, bh, bl) { // (ah + al) * (bh + bl); ah * bh exactly by Dekker (JS has no fused multiply-add)
  const p = ah * bh;
  let t = SPLIT * ah;
  const ahh = t - (t - ah), ahl = ah - ahh;
  t = SPLIT * bh;
  const bhh = t - (t - bh), bhl = bh - bhh;
  const lo = (((ahh * bhh - p) + ahh * bhl + ahl * bhh) + ahl * bhl) + (ah * bl + al * bh);
  const hi = p + lo;
  R[0] = hi;
  R[1] = lo - (hi - p);
}
function add(ah, al, bh, bl) {
  const s = ah + bh, v = s - ah;
  const lo = ((ah - (s - v)) + (bh - v)) + al + bl;
  const hi = s + lo;
  R[0] = hi;
  R[1] = lo - (hi - s);
}

const fact = (n) => (n < 2 ? 1 : n * fact(n - 1)); // exact up to 18!; the tail needs only 1/n! to a double
// 1/n as a double-double [hi, lo]: lo is the exact remainder (1 - n hi) / n, where 1 - n hi is exact
function inv(n) {
  const hi = 1 / n;
  mul(n, 0, hi, 0);
  return [hi, ((1 - R[0]) - R[1]) / n];
}

// Series in y = x^2: sin x = x + x y S(y), cos x = 1 + y C(y). The first four terms of each in double-double,
// the rest (below 3e-10 of the result for |x| <= 0.5) in doubles, cut where the next term is below 2^-95.
const S = [3, 5, 7, 9].flatMap((k, i) => inv(i % 2 ? fact(k) : -fact(k)));
const C = [2, 4, 6, 8].flatMap((k, i) => inv(i % 2 ? fact(k) : -fact(k)));
const sTail = [11, 13, 15, 17, 19, 21].map((k, i) => (i % 2 ? 1 : -1) / fact(k));
const cTail = [10, 12, 14, 16, 18, 20, 22].map((k, i) => (i % 2 ? 1 : -1) / fact(k));

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

export function sin(x) {
  if (!(Math.abs(x) <= 0.5) || x === 0) return Math.sin(x); // Math.sin keeps -0 for -0
  mul(x, 0, x, 0);
  series(R[0], R[1], S, sTail);
  mul(R[0], R[1], x, 0);
  add(x, 0, R[0], R[1]);
  return R[0];
}

export function cos(x) {
  if (!(Math.abs(x) <= 0.5)) return Math.cos(x);
  mul(x, 0, x, 0);
  series(R[0], R[1], C, cTail);
  add(1, 0, R[0], R[1]);
  return R[0];
}
