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
import json
import math
import secrets
import subprocess
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.box2d.lunar_lander import heuristic

from tests.conftest import ROOT
from tests.pages import node

RUNNER = ROOT / "tests" / "box2d_runner.mjs"
ENGINE = ROOT / "build" / "engines" / "box2d.wasm"
LANDERS = ["LunarLander-v3", "LunarLanderContinuous-v3"]


@pytest.fixture(scope="module", autouse=True)
def engine():
    """The engine, built by make when missing or stale (incremental: one object per source)."""
    r = subprocess.run(["make", "-s", "engines"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0 and ENGINE.exists(), f"`make engines` failed: {r.stderr[-2000:]}"


def js(req: dict) -> dict:
    r = subprocess.run(
        [node(), str(RUNNER)], input=json.dumps(req), capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


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
