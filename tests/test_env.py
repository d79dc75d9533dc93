"""The JS envs of web/page/envs/ (ENVS) against Gymnasium's, stepped from pytest through Node.

For each env in ENVS whose physics is plain JS (the classic-control ports; MuJoCo's have their own tests),
from Gymnasium's own initial states (reset(seed=...), then the JS env's reset({state})): 1,000 episodes
under random actions, 1,000 under the shipped trained policy in closed loop, and 100 under random actions
with every physical constant changed (Gymnasium's env patched to match). Every row is compared bit for
bit (float32 obs, float64 state and reward, terminated, truncated; the actions in closed loop), in
lockstep (every step from Gymnasium's state), in replay (each episode on its own) and in closed loop. The
JS envs compute sin, cos and squares correctly rounded; Gymnasium's libm does not quite, so a step may
differ: then tests/lockstep.py's explain() must show that the JS env, given Gymnasium's libm values, makes
Gymnasium's row exactly, and that each of those values is a libm misrounding (mpmath). Acrobot is
chaotic: one such bit separates most of its free-running episodes.

Gymnasium's episodes are cached under build/test-cache/ (they depend on Gymnasium, NumPy and libm, not on
the JS envs); the first run steps them all.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from tests.lockstep import (
    LIBM_PY,
    ROOT,
    Episodes,
    Greedy,
    JsEnvs,
    Rows,
    b64,
    cached,
    correctly_rounded,
    explain,
    gym_closed_loop,
    gym_env,
    js_closed_loop,
    js_specs,
    rollout_random,
    separations,
)

try:
    SPECS = js_specs()
except (RuntimeError, OSError) as e:  # no Node: nothing here can run
    pytest.skip(f"the JS envs cannot be loaded: {e}", allow_module_level=True)
ENV_IDS = [k for k, s in SPECS.items() if not s.get("engine")]  # engine envs (MuJoCo): tests/test_mujoco.py
EPISODES = 1000
CONSTANT_EPISODES = 100


def check_explained(js: JsEnvs, env_id: str, ref: Episodes, rows, label: str) -> Counter:
    """Every row in `rows` must be explained by libm misroundings (see tests/lockstep.py); returns which
    libm functions misrounded, and prints the first few."""
    rows = np.asarray(sorted(rows), int)
    if not len(rows):
        return Counter()
    ex = explain(js, env_id, ref, rows)
    steps, eps = ref.step_of_row(), ref.episode_of_row()
    fns = Counter(s[0] for sw in ex.swapped for s in sw)
    for i in range(min(3, len(rows))):
        what = [f"{fn}({x!r}) = {lib!r}, correctly rounded {cr!r}" for fn, x, _, lib, cr in ex.swapped[i]]
        print(f"  {label}: episode {eps[rows[i]]} step {steps[rows[i]]}: libm misrounded {', '.join(what)}")
    bad = np.flatnonzero(~ex.ok)
    if len(bad):
        i = bad[0]
        k = rows[i]
        pytest.fail(
            f"{label}: {len(bad)} of {len(rows)} differing rows are not explained by libm, e.g. "
            f"episode {eps[k]} step {steps[k]}: Gymnasium {ref.rows.take([k])}; JS given libm's "
            f"values {ex.rows.take([i])}; swapped in (fn, x, JS, libm, exact): {ex.swapped[i]}"
        )
    return fns


def compare_lockstep(js: JsEnvs, env_id: str, ref: Episodes, label: str) -> None:
    """Every step from Gymnasium's state: each differing row explained."""
    got = js.replay(ref, lockstep=True)
    assert got.obs.shape == ref.rows.obs.shape
    diff = got.differs(ref.rows)
    fns = check_explained(js, env_id, ref, np.flatnonzero(diff), f"{label} (lockstep)")
    print(
        f"{label} (lockstep): {len(ref.lengths)} episodes, {len(diff) - len(ref.lengths)} steps; "
        f"{int(diff.sum())} rows differ, each explained by a libm misrounding ({dict(fns)})"
    )


