// Correctly rounded sin and cos for |x| <= 0.5, so the JS CartPole computes what Gymnasium computes.
//
// Gymnasium steps CartPole with glibc's sin/cos, which round correctly for these arguments; V8's Math.sin and
// Math.cos are off by one ulp for a few of them. A greedy policy does not correct such a bit: the unstable
// pendulum grows it until an action flips. So for the angles CartPole visits (it ends an episode past 0.21
// rad) we evaluate the Taylor series in double-double arithmetic, about 2^-100 relative error, and round once.
// Outside |x| <= 0.5 (states set by hand) Math.sin and Math.cos are used.

const SPLIT = 134217729; // 2^27 + 1: Dekker's split of a double into two 26-bit halves

// a * b = p + e exactly (Dekker; JS has no fused multiply-add)
function twoProd(a, b) {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a), al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b), bl = b - bh;
  return [p, ((ah * bh - p) + ah * bl + al * bh) + al * bl];
}

// (ah + al) * (bh + bl) and (ah + al) + (bh + bl) as normalised double-doubles
function mul(ah, al, bh, bl) {
  const [p, e] = twoProd(ah, bh);
  const lo = e + (ah * bl + al * bh);
  const hi = p + lo;
  return [hi, lo - (hi - p)];
}
function add(ah, al, bh, bl) {
  const s = ah + bh, v = s - ah;
  const lo = ((ah - (s - v)) + (bh - v)) + al + bl;
  const hi = s + lo;
  return [hi, lo - (hi - s)];
}

// 1/n as a double-double: the low part is the exact remainder (1 - n hi) / n, 1 - p being exact (Sterbenz)
const inv = (n) => { const hi = 1 / n, [p, e] = twoProd(n, hi); return [hi, ((1 - p) - e) / n]; };
const fact = (n) => (n < 2 ? 1 : n * fact(n - 1)); // exact up to 18!; the tail needs only 1/n! to a double

// Series in y = x^2: sin x = x + x y S(y), cos x = 1 + y C(y). The first four terms of each in double-double,
// the rest (below 3e-10 of the result for |x| <= 0.5) in doubles, cut where the next term is below 2^-95.
const S = [3, 5, 7, 9].map((k, i) => inv(i % 2 ? fact(k) : -fact(k)));
const C = [2, 4, 6, 8].map((k, i) => inv(i % 2 ? fact(k) : -fact(k)));
const sTail = [11, 13, 15, 17, 19, 21].map((k, i) => (i % 2 ? 1 : -1) / fact(k));
const cTail = [10, 12, 14, 16, 18, 20, 22].map((k, i) => (i % 2 ? 1 : -1) / fact(k));

function series(y, yl, head, tail) {
  let t = 0;
  for (let i = tail.length - 1; i >= 0; i--) t = t * y + tail[i];
  let h = 0, l = 0;
  [h, l] = mul(t, 0, y, yl);
  for (let i = head.length - 1; i >= 0; i--) {
    [h, l] = add(h, l, head[i][0], head[i][1]);
    if (i) [h, l] = mul(h, l, y, yl);
  }
  return [h, l];
}

export function sin(x) {
  if (!(Math.abs(x) <= 0.5) || x === 0) return Math.sin(x); // Math.sin keeps -0 for -0
  const [y, yl] = twoProd(x, x);
  let [h, l] = series(y, yl, S, sTail);
  [h, l] = mul(h, l, y, yl);
  [h, l] = mul(h, l, x, 0);
  return add(x, 0, h, l)[0];
}

export function cos(x) {
  if (!(Math.abs(x) <= 0.5)) return Math.cos(x);
  const [y, yl] = twoProd(x, x);
  let [h, l] = series(y, yl, C, cTail);
  [h, l] = mul(h, l, y, yl);
  return add(1, 0, h, l)[0];
}
