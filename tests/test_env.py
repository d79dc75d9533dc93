"""bundle/src/envs/cartpole.js against Gymnasium's CartPole-v1, stepped from pytest through Node.

One Node process replays a whole batch of Gymnasium episodes (JSON in, base64-packed arrays out): the
same initial float64 states and the same action sequences, under random actions, a linear controller
(long episodes that reach the 500-step truncation) and the trained policy when there is one. Two ways:

- lockstep: before every step the JS env takes Gymnasium's float64 state, so each step's arithmetic is
  compared on its own: rewards, terminated and truncated equal at every step, float32 observations equal
  except at most 1 value in 100,000 off by 1 ulp. All three episode sets.
- replay: the JS env runs each episode on its own from the initial state under the recorded actions.
  Random actions and the controller: the same bounds as lockstep. The trained policy's 500-step
  episodes replayed open loop are chaotic (an inverted pendulum without its feedback): a last-bit
  difference between V8's Math.sin/cos and glibc's (about 1% of float64 results) grows until the
  trajectories separate. There the test asserts equality up to each episode's first differing
  observation and reports how many episodes never separate and how often a difference reaches an
  observation.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV_JS = ROOT / "bundle" / "src" / "envs" / "cartpole.js"
EPISODES = 1000
MAX_ULP_RATE = 1e-5  # lockstep: at most 1 float32 obs value in 100,000 may differ, by 1 ulp

# Replays every episode from its initial state under its actions (lockstep: from Gymnasium's state before
# every step): float32 obs, float64 state, rewards and flags, packed.
NODE_RUNNER = """
import { CartPole } from %s;
let text = '';
for await (const chunk of process.stdin) text += chunk;
const { episodes, states } = JSON.parse(text);
const gym = states ? new Float64Array(Buffer.from(states, 'base64').buffer.slice(0)) : null;
const n = episodes.reduce((a, e) => a + e.actions.length + 1, 0);
const obs = new Float32Array(n * 4), state = new Float64Array(n * 4);
const reward = new Float32Array(n), flags = new Uint8Array(n);
const env = new CartPole();
let k = 0;
for (const ep of episodes) {
  obs.set(env.reset({ state: ep.state }), 4 * k); state.set(env.state, 4 * k++);
  for (const a of ep.actions) {
    if (gym) env.state.set(gym.subarray(4 * (k - 1), 4 * k));
    const r = env.step(a);
    obs.set(r.obs, 4 * k); state.set(env.state, 4 * k);
    reward[k] = r.reward; flags[k++] = r.terminated | (r.truncated << 1);
  }
}
const b64 = (a) => Buffer.from(a.buffer).toString('base64');
const out = { obs: b64(obs), state: b64(state), reward: b64(reward), flags: b64(flags) };
process.stdout.write(JSON.stringify(out));
"""


@dataclass
class Rollouts:
    """Gymnasium's side of a batch of episodes, flattened: one row per reset and per step."""
    episodes: list[dict]
    obs: np.ndarray  # float32 [rows, 4]
    state: np.ndarray  # float64 [rows, 4]
    reward: np.ndarray  # float32 [rows]
    flags: np.ndarray  # uint8 [rows]: terminated | truncated << 1


def rollout(n: int, policy, seed: int) -> Rollouts:
    """Run n Gymnasium episodes side by side; policy(obs [n, 4], rng) -> actions [n]."""
    envs = [gym.make("CartPole-v1") for _ in range(n)]
    rng = np.random.default_rng(seed)
    eps: list[dict] = []
    rows: list[list[tuple]] = [[] for _ in range(n)]  # (obs, float64 state, reward, flags) per reset/step
    obs = np.zeros((n, 4), np.float32)
    for i, env in enumerate(envs):
        obs[i], _ = env.reset(seed=seed * 100_000 + i)
        eps.append({"state": [float(v) for v in env.unwrapped.state], "actions": []})
        rows[i].append((obs[i].copy(), env.unwrapped.state.copy(), 0.0, 0))
    alive = list(range(n))
    while alive:
        still = []
        for i, a in zip(alive, policy(obs[alive], rng), strict=True):
            o, r, term, trunc, _ = envs[i].step(int(a))
            eps[i]["actions"].append(int(a))
            obs[i] = o
            rows[i].append((o.copy(), envs[i].unwrapped.state.copy(), r, int(term) | int(trunc) << 1))
            if not (term or trunc):
                still.append(i)
        alive = still
    flat = [row for ep in rows for row in ep]
    dtypes = (np.float32, np.float64, np.float32, np.uint8)
    return Rollouts(eps, *(np.array([r[j] for r in flat], dt) for j, dt in enumerate(dtypes)))