def compare_free(js: JsEnvs, env_id: str, ref: Episodes, got, label: str) -> None:
    """Free-running episodes (got: Rows in ref's layout, or Episodes): where each separating episode first
    differs, and every reward-only difference before that, explained; all else equal."""
    sep = separations(ref, got)
    fns = check_explained(js, env_id, ref, list(sep.first.values()), label)
    fns_r = check_explained(js, env_id, ref, sep.reward_only, f"{label}, reward only")
    steps = ref.step_of_row()
    at = sorted(int(steps[k]) for k in sep.first.values())
    more = " ..." if len(at) > 20 else ""
    print(
        f"{label}: {len(sep.first)} of {len(ref.lengths)} episodes separate from Gymnasium's, each first "
        f"at a libm misrounding ({dict(fns)}), at steps {at[:20]}{more}; before that, "
        f"{len(sep.reward_only)} rewards differ, each at a misrounding ({dict(fns_r)})"
    )


# ---- the specs ----


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_matches_gymnasium(env_id):
    """ENVS' spec against Gymnasium's registration, metadata, spaces and attributes."""
    spec, env = SPECS[env_id], gym.make(env_id)
    u = env.unwrapped
    assert spec["id"] == env_id and spec["renderFps"] == u.metadata["render_fps"]
    assert spec["maxSteps"] == env.spec.max_episode_steps
    assert len(spec["obsNames"]) == env.observation_space.shape[0]
    env.reset(seed=0)
    assert spec["stateSize"] == len(np.asarray(u.state))
    a, space = spec["action"], env.action_space
    if isinstance(space, gym.spaces.Discrete):
        assert a == {"type": "discrete", "n": int(space.n)} and len(spec["actionNames"]) == space.n
        valid = set(range(space.n))
        assert set(spec["human"]["keys"].values()) <= valid and spec["human"]["idle"] in valid | {"alternate"}
    else:
        assert a["type"] == "box" and a["shape"] == list(space.shape)
        assert len(spec["actionNames"]) == space.shape[0]
        assert a["low"] == space.low.tolist() and a["high"] == space.high.tolist()
        assert spec["human"]["keys"] == {"ArrowLeft": a["low"], "ArrowRight": a["high"]}
        assert spec["human"]["idle"] == [0] * space.shape[0]
    assert isinstance(spec["solved"], (int, float)) and spec["render"]
    for name, c in spec["constants"].items():
        theirs = getattr(u, name)
        assert c["value"] == theirs, f"{env_id}.{name}: {c['value']} vs Gymnasium's {theirs}"
        assert c["min"] < c["value"] < c["max"] and c["label"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_seed_draws_gymnasiums_distribution(env_id):
    """reset({seed}) (the page's PRNG) spans Gymnasium's initial-state box, in Gymnasium's dtype; and its
    obs is reset({state})'s for the same state."""
    n = 2000
    env = gym.make(env_id)
    g = []
    for s in range(n):
        env.reset(seed=s)
        g.append(np.asarray(env.unwrapped.state, np.float64))
    g = np.array(g)
    with JsEnvs(env_id) as js:
        mine = js.rows("seeds", seeds=list(range(n)))
        same_seeds = js.rows("seeds", seeds=list(range(n)))
        again = js.rows("reset", states=b64(mine.state))
    np.testing.assert_array_equal(same_seeds.state, mine.state, err_msg="a seed must give one state")
    span = np.maximum(g.max(0) - g.min(0), 1e-12)
    assert (np.abs(mine.state.min(0) - g.min(0)) <= 0.01 * span).all()
    assert (np.abs(mine.state.max(0) - g.max(0)) <= 0.01 * span).all()
    f32 = (g == g.astype(np.float32)).all()  # Acrobot's reset state is float32
    assert f32 == (mine.state == mine.state.astype(np.float32)).all()
    assert len(np.unique(mine.state[:, 0])) > n // 2, "seeds should draw different states"
    np.testing.assert_array_equal(again.obs, mine.obs)


# ---- random actions ----


@pytest.fixture(scope="module", params=ENV_IDS)
def random_episodes(request):
    env_id = request.param
    ref = cached(
        {"kind": "random", "env": env_id, "n": EPISODES, "seed": 1},
        lambda: rollout_random(env_id, EPISODES, seed=1),
    )
    return env_id, ref


@pytest.mark.slow
def test_random_actions_lockstep(random_episodes):
    env_id, ref = random_episodes
    with JsEnvs(env_id) as js:
        compare_lockstep(js, env_id, ref, f"{env_id}, random actions")


@pytest.mark.slow
def test_random_actions_replay(random_episodes):
    env_id, ref = random_episodes
    with JsEnvs(env_id) as js:
        got = js.replay(ref, lockstep=False)
        compare_free(js, env_id, ref, got, f"{env_id}, random actions (replay)")


# ---- the trained policy, closed loop ----


def trained_model(env_id: str) -> Path | None:
    for d in (ROOT / "build" / "models" / env_id, ROOT / "models" / env_id):
        if (d / "policy.safetensors").exists():
            return d
    return None


@pytest.fixture(scope="module", params=ENV_IDS)
def trained(request):
    env_id = request.param
    model = trained_model(env_id)
    if model is None:
        pytest.skip(f"no trained {env_id} policy in build/models/ or models/: run `make train ENV={env_id}`")
    import hashlib

    import torch

    torch.set_num_threads(1)  # small batches: threads only contend on a shared machine
    policy = Greedy(model, SPECS[env_id])
    digest = hashlib.sha256(b"".join((model / f).read_bytes() for f in ("policy.safetensors", "policy.json")))
    what = {"kind": "closed_loop", "env": env_id, "n": EPISODES, "seed": 3, "policy": digest.hexdigest()}
    ref = cached(what, lambda: gym_closed_loop(env_id, policy, EPISODES, seed=3))
    where = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    return env_id, f"{env_id}, trained policy ({where})", policy, ref


@pytest.mark.slow
def test_trained_policy_closed_loop(trained):
    """Both envs act on their own obs: equal until a libm misrounding; and the episodes that separate
    return, on the whole, what Gymnasium's do (a paired difference of the returns, last-bit ones set to 0,
    within 4 standard errors of 0: a misrounding moves an episode, it does not bias it)."""
    env_id, label, policy, ref = trained
    with JsEnvs(env_id) as js:
        got = js_closed_loop(js, policy, ref.starts)
        compare_free(js, env_id, ref, got, f"{label}, closed loop")
    ret = np.add.reduceat(ref.rows.reward, ref.first_rows)
    mine = np.add.reduceat(got.rows.reward, got.first_rows)
    d = mine - ret
    d[np.abs(d) <= 1e-9 * np.maximum(1, np.abs(ret))] = 0  # last-bit reward differences: not an outcome
    se = d.std(ddof=1) / np.sqrt(len(d)) if d.any() else 0.0
    print(
        f"{label}: mean return over {len(ret)} episodes: Gymnasium {ret.mean():.3f}, JS {mine.mean():.3f} "
        f"(paired difference {d.mean():.3f} +- {se:.3f}; solved at {SPECS[env_id]['solved']})"
    )
    assert abs(d.mean()) <= 4 * se, f"{label}: the JS env's returns differ from Gymnasium's on the whole"


@pytest.mark.slow
def test_trained_policy_lockstep(trained):
    """Gymnasium's closed-loop episodes, the JS env stepped from Gymnasium's state at every step."""
    env_id, label, _, ref = trained
    with JsEnvs(env_id) as js:
        compare_lockstep(js, env_id, ref, label)


# ---- changed physical constants ----


def changed_constants(env_id: str) -> dict[str, float]:
    """Every constant moved off its default, inside its slider range (a value with a short binary
    expansion would hide rounding differences, so an arbitrary one)."""
    return {k: c["value"] + 0.3719 * (c["max"] - c["value"]) for k, c in SPECS[env_id]["constants"].items()}


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_changed_constants(env_id):
    """Random actions with every physical constant changed, in the JS env (constructor) and in Gymnasium
    (attributes patched, derived constants recomputed): lockstep and replay, as above."""
    constants = changed_constants(env_id)
    what = {"kind": "constants", "env": env_id, "n": CONSTANT_EPISODES, "seed": 5, "constants": constants}
    ref = cached(what, lambda: rollout_random(env_id, CONSTANT_EPISODES, seed=5, constants=constants))
    label = f"{env_id}, constants {constants}"
    with JsEnvs(env_id, constants) as js:
        compare_lockstep(js, env_id, ref, label)
        compare_free(js, env_id, ref, js.replay(ref, lockstep=False), f"{label} (replay)")
    with JsEnvs(env_id) as js:  # the defaults do not make these episodes: the constants reach the physics
        assert js.replay(ref, lockstep=True).differs(ref.rows).mean() > 0.5


def test_gymnasium_patch_changes_gymnasium():
    """The patched attributes are the ones Gymnasium's step reads (else the test above compares defaults)."""
    for env_id in ENV_IDS:
        a, b = gym_env(env_id), gym_env(env_id, changed_constants(env_id))
        a.reset(seed=0), b.reset(seed=0)
        act = 0 if SPECS[env_id]["action"]["type"] == "discrete" else np.array([0.5], np.float32)
        for _ in range(5):
            oa, ob = a.step(act)[0], b.step(act)[0]
        assert not np.array_equal(oa, ob), env_id


# ---- the libm functions ----


@pytest.mark.slow
def test_libm_is_correctly_rounded():
    """web/page/envs/sincos.js against mpmath: sin and cos correctly rounded for |x| up to REDUCE_LIMIT
    (2^20), near multiples of pi/2 included; Math.sin/Math.cos beyond; -0, NaN and infinities as IEEE;
    sq, sqf, sinf, cosf correctly rounded."""
    rng = np.random.default_rng(0)
    tiny = np.geomspace(5e-324, 0.8, 500)
    k = np.concatenate([np.arange(1, 2000), rng.integers(2000, 667_000, 3000)])
    near = k * (np.pi / 2)  # the doubles nearest k pi/2 and their neighbours: the hardest reductions
    x = np.concatenate(
        [
            rng.uniform(-0.8, 0.8, 5000),
            rng.uniform(-4, 4, 5000),
            rng.uniform(-100, 100, 5000),
            rng.uniform(-(2**20), 2**20, 2000),
            tiny,
            -tiny,
            near,
            np.nextafter(near, 0),
            np.nextafter(near, np.inf),
            -near,
            [0.5, -0.5, np.pi / 4, 2**20, -(2**20)],
        ]
    )
    with JsEnvs(ENV_IDS[0]) as js:
        got = {fn: js.libm(fn, x) for fn in ("sin", "cos")}
        big = np.array([2**20 * (1 + 2**-52), 1e7, -3e9, 1e300])
        special = np.array([0.0, -0.0, np.nan, np.inf, -np.inf])
        for fn in ("sin", "cos"):
            np.testing.assert_array_equal(js.libm(fn, big), js.libm("native_" + fn, big))
            with np.errstate(invalid="ignore"):  # sin/cos of infinities: NaN, as they should
                np.testing.assert_array_equal(js.libm(fn, special), getattr(np, fn)(special))
            assert np.signbit(js.libm(fn, special)[:2]).tolist() == [False, fn == "sin"]  # sin(-0) = -0
        sq_x = rng.uniform(-10, 10, 20_000)
        f32_x = rng.uniform(-4, 4, 20_000).astype(np.float32).astype(np.float64)
        got_sq = {fn: js.libm(fn, sq_x if fn == "sq" else f32_x) for fn in ("sq", "sqf", "sinf", "cosf")}
    libm_off = Counter()
    for fn, xs in [("sin", x), ("cos", x), ("sq", sq_x), ("sqf", f32_x), ("sinf", f32_x), ("cosf", f32_x)]:
        mine = got[fn] if fn in got else got_sq[fn]
        exact = np.array([correctly_rounded(fn, float(v)) for v in xs])
        bad = np.flatnonzero(mine != exact)
        assert not len(bad), (
            f"{fn}: {len(bad)} of {len(xs)} not correctly rounded, e.g. x={xs[bad[0]]!r}: "
            f"{mine[bad[0]]!r} vs {exact[bad[0]]!r}"
        )
        libm_off[fn] = sum(LIBM_PY[fn](float(v)) != e for v, e in zip(xs, exact, strict=True))
    print(
        f"\nlibm (Gymnasium's) not correctly rounded on: {dict(libm_off)} (of {len(x)} sin/cos arguments, "
        f"{len(sq_x)} squares, {len(f32_x)} float32 arguments)"
    )


def test_rows_differ_detects_every_field():
    """The comparison itself: a flipped bit in any field of a row is a difference (-0 and +0 included)."""
    base = Rows(np.zeros((3, 2), np.float32), np.zeros((3, 2)), np.zeros(3), np.zeros(3, np.uint8))
    for field, value in (("obs", -0.0), ("state", np.nextafter(0, 1)), ("reward", -0.0), ("flags", 1)):
        other = Rows(*(getattr(base, k).copy() for k in ("obs", "state", "reward", "flags")))
        getattr(other, field)[1] = value
        assert other.differs(base).tolist() == [False, True, False], field
