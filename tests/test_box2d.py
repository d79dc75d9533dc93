"""The Box2D envs of the page (web/page/envs/box2d/: LunarLander-v3, LunarLanderContinuous-v3 on Box2D 2.3.10
compiled to wasm, build/engines/box2d.wasm) against Gymnasium 1.4 with box2d 2.3.10 on the reference
platform (Linux x86_64, glibc: README).

Bit for bit, from the seed alone: Gymnasium's episodes are recorded here (reset(seed=...) and the actions
of random, heuristic and mixed policies, with and without wind), the JS envs replay them in one Node process
from reset({seed}) (tests/box2d_runner.mjs), and every observation (float32 bits), reward (float64 ==) and
terminated flag must be Gymnasium's. The seeds are drawn afresh by each run (printed on failure). The parts
that make this possible are checked on their own: NumPy's default_rng port and the engine's sinf/cosf
against glibc's.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import math
import secrets
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.box2d.bipedal_walker import BipedalWalkerHeuristics
from gymnasium.envs.box2d.lunar_lander import heuristic

from tests.conftest import ROOT
from tests.pages import built_engine, node_json

RUNNER = ROOT / "tests" / "box2d_runner.mjs"
ENGINE = ROOT / "build" / "engines" / "box2d.wasm"
LANDERS = ["LunarLander-v3", "LunarLanderContinuous-v3"]


@pytest.fixture(scope="module", autouse=True)
def engine():
    built_engine(ENGINE)


def js(req: dict) -> dict:
    return node_json(RUNNER, req)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def unb64(s: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype)


# ---- the parts: NumPy's stream and glibc's sinf/cosf


def test_default_rng_port_matches_numpy():
    """uniform, random and integers (Lemire on buffered 32-bit halves, which persist across calls) in any
    interleaving draw NumPy's values, for small, 32-bit and wider seeds."""
    ops_rng = np.random.default_rng(secrets.randbits(32))
    names = ["uniform", "random", "integers"]
    for seed in [0, 1, 2**32 - 1, 2**40 + 3, secrets.randbits(32), secrets.randbits(64)]:
        ops = []
        for _ in range(400):
            name = names[ops_rng.integers(3)]
            if name == "uniform":
                lo = float(ops_rng.uniform(-1e3, 1e3))
                ops.append([name, lo, lo + float(ops_rng.uniform(0, 1e3))])
            elif name == "integers":
                lo = int(ops_rng.integers(-10_000, 10_000))
                ops.append([name, lo, lo + int(ops_rng.choice([1, 2, 5, 19_998, 2**31, 2**32 - 1]))])
            else:
                ops.append([name, None, None])
        g = np.random.default_rng(seed)
        want = [float(g.random()) if n == "random" else float(getattr(g, n)(a, b)) for n, a, b in ops]
        got = js({"cmd": "rng", "seed": str(seed), "ops": ops})["values"]  # JSON numbers stop at 2^53
        first = next((i for i, (x, y) in enumerate(zip(got, want, strict=True)) if x != y), None)
        assert got == want, f"seed {seed}: draw {first} ({ops[first]}) differs"


