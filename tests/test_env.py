"""bundle/src/envs/cartpole.js against Gymnasium's CartPole-v1, stepped from pytest through Node.

Every episode starts from Gymnasium's initial state (reset(seed=...), then the JS env's reset({state})).
The bounds, everywhere: rewards, terminated and truncated equal at every step, float32 observations equal
except at most 1 value in 100,000 off by exactly 1 ulp (and actions equal, where a policy chooses them).

- Random actions (1,000 episodes) and a linear controller (100 episodes that reach the 500-step
  truncation): Gymnasium's action sequences replayed in one Node run, two ways. lockstep: before every
  step the JS env takes Gymnasium's float64 state, so each step's arithmetic is compared on its own.
  replay: the JS env runs each episode on its own under the recorded actions.
- The trained policy (1,000 episodes), closed loop: in each env the action at every step is the policy's
  greedy action on that env's own float32 observation (PyTorch, batched over the live episodes); a
  persistent Node process steps all JS envs, one JSON line each way per step. Then Gymnasium's episodes
  stepwise (lockstep) as above.

The closed loop runs two sets of JS envs. The first uses Gymnasium's own sin/cos values (NumPy's, i.e. the
platform libm's, of the JS env's theta, passed in per step; the runner checks the argument is the env's
theta): it compares everything the JS env computes itself, and must match exactly, float64 state included.
The second uses the JS env's own sin/cos (bundle/src/envs/sincos.js), correctly rounded, where glibc's are
off by an ulp for a few angles (V8's Math.sin/Math.cos, for many more). Closed-loop control does not undo
such a bit: a greedy policy is bang-bang, so while both envs take the same actions the difference between
their states evolves as with no feedback at all, along the inverted pendulum's unstable mode (e-folding
every 0.25 s, a factor of e^40 over 500 steps), until an observation and then an action differ. That test
requires every difference to start at an angle where libm is misrounded (checked with mpmath), and the
other episodes to match within the bounds; it prints where each episode first separates.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV_JS = ROOT / "bundle" / "src" / "envs" / "cartpole.js"
EPISODES = 1000
MAX_ULP_RATE = 1e-5  # at most 1 float32 obs value in 100,000 may differ, by 1 ulp

# Replays every episode from its initial state under its actions (lockstep: from Gymnasium's state before
# every step): float32 obs, float64 state, rewards and flags, packed.
REPLAY_RUNNER = """
import { CartPole } from %s;
let text = '';
for await (const chunk of process.stdin) text += chunk;
const { episodes, states } = JSON.parse(text);
const gym = states ? new Float64Array(new Uint8Array(Buffer.from(states, 'base64')).buffer) : null;
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

