"""The MuJoCo envs of the page (web/page/envs/mujoco/: Hopper-v5, HalfCheetah-v5, Walker2d-v5 on the
official MuJoCo WebAssembly build, @mujoco/mujoco) against Gymnasium's on native MuJoCo of the same version.

- the XML the page ships is Gymnasium's file, byte for byte, and compiles in the wasm engine to the same
  sizes;
- one step from the same qpos/qvel and action: every observation value and the reward within 1e-9, the same
  termination (states visited by random-action Gymnasium episodes, terminal ones included);
- 1,000 open-loop steps from the same start: the drift between wasm and native is printed. Same engine and
  version, not bit-exact: the two builds round differently in the last bits now and then, and contact-rich
  dynamics under random actions amplify such a bit chaotically (HalfCheetah: 1e-15 to 1e+0 in 300 steps), so
  the test asserts where the drift starts (one rounding) and that the first 50 steps agree to 1e-9;
- closed loop: the shipped policy's mean return over the same 20 start states, Node (its compiled kernel, as
  the page runs it) vs Python (the numpy oracle), within 5%;
- each env page in Chromium runs 2,000 agent steps at max speed with no console error (CSP violations
  included: the page's CSP has no 'unsafe-eval', web/page/envs/mujoco/no_eval.js), no NaN, no growth of the
  engine's memory or of the JS heap, and finished episodes reach spec.solved; a drag pushes the torso; the
  page fetches the stripped engine, which a classic-control page never does.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from tests.checkpoints import load_oracle
from tests.conftest import ROOT
from tests.pages import build, kernel_dir, node_json, registry

pytestmark = pytest.mark.slow

RUNNER = ROOT / "tests" / "mujoco_runner.mjs"
ENV_IDS = ["Hopper-v5", "HalfCheetah-v5", "Walker2d-v5"]
XML = {"Hopper-v5": "hopper.xml", "HalfCheetah-v5": "half_cheetah.xml", "Walker2d-v5": "walker2d_v5.xml"}
mujoco = pytest.importorskip("mujoco", reason="pip install mujoco==3.14.0 (pyproject.toml)")


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float64).tobytes()).decode()


def unb64(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), np.float64).copy()


def js(req: dict) -> dict:
    return node_json(RUNNER, req, timeout=300)


def unwrapped(env_id: str):
    return gym.make(env_id, disable_env_checker=True).unwrapped


def state_of(env) -> np.ndarray:
    return np.concatenate([env.data.qpos, env.data.qvel]).copy()


def test_engine_versions_match():
    pkg = json.loads((ROOT / "node_modules" / "@mujoco" / "mujoco" / "package.json").read_text())
    assert pkg["version"] == mujoco.__version__ == "3.14.0", "the page and Python must run the same MuJoCo"


def test_xml_is_gymnasiums_and_compiles_in_wasm():
    models = js({"cmd": "models"})
    assert sorted(models) == sorted(ENV_IDS)
    assets = Path(gym.__file__).parent / "envs" / "mujoco" / "assets"
    for env_id, m in models.items():
        gym_xml = (assets / XML[env_id]).read_text(encoding="utf-8")
        assert m["xml"] == gym_xml, f"{env_id}: the XML differs from Gymnasium's: run web/build/mujoco_xml.py"
        native = unwrapped(env_id).model
        assert (m["nq"], m["nv"], m["nu"], m["ngeom"], m["timestep"]) == (
            native.nq,
            native.nv,
            native.nu,
            native.ngeom,
            native.opt.timestep,
        ), env_id


def test_spec_matches_gymnasium():
    for env_id, m in js({"cmd": "models"}).items():
        env, spec = gym.make(env_id, disable_env_checker=True), m["spec"]
        u = env.unwrapped
        assert spec["id"] == env_id and spec["maxSteps"] == env.spec.max_episode_steps
        assert spec["renderFps"] == u.metadata["render_fps"] and m["dt"] == u.dt
        assert spec["mujoco"]["frameSkip"] == u.frame_skip
        assert spec["action"] == {
            "type": "box",
            "shape": list(u.action_space.shape),
            "low": u.action_space.low.tolist(),
            "high": u.action_space.high.tolist(),
        }
        assert m["obsDim"] == len(spec["obsNames"]) == u.observation_space.shape[0]
        assert spec["stateSize"] == u.model.nq + u.model.nv and len(spec["actionNames"]) == u.model.nu
        assert m["initQpos"] == u.init_qpos.tolist() and m["initQvel"] == u.init_qvel.tolist()
        assert spec["mujoco"]["noise"] == u._reset_noise_scale
        assert spec["mujoco"]["ctrlCostWeight"] == u._ctrl_cost_weight
        assert spec["mujoco"]["forwardWeight"] == u._forward_reward_weight


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_draws_gymnasiums_distribution(env_id):
    """reset({seed}) uses the page's PRNG, not NumPy's: the same distribution (init_qpos/qvel plus uniform
    noise, HalfCheetah's qvel normal): bounds and moments over 2,000 seeds against Gymnasium's."""
    n, env = 2000, gym.make(env_id, disable_env_checker=True)
    ref = []
    for i in range(n):
        env.reset(seed=i)
        ref.append(state_of(env.unwrapped))
    ref = np.array(ref)
    got = unb64(js({"cmd": "resets", "env": env_id, "n": n})["states"]).reshape(n, -1)
    u, scale = env.unwrapped, ref.std(0)
    init = np.concatenate([u.init_qpos, u.init_qvel])
    uniform = slice(None) if env_id != "HalfCheetah-v5" else slice(0, u.model.nq)
    assert np.all(np.abs(got - init)[:, uniform] <= u._reset_noise_scale), "outside Gymnasium's noise bounds"
    assert np.all(np.abs(got.mean(0) - ref.mean(0)) < 5 * scale / np.sqrt(n)), "means differ"
    assert np.all(np.abs(got.std(0) / scale - 1) < 0.1), "spreads differ"
    assert len({tuple(r) for r in got}) == n, "every seed its own start"


def visited(env_id: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n (state, action) rows: states of random-action Gymnasium episodes (terminal ones too), float32 actions
    (a tenth of them outside the box: MuJoCo clamps ctrl, the control cost takes them as given)."""
    env, rng = unwrapped(env_id), np.random.default_rng(seed)
    states, actions = [], []
    env.reset(seed=seed)
    while len(states) < n:
        a = rng.uniform(-1, 1, env.model.nu).astype(np.float32)
        if rng.random() < 0.1:
            a = (a * 1.6).astype(np.float32)
        states.append(state_of(env))
        actions.append(a)
        _, _, term, _, _ = env.step(a)
        if term or rng.random() < 0.01:
            states.append(state_of(env))  # the terminal state itself
            actions.append(rng.uniform(-1, 1, env.model.nu).astype(np.float32))
            env.reset(seed=int(rng.integers(2**31)))
    return np.array(states[:n]), np.array(actions[:n])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_one_step_equals_gymnasium(env_id):
    states, actions = visited(env_id, 300, seed=7)
    env = unwrapped(env_id)
    nq = env.model.nq
    ref_obs, ref_rew, ref_term = [], [], []
    for s, a in zip(states, actions, strict=True):
        env.reset(seed=0)  # mj_resetData (a cold solver warm start), then the state: what reset({state}) does
        env.set_state(s[:nq], s[nq:])
        o, r, term, _, _ = env.step(a)
        ref_obs.append(o)
        ref_rew.append(r)
        ref_term.append(term)
    out = js({"cmd": "step", "env": env_id, "states": b64(states), "actions": b64(actions)})
    obs = unb64(out["obs"]).reshape(len(states), -1)
    d_obs = np.abs(obs - np.array(ref_obs)).max()
    d_rew = np.abs(unb64(out["reward"]) - np.array(ref_rew)).max()
    print(
        f"{env_id}: one step from {len(states)} states: max |obs diff| {d_obs:.2e}, |reward diff| {d_rew:.2e}"
    )
    assert d_obs <= 1e-9 and d_rew <= 1e-9
    assert out["terminated"] == ref_term
    if env_id != "HalfCheetah-v5":  # (it never terminates)
        assert 0 < sum(ref_term) < len(ref_term), "the rows must include healthy and unhealthy states"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_open_loop_drift(env_id):
    env, rng = unwrapped(env_id), np.random.default_rng(3)
    env.reset(seed=3)
    start = state_of(env)
    actions = rng.uniform(-1, 1, (1000, env.model.nu)).astype(np.float32)
    ref = []
    for a in actions:  # the unwrapped env steps on whatever its health: terminations are ignored here
        env.step(a)
        ref.append(state_of(env))
    out = js({"cmd": "open", "env": env_id, "state": b64(start), "actions": b64(actions)})
    drift = np.abs(unb64(out["states"]).reshape(1000, -1) - np.array(ref)).max(axis=1)
    first = int(np.argmax(drift > 0)) if (drift > 0).any() else None
    at = "none" if first is None else f"step {first + 1} ({drift[first]:.1e})"
    after = ", ".join(f"{n:,} {drift[n - 1]:.1e}" for n in (10, 100, 300, 1000))
    print(
        f"{env_id}: 1,000 open-loop random-action steps, wasm vs native: first difference {at}; max |state "
        f"diff| after steps {after}"
    )
    assert first is None or drift[first] <= 1e-12, "the first difference must be a rounding, not physics"
    assert drift[:50].max() <= 1e-9, "wasm and native MuJoCo parted within 50 steps: not the same engine?"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_closed_loop_returns_match(env_id, tmp_path):
    """The shipped policy's greedy action (its mean, clipped to the bounds): in Python the oracle, in Node its
    compiled policy.wasm through the page's wasm backend."""
    d = ROOT / "models" / env_id
    if not (d / "policy.json").exists():
        pytest.skip(
            f"no shipped policy models/{env_id}: `python -m rl_web_agent train --env {env_id} --publish`"
        )
    action = json.loads((d / "policy.json").read_text())["action"]
    oracle, low, high = load_oracle(d), np.array(action["low"]), np.array(action["high"])

    def act(obs: np.ndarray) -> np.ndarray:
        return np.clip(oracle(obs[None])[0, : len(low)], low, high)

    env = gym.make(env_id, disable_env_checker=True)  # with its 1,000-step time limit
    starts, returns = [], []
    for i in range(20):
        obs, _ = env.reset(seed=20_000 + i)
        starts.append(state_of(env.unwrapped))
        ret, done = 0.0, False
        while not done:
            obs, r, term, trunc, _ = env.step(act(obs).astype(np.float32))
            ret += r
            done = term or trunc
        returns.append(ret)
    kernel = _kernel(env_id, tmp_path)
    out = js({"cmd": "closed", "env": env_id, "starts": b64(np.array(starts)), "kernel": str(kernel)})
    py, node = float(np.mean(returns)), float(np.mean(out["returns"]))
    print(
        f"{env_id}: mean return over 20 start states: Python {py:.1f}, Node {node:.1f} "
        f"({100 * (node - py) / abs(py):+.2f}%); episode lengths in Node {sorted(out['lengths'])}"
    )
    assert abs(node - py) <= 0.05 * abs(py)


# ---- the pages ----


def _kernel(env_id: str, tmp: Path) -> Path:
    """The shipped policy's kernel: build/kernels/<env> when current, else a fresh one (pages.kernel_dir)."""
    kernel = kernel_dir(env_id, ROOT / "models" / env_id, tmp)
    assert isinstance(kernel, Path), kernel
    return kernel


PAGE_IDS = [e for e in ENV_IDS if (ROOT / "models" / e / "policy.json").exists()]


@pytest.fixture(scope="module")
def pages(site) -> Path:
    """The test run's site (conftest's `site`): a page for every MuJoCo env with a policy, and CartPole's page
    (no engine)."""
    return site["site"]


def test_engine_is_stripped_and_only_engine_pages_ship_it(pages):
    record = json.loads((pages / ".rl-web-build.json").read_text())
    engines = {e: s.get("engine") for e, s in registry().items()}  # the env's engine (spec.engine) or None
    mujoco_engine = None
    classic = {p["info"]["budget_gz"] for p in record["pages"].values() if not engines.get(p["env"])}
    for html, p in record["pages"].items():
        engine = [f for f in p["files"] if f.startswith("assets/engine-") and f.endswith(".wasm")]
        assert len(engine) == (1 if engines.get(p["env"]) else 0), (html, engine)
        if p["env"] in ENV_IDS:
            assert p["info"]["first_action_gz"] <= p["info"]["budget_gz"], p["info"]
            # the engine's own budget (web/build/engines.mjs ENGINES), not the classic pages'
            assert all(p["info"]["budget_gz"] > c for c in classic), (p["info"], classic)
            assert f'href="../{engine[0]}"' in (pages / html).read_text(), "the engine is preloaded"
            mujoco_engine = engine[0]
    if not PAGE_IDS or mujoco_engine is None:
        pytest.skip("no shipped MuJoCo policy: no engine page to inspect")
    wasm = (pages / mujoco_engine).read_bytes()
    raw = (ROOT / "node_modules" / "@mujoco" / "mujoco" / "mujoco.wasm").read_bytes()
    names, at = [], 8
    while at < len(wasm):  # the sections: id, LEB128 size; custom sections (id 0) start with their name
        sid, at = wasm[at], at + 1
        size = shift = 0
        while True:
            b, at = wasm[at], at + 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if sid == 0:
            n = wasm[at]  # (names here are shorter than 128 bytes)
            names.append(wasm[at + 1 : at + 1 + n].decode())
        at += size
    assert not [n for n in names if n == "name" or n.startswith(".debug")], names
    assert len(wasm) < 0.5 * len(raw), (len(wasm), len(raw))


def _heap(page) -> int:
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    used = cdp.send("Runtime.getHeapUsage")["usedSize"]
    cdp.detach()
    return used


@pytest.mark.parametrize("env_id", PAGE_IDS)
def test_page_runs_2000_steps_clean(browser, serve, pages, env_id):
    base = serve(pages)
    page = browser.new_page(viewport={"width": 900, "height": 900})
    errors, urls = [], []
    page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: urls.append(r.url))
    page.add_init_script(
        "addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    page.goto(f"{base}/{env_id}/")
    page.wait_for_function(
        "() => window.app && window.app.status().backend && window.app.status().step > 0", timeout=60_000
    )
    assert any("/assets/engine-" in u for u in urls), "the page fetched no engine"
    page.evaluate("window.app.setSpeed('max')")
    seen: dict[int, int] = {}  # episode -> most steps seen (a lower bound of the steps run)
    heap0 = bytes0 = None
    deadline = time.monotonic() + 120
    while sum(seen.values()) < 2500:  # 2,000 steps measured after 500 of warm-up
        assert time.monotonic() < deadline, f"only {sum(seen.values())} steps in 120 s"
        s = page.evaluate("window.app.status()")
        assert s["error"] is None and not errors, (s["error"], errors)
        assert all(np.isfinite(s["state"])), s["state"]
        assert s["lastEnd"] != "non-finite state"
        seen[s["episode"]] = max(seen.get(s["episode"], 0), s["step"])
        if heap0 is None and sum(seen.values()) >= 500:  # past the first allocations (JIT, caches)
            heap0, bytes0 = _heap(page), s["engineBytes"]
        time.sleep(0.1)
    s = page.evaluate("window.app.status()")
    heap1 = _heap(page)
    print(
        f"{env_id}: {sum(seen.values())}+ steps in {len(seen)} episodes, returns {s['agentReturns'][:5]}; "
        f"engine memory {bytes0} -> {s['engineBytes']} bytes, JS heap {heap0} -> {heap1} bytes"
    )
    assert s["engineBytes"] == bytes0 > 0, "the engine's memory grew"
    spec = page.evaluate("window.app.spec")
    if s["agentReturns"]:  # the shipped policy walks as well in the page (the closed-loop test: in Node)
        assert np.mean(s["agentReturns"]) >= spec["solved"], s["agentReturns"]
    assert heap1 - heap0 < 2 * 2**20, f"the JS heap grew by 2 MB or more: {heap0} -> {heap1} bytes"
    assert not errors, errors
    # a push: the torso (under the camera's focus, x = 240 world px) dragged 80 px forward is 2 m/s more at
    # the grabbed point; the torso's x velocity (qvel[0]) grows and the episode is marked as pushed. From an
    # episode's start: mid-run the first body under the torso's vertical may be a leg (a flipped HalfCheetah),
    # whose push moves the torso less
    page.evaluate("window.app.pause(); window.app.reset()")
    before = page.evaluate("window.app.status()")
    assert not page.evaluate("window.app.drag([5, 5], [50, 5])"), "the sky is not a body"
    drag = "([y]) => window.app.drag([240, y], [320, y])"
    grabbed = next((y for y in range(60, 330, 6) if page.evaluate(drag, [y])), None)  # the first body, once
    after = page.evaluate("window.app.status()")
    nq = len(before["state"]) // 2
    assert grabbed is not None and after["pushed"], "nothing to grab on the vertical through the torso"
    assert after["state"][:nq] == before["state"][:nq] and after["state"][nq] > before["state"][nq] + 0.5
    page.close()


# ---- the trainer's reward scaling (norm_reward: CleanRL's MuJoCo recipe) ----


def test_reward_scaling_divides_by_the_return_std_and_resumes(tmp_path):
    import dataclasses

    from rl_web_agent.train.checkpoint import load_state, save_state
    from rl_web_agent.train.config import preset
    from rl_web_agent.train.ppo import Trainer

    cfg = dataclasses.replace(preset("Hopper-v5"), n_steps=64, minibatches=4, epochs=1, total_timesteps=256)
    assert cfg.norm_reward and cfg.obs_norm
    t = Trainer(cfg, device="cpu")
    t.run(should_stop=lambda: t.s.iteration >= 2)
    assert t.ret_rms.count > 64, "every step updates the running std of the discounted return"
    var, disc = t.ret_rms.var.copy(), t.disc_ret.copy()
    save_state(tmp_path, t.state_dict())
    again = Trainer(None, device="cpu", state=load_state(tmp_path))
    assert np.array_equal(again.ret_rms.var, var) and np.array_equal(again.disc_ret, disc)
    off = dataclasses.replace(cfg, norm_reward=False)
    with pytest.raises(ValueError, match="reward normaliser"):
        Trainer(off, device="cpu", state=load_state(tmp_path))
    # same seed, same first rollout: scaled, the value targets are the unscaled ones over the return's std
    ref = Trainer(off, device="cpu")
    scaled, raw = Trainer(cfg, device="cpu")._rollout(), ref._rollout()
    assert np.array_equal(scaled[1].numpy(), raw[1].numpy()), "the same actions"
    ratio = float(raw[4].abs().mean() / scaled[4].abs().mean())
    assert ratio > 1.5, f"Hopper's returns are several times their std: scaled by {ratio:.2f} only"


def test_single_file_page_runs_from_disk(browser, tmp_path):
    """--single inlines the engine (base64): the page compiles it from bytes, opened from file://."""
    if not PAGE_IDS:
        pytest.skip("no shipped MuJoCo policy")
    env_id = PAGE_IDS[0]
    r = build(["--kernel", _kernel(env_id, tmp_path), "--out", tmp_path / "single", "--single"])
    assert r.returncode == 0, r.stderr
    page, errors = browser.new_page(), []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto((tmp_path / "single" / f"{env_id}.html").as_uri())
    page.wait_for_function("() => window.app && window.app.status().step > 20", timeout=60_000)
    assert page.evaluate("window.app.status().error") is None and not errors, errors
    page.close()