def test_engine_trig_is_glibcs():
    """The engine's sinf/cosf (engines/box2d/trig.c) equal this machine's glibc on 2^20 random floats in
    [-2pi, 2pi] (Box2D's angles), on every float near 0, pi/4 and the reductions' bounds, and large ones."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    for fn in (libm.sinf, libm.cosf):
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    rng = np.random.default_rng(secrets.randbits(32))
    edges = np.array([0.0, 2**-12, math.pi / 4, 120.0, 1e4, 3e38], np.float32)
    near = (edges.view(np.int32)[:, None] + np.arange(-300, 300, dtype=np.int32)).view(np.float32).ravel()
    x = np.concatenate(
        [
            rng.uniform(-2 * math.pi, 2 * math.pi, 1 << 20).astype(np.float32),
            near,
            -near,
            rng.uniform(-1e6, 1e6, 4096).astype(np.float32),
        ]
    )
    got = js({"cmd": "libm", "x": b64(x)})
    for name, fn in (("sin", libm.sinf), ("cos", libm.cosf)):
        ours = unb64(got[name], np.float32)
        want = np.array([fn(float(v)) for v in x], np.float32)
        bad = np.flatnonzero(ours.view(np.uint32) != want.view(np.uint32))
        assert bad.size == 0, f"{name}f differs from glibc's at {x[bad[:5]].tolist()}"


# ---- the envs, episode for episode


@dataclass
class Episodes:
    """Gymnasium's episodes of one env: seeds, constants and actions; obs (float32 rows, reset's first),
    reward and terminated per step."""

    seeds: list[int]
    constants: list[dict]
    actions: list[np.ndarray]
    obs: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray


POLICIES = ["random", "heuristic", "mixed"]
# what-if physics: Gymnasium's constructor arguments (the JS env's constants; enable_wind is 0 or 1)
WINDS = [
    {},
    {"enable_wind": True},
    {"enable_wind": True, "wind_power": 20.0, "turbulence_power": 2.0, "gravity": -6.0},
]


def record(env_id: str, n: int, rng: np.random.Generator) -> Episodes:
    """n Gymnasium episodes (to termination or the time limit) under random, heuristic and mixed (heuristic
    with a random action one step in four) policies; one in four with wind (some with other constants)."""
    seeds, consts, actions, obs, reward, term = [], [], [], [], [], []
    for k in range(n):
        seed = int(rng.integers(2**32))
        kw = WINDS[k % len(WINDS)] if k % 4 == 3 else {}
        env = gym.make(env_id, disable_env_checker=True, **kw)
        env.action_space.seed(int(rng.integers(2**32)))
        policy = POLICIES[k % len(POLICIES)]
        o, _ = env.reset(seed=seed)
        obs.append(o)
        acts = []
        while True:
            if policy == "random" or (policy == "mixed" and rng.random() < 0.25):
                a = env.action_space.sample()  # float32 (continuous) or int
            else:
                a = heuristic(env.unwrapped, o)  # float64 array (continuous) or int
            o, r, terminated, truncated, _ = env.step(a)
            acts.append(np.asarray(a, np.float64).ravel())
            obs.append(o)
            reward.append(r)
            term.append(terminated)
            if terminated or truncated:
                break
        env.close()
        seeds.append(seed)
        consts.append({key: float(v) for key, v in kw.items()})
        actions.append(np.concatenate(acts))
    return Episodes(
        seeds, consts, actions, np.array(obs, np.float32), np.array(reward, np.float64), np.array(term)
    )


def replay(env_id: str, eps: Episodes) -> dict:
    return js(
        {
            "cmd": "replay",
            "env": env_id,
            "episodes": [
                {"seed": s, "constants": c, "actions": b64(a)}
                for s, c, a in zip(eps.seeds, eps.constants, eps.actions, strict=True)
            ],
        }
    )


def check_bit_identical(env_id: str, n: int) -> None:
    run_seed = secrets.randbits(32)
    eps = record(env_id, n, np.random.default_rng(run_seed))
    got = replay(env_id, eps)
    obs = unb64(got["obs"], np.float32).reshape(-1, 8)
    reward, term = unb64(got["reward"], np.float64), unb64(got["terminated"], np.uint8).astype(bool)
    assert obs.shape == eps.obs.shape and reward.shape == eps.reward.shape, "the episodes' lengths differ"
    # where each episode's rows start: its reset row, then one row per step
    lengths = [len(a) // (2 if "Continuous" in env_id else 1) for a in eps.actions]
    starts = np.cumsum([0] + [n + 1 for n in lengths])[:-1]
    bad_obs = np.flatnonzero((obs.view(np.uint32) != eps.obs.view(np.uint32)).any(1))
    bad_step = np.flatnonzero((reward != eps.reward) | (term != eps.terminated))
    where = ""
    if bad_obs.size or bad_step.size:
        row = (
            bad_obs[0]
            if bad_obs.size
            else bad_step[0] + np.searchsorted(np.cumsum(lengths), bad_step[0], "right") + 1
        )
        ep = int(np.searchsorted(starts, row, "right") - 1)
        where = (
            f" (run seed {run_seed}: episode {ep}, reset seed {eps.seeds[ep]}, "
            f"constants {eps.constants[ep]}, "
            f"step {row - starts[ep]}: obs {obs[row].tolist() if row < len(obs) else None} vs Gymnasium's "
            f"{eps.obs[row].tolist() if row < len(eps.obs) else None})"
        )
    assert bad_obs.size == 0, f"{env_id}: {bad_obs.size} of {len(obs)} observation rows differ{where}"
    assert bad_step.size == 0, f"{env_id}: {bad_step.size} of {len(reward)} rewards or flags differ{where}"
    print(
        f"{env_id}: {n} episodes, {len(reward)} steps bit-identical "
        f"({int(eps.terminated.sum())} terminated, {int((eps.reward == 100).sum())} landings); "
        f"JS {got['micros']:.1f} us/step"
    )


@pytest.mark.parametrize("env_id", LANDERS)
def test_lander_bit_identical_quick(env_id):
    """A few episodes of each kind: the edit-run loop's check."""
    check_bit_identical(env_id, 12)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", LANDERS)