# A batch of JS envs behind one JSON line per request: {reset: [[x, xDot, theta, thetaDot], ...]} makes one
# env per row; {index, action, sin, cos} steps envs[index[j]] with action[j], and with its sin/cos answering
# sin[j]/cos[j] for the env's theta unless those are null; {sincos: base64 float64} evaluates the env's own
# sin/cos (V8's Math.sin/Math.cos with native: true). Answers are base64-packed arrays, one row per env
# touched.
STEP_RUNNER = """
import { CartPole } from %s;
import { createInterface } from 'node:readline';
const own = new CartPole();  // its sin/cos: the env's own (bundle/src/envs/sincos.js)
const given = (e, v) => (f) => (x) => {
  if (x !== e.state[2]) throw new Error(`${f}(${x}) in a step, not of the env's theta ${e.state[2]}`);
  return v[f];
};
const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f64 = (s) => new Float64Array(new Uint8Array(Buffer.from(s, 'base64')).buffer);
function rows(envs, results) {
  const n = envs.length, obs = new Float32Array(4 * n), state = new Float64Array(4 * n);
  const reward = new Float32Array(n), flags = new Uint8Array(n);
  envs.forEach((e, j) => {
    obs.set(e.obs, 4 * j); state.set(e.state, 4 * j);
    const r = results?.[j];
    if (r) { reward[j] = r.reward; flags[j] = r.terminated | (r.truncated << 1); }
  });
  return { obs: b64(obs), state: b64(state), reward: b64(reward), flags: b64(flags) };
}
let envs = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const m = JSON.parse(line);
  let out;
  if (m.reset) {
    envs = m.reset.map((s) => { const e = new CartPole(); e.reset({ state: s }); return e; });
    out = rows(envs);
  } else if (m.index) {
    const batch = m.index.map((i) => envs[i]);
    const results = batch.map((e, j) => {
      if (m.sin[j] === null) return e.step(m.action[j]);
      const v = given(e, { sin: m.sin[j], cos: m.cos[j] });
      e.sin = v('sin'); e.cos = v('cos');
      try { return e.step(m.action[j]); } finally { e.sin = own.sin; e.cos = own.cos; }
    });
    out = rows(batch, results);
  } else {
    const x = f64(m.sincos), [sin, cos] = m.native ? [Math.sin, Math.cos] : [own.sin, own.cos];
    out = { sin: b64(x.map(sin)), cos: b64(x.map(cos)) };
  }
  process.stdout.write(JSON.stringify(out) + '\\n');
}
"""
PACKED = {"obs": (np.float32, 4), "state": (np.float64, 4), "reward": (np.float32, 0), "flags": (np.uint8, 0),
          "sin": (np.float64, 0), "cos": (np.float64, 0)}


def node_exe() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found on PATH: install Node 20")
    return node


def unpack(d: dict[str, str]) -> dict[str, np.ndarray]:
    out = {}
    for k, v in d.items():
        dtype, width = PACKED[k]
        a = np.frombuffer(base64.b64decode(v), dtype)
        out[k] = a.reshape(-1, width) if width else a
    return out


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many float32 values lie between a and b (0 for equal values, +0 and -0 included)."""
    def ordered(x):
        i = np.asarray(x, np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(2 ** 31) - i, i)
    return np.abs(ordered(a) - ordered(b))


class NodeEnvs:
    """A persistent Node process holding a batch of JS CartPole envs (STEP_RUNNER)."""

    def __init__(self) -> None:
        self.err = tempfile.TemporaryFile()
        cmd = [node_exe(), "--input-type=module", "-e", STEP_RUNNER % json.dumps(ENV_JS.as_uri())]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True)

    def call(self, **msg) -> dict[str, np.ndarray]:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self.err.seek(0)
            raise RuntimeError(f"the Node env runner died:\n{self.err.read().decode()[-3000:]}")
        return unpack(json.loads(line))

    def sincos(self, x: np.ndarray, native: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The JS env's own sin(x), cos(x) (bundle/src/envs/sincos.js); V8's Math.sin/cos if native."""
        r = self.call(sincos=base64.b64encode(np.ascontiguousarray(x, np.float64).tobytes()).decode(),
                      native=native)
        return r["sin"], r["cos"]

    def __enter__(self) -> NodeEnvs:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


@dataclass
class Rollouts:
    """Gymnasium's side of a batch of episodes, flattened: one row per reset and per step."""
    episodes: list[dict]
    obs: np.ndarray  # float32 [rows, 4]
    state: np.ndarray  # float64 [rows, 4]
    reward: np.ndarray  # float32 [rows]
    flags: np.ndarray  # uint8 [rows]: terminated | truncated << 1

    @staticmethod
    def from_rows(episodes: list[dict], rows: list[list[tuple]]) -> Rollouts:
        flat = [row for ep in rows for row in ep]
        dtypes = (np.float32, np.float64, np.float32, np.uint8)
        return Rollouts(episodes, *(np.array([r[j] for r in flat], dt) for j, dt in enumerate(dtypes)))


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
    return Rollouts.from_rows(eps, rows)


