"""Pixel masks of rendered frames: which pixels belong to a part of a drawing, to compare the page's canvas
with Gymnasium's render (tests/test_render.py, tests/test_physics.py)."""

from __future__ import annotations

import numpy as np


def mask(img: np.ndarray, rgb: tuple[int, int, int] | None) -> np.ndarray:
    """A part's pixels: near its colour and within 3 px of a solid 3x3 block of it (so that another shape's
    anti-aliased edge that happens to pass through the colour is not counted); rgb None: dark ink, every
    channel under 128 (Pendulum's smooth-scaled arrow has no solid core)."""
    if rgb is None:
        return np.all(img < 128, -1)
    near = np.abs(img.astype(int) - np.array(rgb)).sum(-1) < 60
    core = ~dilate(~np.all(img == rgb, -1))
    return near & dilate(dilate(dilate(core)))


def dilate(m: np.ndarray) -> np.ndarray:
    """The mask grown by one pixel (8-neighbourhood)."""
    h, w = m.shape
    p = np.pad(m, 1)
    return np.any(
        [p[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0
    )
