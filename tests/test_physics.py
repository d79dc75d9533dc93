"""What-if physics and the robustness sweep, in the built pages in Chromium (web/page/lazy/whatif.js,
lazy/sweep.js).

A discrete env (CartPole-v1) and a box env (Pendulum-v1), each with its policy, and an engine env (Hopper-v5),
on the test run's one built site (conftest's `site`). Checked: window.app.setPhysics changes
status().physics and the dynamics, which then equal Gymnasium's env with that constant (patched as
tests/lockstep.py does, derived constants recomputed) from the state where the change happened; the reset to
Gymnasium's values; sweep's shape, reproducibility, errors, and a return curve that falls off when the pole
is far longer than trained. Lockstep with every constant changed, per env, is tests/test_env.py's.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.images import dilate, mask
from tests.lockstep import gym_action, gym_env, js_specs
from tests.pages import SITE, node, open_page, status, wait_ready

pytestmark = pytest.mark.compile

STEPS = 40  # steps compared with Gymnasium after a change of physics


def page_for(browser, serve, site, env_id: str):
    page, watch = open_page(browser, f"{serve(site['root'])}/{SITE}/{env_id}/?seed=11")
    wait_ready(page, "wasm")
    page.evaluate("window.app.pause()")
    return page, watch


def steps(page, n: int) -> tuple[list, list]:
    """n single steps of the paused page: the states after each and the actions taken."""
    states, actions = [], []
    for _ in range(n):
        page.evaluate("window.app.step()")
        s = status(page)
        states.append(s["state"])
        actions.append(s["lastAction"])
    return states, actions


def gym_states(env_id: str, constants: dict, state: list, actions: list) -> np.ndarray:
    """Gymnasium's env with these constants, from `state` (as a step leaves it), stepped with `actions`."""
    spec = {"action": {"type": "box" if isinstance(actions[0], list) else "discrete"}}
    env = gym_env(env_id, constants)
    env.reset(seed=0)
    env.unwrapped.state = np.array(state, np.float64)
    out = []
    for a in actions:
        env.step(gym_action(spec, np.atleast_1d(np.asarray(a, np.float64))))
        out.append(np.array(env.unwrapped.state, np.float64))
    return np.array(out)


CHANGES = [
    ("CartPole-v1", {"length": 0.9}),
    ("CartPole-v1", {"masspole": 0.37, "gravity": 13.1}),
    ("Pendulum-v1", {"g": 14.3}),
    ("Pendulum-v1", {"l": 1.7, "m": 0.6}),
]


def classic_ids() -> list[str]:
    return [k for k, s in js_specs().items() if not s.get("engine") and s["constants"]]


