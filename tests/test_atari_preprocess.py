"""The page's Atari preprocessing (web/page/envs/atari/preprocess.js) against the Python it must reproduce:
policy.json `frames` "sb3-atari" (SB3's MaxAndSkipEnv, WarpFrame: cv2 RGB2GRAY then cv2 INTER_AREA, and
VecFrameStack(4) with VecTransposeImage) and "cleanrl-atari" (the same MaxAndSkipEnv, then the wrappers of
Gymnasium 0.29.1, which CleanRL pins: ResizeObservation and GrayScaleObservation, each one cv2 call, and
FrameStack(4)), the real cv2 and wrappers (0.29.1's two cv2 calls written out, as 1.4 is installed).

Every byte must match (0 differing pixels): the gray formulas on all 2^24 colours, single screens (real ALE
frames of three games and synthetic ones: noise, 1-px stripes, gradients) through each pipeline, and the
stacked inputs of replayed ALE episodes, max-pooled skips included. The two pipelines must differ on the
real frames, so a JS pipeline answering for the other is caught. The JS runs in one Node process
(tests/atari_preprocess_runner.mjs), frames passed through temp files.
"""

from __future__ import annotations

import json
import subprocess

import cv2
import gymnasium as gym
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode, roms
from gymnasium.wrappers import FrameStackObservation, TransformObservation
from stable_baselines3.common.atari_wrappers import MaxAndSkipEnv, WarpFrame
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecTransposeImage

from tests.conftest import ROOT
from tests.pages import node

RUNNER = ROOT / "tests" / "atari_preprocess_runner.mjs"
H, W, SIZE = 210, 160, 84
PIPELINES = ["sb3-atari", "cleanrl-atari"]
GAMES = {"pong": 180, "breakout": 60, "space_invaders": 120}  # ROM -> random-action frames before recording
SKIPS = 48  # 4-frame skips recorded per game: 1 + 4 * SKIPS screens


class Replay(gym.Env):
    """An Atari env that replays recorded screens, one per step (a NoFrameskip env's frames)."""

    observation_space = gym.spaces.Box(0, 255, (H, W, 3), np.uint8)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, screens: np.ndarray):
        self.screens, self.t = screens, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.screens[0], {}

    def step(self, action):
        self.t += 1
        return self.screens[self.t], 0.0, False, False, {}


def ale_screens(game: str, warmup: int, n: int) -> np.ndarray:
    """n consecutive getScreenRGB screens of a game under random actions, each held for 4 frames (as
    MaxAndSkipEnv holds them), after `warmup` frames; sticky actions off, fixed seeds."""
    ale = ALEInterface()
    ale.setLoggerMode(LoggerMode.Error)
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(str(roms.get_rom_path(game)))
    actions, rng = ale.getMinimalActionSet(), np.random.default_rng(len(game))
    out = np.empty((n, H, W, 3), np.uint8)
    action = actions[0]
    for t in range(warmup + n):
        if t % 4 == 0:
            action = actions[rng.integers(len(actions))]
        if t >= warmup:
            out[t - warmup] = ale.getScreenRGB()
        ale.act(action)
        if ale.game_over():
            ale.reset_game()
    return out