def test_lander_bit_identical_300_episodes(env_id):
    """300 episodes per env, every observation, reward and terminated flag Gymnasium's."""
    check_bit_identical(env_id, 300)


# where hardcore terrain's first obstacle starts (_generate_terrain: step 20, TERRAIN_STEP = 14 / 30 m)
FIRST_OBSTACLE_X = 20 * 14 / 30


def record_walker(
    n: int, rng: np.random.Generator, max_steps: int = 500, hardcore: bool = False
) -> tuple[Episodes, list[dict], int]:
    """n Gymnasium BipedalWalker episodes (to termination, or cut at max_steps; the heuristic's at the time
    limit, 1600 steps, as gym.make("BipedalWalker-v3", hardcore=True) has it), four per env: later episodes
    run on the world the earlier ones left (Gymnasium reuses it). Actions: float32 random
    (action_space.sample()), float64 random, and a fixed random linear policy of the observation (float32 and
    float64 in turn); on hardcore terrain also Gymnasium's BipedalWalkerHeuristics (float64), alone and with a
    float64 random action one step in four: it walks into the obstacles (random actions stay near the start).
    Also returns how many episodes' hull got past FIRST_OBSTACLE_X."""
    seeds, consts, actions, obs, reward, term, extra = [], [], [], [], [], [], []
    env, reached = None, 0
    kinds = 6 if hardcore else 4
    for k in range(n):
        if k % 4 == 0:
            if env is not None:
                env.close()
            env = gym.make("BipedalWalker-v3", disable_env_checker=True, hardcore=hardcore)
            env.action_space.seed(int(rng.integers(2**32)))
        seed = int(rng.integers(2**32))
        # 0: float32 random, 1: float64 random, 2: float32 policy, 3: float64 policy, 4: heuristic, 5: mixed
        kind = k % kinds
        w = rng.normal(0, 0.5, (4, 24))
        heuristic = BipedalWalkerHeuristics()
        o, _ = env.reset(seed=seed)
        obs.append(o)
        acts, far = [], 0.0
        for _ in range(1600 if kind >= 4 else max_steps):  # the heuristic's: to the time limit
            if kind == 0:
                a = env.action_space.sample()
            elif kind == 1 or (kind == 5 and rng.random() < 0.25):
                a = rng.uniform(-1, 1, 4)
            elif kind >= 4:
                a = heuristic.step_heuristic(o).copy()
            else:
                a = np.tanh(w @ o.astype(np.float64))
                a = a.astype(np.float32) if kind == 2 else a
            o, r, terminated, truncated, _ = env.step(a)
            acts.append(np.asarray(a, np.float64))
            obs.append(o)
            reward.append(float(r))
            term.append(terminated)
            far = max(far, env.unwrapped.hull.position[0])
            if terminated or truncated:
                break
        reached += far > FIRST_OBSTACLE_X
        seeds.append(seed)
        consts.append({"hardcore": 1} if hardcore else {})
        actions.append(np.concatenate(acts))
        extra.append({"f32": kind in (0, 2), "reuse": k % 4 != 0})
    env.close()
    eps = Episodes(seeds, consts, actions, np.array(obs, np.float32), np.array(reward), np.array(term))
    return eps, extra, reached


