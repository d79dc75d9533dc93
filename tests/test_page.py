"""The built pages in Chromium: they load clean, the agent plays well, controls work, errors read well.

One site is built per session (the `site` fixture, tests/pages.py: `build.mjs --out DIR --kernels DIR`, served
from a subpath), a page for every env that has a JS port and a policy. The env-independent core (controls,
share, embed, record, errors) is tested on CartPole-v1; every env page is tested for a clean load, the agent's
returns and human control.
Test hooks (documented in web/page/core/api.js): window.app.status(), spec, drag(p0, p1), setState(s), play(),
pause(), step(), reset(), setSpeed(v), setMode(m), setBackend(name), shareLink().
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT
from tests.pages import (
    BALANCE_SEED,
    SITE,
    SUB,
    Watch,
    budget_gz,
    build,
    env_ids,
    fetched_gz,
    first_action_urls,
    greedy_return,
    node,
    open_page,
    status,
    wait_ready,
)

CONTRACT_KEYS = {
    "backend",
    "episode",
    "step",
    "episodeReturn",
    "bestReturn",
    "firstActionMs",
    "forwardMicros",
    "error",
    "env",
    "returns",
}
ENV_IDS = env_ids()


def run_full_episode(page) -> dict:
    """At max speed, wait for the first finished agent episode of a CartPole page opened at BALANCE_SEED; it
    must be the 500-step truncation, as in Gymnasium from that seed."""
    page.evaluate("window.app.setSpeed('max')")
    page.wait_for_function("() => window.app.status().agentReturns.length > 0", timeout=60_000)
    s = status(page)
    ref = greedy_return("CartPole-v1", BALANCE_SEED)
    assert s["agentReturns"][0] == ref == 500, f"the agent dropped the pole: returns {s['agentReturns']}"
    assert s["bestReturn"] == 500 and s["returns"] == s["agentReturns"]
    return s


# ---- every env page ----

# the agent's first episodes (seed 1), averaged against the env's solved threshold: 100, as the evaluation
# behind the threshold (models/<env>/policy.json); 20 episodes of MountainCar-v0 (std ~9) averaged -111.4
# for a policy whose 1,000-episode mean in Gymnasium is -107.8
EPISODES = 100


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_page_loads_clean_and_agent_reaches_threshold(browser, serve, site, env_id):
    if env_id in site["failed"]:
        pytest.fail(site["failed"][env_id])
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SITE}/{env_id}/?seed=1&speed=max")
    s = wait_ready(page, "wasm")
    spec = page.evaluate("window.app.spec")
    assert s["env"] == env_id == spec["id"] and CONTRACT_KEYS <= s.keys()
    # every env page's bytes until its first agent action (gzipped) within its recorded budget
    sizes = fetched_gz(first_action_urls(page), base, site["root"])
    print(f"\n{env_id}: fetched until first action (gz): {sizes}, total {sum(sizes.values())} B")
    assert sum(sizes.values()) <= budget_gz(site, env_id), sizes
    assert env_id in page.title() and page.locator("#params").is_hidden()
    page.wait_for_function(f"() => window.app.status().returns.length >= {EPISODES}", timeout=120_000)
    returns = status(page)["returns"][:EPISODES]
    mean = sum(returns) / len(returns)
    print(
        f"\n{env_id}: first {EPISODES} agent episodes (seed 1) {returns}, mean {mean:.1f}, "
        f"solved {spec['solved']}"
    )
    assert mean >= spec["solved"], f"{env_id}: mean return {mean} below the solved threshold {spec['solved']}"
    assert str(spec["solved"]) in page.locator("#solved").inner_text()
    assert watch.errors == []
    page.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_page_human_control_changes_the_action(browser, serve, site, env_id):
    """Each of spec.human's keys drives its action, released it is idle; the buttons (and box sliders) too."""
    if env_id in site["failed"]:
        pytest.fail(site["failed"][env_id])
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SITE}/{env_id}/?speed=0.5")
    wait_ready(page, "wasm")
    spec = page.evaluate("window.app.spec")
    human = spec["human"]
    box = spec["action"]["type"] == "box"
    for key, action in human["keys"].items():
        page.evaluate("window.app.reset()")
        page.keyboard.down(key)
        page.wait_for_function("(n) => window.app.status().step >= n + 2", arg=status(page)["step"])
        s = status(page)
        assert s["mode"] == "human" and s["lastAction"] == action, (key, s)
        page.keyboard.up(key)
        page.wait_for_function("(n) => window.app.status().step >= n + 2", arg=s["step"])
        idle = status(page)["lastAction"]
        if human["idle"] != "alternate":
            assert idle == human["idle"], f"after releasing {key} the action should be idle: {idle}"
    key, action = next(iter(human["keys"].items()))
    button = page.locator(f"#human-controls button[aria-keyshortcuts='{key}']")
    page.evaluate("window.app.reset()")
    button.dispatch_event("pointerdown")
    page.wait_for_function("(n) => window.app.status().step >= n + 2", arg=status(page)["step"])
    assert status(page)["lastAction"] == action
    button.dispatch_event("pointerup")
    if box:  # a slider per dimension: held, it sets the action; released, it springs back to idle
        slider = page.locator("#human-controls input[type=range]").first
        lo = spec["action"]["low"][0]
        slider.evaluate(f"(s) => {{ s.value = '{lo}'; s.dispatchEvent(new Event('input')); }}")
        page.wait_for_function(f"() => window.app.status().lastAction[0] === {lo}")
        slider.dispatch_event("pointerup")
        assert float(slider.input_value()) == human["idle"][0]
    page.keyboard.press("a")  # back to the agent
    assert status(page)["mode"] == "agent"
    assert watch.errors == []
    page.close()