def synthetic_screens() -> np.ndarray:
    """Noise, 1- to 3-px stripes and checkerboards (gray and single-channel), gradients, flat colours."""
    rng = np.random.default_rng(22)
    frames = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(12)]
    y, x = np.mgrid[:H, :W]
    for period in (2, 3):
        for mask in (y % period == 0, x % period == 0, (x + y) % period == 0):
            frames.append(np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2))
            for c in range(3):
                f = np.zeros((H, W, 3), np.uint8)
                f[..., c] = mask * 255
                frames.append(f)
    ramps = [x * 255 // (W - 1), y * 255 // (H - 1), (x + y) * 255 // (W + H - 2), (x * 7 + y * 3) % 256]
    for r in ramps:
        frames.append(np.repeat(r.astype(np.uint8)[..., None], 3, axis=2))
    frames.append(np.stack([ramps[0], ramps[1], 255 - ramps[2]], axis=2).astype(np.uint8))
    for colour in ((0, 0, 0), (255, 255, 255), (1, 2, 3), (254, 127, 1), (92, 186, 92)):
        frames.append(np.broadcast_to(np.array(colour, np.uint8), (H, W, 3)).copy())
    return np.stack(frames)


def all_colours() -> np.ndarray:
    """Every RGB colour once, as a 4096 x 4096 image."""
    c = np.arange(1 << 24, dtype=np.uint32)
    return np.stack([c >> 16, (c >> 8) & 255, c & 255], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)


def warp_sb3(screen: np.ndarray) -> np.ndarray:
    return WarpFrame(Replay(screen[None])).observation(screen)[..., 0]


def warp_cleanrl(screen: np.ndarray) -> np.ndarray:
    """Gymnasium 0.29.1's ResizeObservation((84, 84)).observation, then GrayScaleObservation's: cv2.resize of
    the RGB screen (INTER_AREA), then cv2.cvtColor (RGB2GRAY), as those wrappers' source has them."""
    small = cv2.resize(screen, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


def stacks_sb3(screens: np.ndarray) -> np.ndarray:
    """What an SB3 policy sees: the (4, 84, 84) inputs of reset and each 4-frame skip."""
    venv = VecTransposeImage(
        VecFrameStack(DummyVecEnv([lambda: WarpFrame(MaxAndSkipEnv(Replay(screens), skip=4))]), 4)
    )
    out = [venv.reset()[0]]
    for _ in range((len(screens) - 1) // 4):
        out.append(venv.step(np.array([0]))[0][0])
    return np.stack(out)


def stacks_cleanrl(screens: np.ndarray) -> np.ndarray:
    """What a CleanRL ppo_atari policy sees (make_env's frame wrappers; 0.29.1's FrameStack repeats the reset
    frame, as 1.4's FrameStackObservation does by default)."""
    env = MaxAndSkipEnv(Replay(screens), skip=4)
    space = gym.spaces.Box(0, 255, (SIZE, SIZE), np.uint8)
    env = FrameStackObservation(TransformObservation(env, warp_cleanrl, space), 4)
    out = [env.reset()[0]]
    for _ in range((len(screens) - 1) // 4):
        out.append(env.step(0)[0])
    return np.stack(out)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Inputs, the JS outputs (one Node process) and the bench's medians."""
    tmp = tmp_path_factory.mktemp("atari")
    episodes = {g: ale_screens(g, warm, 1 + 4 * SKIPS) for g, warm in GAMES.items()}
    real = np.concatenate(list(episodes.values()))
    screens = np.concatenate([real, synthetic_screens()])
    colours = all_colours()
    colours.tofile(tmp / "colours")
    screens.tofile(tmp / "screens")
    req = {
        "gray": {"in": str(tmp / "colours"), "out": str(tmp / "gray")},
        "warp": {"in": str(tmp / "screens"), "out": str(tmp / "warp"), "n": len(screens)},
        "episodes": [],
        "bench": {"in": str(tmp / "screens"), "n": 100, "repeat": 5},
    }
    for g, e in episodes.items():
        e.tofile(tmp / g)
        req["episodes"].append({"in": str(tmp / g), "n": len(e), "out": str(tmp / f"{g}.out")})
    r = subprocess.run(
        [node(), str(RUNNER)], input=json.dumps(req), capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr[-3000:]
    n = len(screens)
    warp = np.fromfile(tmp / "warp", np.uint8).reshape(2, n, SIZE, SIZE)
    stacks = {
        g: np.fromfile(tmp / f"{g}.out", np.uint8).reshape(2, 1 + SKIPS, 4, SIZE, SIZE) for g in episodes
    }
    return {
        "colours": colours,
        "gray": np.fromfile(tmp / "gray", np.uint8).reshape(4096, 4096),
        "screens": screens,
        "n_real": len(real),
        "warp": dict(zip(PIPELINES, warp, strict=True)),
        "episodes": episodes,
        "stacks": stacks,
        "micros": json.loads(r.stdout)["micros"],
    }


def test_gray_formula_on_every_colour(run):
    """grayCv2 is cv2's COLOR_RGB2GRAY on all 2^24 colours."""
    colours, js_cv2 = run["colours"], run["gray"]
    assert int((js_cv2 != cv2.cvtColor(colours, cv2.COLOR_RGB2GRAY)).sum()) == 0


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_each_screen_as_python_warps_it(run, pipeline):
    """Single screens, real and synthetic: every pixel of the 84x84 frame is the Python wrapper's."""
    ref = warp_sb3 if pipeline == "sb3-atari" else warp_cleanrl
    js = run["warp"][pipeline]
    bad = [(i, int((js[i] != ref(s)).sum())) for i, s in enumerate(run["screens"])]
    bad = [(i, k) for i, k in bad if k]
    assert not bad, f"{pipeline}: (screen, differing pixels) {bad[:10]} of {len(run['screens'])} screens"


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_stacked_input_of_replayed_episodes(run, pipeline):
    """The policy's (4, 84, 84) input after reset and each 4-frame skip (max of its last two screens), as
    the real wrappers stack it: SB3 pads a reset with zeros, Gymnasium with copies of its frame."""
    which = PIPELINES.index(pipeline)
    stacks = stacks_sb3 if pipeline == "sb3-atari" else stacks_cleanrl
    for game, screens in run["episodes"].items():
        ref, js = stacks(screens), run["stacks"][game][which]
        assert ref.shape == js.shape, (game, ref.shape, js.shape)
        off = [(s, int((js[s] != ref[s]).sum())) for s in range(len(ref)) if (js[s] != ref[s]).any()]
        assert not off, f"{pipeline} {game}: (stack, differing pixels) {off[:10]}"


def test_the_pipelines_differ_and_pooling_matters(run):
    """On real frames the two pipelines give different frames (so neither can stand in for the other), and
    the max-pool changes some skips' screens (so the episodes test exercises it)."""
    n = run["n_real"]
    real = run["screens"][:n]
    ref_diff = sum(int((warp_sb3(s) != warp_cleanrl(s)).sum()) for s in real[::8])
    js_diff = int((run["warp"]["sb3-atari"][:n] != run["warp"]["cleanrl-atari"][:n]).sum())
    assert ref_diff > 0 and js_diff > 0, (ref_diff, js_diff)
    pooled = sum(
        int((np.maximum(e[4 * s - 1], e[4 * s]) != e[4 * s]).any())
        for e in run["episodes"].values()
        for s in range(1, SKIPS + 1)
    )
    assert pooled > 0


def test_speed(run):
    """Reports the median Node time per screen of each pipeline (no bound: the box is shared)."""
    print("preprocess.js median microseconds per screen:", run["micros"])
    assert set(run["micros"]) == {*PIPELINES, "maxPool"}
