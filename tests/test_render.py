"""web/page/render/*.js against Gymnasium's own render(): the same state draws the same picture.

Gymnasium draws with pygame (rgb_array); the page draws on a Canvas 2D context in headless Chromium at the
same size. Both put vertices on whole pixels, but SDL_gfx's anti-aliased outlines are not Skia's, so edges
differ by a fraction of a pixel: the test checks the images' mean absolute difference and, per part (the
pixels near that part's own colour), the IoU, the centroid distance and how many pixels of each picture lie
within one pixel of the other's part. Then the perturbation interface: hit() finds the parts, push() kicks
the right velocity within Gymnasium's bounds, and draw() previews a drag.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.images import dilate, mask
from tests.pages import node


@dataclass
class Case:
    """One renderer against one Gymnasium env: states (Gymnasium's env.unwrapped.state layout) to draw."""

    env_id: str
    module: str  # web/page/render/<module>.js
    size: tuple[int, int]  # width, height
    states: list[tuple[float, ...]]
    parts: dict[str, tuple[int, int, int] | None]  # part -> its own colour; None: dark ink
    actions: list[float | None] = field(default_factory=list)  # Pendulum's last torque, per state
    mad: float = 0.06  # bound on the mean absolute pixel difference (of 255)
    near: float = 0.98  # least share of each part's pixels within 1 px of the other picture's part


CASES = [
    Case(
        "CartPole-v1",
        "cartpole",
        (600, 400),
        [
            (0.0, 0.0, 0.0, 0.0),
            (0.5, 0.1, 0.05, 0.0),
            (-1.2, 0.0, -0.15, 0.3),
            (2.0, -1.0, 0.2, 0.0),
            (-2.3, 0.0, 0.0, 0.0),
            (1.0, 0.0, -0.4, 0.0),
            (0.3, 0.0, 1.2, 0.0),
            (0.01234, 0.0, -0.0333, 0.0),
        ],
        {"cart": (0, 0, 0), "pole": (202, 152, 101), "axle": (129, 132, 203)},
        mad=0.03,
    ),
    Case(
        "Acrobot-v1",
        "acrobot",
        (500, 500),
        [
            (0.0, 0.0, 0.0, 0.0),
            (0.3, -0.2, 1.0, 0.0),
            (-1.1, 0.7, 0.0, 2.0),
            (2.5, 1.3, 0.0, 0.0),
            (-3.0, -2.9, 0.0, 0.0),
            (1.5707, 0.0123, 0.0, 0.0),
        ],
        {"links": (0, 204, 204), "joints": (204, 204, 0)},
    ),
    Case(
        "MountainCar-v0",
        "mountain_car",
        (600, 400),
        [(-0.5, 0.0), (-1.2, 0.0), (0.6, 0.0), (0.5, 0.01), (-0.9, -0.02), (0.123, 0.0)],
        {"car": (0, 0, 0), "wheels": (128, 128, 128), "flag": (204, 204, 0)},
        # At position 0.6 the car is half off-screen and SDL_gfx clips its anti-aliased outline to whole
        # pixels inside the surface, tilting the top edge by a pixel: 97.9% of the car's pixels agree in 1 px.
        near=0.97,
    ),
    Case(
        "MountainCarContinuous-v0",
        "mountain_car_continuous",
        (600, 400),
        [(-0.5, 0.0), (0.45, 0.0), (-1.05, 0.03)],
        {"car": (0, 0, 0), "wheels": (128, 128, 128), "flag": (204, 204, 0)},
    ),
    Case(
        "Pendulum-v1",
        "pendulum",
        (500, 500),
        [
            (0.0, 0.0),
            (math.pi, 0.0),
            (0.7, 1.0),
            (-2.0, 0.0),
            (0.3, 0.0),
            (-1.234, 0.0),
            (2.9, 0.0),
            (12.5, 0.0),
        ],
        {"rod": (204, 77, 77), "axle and torque arrow": None},
        actions=[None, None, 2.0, -2.0, 0.5, -1.3, 0.05, 3.0],
        mad=0.10,  # the arrow: a vector trace of clockwise.png, where pygame smooth-scales the bitmap
    ),
]


def gym_frames(case: Case) -> list[np.ndarray]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytest.importorskip("pygame", reason="pygame renders Gymnasium's reference: pip install pygame")
    env = gym.make(case.env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frames = []
    for i, s in enumerate(case.states):
        env.unwrapped.state = np.array(s, dtype=np.float64)
        if case.actions:  # what step() stores: the torque clipped to the action bounds
            u, top = case.actions[i], env.unwrapped.max_torque
            env.unwrapped.last_u = None if u is None else np.clip(np.float32(u), -top, top)
        frames.append(env.render().copy())
    env.close()
    return frames


def canvas_frames(page, case: Case, states=None, actions=None, view=None, dpr: int = 1) -> list[np.ndarray]:
    """The renderer's pictures of states (default: the case's) in a view (default: the world's size) at a
    devicePixelRatio, read back in device pixels. Pendulum's torque goes in as the page passes it: [u]."""
    states = case.states if states is None else states
    actions = (case.actions or [None] * len(states)) if actions is None else actions
    vw, vh = view or case.size
    b64 = page.evaluate(
        """async ([mod, vw, vh, dpr, states, actions]) => {
        const { renderer } = await import(`./render/${mod}.js`);
        const c = document.getElementById('c');
        c.width = vw * dpr; c.height = vh * dpr;
        const ctx = c.getContext('2d');
        return states.map((s, i) => {
          ctx.setTransform(dpr, 0, 0, dpr, 0, 0); // as the page does for devicePixelRatio
          renderer.draw(ctx, s, { width: vw, height: vh, action: actions[i] === null ? null : [actions[i]] });
          const px = ctx.getImageData(0, 0, vw * dpr, vh * dpr).data;
          let bin = '';
          for (let j = 0; j < px.length; j += 4) bin += String.fromCharCode(px[j], px[j + 1], px[j + 2]);
          return btoa(bin);
        });
    }""",
        [case.module, vw, vh, dpr, [list(x) for x in states], actions],
    )
    return [np.frombuffer(base64.b64decode(b), np.uint8).reshape(vh * dpr, vw * dpr, 3) for b in b64]


@pytest.fixture
def page(render_page):
    return render_page  # tests/conftest.py: web/page served, a blank canvas


@pytest.mark.parametrize("case", CASES, ids=[c.env_id for c in CASES])
def test_canvas_matches_gymnasium_render(page, case):
    """Each state (and Pendulum's last torque, passed as the page does: an action array) draws Gymnasium's
    picture: per-part shape and position, and the whole image within the case's mean difference."""
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


# ---- perturbation: hit() and push() (pure JS, run in Node) ----

PUSH_RUNNER = """
import { readFileSync } from 'node:fs';
const queries = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const q of queries) {
  const { renderer } = await import(q.url);
  const handle = renderer.hit(q.state, q.p);
  out.push({ handle, pushed: handle ? Array.from(renderer.push(q.state, handle, q.d)) : null });
}
console.log(JSON.stringify(out));
"""


@dataclass
class Grab:
    """A point on a part (world pixels, y down), the unit way it moves as velocity state[vel] grows, and the
    bound Gymnasium keeps that velocity in (None: unbounded)."""

    module: str
    state: tuple[float, ...]
    p: tuple[float, float]
    tangent: tuple[float, float]
    vel: int
    bound: float | None
    far: tuple[float, float]  # a point on no part


def grabs() -> list[Grab]:
    """Points on each perturbable part, from Gymnasium's render() geometry (independent of the JS), with
    the velocity bounds Gymnasium's step() keeps."""
    u = {i: gym.make(i).unwrapped for i in ("Acrobot-v1", "Pendulum-v1", "MountainCar-v0")}
    vmax1, vmax2 = u["Acrobot-v1"].MAX_VEL_1, u["Acrobot-v1"].MAX_VEL_2
    wmax, vmax = u["Pendulum-v1"].max_speed, u["MountainCar-v0"].max_speed
    far = (10.0, 490.0)  # Acrobot's corner
    out = []
    t = (0.3, -0.1)  # CartPole: the pole's middle (125 px per metre, axle at y = 400 - 107.5)
    for th in (0.1, -0.6):
        cx, r = 0.3 * 125 + 300, 62.5
        out.append(
            Grab(
                "cartpole",
                (0.3, 0.0, th, t[1]),
                (cx + r * math.sin(th), 292.5 - r * math.cos(th)),
                (1.0, 0.0),
                3,
                None,
                (20.0, 20.0),
            )
        )
    s = 500 / 4.4  # Acrobot and Pendulum: px per metre; the pivot at (250.5, 249.5)
    for t1, t2 in ((0.4, 0.9), (-2.0, 1.2)):
        mid1 = (250.5 + 0.5 * s * math.sin(t1), 249.5 + 0.5 * s * math.cos(t1))
        tip1 = (250.5 + s * math.sin(t1), 249.5 + s * math.cos(t1))
        mid2 = (tip1[0] + 0.6 * s * math.sin(t1 + t2), tip1[1] + 0.6 * s * math.cos(t1 + t2))
        st = (t1, t2, 0.5, -0.5)
        out.append(Grab("acrobot", st, mid1, (math.cos(t1), -math.sin(t1)), 2, vmax1, far))
        out.append(Grab("acrobot", st, mid2, (math.cos(t1 + t2), -math.sin(t1 + t2)), 3, vmax2, far))
    for th in (0.5, 3.0, -1.2):
        mid = (250.5 - 0.7 * s * math.sin(th), 249.5 - 0.7 * s * math.cos(th))
        out.append(Grab("pendulum", (th, 1.0), mid, (-math.cos(th), math.sin(th)), 1, wmax, (480.0, 20.0)))
    for module in ("mountain_car", "mountain_car_continuous"):
        for pos in (-0.5, 0.3):
            k = 600 / 1.8  # px per unit of position; the car's centre 10 + 10 px above the hill
            x, y = (pos + 1.2) * k + 0.5, 400 - 0.5 - (20 + (math.sin(3 * pos) * 0.45 + 0.55) * k)
            out.append(Grab(module, (pos, 0.01), (x, y), (1.0, 0.0), 1, vmax, (300.0, 5.0)))
    return out


def run_pushes(queries: list[dict]) -> list[dict]:
    for q in queries:
        q["url"] = (ROOT / "web" / "page" / "render" / f"{q.pop('module')}.js").as_uri()
    out = subprocess.run(
        [node(), "--input-type=module", "-e", PUSH_RUNNER],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_hit_and_push():
    """A click or drag on a part kicks that part's velocity the way the pointer goes (a click: away from the
    pointer), proportionally, within Gymnasium's bounds; a click elsewhere grabs nothing."""
    gs = grabs()
    drags = [0.0, 30.0, 60.0, 1e4, -1e4]  # px along the tangent
    queries = []
    for g in gs:
        for a in drags:
            queries.append(
                {
                    "module": g.module,
                    "state": list(g.state),
                    "p": list(g.p),
                    "d": [a * g.tangent[0], a * g.tangent[1]],
                }
            )
        # A click a few px to the tangent's + side of the part (still on it) shoves it the other way.
        queries.append(
            {
                "module": g.module,
                "state": list(g.state),
                "p": [g.p[0] + 5 * g.tangent[0], g.p[1] + 5 * g.tangent[1]],
                "d": [0.0, 0.0],
            }
        )
        queries.append({"module": g.module, "state": list(g.state), "p": list(g.far), "d": [0.0, 0.0]})
    res = iter(run_pushes(queries))
    for g in gs:
        label = f"{g.module} state {g.state} at {tuple(round(v, 1) for v in g.p)}"
        kicks = []
        for _ in drags:
            r = next(res)
            assert r["handle"] is not None, f"{label}: hit() found nothing on the part"
            new = np.array(r["pushed"])
            others = [i for i in range(len(g.state)) if i != g.vel]
            assert np.array_equal(new[others], np.array(g.state)[others]), f"{label}: push changed {new}"
            kicks.append(new[g.vel] - g.state[g.vel])
            if g.bound is not None:
                assert abs(new[g.vel]) <= g.bound, f"{label}: velocity {new[g.vel]} beyond ±{g.bound}"
        click, d30, d60, big, neg = kicks
        assert d30 > 0 and d60 > d30 and math.isclose(d60, 2 * d30, rel_tol=1e-9), f"{label}: kicks {kicks}"
        assert big > d60 and neg < 0, f"{label}: kicks {kicks}"
        if g.bound is not None:  # a huge drag saturates at Gymnasium's bound
            v = g.state[g.vel]
            assert math.isclose(v + big, g.bound) and math.isclose(v + neg, -g.bound), f"{label}: {kicks}"
        assert click != 0, f"{label}: a click did nothing"
        side = next(res)
        assert side["handle"] is not None, f"{label}: hit() missed a point 5 px off the part's middle"
        assert side["pushed"][g.vel] < g.state[g.vel], f"{label}: a click shoved towards the pointer"
        assert next(res)["handle"] is None, f"{label}: a click at {g.far} grabbed something"


def test_drag_preview_and_overlay(page):
    """view.drag draws a red arrow from the grabbed part the way the push goes; hud and badge draw text; the
    bare picture has neither (checked in Chromium: the page's canvas)."""
    gs = {g.module: g for g in grabs()}  # one grab per renderer
    cases = [
        {
            "module": g.module,
            "state": list(g.state),
            "p": list(g.p),
            "d": [30 * g.tangent[0], 30 * g.tangent[1]],
        }
        for g in gs.values()
    ]
    res = page.evaluate(
        """async (cases) => {
        const c = document.getElementById('c'), ctx = c.getContext('2d');
        const out = [];
        for (const q of cases) {
          const { renderer } = await import(`./render/${q.module}.js`);
          const w = renderer.WIDTH, h = renderer.HEIGHT;
          c.width = w; c.height = h;
          const handle = renderer.hit(q.state, q.p);
          const measure = (view) => {
            renderer.draw(ctx, q.state, { width: w, height: h, ...view });
            const px = ctx.getImageData(0, 0, w, h).data;
            let n = 0, sx = 0, sy = 0, ink = 0;
            for (let i = 0; i < px.length; i += 4) {
              const x = (i / 4) % w, y = Math.floor(i / 4 / w);
              if (Math.abs(px[i] - 204) + Math.abs(px[i + 1] - 51) + Math.abs(px[i + 2] - 51) < 12) {
                n++; sx += x + 0.5; sy += y + 0.5;
              }
              if (x < 200 && y < 60 && px[i] < 200) ink++;
            }
            return { n, cx: sx / n, cy: sy / n, ink };
          };
          out.push({ bare: measure({}), drag: measure({ drag: { handle, d: q.d } }),
                     text: measure({ hud: ['t 1.00 s', 'episode 2'], badge: 'pushed' }) });
        }
        return out;
    }""",
        cases,
    )
    for g, r in zip(gs.values(), res, strict=True):
        label = f"{g.module} state {g.state}"
        assert r["bare"]["n"] == 0, f"{label}: red pixels without a drag"
        assert r["drag"]["n"] > 30, f"{label}: no preview arrow ({r['drag']['n']} red pixels)"
        off = (r["drag"]["cx"] - g.p[0], r["drag"]["cy"] - g.p[1])
        assert math.hypot(*off) < 120, f"{label}: the arrow is {off} px from the grab"
        assert off[0] * g.tangent[0] + off[1] * g.tangent[1] > 5, f"{label}: the arrow points back"
        assert r["text"]["ink"] > r["bare"]["ink"] + 30, f"{label}: no HUD text drawn"


def test_resolution_independent(page):
    """At devicePixelRatio 2 in a wider or a taller view (the page's case), fit() centres the world and the
    picture, box-filtered back to world pixels, is Gymnasium's again; the letterbox stays blank."""
    for case in CASES:
        (w, h), states, actions = case.size, case.states[0:3:2], case.actions[0:3:2]  # Pendulum: + a torque
        ref = gym_frames(Case(case.env_id, case.module, case.size, states, {}, actions=actions))
        for ox, oy in ((100, 0), (0, 50)):  # the world's offset in the view (scale 1)
            ours = canvas_frames(page, case, states, actions or None, view=(w + 2 * ox, h + 2 * oy), dpr=2)
            for s, a, img in zip(states, ref, ours, strict=True):
                box = np.s_[2 * oy : 2 * (oy + h), 2 * ox : 2 * (ox + w)]
                mad = np.abs(img[box].reshape(h, 2, w, 2, 3).mean((1, 3)) - a).mean()
                blank = np.ones(img.shape[:2], bool)
                blank[box] = False
                label = f"{case.env_id} state {s} at 2x, world at ({ox}, {oy})"
                print(f"{label}: mean |diff| {mad:.3f}")
                assert (img[blank] == 255).all(), f"{label}: drawn outside the world's box"
                # Skia draws lines wider than a device pixel by area (thicker on slopes than SDL_gfx's Wu
                # lines: MountainCar's hill, ~0.18), thinner ones as hairlines, as at 1x.
                assert mad < 0.25, f"{label}: the picture differs by {mad:.3f}"