def replay_js(ref: Rollouts, lockstep: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The JS env's (obs, float64 state, reward, flags) for the same episodes, from one Node process."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found on PATH: install Node 20")
    src = NODE_RUNNER % json.dumps(ENV_JS.as_uri())
    states = base64.b64encode(np.ascontiguousarray(ref.state).tobytes()).decode() if lockstep else None
    out = subprocess.run([node, "--input-type=module", "-e", src],
                         input=json.dumps({"episodes": ref.episodes, "states": states}),
                         capture_output=True, text=True, check=True, timeout=120)
    d = json.loads(out.stdout)
    raw = {k: base64.b64decode(v) for k, v in d.items()}
    return (np.frombuffer(raw["obs"], np.float32).reshape(-1, 4), np.frombuffer(raw["state"]).reshape(-1, 4),
            np.frombuffer(raw["reward"], np.float32),
            np.frombuffer(raw["flags"], np.uint8))


def compare(ref: Rollouts, label: str, chaotic: bool = False) -> None:
    """Lockstep and replay against Gymnasium, with the bounds in the module docstring."""
    starts = np.cumsum([0] + [len(e["actions"]) + 1 for e in ref.episodes])
    for mode in ("lockstep", "replay"):
        obs, state, reward, flags = replay_js(ref, lockstep=mode == "lockstep")
        assert obs.shape == ref.obs.shape, f"{label} ({mode}): episode lengths differ"
        ulps = np.abs(obs.view(np.int32).astype(np.int64) - ref.obs.view(np.int32).astype(np.int64))
        n_diff, rate = int((ulps > 0).sum()), float((ulps > 0).mean())
        f64 = float((state != ref.state).mean())
        # Rows up to each episode's first differing observation: where the two runs still agree exactly.
        same = np.ones(len(reward), bool)
        separated = 0
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            bad = np.flatnonzero((ulps[a:b] > 0).any(1))
            if len(bad):
                same[a + bad[0]:b] = False
                separated += 1
        print(f"\n{label} ({mode}): {len(ref.episodes)} episodes, {len(reward) - len(ref.episodes)} steps; "
              f"float32 obs values differing: {n_diff} of {ulps.size} (rate {rate:.2e}, max "
              f"{int(ulps.max())} ulp); float64 state values differing: {f64:.3%}; episodes that separate: "
              f"{separated}")
        if mode == "replay" and chaotic:
            np.testing.assert_array_equal(reward[same], ref.reward[same], err_msg=f"{label}: rewards")
            np.testing.assert_array_equal(flags[same], ref.flags[same], err_msg=f"{label}: termination")
            continue
        np.testing.assert_array_equal(reward, ref.reward, err_msg=f"{label} ({mode}): rewards differ")
        np.testing.assert_array_equal(flags, ref.flags, err_msg=f"{label} ({mode}): termination differs")
        assert ulps.max() <= 1, f"{label} ({mode}): an observation differs by {int(ulps.max())} float32 ulps"
        assert rate <= MAX_ULP_RATE, f"{label} ({mode}): {n_diff} of {ulps.size} observations differ by 1 ulp"


def test_random_actions_match_gymnasium():
    ref = rollout(EPISODES, lambda o, rng: rng.integers(0, 2, len(o)), seed=1)
    compare(ref, "random actions")


def test_long_episodes_match_gymnasium():
    """A linear controller keeps the pole up: 500-step episodes end in truncation at the same step."""
    ref = rollout(100, lambda o, rng: (o[:, 2] + 0.3 * o[:, 3] + 0.01 * o[:, 1] > 0).astype(int), seed=2)
    assert (ref.flags & 2).any(), "the controller should reach the time limit"
    compare(ref, "linear controller")


def _trained_model() -> Path | None:
    for d in (ROOT / "build" / "models" / "CartPole-v1", ROOT / "models" / "CartPole-v1"):
        if (d / "policy.safetensors").exists():
            return d
    return None


def test_trained_policy_actions_match_gymnasium():
    model = _trained_model()
    if model is None:
        pytest.skip("no trained CartPole-v1 policy in build/models/ or models/: run `make train`")
    import torch

    from tests.checkpoints import torch_forward
    torch.set_num_threads(1)  # a [<=1000, 4] batch: threads only contend on a shared machine
    ref = rollout(EPISODES, lambda o, rng: torch_forward(model, o)[:, :2].argmax(1), seed=3)
    compare(ref, f"trained policy ({model.relative_to(ROOT)})", chaotic=True)