def check_walker(n: int, hardcore: bool = False) -> None:
    run_seed = secrets.randbits(32)
    eps, extra, reached = record_walker(n, np.random.default_rng(run_seed), hardcore=hardcore)
    got = js(
        {
            "cmd": "replay",
            "env": "BipedalWalker-v3",
            "episodes": [
                {"seed": s, "constants": c, "actions": b64(a), **x}
                for s, c, a, x in zip(eps.seeds, eps.constants, eps.actions, extra, strict=True)
            ],
        }
    )
    obs = unb64(got["obs"], np.float32).reshape(-1, 24)
    reward, term = unb64(got["reward"], np.float64), unb64(got["terminated"], np.uint8).astype(bool)
    assert obs.shape == eps.obs.shape and reward.shape == eps.reward.shape, "the episodes' lengths differ"
    lengths = [len(a) // 4 for a in eps.actions]
    starts = np.cumsum([0] + [m + 1 for m in lengths])[:-1]
    bad = np.flatnonzero((obs.view(np.uint32) != eps.obs.view(np.uint32)).any(1))
    ep = int(np.searchsorted(starts, bad[0], "right") - 1) if bad.size else None
    assert bad.size == 0, (
        f"{bad.size} of {len(obs)} observation rows differ, first in episode {ep} (run seed {run_seed}, "
        f"reset seed {eps.seeds[ep]}, {extra[ep]}) at step {bad[0] - starts[ep]}"
    )
    bad = np.flatnonzero((reward != eps.reward) | (term != eps.terminated))
    assert bad.size == 0, (
        f"{bad.size} rewards or flags differ, the first at step row {bad[0]} (run seed {run_seed})"
    )
    terrain = f"hardcore, {reached} past the first obstacle" if hardcore else "normal"
    print(
        f"BipedalWalker-v3: {n} episodes, {len(reward)} steps bit-identical "
        f"({terrain}; {int(eps.terminated.sum())} terminated); JS {got['micros']:.1f} us/step"
    )
    if hardcore:  # the heuristic's episodes walk into the obstacles: the test is about them
        assert reached >= n // 10, f"only {reached} of {n} episodes reached the first obstacle"


def test_walker_bit_identical_quick():
    """Eight episodes on two reused worlds, float32 and float64 actions."""
    check_walker(8)


def test_walker_hardcore_bit_identical():
    """Hardcore terrain (gym.make("BipedalWalker-v3", hardcore=True), the JS env's constant hardcore: 1): 102
    episodes (up to 500 steps each) on reused worlds, random, linear-policy and heuristic actions; the
    heuristic's walk into stumps, pits and stairs and fall there. Obs, rewards and flags Gymnasium's."""
    check_walker(102, hardcore=True)


def test_walker_hardcore_state_round_trips():
    """A hardcore walker's state (terrain, obstacles, bodies, contacts, lidar) through reset({state}) of an
    env with normal terrain (the obstacles come from the state, not the constant) gives back the same state
    and obs, and the lidar cast anew there reads the same; the obstacles are in that world: without them
    some re-cast lidar readings differ."""
    eps, extra, _ = record_walker(12, np.random.default_rng(secrets.randbits(32)), hardcore=True)
    got = js(
        {
            "cmd": "walker_roundtrip",
            "every": 5,
            "episodes": [
                {"seed": s, "constants": c, "actions": b64(a), "f32": x["f32"]}
                for s, c, a, x in zip(eps.seeds, eps.constants, eps.actions, extra, strict=True)
            ],
        }
    )
    print(f"\nhardcore states through reset({{state}}): {got}")
    assert got["checked"] > 100 and got["state"] == got["obs"] == got["lidar"] == 0, got
    assert got["withoutObstacles"] > 0, got


@pytest.mark.slow
def test_walker_bit_identical_300_episodes():
    """300 episodes (up to 500 steps each) on reused worlds: obs, rewards and flags Gymnasium's."""
    check_walker(300)


# ---- the pages (a page needs a policy: build/models/<env> or models/<env>)


def lander_page(browser, serve, site, env_id):
    if not (site["site"] / env_id / "index.html").exists():
        pytest.skip(f"no {env_id} page: it has no policy here ({site['failed'].get(env_id, 'none trained')})")
    from tests.pages import open_page, wait_ready

    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SITE_DIR}/{env_id}/")
    wait_ready(page, timeout=60_000)
    return base, page, watch


SITE_DIR = "demo"  # tests/pages.SITE


