"""The Atari envs of the page (web/page/envs/atari/: ALE 0.12.1 compiled to wasm, build/engines/ale.wasm, with
Gymnasium's AtariPreprocessing and FrameStackObservation in JS) against ale-py 0.12.1 and Gymnasium 1.4.

Bit for bit, from the seed alone: Python plays whole episodes of ALE/<Game>-v5 (frameskip=1, sticky actions
0.25 as v5 has them) through the 'gymnasium-atari' wrappers under random actions, the JS envs replay them in
one Node process from reset({seed}) (tests/atari_runner.mjs), and every observation stack (uint8), reward,
terminated and truncated flag, the last RGB screen and the RAM must be Python's. Sticky actions, the noop
reset and the ALE seed all come from the seed, so any slip in the seeding shows as a different frame within
a few steps. The seeds are drawn afresh by each run (printed on failure).

An imported policy's game (<Game>NoFrameskip-v4, web/page/envs/atari/sb3_wrappers.js) is held to the same
against the wrappers its library trained under: SB3's AtariWrapper (the game's rewards: clip_reward=False)
under a zero-padded 4-frame stack ('sb3-atari'), and CleanRL's chain with Gymnasium 0.29.1's resize and gray
written out (tests/test_atari_preprocess.py warp_cleanrl) under a repeating stack ('cleanrl-atari'). Its
episodes go on through unseeded resets: after a lost life (EpisodicLifeEnv) a reset is a noop step.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess

import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.pages import built_engine, node, node_json

RUNNER = ROOT / "tests" / "atari_runner.mjs"
ENGINE = ROOT / "build" / "engines" / "ale.wasm"
GAMES = ["ALE/Pong-v5", "ALE/Breakout-v5", "ALE/SpaceInvaders-v5"]


@pytest.fixture(scope="module", autouse=True)
def engine():
    built_engine(ENGINE)


def js(req: dict) -> dict:
    return node_json(RUNNER, req)


def unb64(s: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype)


IMPORTED = [
    "PongNoFrameskip-v4 sb3-atari",
    "BreakoutNoFrameskip-v4 sb3-atari",
    "BreakoutNoFrameskip-v4 cleanrl-atari",
    "SpaceInvadersNoFrameskip-v4 sb3-atari",
]


def make(key: str) -> gym.Env:
    """The env of a key of the page's registry: '<id>' ('gymnasium-atari', as the trainer makes it) or '<id>
    <frames>' (an imported policy's wrappers, policy.json `frames`)."""
    import ale_py

    gym.register_envs(ale_py)
    env_id, _, frames = key.partition(" ")
    if frames:
        return imported(gym.make(env_id), frames)
    env = gym.make(env_id, frameskip=1)
    env = gym.wrappers.AtariPreprocessing(
        env, noop_max=30, frame_skip=4, screen_size=84, terminal_on_life_loss=False, grayscale_obs=True
    )
    return gym.wrappers.FrameStackObservation(env, 4)


def imported(env: gym.Env, frames: str) -> gym.Env:
    """SB3's AtariWrapper, or CleanRL's ppo_atari wrappers, with the rewards unclipped, under the 4-frame
    stack the library pads with zeros (VecFrameStack) or with the reset frame (0.29.1's FrameStack)."""
    from stable_baselines3.common import atari_wrappers as aw

    from tests.test_atari_preprocess import warp_cleanrl

    if frames == "sb3-atari":
        env = aw.AtariWrapper(env, clip_reward=False)
        env = gym.wrappers.TransformObservation(
            env, lambda o: o[..., 0], gym.spaces.Box(0, 255, (84, 84), np.uint8)
        )
        return gym.wrappers.FrameStackObservation(env, 4, padding_type="zero")
    assert frames == "cleanrl-atari", frames
    env = aw.MaxAndSkipEnv(aw.NoopResetEnv(env, noop_max=30), skip=4)
    env = aw.EpisodicLifeEnv(env)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = aw.FireResetEnv(env)
    env = gym.wrappers.TransformObservation(env, warp_cleanrl, gym.spaces.Box(0, 255, (84, 84), np.uint8))
    return gym.wrappers.FrameStackObservation(env, 4, padding_type="reset")


def play(
    env_id: str, seed: int, actions: np.ndarray, ram: tuple[int, int, int] | None = None, resets=0
) -> dict:
    """One Python episode from reset(seed=seed) under actions (to the episode's end, or on through `resets`
    unseeded resets); ram: (step, index, value), a RAM byte set through ALE's setRAM before that step."""
    env = make(env_id)
    obs, _ = env.reset(seed=seed)
    out = {"obs": [np.asarray(obs)], "reward": [], "terminated": [], "truncated": []}
    for t, a in enumerate(actions):
        if ram is not None and ram[0] == t:
            env.unwrapped.ale.setRAM(ram[1], ram[2])
        obs, r, term, trunc, _ = env.step(int(a))
        out["obs"].append(np.asarray(obs))
        out["reward"].append(r)
        out["terminated"].append(term)
        out["truncated"].append(trunc)
        if term or trunc:
            if resets == 0:
                break
            resets -= 1
            out["obs"].append(np.asarray(env.reset()[0]))
    out["screen"] = env.unwrapped.ale.getScreenRGB()
    out["ram"] = env.unwrapped.ale.getRAM()
    env.close()
    return out


def check(env_id: str, seeds: list[int], n_steps: int, ram=None, resets=0) -> None:
    rng = np.random.default_rng(seeds[0])
    n_act = make(env_id).action_space.n
    episodes = [(s, rng.integers(0, n_act, n_steps)) for s in seeds]
    got = js(
        {
            "cmd": "replay",
            "env": env_id,
            "episodes": [
                {"seed": s, "actions": a.tolist(), "ram": ram, "resets": resets} for s, a in episodes
            ],
        }
    )
    for (seed, actions), g in zip(episodes, got["episodes"], strict=True):
        want = play(env_id, seed, actions, ram, resets)
        obs_w = np.stack(want["obs"])
        obs_g = unb64(g["obs"], np.uint8).reshape(-1, *obs_w.shape[1:])
        where = f"{env_id} seed {seed}"
        assert len(obs_g) == len(obs_w), f"{where}: JS played {len(obs_g) - 1} steps, Python {len(obs_w) - 1}"
        bad = np.flatnonzero((obs_g != obs_w).reshape(len(obs_w), -1).any(1))
        if bad.size:
            n_diff = int((obs_g[bad[0]] != obs_w[bad[0]]).sum())
            raise AssertionError(f"{where}: observation {bad[0]} of {len(obs_w)} differs ({n_diff} values)")
        np.testing.assert_array_equal(unb64(g["reward"], np.float64), want["reward"], err_msg=where)
        np.testing.assert_array_equal(
            unb64(g["terminated"], np.uint8).astype(bool), want["terminated"], where
        )
        np.testing.assert_array_equal(unb64(g["truncated"], np.uint8).astype(bool), want["truncated"], where)
        np.testing.assert_array_equal(unb64(g["screen"], np.uint8), want["screen"].ravel(), err_msg=where)
        np.testing.assert_array_equal(np.array(g["ram"]), want["ram"], err_msg=where)
    print(f"{env_id}: {sum(len(a) for _, a in episodes)} actions, JS {got['micros']:.0f} us/step")


@pytest.mark.parametrize("env_id", GAMES)
def test_atari_episodes_bit_identical(env_id):
    """Two whole episodes per game (random actions; Pong's last about 800 steps, 3,200 frames)."""
    seeds = [secrets.randbelow(2**31) for _ in range(2)]
    try:
        check(env_id, seeds, 4000)
    except AssertionError as e:
        raise AssertionError(f"seeds {seeds}: {e}") from None


@pytest.mark.parametrize("key", IMPORTED)
def test_imported_policies_games_bit_identical(key):
    """An imported policy's game under its library's wrappers: an episode and 3 more from unseeded resets
    (Breakout's are lives: a lost life terminates, its reset is a noop step; Pong's are new games)."""
    seed = secrets.randbelow(2**31)
    try:
        check(key, [seed], 1500, resets=3)
    except AssertionError as e:
        raise AssertionError(f"seed {seed}: {e}") from None


def test_ram_push_is_ales_setram():
    """A push edits the game's RAM (env.setState): the same byte set through ale-py's setRAM plays on alike
    (Pong's RAM 13 is the player's score: the screen's digits change)."""
    seed = secrets.randbelow(2**31)
    try:
        check("ALE/Pong-v5", [seed], 300, ram=[120, 13, 7])
    except AssertionError as e:
        raise AssertionError(f"seed {seed}: {e}") from None


def test_state_is_the_ram_and_pushes_are_checked():
    """env.state is the 128 bytes of RAM; a push with a value that is no byte is refused by name."""
    r = subprocess.run(
        [node(), "--input-type=module", "-e", _JS_BAD_PUSH],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout) == {"size": 128, "error": "RAM byte 5 must be an integer 0..255, got 300"}


_JS_BAD_PUSH = """
import * as pong from './web/page/envs/atari/pong.js';
await pong.load();
const env = new pong.Env();
env.reset({ seed: 1 });
const s = Array.from(env.state);
s[5] = 300;
let error = null;
try { env.setState(s); } catch (e) { error = e.message; }
console.log(JSON.stringify({ size: env.state.length, error }));
"""


# ---- the page: a Pong page built from a random NatureCNN policy (no trained one is needed to test the page)


@pytest.fixture(scope="module")
def pong_page(tmp_path_factory):
    """An ALE/Pong-v5 page (int8 weights) from a random orthogonal NatureCNN on 'gymnasium-atari' frames."""
    from rl_web_agent.compiler.compile import CompileConfig, compile_policy
    from tests.checkpoints import make_cnn_checkpoint
    from tests.pages import build

    tmp = tmp_path_factory.mktemp("pong")
    model = make_cnn_checkpoint(tmp / "model", seed=5, frames="gymnasium-atari")
    kernel = tmp / "kernel"
    cfg = CompileConfig(model_dir=model, out=kernel, weights="int8", image_parity_samples=32)
    compile_policy(cfg, log=lambda *_: None)
    r = build(["--kernel", kernel, "--out", tmp / "www"])
    assert r.returncode == 0, r.stderr[-2000:]
    return tmp / "www"


@pytest.mark.browser
@pytest.mark.compile
def test_pong_page_plays_with_heat_map_keys_and_push(browser, serve, pong_page):
    """The page loads ALE and the ROM, the agent plays (the CNN's probabilities and value), the screen is
    drawn, memory stays flat at max speed, the saliency heat map covers its 14x14 patches, the human's keys
    drive ALE's actions, a RAM push is marked, and nothing logs an error."""
    from tests.pages import open_page, status, wait_ready

    page, watch = open_page(browser, serve(pong_page) + "/")
    wait_ready(page, timeout=60_000)
    s = status(page)
    assert s["error"] is None and s["env"] == "ALE/Pong-v5", s
    assert len(s["probs"]) == 6 and abs(sum(s["probs"]) - 1) < 1e-5 and s["value"] is not None, s
    assert len(s["state"]) == 128 and s["engineBytes"] > 0
    page.evaluate("window.app.setSpeed('max')")
    page.wait_for_function("() => window.app.status().step > 400", timeout=120_000)
    s1 = status(page)
    assert s1["engineBytes"] == s["engineBytes"], "the engine's memory grew"
    # the screen: Pong's playfield brown fills most of the canvas (not a blank one)
    brown = page.evaluate(
        """() => { const c = document.getElementById('view'); const d = c.getContext('2d')
             .getImageData(0, 0, c.width, c.height).data; let n = 0;
             for (let i = 0; i < d.length; i += 4) n += d[i] === 144 && d[i + 1] === 72 && d[i + 2] === 17;
             return n / (d.length / 4); }"""
    )
    assert brown > 0.5, f"the canvas shows no Pong screen ({brown:.0%} of it is Pong's brown)"
    assert "CNN (32-64-64 conv, 512), int8 weights" in page.text_content("body")
    # ALE is GPL-2.0: the page names it and links its source
    assert "pypi.org/project/ale-py/0.12.1" in page.inner_html("#engine-notice")
    page.wait_for_function("() => (window.app.status().saliency || []).length === 196", timeout=60_000)
    heat = np.array(status(page)["saliency"])
    assert np.isfinite(heat).all() and heat.max() > 0, heat
    # the human: ArrowUp is ALE's RIGHT (Pong's paddle up), action 2
    page.evaluate("window.app.setSpeed(1); window.app.setMode('human')")
    page.keyboard.down("ArrowUp")
    page.wait_for_function("() => window.app.status().lastAction === 2", timeout=10_000)
    page.keyboard.up("ArrowUp")
    # a push: the player's score byte
    ram = status(page)["state"]
    ram[13] = 9
    page.evaluate(f"window.app.setState({ram})")
    assert status(page)["pushed"]
    assert not watch.errors, watch.errors
    page.close()


@pytest.mark.browser
@pytest.mark.compile
def test_pong_page_plays_on_webgpu(browser, serve, pong_page):
    """?backend=webgpu: the CNN's WGSL kernel (SwiftShader here) decides, from the uint8 frames, with
    normalised probabilities; the agent plays and the heat map is computed through it; nothing logs an
    error."""
    from tests.pages import open_page, status, wait_ready

    page, watch = open_page(browser, serve(pong_page) + "/?backend=webgpu")
    wait_ready(page, backend="webgpu", timeout=60_000)
    s = status(page)
    assert s["error"] is None and len(s["probs"]) == 6 and abs(sum(s["probs"]) - 1) < 1e-5, s
    page.evaluate("window.app.setSpeed('max')")
    page.wait_for_function("() => window.app.status().step > 100", timeout=120_000)
    page.wait_for_function("() => (window.app.status().saliency || []).length === 196", timeout=120_000)
    assert np.isfinite(status(page)["saliency"]).all()
    assert status(page)["backend"] == "webgpu"
    assert not watch.errors, watch.errors
    page.close()


@pytest.mark.browser
@pytest.mark.compile
def test_pong_page_timeline_plays_a_training_snapshot(browser, serve, tmp_path):
    """A convolutional policy's training snapshots (compile --snapshots: each its own int8 kernel, certified
    on fewer frames) on the page's timeline: the page starts on the final one, fetches a snapshot's kernel
    only when chosen, plays it with its own value, and plays both side by side from the same state."""
    import shutil as sh

    from rl_web_agent.compiler.compile import CompileConfig
    from rl_web_agent.compiler.snapshots import compile_with_snapshots
    from tests.checkpoints import make_cnn_checkpoint
    from tests.pages import build, open_page, status, wait_ready

    model = make_cnn_checkpoint(tmp_path / "model", seed=5, frames="gymnasium-atari")
    make_cnn_checkpoint(tmp_path / "model" / "snapshots" / "0", seed=6, frames="gymnasium-atari")
    sh.copytree(model, tmp_path / "final", ignore=sh.ignore_patterns("snapshots"))
    sh.move(tmp_path / "final", model / "snapshots" / "4096")
    cfg = CompileConfig(model_dir=model, out=tmp_path / "kernel", weights="int8", image_parity_samples=16)
    compile_with_snapshots(cfg, log=lambda *_: None)
    snap = json.loads((tmp_path / "kernel" / "snapshots" / "0" / "manifest.json").read_text())
    assert snap["weights"]["dtype"] == "int8" and snap["parity"]["samples"] == 16
    r = build(["--kernel", tmp_path / "kernel", "--out", tmp_path / "www"])
    assert r.returncode == 0, r.stderr[-2000:]
    page, watch = open_page(browser, serve(tmp_path / "www") + "/?seed=4")
    wait_ready(page, timeout=60_000)
    assert [s["id"] for s in page.evaluate("window.app.snapshots()")] == ["0", "4096"]
    assert status(page)["snapshot"] == "4096" and not [u for u in watch.urls if "/snapshot-" in u]
    page.evaluate("window.app.useSnapshot('0')")
    step = status(page)["step"]
    page.wait_for_function(f"() => window.app.status().step > {step + 20}", timeout=60_000)
    s = status(page)
    assert s["snapshot"] == "0" and np.isfinite(s["value"]) and abs(sum(s["probs"]) - 1) < 1e-5, s
    assert len([u for u in watch.urls if "/snapshot-" in u and u.endswith(".wasm")]) == 1, watch.urls
    page.evaluate("window.app.pause()")
    a, b = page.evaluate("window.app.compare('0', '4096')")["sides"]
    assert (a["id"], b["id"]) == ("0", "4096") and a["start"] == b["start"]
    page.evaluate("window.app.play()")
    page.wait_for_function(
        "() => window.app.status().compare.sides.every((x) => x.step > 20)", timeout=60_000
    )
    assert not watch.errors, watch.errors
    page.close()


@pytest.mark.browser
@pytest.mark.compile
def test_imported_breakout_page_plays_its_librarys_frames(browser, serve, tmp_path):
    """An SB3 policy's page (BreakoutNoFrameskip-v4, 'sb3-atari' frames: the registry's variant, no trained
    policy needed): it plays under AtariWrapper's rules (a lost life ends an episode: Breakout has 5), and
    nothing logs an error."""
    from rl_web_agent.compiler.compile import CompileConfig, compile_policy
    from tests.checkpoints import make_cnn_checkpoint
    from tests.pages import build, open_page, status, wait_ready

    env_id = "BreakoutNoFrameskip-v4"
    model = make_cnn_checkpoint(tmp_path / "model", n_act=4, seed=2, env_id=env_id, frames="sb3-atari")
    cfg = CompileConfig(model_dir=model, out=tmp_path / "kernel", weights="int8", image_parity_samples=16)
    compile_policy(cfg, log=lambda *_: None)
    r = build(["--kernel", tmp_path / "kernel", "--out", tmp_path / "www"])
    assert r.returncode == 0, r.stderr[-2000:]
    page, watch = open_page(browser, serve(tmp_path / "www") + "/")
    wait_ready(page, timeout=60_000)
    s = status(page)
    assert s["error"] is None and s["env"] == env_id and len(s["probs"]) == 4, s
    page.evaluate("window.app.setSpeed('max')")
    # a random policy loses its lives within a few hundred steps: each one an episode of its own
    page.wait_for_function("() => window.app.status().episode >= 3", timeout=120_000)
    assert not watch.errors, watch.errors
    page.close()


def test_build_refuses_a_policy_whose_frames_the_page_does_not_make():
    """A CleanRL policy named for ALE/Pong-v5 (whose page makes 'gymnasium-atari' frames) is refused in one
    line that names both; an imported one's NoFrameskip-v4 game finds its library's frames."""
    code = """
const { envFiles, loadEnvs } = await import('./web/build/page.mjs');
const envs = await loadEnvs();
const out = { variant: envFiles(envs, 'PongNoFrameskip-v4', 'cleanrl-atari').variant };
try { envFiles(envs, 'ALE/Pong-v5', 'cleanrl-atari'); } catch (e) { out.error = e.message; }
console.log(JSON.stringify(out));
"""
    r = subprocess.run(
        [node(), "--input-type=module", "-e", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["variant"] == "cleanrl-atari", out
    assert out["error"].startswith("the policy sees 'cleanrl-atari' frames, the page's ALE/Pong-v5 makes "), (
        out
    )
    assert "'gymnasium-atari'" in out["error"] and "\n" not in out["error"], out
