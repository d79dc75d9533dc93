"""bundle/src/render/cartpole.js against Gymnasium's own render(): the same state draws the same picture.

Gymnasium draws with pygame (rgb_array, 600x400); the page draws on a Canvas 2D context in headless
Chromium at the same size. pygame truncates vertices to whole pixels where the canvas anti-aliases, so edges
may differ by a pixel: the test checks the images' mean absolute difference and, per part (cart, pole,
axle: the pixels near that part's colour), the IoU, the centroid distance and how many pixels of each
picture lie within one pixel of the other's part.
"""
from __future__ import annotations

import base64
import os

import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import ROOT

STATES = [
    (0.0, 0.0, 0.0, 0.0),
    (0.5, 0.1, 0.05, 0.0),
    (-1.2, 0.0, -0.15, 0.3),
    (2.0, -1.0, 0.2, 0.0),
    (-2.3, 0.0, 0.0, 0.0),
    (1.0, 0.0, -0.4, 0.0),  # beyond the termination angle: still drawn
    (0.3, 0.0, 1.2, 0.0),
    (0.01234, 0.0, -0.0333, 0.0),
]
PARTS = {"cart": (0, 0, 0), "pole": (202, 152, 101), "axle": (129, 132, 203)}
PAGE = "<!doctype html><html><body style='margin:0'><canvas id=c width=600 height=400></canvas></body></html>"


def gym_frames() -> list[np.ndarray]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytest.importorskip("pygame", reason="pygame renders Gymnasium's reference: pip install pygame")
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    frames = []
    for s in STATES:
        env.unwrapped.state = np.array(s, dtype=np.float64)
        frames.append(env.render().copy())
    env.close()
    return frames


def canvas_frames(browser, base: str) -> list[np.ndarray]:
    page = browser.new_page(viewport={"width": 600, "height": 400}, device_scale_factor=1)
    page.route(f"{base}/render-test.html", lambda r: r.fulfill(body=PAGE, content_type="text/html"))
    page.goto(f"{base}/render-test.html")
    b64 = page.evaluate("""async (states) => {
        const { draw } = await import('./render/cartpole.js');
        const ctx = document.getElementById('c').getContext('2d');
        const out = [];
        for (const s of states) {
          draw(ctx, s, { width: 600, height: 400 });
          const px = ctx.getImageData(0, 0, 600, 400).data;
          let bin = '';
          for (let i = 0; i < px.length; i += 4) bin += String.fromCharCode(px[i], px[i + 1], px[i + 2]);
          out.push(btoa(bin));
        }
        return out;
    }""", [list(s) for s in STATES])
    page.close()
    return [np.frombuffer(base64.b64decode(b), np.uint8).reshape(400, 600, 3) for b in b64]


def mask(img: np.ndarray, rgb: tuple[int, int, int], exclude_track: bool = False) -> np.ndarray:
    m = np.abs(img.astype(int) - np.array(rgb)).sum(-1) < 60
    if exclude_track:
        m[299] = False  # the track line is black too
    return m


def dilate(m: np.ndarray) -> np.ndarray:
    """The mask grown by one pixel (8-neighbourhood)."""
    p = np.pad(m, 1)
    return np.any([p[1 + dy:401 + dy, 1 + dx:601 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


def test_canvas_matches_gymnasium_render(browser, serve):
    ref = gym_frames()
    ours = canvas_frames(browser, serve(ROOT / "bundle" / "src"))
    for s, a, b in zip(STATES, ref, ours, strict=True):
        mad = np.abs(a.astype(int) - b.astype(int)).mean()
        report = []
        for part, rgb in PARTS.items():
            ma, mb = mask(a, rgb, part == "cart"), mask(b, rgb, part == "cart")
            iou = (ma & mb).sum() / (ma | mb).sum()
            near = min((ma & dilate(mb)).sum() / ma.sum(), (mb & dilate(ma)).sum() / mb.sum())
            shift = np.hypot(*(np.argwhere(ma).mean(0) - np.argwhere(mb).mean(0)))
            report.append(f"{part} IoU {iou:.3f} within-1px {near:.3f} centroid {shift:.2f}px")
            assert near > 0.98, f"state {s}: only {near:.1%} of {part} pixels lie within 1 px of the other's"
            assert shift < 1.5, f"state {s}: the {part} is {shift:.2f} px away from Gymnasium's"
            assert iou > 0.75, f"state {s}: {part} IoU {iou:.3f}"
        print(f"state {s}: mean |diff| {mad:.3f}; " + "; ".join(report))
        assert mad < 1.0, f"state {s}: mean absolute pixel difference {mad:.2f}"