# ---- the core, on CartPole-v1 ----


def test_page_loads_clean_and_agent_balances_on_wasm(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/?seed={BALANCE_SEED}")
    s = wait_ready(page, "wasm")
    assert s["firstActionMs"] > 0 and s["forwardMicros"] > 0 and s["bestReturn"] is None
    assert page.locator("#backend").input_value() == "wasm"
    assert not any("webgpu" in u for u in watch.urls), "the default page must not fetch the WebGPU chunk"
    # Everything fetched until the first agent action, gzipped, within the budget.
    urls = first_action_urls(page)
    sizes = fetched_gz(urls, base, site["root"])
    print(f"\nfetched until first action (gz): {sizes}, total {sum(sizes.values())} B")
    assert sum(sizes.values()) <= budget_gz(site, "CartPole-v1"), sizes
    # the lazy chunks (saliency, timeline), requested after the action, are not on its bill
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some((e) => e.startTime > app.status().firstActionMs)"
    )
    assert first_action_urls(page) == urls
    # the value estimate comes after the first action, with the critic in policy.lazy.wasm
    assert not any("policy.lazy-" in u for u in urls), "policy.lazy.wasm was fetched before the first action"
    page.wait_for_function("() => Number.isFinite(app.status().value)", timeout=10_000)
    assert any("policy.lazy-" in u for u in watch.urls)
    page.wait_for_timeout(1500)  # a second of play at 1x for the screenshot
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page.png"), full_page=True)
    run_full_episode(page)
    assert watch.errors == []
    page.close()


