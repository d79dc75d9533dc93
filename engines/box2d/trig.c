/* sinf, cosf and sincosf for the Box2D engine, equal to glibc's (>= 2.28, x86_64) for every float.

   Box2D sets each body's rotation from sinf/cosf of its angle on every step, and Gymnasium's reference
   (pybox2d on Linux) takes them from glibc; the wasm toolchain's own libm (musl's algorithm) rounds
   differently for a few inputs in a thousand, which a chaotic step amplifies into a different episode.
   glibc took these functions from Arm's optimized-routines in 2.28; this file follows that algorithm
   (math/sinf.c, cosf.c, sincosf.h, sincosf_data.c of https://github.com/ARM-software/optimized-routines,
   Copyright (c) 2018 Arm Limited, MIT OR Apache-2.0 WITH LLVM-exception), in the build without
   TOINT_INTRINSICS that glibc uses on x86_64. The polynomial's evaluation order is the result: compile with
   -ffp-contract=off (no FMA) and change no operation.

   Defining the three names here means the linker never takes libc's: Box2D's calls land here, including a
   sin/cos pair the compiler merges into sincosf. */
#include <stdint.h>
#include <string.h>

/* The constants of one quadrant pair: signs, 2/pi scaled for the fast reduction, pi/2, then the cos
   (c0..c4) and sin (s1..s3) polynomial coefficients; the second set is the first negated for cos. */
typedef struct {
  double sign[4], hpi_inv, hpi, c0, c1, c2, c3, c4, s1, s2, s3;
} Coeffs;

static const Coeffs K[2] = {
    {{1.0, -1.0, -1.0, 1.0}, 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0, 0x1p0, -0x1.ffffffd0c621cp-2,
     0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16, -0x1.555545995a603p-3,
     0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
    {{1.0, -1.0, -1.0, 1.0}, 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0, -0x1p0, 0x1.ffffffd0c621cp-2,
     -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16, -0x1.555545995a603p-3,
     0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
};

/* 4/pi as 192 bits, in overlapping 32-bit windows 8 bits apart (the large-argument reduction). */
static const uint32_t INV_PIO4[24] = {
    0xa2,       0xa2f9,     0xa2f983,   0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
    0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1, 0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
    0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
};
static const double PI63 = 0x1.921FB54442D18p-62; /* pi / 2^62 */
static const float PIO4 = 0x1.921FB6p-1f;

static inline uint32_t bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
/* The exponent bits (and sign-free top of the mantissa): a cheap |x| < c test for the ranges below. */
static inline uint32_t top12(float x) { return (bits(x) >> 20) & 0x7ff; }

/* x - n pi/2 for |x| < 120, n the nearest integer to 2x/pi (a 2^24-scaled product rounded by the cast). */
static inline double reduce_fast(double x, const Coeffs *k, int *np) {
  double r = x * k->hpi_inv;
  int n = ((int32_t)r + 0x800000) >> 24;
  *np = n;
  return x - n * k->hpi;
}

/* The same for |x| >= 120, by multiplying the mantissa with 4/pi's bits in integer arithmetic. */
static inline double reduce_large(uint32_t xi, int *np) {
  const uint32_t *arr = &INV_PIO4[(xi >> 26) & 15];
  int shift = (xi >> 23) & 7;
  uint64_t n, res0, res1, res2;
  xi = (xi & 0xffffff) | 0x800000;
  xi <<= shift;
  res0 = xi * arr[0];
  res1 = (uint64_t)xi * arr[4];
  res2 = (uint64_t)xi * arr[8];
  res0 = (res2 >> 32) | (res0 << 32);
  res0 += res1;
  n = (res0 + (1ULL << 61)) >> 62;
  res0 -= n << 62;
  double r = (int64_t)res0;
  *np = (int)n;
  return r * PI63;
}

/* The sin polynomial (n even) or the cos polynomial (n odd) of the reduced x, x2 = x * x. */
static inline float poly(double x, double x2, const Coeffs *k, int n) {
  if ((n & 1) == 0) {
    double x3 = x * x2;
    double s1 = k->s2 + x2 * k->s3;
    double x7 = x3 * x2;
    double s = x + x3 * k->s1;
    return s + x7 * s1;
  }
  double x4 = x2 * x2;
  double c2 = k->c3 + x2 * k->c4;
  double c1 = k->c0 + x2 * k->c1;
  double x6 = x4 * x2;
  double c = c1 + x4 * k->c2;
  return c + x6 * c2;
}

/* sin (want_cos 0) or cos (1) of y. */
static float trig(float y, int want_cos) {
  double x = y;
  int n;
  const Coeffs *k = &K[0];
  if (top12(y) < top12(PIO4)) {
    if (top12(y) < top12(0x1p-12f)) return want_cos ? 1.0f : y;
    return poly(x, x * x, k, want_cos);
  }
  if (top12(y) < top12(120.0f)) {
    x = reduce_fast(x, k, &n);
    double s = k->sign[n & 3];
    if (n & 2) k = &K[1];
    return poly(x * s, x * x, k, n ^ want_cos);
  }
  if (top12(y) < top12(__builtin_inff())) {
    uint32_t xi = bits(y);
    int sign = xi >> 31;
    x = reduce_large(xi, &n);
    double s = k->sign[(n + sign) & 3];
    if ((n + sign) & 2) k = &K[1];
    return poly(x * s, x * x, k, n ^ want_cos);
  }
  return y - y; /* inf or nan: nan */
}

float sinf(float y) { return trig(y, 0); }
float cosf(float y) { return trig(y, 1); }
/* glibc's sincosf gives sinf's and cosf's values (the same polynomials, evaluated the same way). */
void sincosf(float y, float *s, float *c) {
  *s = trig(y, 0);
  *c = trig(y, 1);
}
