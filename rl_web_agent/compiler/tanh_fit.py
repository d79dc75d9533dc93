"""Where model.TANH_NUM and TANH_DEN come from: `python -m rl_web_agent.compiler.tanh_fit` fits them again.

tanh(x) ~ x P(x^2) / Q(x^2) on [0, c], P and Q of degree m and n, for the least maximum absolute error:
Loeb's linearisation (solve x P - tanh(x) Q = 0 in least squares, Q(0) = 1, weighted by 1 / Q from the
previous pass) with Lawson's weights (each pass multiplies a node's weight by its error) pushing the
least-squares fit towards minimax. Numpy only; the compiler does not import it.
"""

from __future__ import annotations

import argparse

import numpy as np


def fit_tanh(m: int = 4, n: int = 4, clamp: float = 8.5, iters: int = 60, nodes: int = 4000):
    """Coefficients (P, Q) from x^0 up, and the max abs error on [0, clamp] in float64 arithmetic."""
    x = (np.cos(np.linspace(np.pi, 0, nodes)) + 1) / 2 * clamp  # Chebyshev nodes: dense near both ends
    t, y = np.tanh(x), x * x
    w, q_prev = np.ones(nodes), np.ones(nodes)
    for _ in range(iters):
        powers = y[:, None] ** np.arange(max(m, n) + 1)
        a = np.concatenate([x[:, None] * powers[:, : m + 1], -t[:, None] * powers[:, 1 : n + 1]], 1)
        s = np.sqrt(w) / q_prev
        sol = np.linalg.lstsq(a * s[:, None], t * s, rcond=None)[0]
        p, q = sol[: m + 1], np.concatenate([[1.0], sol[m + 1 :]])
        q_prev = np.polyval(q[::-1], y)
        err = np.abs(x * np.polyval(p[::-1], y) / q_prev - t)
        w = w * (err / err.max() + 1e-3)
        w /= w.sum()
    return p, q, float(err.max())


def float32_error(p, q, clamp: float, lo: float = -12.0, hi: float = 12.0, n: int = 400_001) -> float:
    """Max abs error of the float32 Horner evaluation the kernels do, on a grid over [lo, hi]."""
    f = np.float32
    x = np.linspace(lo, hi, n).astype(f)
    xc = np.clip(x, -f(clamp), f(clamp))
    y = np.minimum(x * x, f(clamp) * f(clamp))
    num, den = f(p[-1]), f(q[-1])
    for c in p[-2::-1]:
        num = (num * y + f(c)).astype(f)
    for c in q[-2::-1]:
        den = (den * y + f(c)).astype(f)
    return float(np.abs((xc * num / den).astype(np.float64) - np.tanh(x.astype(np.float64))).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=4, help="degree of P in x^2")
    ap.add_argument("--n", type=int, default=4, help="degree of Q in x^2")
    ap.add_argument(
        "--clamp",
        type=float,
        default=8.5,
        help="fit tanh on [0, CLAMP]; beyond it the kernel returns +-1 (default %(default)s)",
    )
    a = ap.parse_args()
    p, q, err = fit_tanh(a.m, a.n, a.clamp)
    print(f"TANH_CLAMP = {a.clamp!r}")
    print(f"TANH_NUM = {tuple(float(v) for v in p)!r}")
    print(f"TANH_DEN = {tuple(float(v) for v in q)!r}")
    print(f"max abs error: {err:.2e} in exact arithmetic, {float32_error(p, q, a.clamp):.2e} in float32")


if __name__ == "__main__":
    main()