@pytest.mark.browser
@pytest.mark.parametrize("env_id", LANDERS)
def test_lander_page_budget_engine_and_features(browser, serve, site, env_id):
    """The page fetches its engine (preloaded, with its integrity) and stays within 100 KB gzipped until the
    first agent action (the project's rule: Resource Timing up to status().firstActionMs); the agent plays at
    max speed with no console error or CSP violation and constant engine memory; what-if physics (gravity,
    wind), the sweep, saliency and a push work as on every env."""
    from tests.pages import budget_gz, fetched_gz, first_action_urls, status

    base, page, watch = lander_page(browser, serve, site, env_id)
    urls = first_action_urls(page)
    sizes = fetched_gz(urls, base, site["root"])
    assert any("/assets/engine-" in u for u in urls), "the engine was not fetched before the first action"
    assert sum(sizes.values()) <= budget_gz(site, env_id), sizes
    html = (site["site"] / env_id / "index.html").read_text()
    assert 'integrity="sha256-' in html, "the engine's preload carries no integrity"
    print(f"\n{env_id}: fetched until the first action (gz): {sizes}, total {sum(sizes.values())} B")

    page.evaluate("window.app.setSpeed('max')")
    page.wait_for_function(
        "() => window.app.status().step > 300 || window.app.status().episode > 1", timeout=60_000
    )
    s0 = status(page)
    assert s0["error"] is None and all(np.isfinite(s0["state"])), s0
    page.wait_for_function(f"() => window.app.status().episode > {s0['episode']}", timeout=120_000)
    s1 = status(page)
    assert s1["engineBytes"] == s0["engineBytes"] > 0, "the engine's memory grew"

    # what-if: wind and a weaker gravity take effect and are reported; the sweep plays greedy episodes
    physics = page.evaluate("window.app.setPhysics({gravity: -4, enable_wind: 1})")
    assert physics["gravity"] == -4 and physics["enable_wind"] == 1, physics
    assert status(page)["whatIf"]
    rows = page.evaluate("window.app.sweep({param: 'gravity', values: [-9, -3], episodes: 4})")
    assert [r["value"] for r in rows] == [-9, -3] and all(np.isfinite(r["meanReturn"]) for r in rows), rows
    with pytest.raises(Exception, match="enable_wind is 0 or 1"):
        page.evaluate("window.app.setPhysics({enable_wind: 0.5})")
    page.evaluate("window.app.setPhysics({gravity: -10, enable_wind: 0})")

    # saliency: one value per observation feature
    page.wait_for_function("() => (window.app.status().saliency || []).length === 8", timeout=30_000)
    assert all(np.isfinite(status(page)["saliency"]))

    # a push: a drag up from the lander's centre raises its vertical velocity
    page.evaluate("window.app.pause(); window.app.reset()")
    before = status(page)
    x, y = before["state"][11] * 30, 400 - before["state"][12] * 30  # world pixels, y down
    assert page.evaluate(f"window.app.drag([{x}, {y}], [{x}, {y - 80}])"), "the lander was not grabbed"
    after = status(page)
    assert after["pushed"] and after["state"][15] > before["state"][15] + 1.5, (
        before["state"],
        after["state"],
    )
    assert not page.evaluate("window.app.drag([5, 395], [50, 395])"), "the ground is not a body"

    # the training timeline: a snapshot plays, and two play side by side from the same start
    snaps = page.evaluate("window.app.snapshots()")
    if snaps:  # a policy trained with snapshots (one compiled before they existed has none)
        first, last = snaps[0]["id"], snaps[-1]["id"]
        assert page.evaluate(f"window.app.useSnapshot('{first}')")["id"] == first
        assert status(page)["snapshot"] == first
        page.evaluate(f"window.app.compare('{first}', '{last}'); window.app.play()")
        page.wait_for_function(
            "() => { const s = window.app.status().compare?.sides ?? []; "
            "return s.length === 2 && s.every((x) => x.step > 5); }"
        )
        sides = status(page)["compare"]["sides"]
        assert [x["id"] for x in sides] == [first, last] and sides[0]["start"] == sides[1]["start"], sides
    assert not watch.errors, watch.errors
    page.close()


# ---- the renderer against Gymnasium's render()


WALKER_MAX_OBSTACLES = 39  # bipedal_walker.js's MAX_OBSTACLES