@pytest.mark.parametrize("env_id", classic_ids())
@pytest.mark.filterwarnings("ignore:.*already returned terminated")  # CartPole under random actions
def test_set_physics_swap_continues_as_gymnasium_for_every_env(env_id):
    """lazy/whatif.js's setPhysics (the page's code, in Node) five steps into an episode, every constant
    changed: the 40 steps after it are Gymnasium's env with those attributes from that state (the
    float32/float64 bookkeeping of a state after a step carried over), and the step count goes on."""
    spec = js_specs()[env_id]
    change = {k: c["value"] + 0.3719 * (c["max"] - c["value"]) for k, c in spec["constants"].items()}
    r = subprocess.run(
        [
            node(),
            str(ROOT / "tests" / "physics_runner.mjs"),
            env_id,
            json.dumps(change),
            "7",
            "5",
            str(STEPS),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    defaults = {k: c["value"] for k, c in spec["constants"].items()}
    assert got["physics"] == {**defaults, **change} and got["whatIf"]
    assert got["steps"] == 5 and got["stepsAfterSwap"] == 5 + STEPS
    ref = gym_states(env_id, change, got["at"], got["actions"])
    np.testing.assert_allclose(np.array(got["states"]), ref, rtol=1e-12, atol=1e-12, err_msg=env_id)
    assert np.abs(gym_states(env_id, {}, got["at"], got["actions"]) - ref).max() > 1e-6


@pytest.mark.parametrize(("env_id", "change"), CHANGES)
@pytest.mark.filterwarnings("ignore:.*already returned terminated")  # the reference at Gymnasium's defaults
def test_set_physics_mid_episode_is_gymnasiums_env_with_that_constant(browser, serve, site, env_id, change):
    page, watch = page_for(browser, serve, site, env_id)
    defaults = {k: c["value"] for k, c in page.evaluate("window.app.spec.constants").items()}
    assert status(page)["physics"] == defaults and not status(page)["whatIf"]
    steps(page, 3)  # mid-episode, under Gymnasium's physics
    before = status(page)
    got = page.evaluate("c => window.app.setPhysics(c)", change)
    s = status(page)
    assert got == s["physics"] == {**defaults, **change}
    # the episode goes on from where it was, marked
    assert s["whatIf"] and s["state"] == before["state"] and s["step"] == before["step"]
    states, actions = steps(page, STEPS)
    ref = gym_states(env_id, change, before["state"], actions)
    np.testing.assert_allclose(np.array(states), ref, rtol=1e-12, atol=1e-12, err_msg=f"{env_id} {change}")
    # the constants reach the dynamics: Gymnasium's defaults give other states for the same actions
    assert np.abs(gym_states(env_id, {}, before["state"], actions) - ref).max() > 1e-6
    # back to Gymnasium's values: the episode stays marked, the next one is not
    assert page.evaluate("c => window.app.setPhysics(c)", defaults) == defaults
    assert status(page)["whatIf"]
    page.evaluate("window.app.reset()")
    s = status(page)
    assert s["physics"] == defaults and not s["whatIf"]
    assert not watch.errors, watch.errors


def test_physics_panel_and_bad_input(browser, serve, site):
    page, watch = page_for(browser, serve, site, "CartPole-v1")
    names = list(page.evaluate("window.app.spec.constants"))
    page.click("#physics summary")
    page.wait_for_selector("#physics-body input[type=range]")
    sliders = page.locator("#physics-body input[type=range]")
    assert sliders.count() == len(names)
    # a slider is setPhysics: moving the pole-length slider changes status().physics
    i = names.index("length")
    sliders.nth(i).evaluate("e => { e.value = '1.25'; e.dispatchEvent(new Event('input')); }")
    assert status(page)["physics"]["length"] == 1.25 and status(page)["whatIf"]
    page.click("text=Gymnasium's values")
    assert status(page)["physics"]["length"] == 0.5
    for call, words in [
        ("window.app.setPhysics({lenght: 1})", "no physical constant 'lenght'"),
        ("window.app.setPhysics({length: 'long'})", "must be a finite number"),
        ("window.app.setPhysics(3)", "takes an object"),
        ("window.app.sweep({param: 'mass'})", "param must be one of gravity"),
        ("window.app.sweep({param: 'length', values: []})", "values must be"),
        ("window.app.sweep({param: 'length', episodes: 0})", "episodes must be"),
    ]:
        with pytest.raises(Exception, match=words):
            page.evaluate(call)
    assert status(page)["physics"]["length"] == 0.5  # a refused change changes nothing
    assert not watch.errors, watch.errors


def test_share_link_carries_the_changed_physics(browser, serve, site):
    """The share link carries the constants setPhysics changed (?physics=name:value,...): the page it opens
    runs episode 1 with them from its first step, and its panel shows them."""
    page, watch = page_for(browser, serve, site, "CartPole-v1")
    assert "physics" not in page.evaluate("window.app.shareLink()")  # Gymnasium's physics: nothing to carry
    change = {"length": 1.7, "masspole": 0.3}
    page.evaluate("c => window.app.setPhysics(c)", change)
    s = status(page)
    link = page.evaluate("window.app.shareLink()")
    assert link.endswith("&physics=masspole:0.3,length:1.7"), link  # spec.constants' order, readable
    shared, watch2 = open_page(browser, link)
    shared.wait_for_function("() => window.app")
    t = status(shared)  # as episode 1 began: the physics were set before its first step
    assert t["episode"] == 1 and t["seed"] == s["seed"] and t["start"] == s["start"]
    assert t["physics"] == s["physics"] == {**s["physics"], **change} and t["whatIf"]
    assert t["paramNotes"] == [] and shared.locator("#params").is_hidden()
    shared.click("#physics summary")
    shared.wait_for_selector("#physics-body input[type=range]")
    names = list(page.evaluate("window.app.spec.constants"))
    sliders = shared.locator("#physics-body input[type=range]")
    assert float(sliders.nth(names.index("length")).input_value()) == 1.7  # the panel shows what is in force
    # the shared page's own link carries them on
    assert shared.evaluate("window.app.shareLink()").endswith("&physics=masspole:0.3,length:1.7")
    assert not watch.errors and not watch2.errors, watch.errors + watch2.errors
    shared.close()
    page.close()


def test_cartpole_pole_drawn_and_grabbed_at_its_what_if_length(browser, serve, site):
    """Gymnasium's render() draws the pole 2 * length long: so does the page, and a click finds it there."""
    page, watch = page_for(browser, serve, site, "CartPole-v1")
    page.evaluate("window.app.setState([0, 0, 0, 0])")  # upright, centred: the axle at world (300, 292.5)
    beyond = "window.app.drag([300, 292.5 - 200], [330, 292.5 - 200])"  # 200 px up: past the 125 px pole
    assert page.evaluate(beyond) is False
    page.evaluate("window.app.setPhysics({length: 1.0})")  # a 250 px pole
    page.evaluate("window.app.setState([0, 0, 0, 0])")
    assert page.evaluate(beyond) is True
    assert not watch.errors, watch.errors


def test_sweep_shape_reproducible_and_falls_off_for_a_long_pole(browser, serve, site):
    page, watch = page_for(browser, serve, site, "CartPole-v1")
    values = [0.5, 5.0, 10.0]  # trained at 0.5 (half-length, m)
    rows = page.evaluate("v => window.app.sweep({param: 'length', values: v, episodes: 64})", values)
    assert [r["value"] for r in rows] == values and all(set(r) == {"value", "meanReturn"} for r in rows)
    trained, long = rows[0]["meanReturn"], rows[2]["meanReturn"]
    assert trained >= 475, rows  # the shipped policy solves CartPole at its trained physics
    assert long < 0.5 * trained, rows  # and drops the pole far longer than trained
    assert status(page)["physics"]["length"] == 0.5  # the sweep leaves the page's physics alone
    again = page.evaluate("v => window.app.sweep({param: 'length', values: v, episodes: 64})", values)
    assert again == rows  # the page's seeded start states: reproducible
    # the default: 20 values across the slider's range, drawn in the panel
    rows = page.evaluate("window.app.sweep({param: 'gravity', episodes: 4})")
    c = page.evaluate("window.app.spec.constants.gravity")
    np.testing.assert_allclose([r["value"] for r in rows], np.linspace(c["min"], c["max"], 20))
    page.click("#physics summary")
    assert "20 values × 4 episodes" in page.inner_text("#physics-body")
    assert not watch.errors, watch.errors


def test_sweep_on_webgpu_matches_wasm(browser, serve, site):
    """With WebGPU active the sweep runs on its batched pipeline: the same returns as wasm's forward_batch."""
    page, watch = open_page(browser, f"{serve(site['root'])}/{SITE}/CartPole-v1/?seed=11&backend=webgpu")
    wait_ready(page, "webgpu", timeout=30_000)
    call = "window.app.sweep({param: 'length', values: [10], episodes: 16})"  # short episodes: ~40 steps
    gpu = page.evaluate(call)
    page.evaluate("window.app.setBackend('wasm')")
    page.wait_for_function("() => window.app.status().backend === 'wasm'")
    cpu = page.evaluate(call)
    assert [r["value"] for r in gpu] == [10]
    # the two kernels' floats differ in the last bits: an action could flip where the policy is undecided
    np.testing.assert_allclose([r["meanReturn"] for r in gpu], [r["meanReturn"] for r in cpu], atol=2)
    assert not watch.errors, watch.errors


def test_sweep_box_env(browser, serve, site):
    page, watch = page_for(browser, serve, site, "Pendulum-v1")
    rows = page.evaluate("window.app.sweep({param: 'm', values: [0.5, 1, 3], episodes: 16})")
    assert [r["value"] for r in rows] == [0.5, 1, 3]
    means = [r["meanReturn"] for r in rows]
    # Pendulum's reward is minus a cost, and an episode is its 200-step time limit
    assert all(np.isfinite(means)) and all(-200 * 17 < m < 0 for m in means), means
    assert len(set(means)) == 3, means  # the mass reaches the physics
    assert not watch.errors, watch.errors


def test_engine_env_has_no_constants_to_change(browser, serve, site):
    """An engine env (MuJoCo) has no spec.constants: the panel stays hidden and the calls say why."""
    if not (site["site"] / "Hopper-v5" / "index.html").exists():
        pytest.skip("no Hopper-v5 page: it has no policy here")
    page, watch = open_page(browser, f"{serve(site['root'])}/{SITE}/Hopper-v5/")
    wait_ready(page, timeout=60_000)
    assert status(page)["physics"] == {} and page.locator("#physics").is_hidden()
    with pytest.raises(Exception, match="no physical constants to change"):
        page.evaluate("window.app.setPhysics({gravity: 1})")
    with pytest.raises(Exception, match="no physical constants to sweep"):
        page.evaluate("window.app.sweep({param: 'gravity'})")
    assert not watch.errors, watch.errors


# ---- the renderers draw what Gymnasium's render() draws with the changed constants ----

# env, renderer, world size, a changed constant that render() draws with, states, parts (colour), the part
# that it moves
RENDERS = [
    (
        "CartPole-v1",
        "cartpole",
        (600, 400),
        {"length": 1.05},
        [(0.3, 0.0, 0.2, 0.0), (-1.0, 0.0, -0.5, 0.0)],
        {"pole": (202, 152, 101), "cart": (0, 0, 0)},
        "pole",
    ),
    (
        "Acrobot-v1",
        "acrobot",
        (500, 500),
        {"LINK_LENGTH_1": 1.6},
        [(0.3, -0.2, 0.0, 0.0), (2.5, 1.3, 0.0, 0.0)],
        {"links": (0, 204, 204), "joints": (204, 204, 0)},
        "links",
    ),
]


def js_frames(page, module: str, size, states, constants) -> list[np.ndarray]:
    w, h = size
    b64 = page.evaluate(
        """async ([mod, w, h, states, constants]) => {
        const { renderer } = await import(`./render/${mod}.js`);
        const c = document.getElementById('c');
        c.width = w; c.height = h;
        const ctx = c.getContext('2d');
        return states.map((s) => {
          renderer.draw(ctx, s, constants ? { width: w, height: h, constants } : { width: w, height: h });
          const px = ctx.getImageData(0, 0, w, h).data;
          let bin = '';
          for (let j = 0; j < px.length; j += 4) bin += String.fromCharCode(px[j], px[j + 1], px[j + 2]);
          return btoa(bin);
        });
    }""",
        [module, w, h, [list(x) for x in states], constants],
    )
    return [np.frombuffer(base64.b64decode(b), np.uint8).reshape(h, w, 3) for b in b64]


@pytest.mark.parametrize(
    ("env_id", "module", "size", "change", "states", "parts", "moved"), RENDERS, ids=[r[0] for r in RENDERS]
)
def test_renderer_draws_the_changed_constant_as_gymnasium(
    render_page, env_id, module, size, change, states, parts, moved
):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytest.importorskip("pygame", reason="pygame renders Gymnasium's reference: pip install pygame")
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    for k, v in change.items():
        setattr(env.unwrapped, k, v)
    ref = []
    for s in states:
        env.unwrapped.state = np.array(s, np.float64)
        ref.append(env.render().copy())
    env.close()
    ours, default = (
        js_frames(render_page, module, size, states, change),
        js_frames(render_page, module, size, states, None),
    )
    for s, a, b, d in zip(states, ref, ours, default, strict=True):
        for part, rgb in parts.items():
            ma, mb, md = mask(a, rgb), mask(b, rgb), mask(d, rgb)
            near = min((ma & dilate(mb)).sum() / ma.sum(), (mb & dilate(ma)).sum() / max(mb.sum(), 1))
            shift = np.hypot(*(np.argwhere(ma).mean(0) - np.argwhere(mb).mean(0)))
            label = f"{env_id} {change} state {s}: {part}"
            assert near > 0.97 and shift < 1.5, f"{label}: {near:.1%} within 1 px, {shift:.2f} px off"
            if part == moved:  # at Gymnasium's defaults it is elsewhere: the constant is what moved it
                assert (ma & md).sum() / (ma | md).sum() < 0.8, f"{label}: the same at the default"