def replay_js(ref: Rollouts, lockstep: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The JS env's (obs, float64 state, reward, flags) for the same episodes, from one Node process."""
    src = REPLAY_RUNNER % json.dumps(ENV_JS.as_uri())
    states = base64.b64encode(np.ascontiguousarray(ref.state).tobytes()).decode() if lockstep else None
    out = subprocess.run([node_exe(), "--input-type=module", "-e", src],
                         input=json.dumps({"episodes": ref.episodes, "states": states}),
                         capture_output=True, text=True, check=True, timeout=120)
    d = unpack(json.loads(out.stdout))
    return d["obs"], d["state"], d["reward"], d["flags"]


def assert_bounds(label: str, obs, ref_obs, reward, ref_reward, flags, ref_flags) -> None:
    """The module's bounds on one comparison, with a one-line summary printed first."""
    ulps = ulp_distance(obs, ref_obs)
    n_diff = int((ulps > 0).sum())
    print(f"{label}: float32 obs values differing: {n_diff} of {ulps.size} (rate {n_diff / ulps.size:.2e}, "
          f"max {int(ulps.max())} ulp)")
    np.testing.assert_array_equal(reward, ref_reward, err_msg=f"{label}: rewards differ")
    np.testing.assert_array_equal(flags, ref_flags, err_msg=f"{label}: terminated/truncated differ")
    assert ulps.max() <= 1, f"{label}: an observation differs by {int(ulps.max())} float32 ulps"
    assert n_diff <= MAX_ULP_RATE * ulps.size, f"{label}: {n_diff} of {ulps.size} obs values differ by 1 ulp"


def compare(ref: Rollouts, label: str, modes=("lockstep", "replay")) -> None:
    """The JS env replaying Gymnasium's episodes (see the module docstring), within the bounds."""
    steps = len(ref.reward) - len(ref.episodes)
    for mode in modes:
        obs, state, reward, flags = replay_js(ref, lockstep=mode == "lockstep")
        assert obs.shape == ref.obs.shape, f"{label} ({mode}): episode lengths differ"
        print(f"\n{label} ({mode}): {len(ref.episodes)} episodes, {steps} steps; float64 state values "
              f"differing: {int((state != ref.state).sum())} of {state.size}")
        assert_bounds(f"{label} ({mode})", obs, ref.obs, reward, ref.reward, flags, ref.flags)


def test_random_actions_match_gymnasium():
    ref = rollout(EPISODES, lambda o, rng: rng.integers(0, 2, len(o)), seed=1)
    compare(ref, "random actions")


def test_long_episodes_match_gymnasium():
    """A linear controller keeps the pole up: 500-step episodes end in truncation at the same step."""
    ref = rollout(100, lambda o, rng: (o[:, 2] + 0.3 * o[:, 3] + 0.01 * o[:, 1] > 0).astype(int), seed=2)
    assert (ref.flags & 2).any(), "the controller should reach the time limit"
    compare(ref, "linear controller")


# ---- the trained policy, closed loop ----

SIDES = ("libm", "own")  # the JS env with Gymnasium's sin/cos values; with its own sin/cos


def _trained_model() -> Path | None:
    for d in (ROOT / "build" / "models" / "CartPole-v1", ROOT / "models" / "CartPole-v1"):
        if (d / "policy.safetensors").exists():
            return d
    return None


def gym_rows(idx: dict[str, np.ndarray], side: str) -> np.ndarray:
    """Positions of idx[side]'s episodes within idx['gym'] (a JS env runs only while Gymnasium's does)."""
    return np.searchsorted(idx["gym"], idx[side])


def closed_loop(model: Path, n: int, seed: int) -> tuple[Rollouts, dict[str, dict[str, np.ndarray]]]:
    """Gymnasium and both JS env sets, each env driven by the policy's greedy action on its own obs.

    Returns Gymnasium's episodes, and for each JS set one record row per step where it and Gymnasium
    both ran: episode, step, and both sides' obs, float64 state, action, reward and flags.
    """
    from tests.checkpoints import torch_forward

    envs = [gym.make("CartPole-v1") for _ in range(n)]
    obs = {s: np.zeros((n, 4), np.float32) for s in ("gym", *SIDES)}
    state = {s: np.zeros((n, 4)) for s in ("gym", *SIDES)}
    eps: list[dict] = []
    rows: list[list[tuple]] = [[] for _ in range(n)]
    for i, env in enumerate(envs):
        obs["gym"][i], _ = env.reset(seed=seed * 100_000 + i)
        state["gym"][i] = env.unwrapped.state
        eps.append({"state": [float(v) for v in env.unwrapped.state], "actions": []})
        rows[i].append((obs["gym"][i].copy(), state["gym"][i].copy(), 0.0, 0))
    rec: dict[str, dict[str, list]] = {s: defaultdict(list) for s in SIDES}
    with NodeEnvs() as js:
        r = js.call(reset=np.concatenate([state["gym"]] * len(SIDES)).tolist())
        for k, s in enumerate(SIDES):
            obs[s][:], state[s][:] = r["obs"][k * n:(k + 1) * n], r["state"][k * n:(k + 1) * n]
        alive = {s: np.ones(n, bool) for s in obs}
        t = 0
        while alive["gym"].any():
            t += 1
            idx = {s: np.flatnonzero(alive[s]) for s in obs}
            batch = np.concatenate([obs[s][idx[s]] for s in obs])
            greedy = torch_forward(model, batch)[:, :2].argmax(1)
            act = dict(zip(obs, np.split(greedy, np.cumsum([len(idx[s]) for s in obs])[:-1]), strict=True))
            # One round trip for both JS sets; the libm set gets np.sin/np.cos of its own theta exactly as
            # Gymnasium's step calls them (on a float64 scalar).
            libm = [(float(np.sin(x)), float(np.cos(x))) for x in state["libm"][idx["libm"], 2]]
            r = js.call(index=np.concatenate([idx[s] + k * n for k, s in enumerate(SIDES)]).tolist(),
                        action=np.concatenate([act[s] for s in SIDES]).tolist(),
                        sin=[v[0] for v in libm] + [None] * len(idx["own"]),
                        cos=[v[1] for v in libm] + [None] * len(idx["own"]))
            reward, flags = np.zeros(n, np.float32), np.zeros(n, np.uint8)
            for i, a in zip(idx["gym"], act["gym"], strict=True):
                o, rw, term, trunc, _ = envs[i].step(int(a))
                obs["gym"][i], state["gym"][i] = o, envs[i].unwrapped.state
                reward[i], flags[i] = rw, int(term) | int(trunc) << 1
                eps[i]["actions"].append(int(a))
                rows[i].append((o.copy(), state["gym"][i].copy(), rw, flags[i]))
            alive["gym"][idx["gym"]] = flags[idx["gym"]] == 0
            start = 0
            for s in SIDES:
                i, j = idx[s], slice(start, start + len(idx[s]))
                start += len(i)
                obs[s][i], state[s][i] = r["obs"][j], r["state"][j]
                alive[s][i] = (r["flags"][j] == 0) & alive["gym"][i]
                for key, mine, theirs in (("obs", r["obs"][j], obs["gym"][i]),
                                          ("state", r["state"][j], state["gym"][i]),
                                          ("action", act[s], act["gym"][gym_rows(idx, s)]),
                                          ("reward", r["reward"][j], reward[i]),
                                          ("flags", r["flags"][j], flags[i])):
                    rec[s][key].append(mine)
                    rec[s]["gym_" + key].append(theirs)
                rec[s]["episode"].append(i)
                rec[s]["step"].append(np.full(len(i), t))
    return Rollouts.from_rows(eps, rows), {s: {k: np.concatenate(v) for k, v in d.items()}
                                           for s, d in rec.items()}


def explain(rec: dict[str, np.ndarray], ref: Rollouts, label: str) -> set[int]:
    """Where each separating episode first differs from Gymnasium (float64 state, obs, action), printed;
    returns the separating episodes."""
    ulps = ulp_distance(rec["obs"], rec["gym_obs"]).max(1)
    bad = (ulps > 0) | (rec["action"] != rec["gym_action"]) | (rec["flags"] != rec["gym_flags"])
    episodes = np.unique(rec["episode"][bad])
    starts = np.cumsum([0] + [len(e["actions"]) + 1 for e in ref.episodes])
    print(f"{label}: {len(episodes)} of {len(ref.episodes)} episodes separate from Gymnasium's")
    with NodeEnvs() as js:
        for ep in episodes:
            rows = np.flatnonzero(rec["episode"] == ep)
            first = {k: rows[np.argmax(m[rows])] if m[rows].any() else None for k, m in
                     (("state", (rec["state"] != rec["gym_state"]).any(1)), ("obs", ulps > 0),
                      ("action", rec["action"] != rec["gym_action"]))}
            k = first["state"]
            if k is None:
                print(f"  episode {ep}: float64 states equal throughout, yet it separates")
                continue
            t = int(rec["step"][k])
            before = ref.state[starts[ep] + t - 1]  # the same in both envs: their states agreed until step t
            theta = float(before[2])
            own = [float(v[0]) for v in js.sincos(before[2:3])]
            at = {k: "-" if first[k] is None else int(rec["step"][first[k]]) for k in ("obs", "action")}
            print(f"  episode {ep}: float64 state first differs at step {t}, from {before.tolist()}; "
                  f"theta {theta!r}: JS sin, cos {own}, libm {[float(np.sin(theta)), float(np.cos(theta))]}; "
                  f"JS {rec['state'][k].tolist()} vs Gymnasium {rec['gym_state'][k].tolist()}; "
                  f"obs first differ at step {at['obs']}, actions at step {at['action']}")
    return {int(ep) for ep in episodes}


def check_closed_loop(rec: dict[str, np.ndarray], label: str) -> None:
    diff = int((rec["action"] != rec["gym_action"]).sum())
    f64 = int((rec["state"] != rec["gym_state"]).sum())
    print(f"\n{label}: {len(rec['step'])} steps compared; float64 state values differing: {f64} of "
          f"{rec['state'].size}; actions differing: {diff}")
    assert_bounds(label, rec["obs"], rec["gym_obs"], rec["reward"], rec["gym_reward"], rec["flags"],
                  rec["gym_flags"])
    assert diff == 0, f"{label}: {diff} actions differ"


@pytest.fixture(scope="module")
def trained():
    model = _trained_model()
    if model is None:
        pytest.skip("no trained CartPole-v1 policy in build/models/ or models/: run `make train`")
    import torch
    torch.set_num_threads(1)  # a [<=3000, 4] batch: threads only contend on a shared machine
    ref, rec = closed_loop(model, EPISODES, seed=3)
    return f"trained policy ({model.relative_to(ROOT)})", ref, rec


def test_trained_policy_closed_loop_matches_gymnasium(trained):
    """Closed loop, the JS env given Gymnasium's sin/cos: all else it computes must match, bit for bit."""
    label, ref, rec = trained
    assert len(ref.episodes) == EPISODES and len(rec["libm"]["step"]) == len(ref.reward) - EPISODES
    check_closed_loop(rec["libm"], f"{label}, closed loop, libm sin/cos")
    # Stronger than the bounds on obs: the same operations in the same order give the same float64 state.
    # (A last-bit change in xacc, say, alters no float32 obs over 1,000 episodes: x does not amplify it.)
    np.testing.assert_array_equal(rec["libm"]["state"], rec["libm"]["gym_state"],
                                  err_msg=f"{label}, closed loop, libm sin/cos: float64 states differ")


def test_trained_policy_stepwise_matches_gymnasium(trained):
    """Gymnasium's closed-loop episodes, the JS env stepped from Gymnasium's float64 state at every step."""
    label, ref, _ = trained
    compare(ref, label, modes=("lockstep",))


def test_trained_policy_closed_loop_with_own_sincos_matches_gymnasium(trained):
    """Closed loop, the JS env with its own sin/cos. Those round correctly; glibc's sin/cos, which Gymnasium
    calls, are off by an ulp for a few angles, and a greedy policy on the unstable pendulum grows that bit
    until an action flips. So every episode that separates must first differ at an angle where libm's sin
    or cos is misrounded and the JS env's are not; every other episode must match bit for bit."""
    label, ref, rec = trained
    theta = ref.state[:, 2]
    with NodeEnvs() as js:
        own_sin, own_cos = js.sincos(theta)
    n_sin, n_cos = int((own_sin != np.sin(theta)).sum()), int((own_cos != np.cos(theta)).sum())
    print(f"\n{label}: the JS env's sin/cos differ from libm's on {n_sin} and {n_cos} of the {len(theta)} "
          f"thetas of Gymnasium's episodes")
    label = f"{label}, closed loop, the JS env's own sin/cos"
    rec = rec["own"]
    separated = explain(rec, ref, label)
    # every episode whose float64 state ever differs: the angle before the step where it first does
    starts = np.cumsum([0] + [len(e["actions"]) + 1 for e in ref.episodes])
    differs = (rec["state"] != rec["gym_state"]).any(1)
    first = {}
    for k in np.flatnonzero(differs):
        ep = int(rec["episode"][k])
        if ep not in first:
            first[ep] = float(ref.state[starts[ep] + int(rec["step"][k]) - 1][2])
    print(f"{label}: float64 states differ in {len(first)} episodes, {len(separated)} of them separate")
    assert separated <= set(first), f"{label}: episodes separate with equal float64 states"
    with NodeEnvs() as js:
        for ep, th in first.items():
            mine = [float(v[0]) for v in js.sincos(np.array([th]))]
            libm, exact = [float(np.sin(th)), float(np.cos(th))], correctly_rounded_sincos(th)
            assert mine == exact and libm != exact, (
                f"{label}: episode {ep} first differs at theta {th!r}, where JS sin, cos = {mine}, libm "
                f"{libm}, correctly rounded {exact}: not a libm rounding error")
    same = ~np.isin(rec["episode"], list(separated))
    check_closed_loop({k: v[same] for k, v in rec.items()}, f"{label}, the other episodes")


def correctly_rounded_sincos(x: float) -> list[float]:
    """sin(x), cos(x) rounded once to the nearest double (mpmath at 200 bits)."""
    import mpmath

    with mpmath.workprec(200):
        return [float(mpmath.sin(mpmath.mpf(x))), float(mpmath.cos(mpmath.mpf(x)))]


def test_sincos_is_correctly_rounded():
    """bundle/src/envs/sincos.js against mpmath: every result for |x| <= 0.5 is the double nearest the true
    value; past 0.5 it is Math.sin/Math.cos."""
    rng = np.random.default_rng(0)
    tiny = np.geomspace(5e-324, 0.5, 2_000)
    x = np.concatenate([rng.uniform(-0.5, 0.5, 30_000), rng.normal(0, 0.05, 30_000), tiny, -tiny,
                        [0.0, -0.0, 0.5, -0.5, np.nextafter(0.5, 1), 1.0, -3.0, 100.0]])
    with NodeEnvs() as js:
        got = np.stack(js.sincos(x), 1)
        native = np.stack(js.sincos(x, native=True), 1)
    inside = np.abs(x) <= 0.5
    exact = np.array([correctly_rounded_sincos(float(v)) for v in x[inside]])
    bad = np.flatnonzero((got[inside] != exact).any(1))
    if len(bad):
        i = bad[0]
        pytest.fail(f"{len(bad)} of {inside.sum()} not correctly rounded, e.g. x={x[inside][i]!r}: "
                    f"{got[inside][i].tolist()} vs {exact[i].tolist()}")
    np.testing.assert_array_equal(np.signbit(got[inside, 0]), np.signbit(x[inside]))  # sin(-0) = -0
    np.testing.assert_array_equal(got[~inside], native[~inside])