def gym_walker_state(u) -> list[float]:
    """The JS env's state (bipedal_walker.js's S) of Gymnasium's unwrapped BipedalWalker; its hardcore
    obstacles (the terrain's polygon bodies, in creation order) as x1, y1, x2, y2 boxes read back from Box2D
    (float32, corners in Box2D's order: enough to draw them)."""
    clouds = [c for poly, _, _ in u.cloud_poly for p in poly for c in p]
    bodies = []
    for b in [u.hull, *u.legs]:
        bodies += [b.position[0], b.position[1], b.angle, b.linearVelocity[0], b.linearVelocity[1]]
        bodies.append(b.angularVelocity)
    contacts = [float(u.legs[1].ground_contact), float(u.legs[3].ground_contact)]
    boxes = []
    for t in reversed(u.terrain):  # u.terrain is reversed after creation
        shape = t.fixtures[0].shape
        if len(shape.vertices) == 4:  # a polygon (the edges have 2)
            xs, ys = [v[0] for v in shape.vertices], [v[1] for v in shape.vertices]
            boxes += [min(xs), max(ys), max(xs), min(ys)]
    obstacles = [len(boxes) // 4] + boxes + [0.0] * (4 * WALKER_MAX_OBSTACLES - len(boxes))
    lidar = [r.fraction for r in u.lidar]
    return [float(v) for v in list(u.terrain_y) + clouds + bodies + contacts + lidar + obstacles]


def gym_lander_state(u) -> list[float]:
    """The JS env's state (lunar_lander.js's S) of Gymnasium's unwrapped LunarLander."""
    terrain = [p[0][1] for p in u.sky_polys] + [u.sky_polys[-1][1][1]]
    bodies = []
    for b in [u.lander, *u.legs]:
        bodies += [b.position[0], b.position[1], b.angle, b.linearVelocity[0], b.linearVelocity[1]]
        bodies.append(b.angularVelocity)
    wind = [float(getattr(u, "wind_idx", 0)), float(getattr(u, "torque_idx", 0))]
    return [float(v) for v in terrain + bodies + [float(leg.ground_contact) for leg in u.legs] + wind]


@pytest.mark.browser
def test_lander_renderer_matches_gymnasium(render_page):
    """States of falling landers (no engine fired: Gymnasium draws no particles) draw Gymnasium's picture:
    per part (the sky, the lander and legs, the flags) shape and position, and the whole image's mean
    difference."""
    import os

    from tests.images import dilate, mask
    from tests.test_render import Case, canvas_frames

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytest.importorskip("pygame", reason="pygame renders Gymnasium's reference: pip install pygame")
    states, ref = [], []
    for seed in (0, 7, 123):
        env = gym.make("LunarLander-v3", render_mode="rgb_array")
        env.reset(seed=seed)
        for step in range(61):
            if step % 30 == 0:
                states.append(gym_lander_state(env.unwrapped))
                ref.append(env.render().copy())
            if env.step(0)[2]:
                break
        env.close()
    case = Case("LunarLander-v3", "box2d/lunar_lander", (600, 400), states, {})
    ours = canvas_frames(render_page, case)
    if os.environ.get("RL_WEB_DUMP"):  # the two pictures side by side, for a look
        from PIL import Image

        k = int(os.environ.get("RL_WEB_DUMP_STATE", "0"))
        Image.fromarray(np.concatenate([ref[k], ours[k]], 1)).save(os.environ["RL_WEB_DUMP"])
    parts = {"sky": (0, 0, 0), "lander": (128, 102, 230), "flags": (204, 204, 0)}
    # least share of a part's pixels within 1 px of the other picture's: the flags are small (150 px each) and
    # pygame.draw.polygon fills their thin tip solid where Canvas anti-aliases it, 4% of their pixels
    near_min = {"sky": 0.97, "lander": 0.97, "flags": 0.94}
    for i, (a, b) in enumerate(zip(ref, ours, strict=True)):
        mad = np.abs(a.astype(int) - b.astype(int)).mean()
        for part, rgb in parts.items():
            ma, mb = mask(a, rgb), mask(b, rgb)
            assert ma.sum() > 20, f"state {i}: Gymnasium's picture has no {part}"
            iou = (ma & mb).sum() / (ma | mb).sum()
            near = min((ma & dilate(mb)).sum() / ma.sum(), (mb & dilate(ma)).sum() / max(mb.sum(), 1))
            shift = np.hypot(*(np.argwhere(ma).mean(0) - np.argwhere(mb).mean(0))) if mb.any() else np.inf
            print(f"state {i} {part}: IoU {iou:.3f} within-1px {near:.3f} centroid {shift:.2f}px")
            assert near > near_min[part] and shift < 1.5 and iou > 0.75, f"state {i}: {part} differs"
        print(f"state {i}: mean |diff| {mad:.3f}")
        assert mad < 0.2, f"state {i}: mean absolute pixel difference {mad:.3f}"


@pytest.mark.browser
def test_walker_renderer_matches_gymnasium(render_page):
    """Walkers along random-action episodes (the window scrolled with the hull), and on hardcore terrain
    along Gymnasium's heuristic's (stairs, a pit, stumps), draw Gymnasium's picture: the sky, grass, hull,
    flag and the obstacles' white per part, and the whole image's mean difference (without Gymnasium's one
    lidar ray, which its render() cycles through frame by frame)."""
    import os

    from tests.images import dilate, mask
    from tests.test_render import Case, canvas_frames

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytest.importorskip("pygame", reason="pygame renders Gymnasium's reference: pip install pygame")
    states, ref = [], []
    env = gym.make("BipedalWalker-v3", render_mode="rgb_array")
    env.action_space.seed(5)
    for seed in (0, 11):
        env.reset(seed=seed)
        for step in range(121):
            if step % 40 == 0:
                states.append(gym_walker_state(env.unwrapped))
                env.unwrapped.lidar_render = 50  # past the frames that draw a lidar ray
                ref.append(env.render().copy())
            if env.step(env.action_space.sample())[2]:
                break
    env.close()
    hardcore = len(states)  # the frames from here on: hardcore terrain
    env = gym.make("BipedalWalker-v3", render_mode="rgb_array", hardcore=True)
    for seed in (0, 2):  # seed 0: stairs up, a pit; 2: stumps of 1 and 2 steps, stairs down
        o, _ = env.reset(seed=seed)
        heuristic = BipedalWalkerHeuristics()
        for step in range(301):
            if step % 100 == 0:
                states.append(gym_walker_state(env.unwrapped))
                env.unwrapped.lidar_render = 50
                ref.append(env.render().copy())
            o, _, terminated, _, _ = env.step(heuristic.step_heuristic(o))
            if terminated:
                break
    env.close()
    ours = canvas_frames(
        render_page, Case("BipedalWalker-v3", "box2d/bipedal_walker", (600, 400), states, {})
    )
    if os.environ.get("RL_WEB_DUMP"):
        from PIL import Image

        k = int(os.environ.get("RL_WEB_DUMP_STATE", "0"))
        Image.fromarray(np.concatenate([ref[k], ours[k]], 1)).save(os.environ["RL_WEB_DUMP"])
    parts = {"sky": (215, 215, 255), "grass": (102, 153, 76), "hull": (127, 51, 229), "flag": (230, 51, 0)}
    parts["obstacles"] = (255, 255, 255)  # hardcore frames, below the clouds (white too): rows 180 and down
    # the flag is 100 px of red whose outline pygame.draw.lines draws without anti-aliasing, biting into the
    # red at its thin tip where Canvas blends: its IoU is lower than the other parts'
    iou_min = {"sky": 0.75, "grass": 0.75, "hull": 0.75, "flag": 0.7, "obstacles": 0.9}
    for i, (a, b) in enumerate(zip(ref, ours, strict=True)):
        mad = np.abs(a.astype(int) - b.astype(int)).mean()
        for part, colour in parts.items():
            if part == "obstacles" and i < hardcore:
                continue
            ma, mb = mask(a, colour), mask(b, colour)
            if part == "obstacles":
                ma[:180], mb[:180] = False, False
            if part == "flag" and ma.sum() == 0:
                continue  # scrolled out of the window
            assert ma.sum() > 20, f"state {i}: Gymnasium's picture has no {part}"
            iou = (ma & mb).sum() / (ma | mb).sum()
            near = min((ma & dilate(mb)).sum() / ma.sum(), (mb & dilate(ma)).sum() / max(mb.sum(), 1))
            shift = np.hypot(*(np.argwhere(ma).mean(0) - np.argwhere(mb).mean(0))) if mb.any() else np.inf
            print(f"state {i} {part}: IoU {iou:.3f} within-1px {near:.3f} centroid {shift:.2f}px")
            assert near > 0.94 and shift < 1.5 and iou > iou_min[part], f"state {i}: {part} differs"
        print(f"state {i}: mean |diff| {mad:.3f}")
        assert mad < 0.6, f"state {i}: mean absolute pixel difference {mad:.3f}"


@pytest.mark.browser
def test_walker_page_runs_and_takes_physics_and_pushes(browser, serve, site):
    """BipedalWalker's page: the agent plays episodes on one reused world at max speed with no console error
    and constant engine memory; what-if gravity, the sweep, saliency and a push on the hull work. Its bytes
    until the first action are printed (a 64x64 policy's kernel takes it past the landers' 100 KB)."""
    from tests.pages import fetched_gz, first_action_urls, status

    base, page, watch = lander_page(browser, serve, site, "BipedalWalker-v3")
    sizes = fetched_gz(first_action_urls(page), base, site["root"])
    print(f"\nBipedalWalker-v3: fetched until the first action (gz): {sizes}, total {sum(sizes.values())} B")
    page.evaluate("window.app.setSpeed('max')")
    s0 = status(page)
    page.wait_for_function(f"() => window.app.status().episode > {s0['episode'] + 1}", timeout=180_000)
    s1 = status(page)
    assert s1["error"] is None and all(np.isfinite(s1["state"])), s1["error"]
    page.wait_for_function(f"() => window.app.status().episode > {s1['episode']}", timeout=180_000)
    assert status(page)["engineBytes"] == s1["engineBytes"] > 0, "the engine's memory grew"
    assert page.evaluate("window.app.setPhysics({gravity: -5})")["gravity"] == -5
    rows = page.evaluate("window.app.sweep({param: 'gravity', values: [-12, -6], episodes: 2})")
    assert [r["value"] for r in rows] == [-12, -6] and all(np.isfinite(r["meanReturn"]) for r in rows), rows
    page.wait_for_function("() => (window.app.status().saliency || []).length === 24", timeout=30_000)
    page.evaluate("window.app.pause(); window.app.reset()")
    before = status(page)
    x0 = before["state"][300]  # the hull's x (bipedal_walker.js's S.bodies)
    hull = [(x0 - max(0.0, x0 - 4.0)) * 30, 400 - before["state"][301] * 30]  # window pixels, y down
    assert page.evaluate(f"window.app.drag({hull}, [{hull[0] + 80}, {hull[1]}])"), "the hull was not grabbed"
    after = status(page)
    assert after["pushed"] and after["state"][303] > before["state"][303] + 1.5, (
        "the push did not speed it up"
    )
    assert not watch.errors, watch.errors
    page.close()


@pytest.mark.browser
def test_gallery_previews_engine_envs(browser, serve, site):
    """The gallery's card of a Box2D env draws its first state once in view: its module, renderer and the
    engine its page ships (fetched with the page's integrity) load then; no console error."""
    from tests.pages import open_page

    if not (site["site"] / "LunarLander-v3" / "index.html").exists():
        pytest.skip("no LunarLander-v3 page: it has no policy here")
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SITE_DIR}/")
    canvas = page.locator('canvas[data-env="LunarLander-v3"]')
    canvas.scroll_into_view_if_needed()
    # drawn: the black sky and the lander's purple are on the canvas
    page.wait_for_function(
        """() => { const c = document.querySelector('canvas[data-env="LunarLander-v3"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let sky = 0, body = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] < 20 && d[i + 1] < 20 && d[i + 2] < 20) sky++;
          if (Math.abs(d[i] - 128) < 30 && Math.abs(d[i + 1] - 102) < 30 && d[i + 2] > 180) body++;
        }
        return sky > 1000 && body > 5; }""",
        timeout=30_000,
    )
    assert any("/assets/engine-" in u for u in watch.urls), "the preview loaded no engine"
    assert not watch.errors, watch.errors
    page.close()


