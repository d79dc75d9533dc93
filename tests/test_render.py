"""bundle/src/render/*.js against Gymnasium's own render(): the same state draws the same picture.

Gymnasium draws with pygame (rgb_array); the page draws on a Canvas 2D context in headless Chromium at the
same size. pygame truncates vertices to whole pixels where the canvas anti-aliases, so edges may differ by a
pixel: the test checks the images' mean absolute difference and, per part (the pixels near that part's own
colour), the IoU, the centroid distance and how many pixels of each picture lie within one pixel of the
other's part. Then the perturbation interface: hit() finds the parts, push() kicks the right velocity.
"""
from __future__ import annotations

import base64
import math
import os
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import ROOT


@dataclass
class Case:
    """One renderer against one Gymnasium env: states (Gymnasium's env.unwrapped.state layout) to draw."""
    env_id: str
    module: str  # bundle/src/render/<module>.js
    size: tuple[int, int]  # width, height
    states: list[tuple[float, ...]]
    parts: dict[str, tuple[int, int, int] | None]  # part -> its own colour; None: dark ink
    actions: list[float | None] = field(default_factory=list)  # Pendulum's last torque, per state
    mad: float = 0.10  # bound on the mean absolute pixel difference (of 255)
    near: float = 0.98  # least share of each part's pixels within 1 px of the other picture's part


CASES = [
    Case("CartPole-v1", "cartpole", (600, 400), [
        (0.0, 0.0, 0.0, 0.0), (0.5, 0.1, 0.05, 0.0), (-1.2, 0.0, -0.15, 0.3), (2.0, -1.0, 0.2, 0.0),
        (-2.3, 0.0, 0.0, 0.0), (1.0, 0.0, -0.4, 0.0), (0.3, 0.0, 1.2, 0.0), (0.01234, 0.0, -0.0333, 0.0)],
        {"cart": (0, 0, 0), "pole": (202, 152, 101), "axle": (129, 132, 203)}, mad=0.03),
    Case("Acrobot-v1", "acrobot", (500, 500), [
        (0.0, 0.0, 0.0, 0.0), (0.3, -0.2, 1.0, 0.0), (-1.1, 0.7, 0.0, 2.0), (2.5, 1.3, 0.0, 0.0),
        (-3.0, -2.9, 0.0, 0.0), (1.5707, 0.0123, 0.0, 0.0)],
        {"links": (0, 204, 204), "joints": (204, 204, 0)}, mad=0.06),
    Case("MountainCar-v0", "mountain_car", (600, 400), [
        (-0.5, 0.0), (-1.2, 0.0), (0.6, 0.0), (0.5, 0.01), (-0.9, -0.02), (0.123, 0.0)],
        {"car": (0, 0, 0), "wheels": (128, 128, 128), "flag": (204, 204, 0)},
        # At position 0.6 the car is half off-screen and SDL_gfx clips its anti-aliased outline to whole
        # pixels inside the surface, tilting the top edge by a pixel: 97.9% of the car's pixels agree in 1 px.
        near=0.97),
    Case("MountainCarContinuous-v0", "mountain_car_continuous", (600, 400), [
        (-0.5, 0.0), (0.45, 0.0), (-1.05, 0.03)],
        {"car": (0, 0, 0), "wheels": (128, 128, 128), "flag": (204, 204, 0)}),
    Case("Pendulum-v1", "pendulum", (500, 500), [
        (0.0, 0.0), (math.pi, 0.0), (0.7, 1.0), (-2.0, 0.0), (0.3, 0.0), (-1.234, 0.0), (2.9, 0.0),
        (12.5, 0.0)], {"rod": (204, 77, 77), "axle and torque arrow": None},
        actions=[None, None, 2.0, -2.0, 0.5, -1.3, 0.05, 3.0]),
]
PAGE = "<!doctype html><html><body style='margin:0'><canvas id=c></canvas></body></html>"


def gym_frames(case: Case) -> list[np.ndarray]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytest.importorskip("pygame", reason="pygame renders Gymnasium's reference: pip install pygame")
    env = gym.make(case.env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frames = []
    for i, s in enumerate(case.states):
        env.unwrapped.state = np.array(s, dtype=np.float64)
        if case.actions:  # what step() stores: the torque clipped to the action bounds
            u = case.actions[i]
            env.unwrapped.last_u = None if u is None else np.clip(np.float32(u), -2.0, 2.0)
        frames.append(env.render().copy())
    env.close()
    return frames


def canvas_frames(page, case: Case) -> list[np.ndarray]:
    w, h = case.size
    b64 = page.evaluate("""async ([mod, w, h, states, actions]) => {
        const { renderer } = await import(`./render/${mod}.js`);
        const c = document.getElementById('c');
        c.width = w; c.height = h;
        const ctx = c.getContext('2d');
        return states.map((s, i) => {
          renderer.draw(ctx, s, { width: w, height: h, action: actions[i] === null ? null : [actions[i]] });
          const px = ctx.getImageData(0, 0, w, h).data;
          let bin = '';
          for (let j = 0; j < px.length; j += 4) bin += String.fromCharCode(px[j], px[j + 1], px[j + 2]);
          return btoa(bin);
        });
    }""", [case.module, w, h, [list(s) for s in case.states], case.actions or [None] * len(case.states)])
    return [np.frombuffer(base64.b64decode(b), np.uint8).reshape(h, w, 3) for b in b64]


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
    return np.any([p[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


@pytest.fixture
def page(browser, serve):
    """A Chromium page with bundle/src served (its modules import as the page's would)."""
    base = serve(ROOT / "bundle" / "src")
    p = browser.new_page(device_scale_factor=1)
    p.route(f"{base}/render-test.html", lambda r: r.fulfill(body=PAGE, content_type="text/html"))
    p.goto(f"{base}/render-test.html")
    yield p
    p.close()


@pytest.mark.parametrize("case", CASES, ids=[c.env_id for c in CASES])
def test_canvas_matches_gymnasium_render(page, case):
    ref, ours = gym_frames(case), canvas_frames(page, case)
    for i, (s, a, b) in enumerate(zip(case.states, ref, ours, strict=True)):
        label = f"{case.env_id} state {s}" + (f" torque {case.actions[i]}" if case.actions else "")
        mad = np.abs(a.astype(int) - b.astype(int)).mean()
        report = []
        for part, rgb in case.parts.items():
            ma, mb = mask(a, rgb), mask(b, rgb)
            assert ma.sum() > 20, f"{label}: Gymnasium's picture has no {part}: the case is wrong"
            iou = (ma & mb).sum() / (ma | mb).sum()
            near = min((ma & dilate(mb)).sum() / ma.sum(), (mb & dilate(ma)).sum() / max(mb.sum(), 1))
            shift = np.hypot(*(np.argwhere(ma).mean(0) - np.argwhere(mb).mean(0))) if mb.any() else np.inf
            report.append(f"{part} IoU {iou:.3f} within-1px {near:.3f} centroid {shift:.2f}px")
            assert near > case.near, f"{label}: only {near:.1%} of {part} pixels within 1 px of the other's"
            assert shift < 1.5, f"{label}: the {part} is {shift:.2f} px away from Gymnasium's"
            assert iou > 0.75, f"{label}: {part} IoU {iou:.3f}"
        print(f"{label}: mean |diff| {mad:.3f}; " + "; ".join(report))
        assert mad < case.mad, f"{label}: mean absolute pixel difference {mad:.3f} > {case.mad}"