def test_agent_balances_on_webgpu_and_auto_picks_it(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/?backend=webgpu&seed={BALANCE_SEED}")
    wait_ready(page, "webgpu", timeout=30_000)
    run_full_episode(page)
    page.goto(f"{base}/{SUB}/?backend=auto")
    s = wait_ready(page, "webgpu", timeout=30_000)
    assert "auto chose webgpu" in s["note"]
    assert watch.errors == []
    page.close()


def test_auto_falls_back_to_wasm_without_webgpu(browser, serve, site):
    base = serve(site["root"])
    page = browser.new_page()
    page.add_init_script("delete Navigator.prototype.gpu")
    watch = Watch(page)
    page.goto(f"{base}/{SUB}/?backend=auto")
    s = wait_ready(page, "wasm")
    assert "webgpu unavailable" in s["note"] and "using wasm" in s["note"], s["note"]
    # the panel writes the note at its next frame after it mounts
    page.wait_for_function(
        "() => document.getElementById('note').innerText.includes('using wasm')", timeout=5000
    )
    page.goto(f"{base}/{SUB}/?backend=webgpu")  # asked for explicitly: same fallback, said on the page
    s = wait_ready(page, "wasm")
    assert "webgpu unavailable" in s["note"]
    assert watch.errors == []
    page.close()


def test_human_best_persists_and_cart_follows_the_keys(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/")
    wait_ready(page, "wasm")
    for key, action in (("ArrowRight", 1), ("ArrowLeft", 0)):
        page.evaluate("window.app.pause(); window.app.reset(); window.app.play()")
        page.keyboard.down(key)
        page.wait_for_function("() => window.app.status().step >= 3")
        s = status(page)
        assert s["lastAction"] == action and (s["state"][1] > 0) == (action == 1), "the cart follows the key"
        page.keyboard.up(key)
    # A human episode to its end (the cart driven off the track): its return is the human's best, kept in
    # localStorage for the next visit to this env's page.
    page.evaluate("window.app.setSpeed('max'); window.app.reset()")
    page.keyboard.down("ArrowRight")
    page.wait_for_function("() => window.app.status().humanBest !== null", timeout=30_000)
    page.evaluate("window.app.pause()")
    page.keyboard.up("ArrowRight")
    best = status(page)["humanBest"]
    assert best > 0 and status(page)["returns"] == [], "a human episode is not the agent's"
    page.reload()
    wait_ready(page, "wasm")
    assert status(page)["humanBest"] == best
    page.wait_for_function("(b) => document.getElementById('human').textContent === b", arg=str(best))
    assert watch.errors == []
    page.close()


def _pole_point(page, up: float) -> tuple[float, float]:
    """Viewport position of the point `up` world pixels up CartPole's (upright) pole, and the world scale."""
    box = page.locator("#view").bounding_box()
    k = min(box["width"] / 600, box["height"] / 400)
    x = box["x"] + (box["width"] - 600 * k) / 2 + (status(page)["state"][0] * 125 + 300) * k
    y = box["y"] + (box["height"] - 400 * k) / 2 + (400 - 107.5 - up) * k
    return x, y, k


def test_pause_step_reset_and_push(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/")
    wait_ready(page, "wasm")
    page.locator("#play").click()
    s0 = status(page)
    page.wait_for_timeout(300)
    s1 = status(page)
    assert not s1["running"] and s1["step"] == s0["step"], "pause should stop the simulation"
    page.locator("#step").click()
    assert status(page)["step"] == s0["step"] + 1
    page.keyboard.press("r")
    s = status(page)
    assert s["episode"] == s0["episode"] + 1 and s["step"] == 0 and s["episodeReturn"] == 0
    assert not s["pushed"] and s["seed"] == s0["seed"] + 1, "episode k + 1 starts from the next seed"
    # Drag the pole with the mouse (paused: the state moves only by pushes), then by the API hook.
    before = status(page)["state"][3]
    x, y, k = _pole_point(page, 60)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40 * k, y, steps=4)
    page.mouse.move(x + 80 * k, y, steps=4)
    page.mouse.up()
    s = status(page)
    assert s["pushed"] and s["state"][3] > before + 1.0, "dragging the pole right should shove it right"
    assert page.evaluate("window.app.drag([5, 5], [50, 5])") is False, "nothing to grab in the corner"
    before = s["state"][3]
    assert page.evaluate("(p) => window.app.drag(p, [p[0] - 80, p[1]])", [300 + 125 * s["state"][0], 232])
    assert status(page)["state"][3] < before - 1.0
    page.locator("#play").click()
    page.wait_for_function("() => window.app.status().running")
    assert watch.errors == []
    page.close()


def test_canvas_is_crisp_on_high_dpi_and_resizes(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/", device_scale_factor=2)
    wait_ready(page, "wasm")
    size = (
        "() => { const c = document.getElementById('view'), r = c.getBoundingClientRect(); "
        "return [c.width, c.height, r.width, r.height]; }"
    )
    w, h, cw, ch = page.evaluate(size)
    assert (w, h) == (round(cw * 2), round(ch * 2)), "the canvas should have one pixel per device pixel"
    page.set_viewport_size({"width": 480, "height": 800})
    page.wait_for_function(f"() => document.getElementById('view').width < {w}")
    w2, h2, cw2, ch2 = page.evaluate(size)
    assert (w2, h2) == (round(cw2 * 2), round(ch2 * 2)) and cw2 < cw
    assert watch.errors == []
    page.close()


def test_nan_state_ends_the_episode_cleanly(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/")
    s0 = wait_ready(page, "wasm")
    page.evaluate("window.app.setState([0, 0, NaN, 0])")
    page.wait_for_function("() => window.app.status().lastEnd === 'non-finite state'")
    page.wait_for_function(
        "(e) => window.app.status().episode > e && window.app.status().step > 5", arg=s0["episode"]
    )
    s = status(page)
    assert all(v == v for v in s["state"]), "the new episode starts from a finite state"
    frames = s["frames"]
    page.wait_for_timeout(200)
    assert status(page)["frames"] > frames, "the page keeps animating"
    assert watch.errors == []
    page.close()


@pytest.mark.parametrize(
    "query, refused",
    [
        ("seed=abc", "seed"),
        ("seed=1e309", "seed"),
        ("seed=-1", "seed"),
        ("seed=4294967296", "seed"),
        ("speed=3", "speed"),
        ("backend=cuda", "backend"),
        ("embed=yes", "embed"),
        ("physics=length:9", "physics"),  # out of the constant's range
        ("physics=lenght:1", "physics"),
        ("physics=length:1.5,length:1", "physics"),
    ],
)
def test_bad_query_parameters_are_refused_visibly(browser, serve, site, query, refused):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/?{query}")
    s = wait_ready(page, "wasm")
    note = page.locator("#params")
    assert note.is_visible() and f"?{query} ignored" in note.inner_text(), note.inner_text()
    assert s["paramNotes"] == [note.inner_text()]
    assert s["speed"] == 1 and not s["embed"]
    if refused == "physics":  # Gymnasium's physics, not part of the refused ones
        defaults = {k: c["value"] for k, c in page.evaluate("window.app.spec.constants").items()}
        assert s["physics"] == defaults and not s["whatIf"]
    if refused == "seed":  # a random seed, not the refused value mapped to another one
        page.goto(f"{base}/{SUB}/?{query}")
        assert wait_ready(page)["seed"] != s["seed"]
    assert watch.errors == []
    page.close()


# states [a, b] where the policy's mean leaves the bounds: this grid, within Gymnasium's observation space
BOX_GRID = {
    "Pendulum-v1": ([-3, -1.5, 0, 1.5, 3], [-8, -4, 0, 4, 8]),
    "MountainCarContinuous-v0": ([-1.2, -0.5, 0.5], [-0.07, 0, 0.07]),
}


@pytest.mark.parametrize("env_id", sorted(BOX_GRID))
def test_box_panel_prints_the_action_applied(browser, serve, site, env_id):
    """The panel of a box action prints the action the agent applied (the mean clipped to the bounds,
    status().lastAction), and the mean beside it only where clipping changed it."""
    if env_id in site["failed"]:
        pytest.skip(site["failed"][env_id])
    page, watch = open_page(browser, f"{serve(site['root'])}/{SITE}/{env_id}/?seed=5")
    wait_ready(page, "wasm")
    page.evaluate("window.app.pause()")
    low, high = page.evaluate("[window.app.spec.action.low, window.app.spec.action.high]")
    xs, vs = BOX_GRID[env_id]
    found = page.evaluate(
        """([xs, vs, low, high]) => {
          for (const x of xs) for (const v of vs) {
            window.app.reset();
            window.app.setState([x, v]);
            window.app.step();  // the wasm backend steps at once
            const s = window.app.status();
            if (s.mean.some((m, i) => m < low[i] || m > high[i])) return s;
          }
          return null;
        }""",
        [xs, vs, low, high],
    )
    assert found is not None, f"no state of the grid drives {env_id}'s mean out of its bounds"
    applied = found["lastAction"]
    assert all(lo <= a <= hi for a, lo, hi in zip(applied, low, high, strict=True)), applied
    want = [
        f"{a:.2f}" if f"{a:.2f}" == f"{m:.2f}" else f"{a:.2f} (mean {m:.2f})"
        for a, m in zip(applied, found["mean"], strict=True)
    ]
    outputs = "#heads output:not(#value)"
    out = page.locator(outputs)
    page.wait_for_function(
        "([q, want]) => [...document.querySelectorAll(q)].every((o, i) => o.textContent === want[i])",
        arg=[outputs, want],
        timeout=5_000,
    )
    printed = out.all_inner_texts()
    assert printed == want and any("(mean " in p for p in printed), printed
    for p, lo, hi in zip(printed, low, high, strict=True):
        assert lo <= float(p.split()[0]) <= hi, (p, lo, hi)
    # each bar spans from zero (or the near bound) to the applied value
    bars = page.locator("#heads .meter.signed i").evaluate_all(
        "bs => bs.map((e) => [parseFloat(e.style.left), parseFloat(e.style.width)])"
    )
    for (left, width), a, lo, hi in zip(bars, applied, low, high, strict=True):
        z, p = min(max(-lo / (hi - lo), 0), 1), (a - lo) / (hi - lo)
        assert left == pytest.approx(100 * min(z, p)) and width == pytest.approx(100 * abs(p - z))
    assert watch.errors == []
    page.close()


def test_seed_and_speed_from_the_url_and_the_share_link(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/?seed=4294967295&speed=max")
    s = wait_ready(page, "wasm")
    assert s["speed"] == "max" and page.locator("#speed").input_value() == "max"
    assert page.locator("#params").is_hidden()
    assert s["seed"] == (4294967295 + s["episode"] - 1) % 2**32, "episode k's seed is seed + k - 1, mod 2^32"
    page.evaluate("window.app.setSpeed(2); window.app.pause(); window.app.reset()")
    s = status(page)
    page.locator("#share").click()
    # the share box's module loads at the first click (not on the path to the first action), and makes the
    # box: wait for it
    page.wait_for_function("() => document.getElementById('share-link')?.value", timeout=10_000)
    link = page.locator("#share-link").input_value()
    assert link == page.evaluate("window.app.shareLink()")
    assert f"seed={s['seed']}" in link and "speed=2" in link
    assert "embed" not in link and "embed=1" in page.locator("#share-embed").input_value()
    shared = browser.new_page()
    shared.goto(link)
    shared.wait_for_function("() => window.app")
    t = status(shared)  # episode 1's initial state, whether or not it has stepped yet
    assert t["episode"] == 1 and t["seed"] == s["seed"] and t["speed"] == 2
    assert t["start"] == s["start"], "the link reproduces the episode on screen"
    shared.close()
    assert watch.errors == []
    page.close()


def test_embed_shows_the_canvas_and_minimal_controls(browser, serve, site):
    base = serve(site["root"])
    page = browser.new_page(viewport={"width": 640, "height": 480})
    watch = Watch(page)
    page.goto(f"{base}/{SUB}/?embed=1")
    s = wait_ready(page, "wasm")
    assert s["embed"]
    for hidden in ("header", "section.panel", "footer", "#human-controls", "#backend", "#share"):
        assert page.locator(hidden).is_hidden(), hidden
    for shown in ("#view", "#play", "#full"):
        assert page.locator(shown).is_visible(), shown
    view = page.locator("#view").bounding_box()
    assert view["width"] >= 600 and view["y"] + view["height"] <= 480, f"the canvas fills the frame: {view}"
    assert page.evaluate("document.documentElement.scrollHeight") <= 480, "nothing to scroll in an iframe"
    assert watch.errors == []
    page.close()


def test_record_saves_a_webm_clip(browser, serve, site):
    base = serve(site["root"])
    page, watch = open_page(browser, f"{base}/{SUB}/")
    wait_ready(page, "wasm")
    page.locator("#record").click()
    page.wait_for_function("() => window.app.status().recording")
    page.wait_for_timeout(1200)
    with page.expect_download() as dl:
        page.locator("#record").click()
    clip = Path(dl.value.path()).read_bytes()
    name = dl.value.suggested_filename
    assert name.startswith("CartPole-v1-seed") and name.endswith(".webm"), name
    assert len(clip) > 1000 and clip[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in clip[:64], clip[:64]
    assert not status(page)["recording"]
    print(f"\nrecorded {len(clip)} bytes of WebM in ~1.2 s")
    assert watch.errors == []
    page.close()


def test_wasm_404_shows_a_readable_error(browser, serve, site):
    base = serve(site["root"])
    page = browser.new_page()
    page.route("**/*.wasm", lambda r: r.fulfill(status=404, body="not found"))
    page.goto(f"{base}/{SUB}/")
    page.wait_for_function("() => window.app && window.app.status().error")
    err = page.locator("#error")
    assert err.is_visible()
    text = err.inner_text()
    assert "policy.wasm" in text and "404" in text, text
    assert status(page)["backend"] is None
    page.close()


def _doctored(site, name: str, changes, single: bool = False) -> str:
    """CartPole's kernel with manifest fields changed, built as the page <root>/<name>/ (or the single file
    <root>/<name>/CartPole-v1.html), wasm only; returns name."""
    kernel = site["tmp"] / f"kernel-{name}"
    # the snapshots (training timeline), the python backend's weights and the WebGPU data module are the
    # original manifest's shapes (the bundler refuses them for another one): left out
    shutil.copytree(
        site["kernels"] / "CartPole-v1",
        kernel,
        ignore=shutil.ignore_patterns("snapshots", "policy.weights.json", "policy.webgpu*"),
    )
    manifest = json.loads((kernel / "manifest.json").read_text())
    (kernel / "manifest.json").write_text(json.dumps({**manifest, "webgpu": None, **changes(manifest)}))
    r = build(["--kernel", kernel, "--out", site["root"] / name, *(["--single"] if single else [])])
    assert r.returncode == 0, r.stderr
    return name


def test_q_outputs_without_value(browser, site):
    """Outputs [{q}] with no value (imported DQN-style): Q-values shown, argmax acts, the value hidden."""
    # CartPole's probabilities read as Q-values: the argmax, hence every action, is the same
    name = _doctored(site, "q", lambda m: {"outputs": [{"name": "q", "size": 2}]}, single=True)
    page, watch = open_page(
        browser, (site["root"] / name / "CartPole-v1.html").as_uri() + f"?seed={BALANCE_SEED}"
    )
    wait_ready(page, "wasm")
    text = page.locator("section.panel").inner_text()
    assert "Q(push left)" in text and "P(push left)" not in text, text
    assert page.locator("#spark").is_hidden() and page.locator("#vlabel").is_hidden()
    s = run_full_episode(page)
    assert s["q"] is not None and s["probs"] is None and s["value"] is None
    assert watch.errors == []
    page.close()


def test_kernel_of_other_shapes_is_refused(browser, serve, site):
    """A manifest whose obs_dim is not the env's: the page says so and never runs the kernel (no step)."""
    name = _doctored(site, "wrong", lambda m: {"obs_dim": m["obs_dim"] + 1})
    base = serve(site["root"])
    page = browser.new_page()
    watch = Watch(page)
    page.goto(f"{base}/{name}/")
    page.wait_for_function("() => window.app && window.app.status().error")
    text = page.locator("#error").inner_text()
    assert "does not fit CartPole-v1" in text and "5 observation values, the env gives 4" in text, text
    assert "make compile-kernel ENV=CartPole-v1" in text
    s = status(page)
    assert s["backend"] is None and s["step"] == 0 and not s["running"]
    assert watch.errors == []
    page.close()


def test_wrong_wasm_mime_type_still_loads(browser, serve, site):
    """CDNs that send application/octet-stream: streaming compilation refuses, the ArrayBuffer path works."""
    base = serve(site["root"])
    page = browser.new_page()
    watch = Watch(page)

    def octet(route):
        r = route.fetch()
        route.fulfill(response=r, headers={**r.headers, "content-type": "application/octet-stream"})

    page.route("**/*.wasm", octet)
    page.goto(f"{base}/{SUB}/")
    wait_ready(page, "wasm")
    # policy.lazy.wasm, which the saliency bars fetch after the first action, takes the same path (and is
    # there before the page closes: no route is left answering a closed page)
    page.wait_for_function("() => window.app.status().saliency !== null", timeout=15_000)
    assert watch.errors == []
    page.close()


def test_single_file_works_from_disk(browser, site):
    for backend in ("wasm", "webgpu"):
        page, watch = open_page(browser, f"{site['single'].as_uri()}?backend={backend}")
        wait_ready(page, backend, timeout=30_000)
        assert watch.errors == [], watch.errors
        others = [
            u
            for u in watch.urls
            if u.split("?")[0] != site["single"].as_uri() and not u.startswith(("data:", "blob:"))
        ]
        assert others == [], "the single file must not load other files"
        page.close()


# ---- the page's pure modules, in Node ----

PURE = """
import { readParams, parseSeed, parsePhysics, physicsText } from './params.js';
import { kernelMismatch, agentAction, humanAction } from './actions.js';
const disc = {id: 'X-v0', action: {type: 'discrete', n: 3}, human: {keys: {a: 0, d: 2}, idle: 1}};
const box = {id: 'B-v0', action: {type: 'box', shape: [2], low: [-2, 0], high: [2, 1]},
             human: {keys: {a: [-2, 0]}, idle: [0, 0]}};
const C = {length: {value: 0.5, min: 0.1, max: 2}, masspole: {value: 0.1, min: 0.01, max: 1},
           gravity: {value: 9.8, min: 1, max: 3e21}};
const m = (o) => ({env_id: 'X-v0', obs_dim: 4, action: {type: 'discrete', n: 3},
                   outputs: [{name: 'probs', size: 3}, {name: 'value', size: 1}], ...o});
console.log(JSON.stringify({
  seeds: ['0', '4294967295', '4294967296', '1e3', '-1', '01', '', ' 1', '1.0', 'abc'].map(parseSeed),
  params: readParams('?seed=7&speed=max&backend=python&embed=1', ['wasm', 'python']),
  bad: readParams('?seed=x&speed=9&backend=gpu&embed=2', ['wasm']).notes.length,
  fits: kernelMismatch(disc, 4, m({})),
  q: kernelMismatch(disc, 4, m({outputs: [{name: 'q', size: 3}]})),
  env: kernelMismatch(disc, 4, m({env_id: 'Y-v0'})),
  obs: kernelMismatch(disc, 5, m({})),
  type: kernelMismatch(disc, 4, m({action: {type: 'box', shape: [3]}})),
  n: kernelMismatch(disc, 4, m({action: {type: 'discrete', n: 2}})),
  head: kernelMismatch(disc, 4, m({outputs: [{name: 'probs', size: 2}, {name: 'value', size: 1}]})),
  shape: kernelMismatch(box, 4, {env_id: 'B-v0', obs_dim: 4, action: {type: 'box', shape: [3]},
                                  outputs: [{name: 'mean', size: 3}]}),
  greedyQ: agentAction(disc, {q: [1, 5, 2]}),
  greedyBox: agentAction(box, {mean: Float32Array.of(-3, 0.5)}),
  idle: humanAction(disc, [], null, 0), held: humanAction(disc, [0, 2], null, 0),
  alternate: humanAction({...disc, human: {idle: 'alternate'}}, [], null, 2),
  physics: readParams('?physics=length:1.7,masspole:0.3', ['wasm'], C).physics,
  physicsBad: ['', 'length', 'length:', 'length:1.7:2', 'lenght:1', 'length:1,length:1.2', 'length:2.5',
               'length:0.05', 'length:1e0x', 'length:NaN', 'length:Infinity', 'toString:1', 'length:0x1']
    .map((t) => parsePhysics(t, C)),
  physicsNone: parsePhysics('length:1', undefined),
  physicsRefused: readParams('?seed=3&physics=length:9', ['wasm'], C),
  text: physicsText({length: 1.7, masspole: 0.1, gravity: 2e21}, C),
  roundTrip: parsePhysics(physicsText({length: 0.1 + 0.2, masspole: 1 / 3, gravity: 9.8}, C), C),
}));
"""


def test_params_and_kernel_checks_in_node(tmp_path):
    """params.js refuses any seed but an integer 0..2^32-1 and any ?physics= but known constants in range;
    actions.js: the shape checks and the actions."""
    r = subprocess.run(
        [node(), "--input-type=module", "-e", PURE],
        cwd=ROOT / "web" / "page" / "core",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["seeds"] == [0, 4294967295, None, None, None, 1, None, None, None, None]
    assert out["params"] == {
        "seed": 7,
        "speed": "max",
        "backend": "python",
        "embed": True,
        "physics": {},
        "notes": [],
    }
    # ?physics=name:value,...: the changed constants, each within its range, exactly as the link wrote them
    assert out["physics"] == {"length": 1.7, "masspole": 0.3}
    assert all(isinstance(why, str) and why for why in out["physicsBad"]), out["physicsBad"]
    assert "is given twice" in out["physicsBad"][5] and "from 0.1 to 2" in out["physicsBad"][6]
    assert "no physical constants" in out["physicsNone"]
    refused = out["physicsRefused"]
    assert refused["physics"] == {} and refused["seed"] == 3
    assert refused["notes"] == [
        "?physics=length:9 ignored: length is a number from 0.1 to 2; using Gymnasium's physics."
    ]
    assert out["text"] == "length:1.7,gravity:2e21", "only the changed constants; no '+' (a space in a query)"
    assert out["roundTrip"] == {"length": 0.1 + 0.2, "masspole": 1 / 3}
    assert out["bad"] == 4
    assert out["fits"] == "" and out["q"] == ""
    for key, words in (
        ("env", "compiled for Y-v0"),
        ("obs", "4 observation values, the env gives 5"),
        ("type", "a box action of shape [3], the env takes 3 discrete actions"),
        ("n", "2 discrete actions, the env takes 3"),
        ("head", "no action head of size 3"),
        ("shape", "shape [3], the env takes a box action of shape [2]"),
    ):
        assert words in out[key] and "make compile-kernel ENV=" in out[key], (key, out[key])
    assert out["greedyQ"] == 1 and out["greedyBox"] == [-2, 0.5]
    assert (out["idle"], out["held"], out["alternate"]) == (1, 2, 0)