@pytest.mark.browser
def test_switch_constant_takes_only_its_values(browser, serve, site):
    """A constant with `step: 1` (the lander's enable_wind) is a switch: its slider moves in whole steps (a
    drag can't set wind 0.37, which the env refuses), and a sweep over it by default plays each value once."""
    from tests.pages import status

    _, page, watch = lander_page(browser, serve, site, "LunarLander-v3")
    page.evaluate("window.app.pause()")
    names = list(page.evaluate("window.app.spec.constants"))
    page.click("#physics summary")
    page.wait_for_selector("#physics-body input[type=range]")
    slider = page.locator("#physics-body input[type=range]").nth(names.index("enable_wind"))
    assert slider.get_attribute("step") == "1"
    # the browser snaps a value to the slider's step: a drag to 0.7 is wind on
    slider.evaluate("e => { e.value = '0.7'; e.dispatchEvent(new Event('input')); }")
    assert status(page)["physics"]["enable_wind"] == 1 and status(page)["whatIf"]
    page.click("text=Gymnasium's values")
    rows = page.evaluate("window.app.sweep({param: 'enable_wind', episodes: 4})")
    assert [r["value"] for r in rows] == [0, 1], rows
    assert all(math.isfinite(r["meanReturn"]) for r in rows), rows
    assert not watch.errors, watch.errors
    page.close()
