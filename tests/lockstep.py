"""Gymnasium's classic-control envs and their JS ports (web/page/envs/) stepped side by side.

The JS envs run in one Node process per env (tests/lockstep_runner.mjs); Gymnasium's episodes are recorded
here. Three ways to compare, all from Gymnasium's own initial states (reset(seed=...), then the JS env's
reset({state})):

- lockstep: before every step the JS env takes Gymnasium's state, so each step's arithmetic is compared
  on its own;
- replay: the JS env runs each episode on its own under Gymnasium's actions;
- closed loop: each env is driven by a policy's greedy action on its own observation.

Rows are compared bit for bit: float32 obs, float64 state, float64 reward, terminated and truncated (and
the actions, in closed loop). The JS envs compute every libm function correctly rounded (sincos.js: LIBM);
glibc and NumPy do not quite (pow(x, 2) differs from x * x on ~0.08% of arguments, NumPy's float32 sin/cos
on ~0.05%, glibc's sin/cos on a few in 100,000). So a row may differ, and then `explain` must show why: the
JS env redoes that step from Gymnasium's state with Gymnasium's own libm values swapped in (env.libm), and
must then give Gymnasium's row exactly, and every value swapped in that differs from the JS env's own must
be a libm misrounding (mpmath: the JS value is the correctly rounded one, libm's is not).
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "lockstep_runner.mjs"

# Gymnasium's libm calls, made as its envs make them (on NumPy or Python scalars), by the names of LIBM in
# web/page/envs/sincos.js. MountainCar's two envs call math.cos; the others NumPy's sin/cos.
LIBM_PY = {
    "sin": lambda x: float(np.sin(np.float64(x))),
    "cos": lambda x: float(np.cos(np.float64(x))),
    "sq": lambda x: float(np.float64(x) ** 2),  # libm pow, as x**2 on a NumPy or Python float
    "sqf": lambda x: float(np.float32(x) ** 2),  # powf
    "sinf": lambda x: float(np.sin(np.float32(x))),  # NumPy's float32 sin
    "cosf": lambda x: float(np.cos(np.float32(x))),
}
LIBM_PY_BY_ENV = {"MountainCar-v0": {"cos": math.cos}, "MountainCarContinuous-v0": {"cos": math.cos}}
# CartPole derives two constants in __init__ (a patched constant must update them)
DERIVED = {
    "CartPole-v1": lambda u: (
        setattr(u, "total_mass", u.masspole + u.masscart),
        setattr(u, "polemass_length", u.masspole * u.length),
    )
}


def node_exe() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found on PATH: install Node 20")
    return node


@cache
def js_specs() -> dict[str, dict]:
    """ENVS' specs (web/page/envs/index.js), by Gymnasium id: the envs whose physics is plain JS (the
    classic-control ports; an env with an engine, MuJoCo, has its own tests)."""
    out = subprocess.run(
        [node_exe(), str(RUNNER), "--specs"], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def unb64(s: str, dtype=np.float64) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype).copy()


@dataclass
class Rows:
    """One row per reset and per step: float32 obs [R, O], float64 state [R, S], reward [R], flags [R]
    (terminated | truncated << 1); a reset row has reward 0 and flags 0."""

    obs: np.ndarray
    state: np.ndarray
    reward: np.ndarray
    flags: np.ndarray

    @classmethod
    def decode(cls, d: dict, spec: dict) -> Rows:
        obs = unb64(d["obs"], np.float32).reshape(-1, len(spec["obsNames"]))
        return cls(
            obs,
            unb64(d["state"]).reshape(-1, spec["stateSize"]),
            unb64(d["reward"]),
            unb64(d["flags"], np.uint8),
        )

    def take(self, i) -> Rows:
        return Rows(self.obs[i], self.state[i], self.reward[i], self.flags[i])

    def differs(self, other: Rows) -> np.ndarray:
        """Per row: does any bit differ (obs, state, reward or flags)?"""
        return (
            (self.obs.view(np.uint32) != other.obs.view(np.uint32)).any(1)
            | (self.state.view(np.uint64) != other.state.view(np.uint64)).any(1)
            | (self.reward.view(np.uint64) != other.reward.view(np.uint64))
            | (self.flags != other.flags)
        )


@dataclass
class Episodes:
    """Gymnasium's episodes: actions [T, A] (float64; discrete as integers) and rows (each episode's reset
    row, then one per step)."""

    lengths: np.ndarray
    actions: np.ndarray
    rows: Rows

    @property
    def first_rows(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths + 1)[:-1]])

    @property
    def starts(self) -> np.ndarray:
        return self.rows.state[self.first_rows]

    def episode_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.lengths)), self.lengths + 1)

    def step_of_row(self) -> np.ndarray:
        return np.arange(len(self.rows.reward)) - np.repeat(self.first_rows, self.lengths + 1)


class JsEnvs:
    """A persistent Node process holding JS envs of one id and one set of physical constants."""

    def __init__(self, env_id: str, constants: dict | None = None) -> None:
        self.spec = js_specs()[env_id]
        self.err = tempfile.TemporaryFile()
        cmd = [node_exe(), str(RUNNER), env_id, json.dumps(constants or {})]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True
        )

    def call(self, cmd: str, **msg) -> dict:
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **msg}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self.err.seek(0)
            raise RuntimeError(f"the Node env runner died:\n{self.err.read().decode()[-3000:]}")
        return json.loads(line)

    def rows(self, cmd: str, **msg) -> Rows:
        return Rows.decode(self.call(cmd, **msg), self.spec)

    def libm(self, fn: str, x: np.ndarray) -> np.ndarray:
        """LIBM[fn] of sincos.js ('native_sin'/'native_cos': V8's Math.sin/Math.cos) of each x."""
        return unb64(self.call("libm", fn=fn, x=b64(np.asarray(x, np.float64)))["y"])

    def replay(self, ref: Episodes, lockstep: bool) -> Rows:
        return self.rows(
            "replay",
            lengths=ref.lengths.tolist(),
            starts=b64(ref.starts),
            actions=b64(ref.actions),
            gym=b64(ref.rows.state) if lockstep else None,
        )

    def __enter__(self) -> JsEnvs:
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


# ---- Gymnasium's side ----


def gym_env(env_id: str, constants: dict | None = None) -> gym.Env:
    """gym.make(env_id) with physical constants patched in by attribute (derived ones recomputed)."""
    env = gym.make(env_id)
    for k, v in (constants or {}).items():
        if not hasattr(env.unwrapped, k):
            raise AttributeError(f"{env_id} has no attribute {k}")
        setattr(env.unwrapped, k, v)
    if constants and env_id in DERIVED:
        DERIVED[env_id](env.unwrapped)
    return env


def gym_action(spec: dict, a: np.ndarray):
    return int(a[0]) if spec["action"]["type"] == "discrete" else np.asarray(a, np.float32)


def gym_state(env: gym.Env) -> np.ndarray:
    return np.asarray(env.unwrapped.state, np.float64)


def random_actions(spec: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    """n random actions [n, A]: discrete uniformly; box uniformly over 1.25x the bounds (in float32), so
    that Gymnasium's clipping (and MountainCarContinuous's reward on the unclipped action) is exercised."""
    a = spec["action"]
    if a["type"] == "discrete":
        return rng.integers(0, a["n"], (n, 1)).astype(np.float64)
    lo, hi = 1.25 * np.array(a["low"]), 1.25 * np.array(a["high"])
    return rng.uniform(lo, hi, (n, len(lo))).astype(np.float32).astype(np.float64)


def rollout_random(env_id: str, n: int, seed: int, constants: dict | None = None) -> Episodes:
    """n Gymnasium episodes under random actions, episode i from reset(seed=seed * 100_000 + i)."""
    spec, env, rng = js_specs()[env_id], gym_env(env_id, constants), np.random.default_rng(seed)
    rows: list[list[tuple]] = []
    actions: list[np.ndarray] = []
    for i in range(n):
        o, _ = env.reset(seed=seed * 100_000 + i)
        rows.append([(o, gym_state(env), 0.0, 0)])
        acts = random_actions(spec, rng, spec["maxSteps"])
        for a in acts:
            o, r, term, trunc, _ = env.step(gym_action(spec, a))
            rows[-1].append((o, gym_state(env), float(r), term | trunc << 1))
            if term or trunc:
                break
        actions.append(acts[: len(rows[-1]) - 1])
    env.close()
    return _episodes(rows, actions)


class Greedy:
    """A checkpoint-format policy's greedy action (PyTorch, rl_web_agent.compiler.model.torch_forward): argmax
    for discrete actions, the mean clipped to the bounds for box ones. Equal observations get one forward row,
    so they get equal actions whatever the batch."""

    def __init__(self, model_dir: Path, spec: dict) -> None:
        from rl_web_agent.policy.checkpoint import load_checkpoint

        self.ckpt, self.spec = load_checkpoint(model_dir), spec

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        from rl_web_agent.compiler.model import torch_forward

        if len(obs) == 0:
            return np.zeros((0, 1))
        rows = np.ascontiguousarray(obs, np.float32)
        keys = rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        out = torch_forward(self.ckpt, rows[first])
        a = self.spec["action"]
        if a["type"] == "discrete":
            act = out[:, : a["n"]].argmax(1)[:, None].astype(np.float64)
        else:
            k = len(a["low"])
            act = np.clip(out[:, :k], np.float32(a["low"]), np.float32(a["high"])).astype(np.float32)
        return act[inverse.ravel()].astype(np.float64)


def gym_closed_loop(
    env_id: str, policy: Greedy, n: int, seed: int, constants: dict | None = None
) -> Episodes:
    """n Gymnasium episodes, each env acting greedily on its own obs (one batched forward per step)."""
    spec = js_specs()[env_id]
    envs = [gym_env(env_id, constants) for _ in range(n)]
    rows: list[list[tuple]] = [[] for _ in range(n)]
    actions: list[list[np.ndarray]] = [[] for _ in range(n)]
    obs = np.zeros((n, len(spec["obsNames"])), np.float32)
    for i, env in enumerate(envs):
        obs[i], _ = env.reset(seed=seed * 100_000 + i)
        rows[i].append((obs[i].copy(), gym_state(env), 0.0, 0))
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        for i, a in zip(idx, policy(obs[idx]), strict=True):
            o, rw, term, trunc, _ = envs[i].step(gym_action(spec, a))
            rows[i].append((o, gym_state(envs[i]), float(rw), term | trunc << 1))
            actions[i].append(a)
            obs[i] = o
            alive[i] = not (term or trunc)
    return _episodes(rows, actions)


def js_closed_loop(js: JsEnvs, policy: Greedy, starts: np.ndarray) -> Episodes:
    """One JS episode from each of Gymnasium's initial states, each env acting greedily on its own obs."""
    n = len(starts)
    r = js.rows("reset", states=b64(starts))
    rows: list[list[tuple]] = [[(r.obs[i], r.state[i], 0.0, 0)] for i in range(n)]
    actions: list[list[np.ndarray]] = [[] for _ in range(n)]
    obs, alive = r.obs.copy(), np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        act = policy(obs[idx])
        r = js.rows("step", index=idx.tolist(), actions=b64(act))
        for j, i in enumerate(idx):
            rows[i].append((r.obs[j], r.state[j], r.reward[j], r.flags[j]))
            actions[i].append(act[j])
        obs[idx], alive[idx] = r.obs, r.flags == 0
    return _episodes(rows, actions)


def _episodes(rows: list[list[tuple]], actions: list) -> Episodes:
    """Episodes from per-episode lists of (obs, state, reward, flags) rows and of actions."""
    flat = [row for ep in rows for row in ep]
    col = [[x[k] for x in flat] for k in range(4)]
    return Episodes(
        np.array([len(a) for a in actions]),
        np.array([a for ep in actions for a in ep]),
        Rows(
            np.array(col[0], np.float32),
            np.array(col[1]),
            np.array(col[2], np.float64),
            np.array(col[3], np.uint8),
        ),
    )


# ---- a cache of Gymnasium's episodes ----

CACHE = ROOT / "build" / "test-cache" / "lockstep"


def _gym_side_digest() -> str:
    """A digest of the code that makes Gymnasium's episodes (a change to it invalidates the cache)."""
    import hashlib
    import inspect

    code = [
        gym_env,
        gym_action,
        gym_state,
        random_actions,
        rollout_random,
        Greedy,
        gym_closed_loop,
        _episodes,
        *DERIVED.values(),
    ]
    from rl_web_agent.compiler import model  # Greedy's forward pass (torch_forward) and what it calls

    code.append(model)
    return hashlib.sha256("".join(inspect.getsource(f) for f in code).encode()).hexdigest()


def cached(what: dict, make) -> Episodes:
    """make(), or its result as stored under build/test-cache/ for the same `what`, Gymnasium, NumPy, libc
    and Gymnasium-side code (_gym_side_digest): Gymnasium's side of a comparison does not depend on the JS
    envs, and stepping it is most of this module's time."""
    import hashlib
    import platform

    key = json.dumps(
        {
            **what,
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
            "libc": platform.libc_ver(),
            "machine": platform.machine(),
            "code": _gym_side_digest(),
        },
        sort_keys=True,
    )
    path = CACHE / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".npz")
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return Episodes(z["lengths"], z["actions"], Rows(z["obs"], z["state"], z["reward"], z["flags"]))
    ep = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        lengths=ep.lengths,
        actions=ep.actions,
        obs=ep.rows.obs,
        state=ep.rows.state,
        reward=ep.rows.reward,
        flags=ep.rows.flags,
    )
    tmp.replace(path)
    return ep


# ---- explaining a difference ----


def correctly_rounded(fn: str, x: float) -> float:
    """LIBM's function fn at x, rounded once from the exact value (mpmath at 200 bits)."""
    import mpmath

    with mpmath.workprec(200):
        m = mpmath.mpf(x)
        v = {
            "sin": mpmath.sin,
            "cos": mpmath.cos,
            "sq": lambda m: m * m,
            "sqf": lambda m: m * m,
            "sinf": mpmath.sin,
            "cosf": mpmath.cos,
        }[fn](m)
        if fn.endswith("f"):
            with mpmath.workprec(24):
                v = +v  # to float32's 24 bits, to nearest
        return float(v)


@dataclass
class Explained:
    """explain()'s verdict on each item: ok (Gymnasium's row reproduced, and every libm value that made a
    difference misrounded), and what was swapped in: (fn, x, JS value, libm value, correctly rounded)."""

    ok: np.ndarray
    swapped: list[list[tuple]]
    rows: Rows


def explain(js: JsEnvs, env_id: str, ref: Episodes, rows: np.ndarray) -> Explained:
    """Redo Gymnasium's step into each of `rows` (a reset row: the reset) in the JS env from Gymnasium's
    state before it, with Gymnasium's libm values swapped in (found by asking, until the JS env asks for
    no argument it has not been given)."""
    libm = {**LIBM_PY, **LIBM_PY_BY_ENV.get(env_id, {})}
    steps = ref.step_of_row()
    act_row = np.cumsum(ref.lengths)[ref.episode_of_row()] - ref.lengths[ref.episode_of_row()] + steps - 1
    items = []
    for k in rows:
        t = int(steps[k])
        if t == 0:
            items.append({"start": ref.rows.state[k].tolist(), "steps": 0, "action": None})
        else:
            items.append(
                {
                    "start": ref.rows.state[k - 1].tolist(),
                    "steps": t - 1,
                    "action": ref.actions[act_row[k]].tolist(),
                }
            )
    table: dict[str, dict[float, float]] = defaultdict(dict)
    for _ in range(50):
        enc = {fn: b64(np.array(list(t.items()), np.float64).ravel()) for fn, t in table.items()}
        d = js.call("explain", items=items, table=enc)
        if not d["missing"]:
            break
        for fn, xs in d["missing"].items():
            for x in unb64(xs):
                table[fn][float(x)] = libm[fn](float(x))
    else:
        raise AssertionError(f"{env_id}: explain did not settle in 50 rounds")
    got = Rows.decode(d, js.spec)
    same = ~got.differs(ref.rows.take(np.asarray(rows)))
    swapped, ok = [], same.copy()
    for i, used in enumerate(d["used"]):
        distinct = dict.fromkeys(map(tuple, used))  # a call repeated (obs after reset and setState) once
        s = [(fn, x, own, lib, correctly_rounded(fn, x)) for fn, x, own, lib in distinct]
        swapped.append(s)
        ok[i] &= bool(s) and all(own == cr and lib != cr for _, _, own, lib, cr in s)
    return Explained(ok, swapped, got)


@dataclass
class Separations:
    """Free-running episodes against Gymnasium's: `first` maps each episode that separates to its first
    row (in Gymnasium's rows) whose obs, state or flags differ; `reward_only` lists the rows before that
    (or in episodes that never separate) where only the reward differs (Pendulum's cost: it does not feed
    back into the state)."""

    first: dict[int, int]
    reward_only: list[int]


def separations(ref: Episodes, got: Rows | Episodes) -> Separations:
    """Compare free-running episodes: got's rows in ref's layout (replay), or got's own episodes (closed
    loop, where lengths may differ)."""
    g0 = ref.first_rows
    if isinstance(got, Rows):
        got = Episodes(ref.lengths, ref.actions, got)
    j0 = got.first_rows
    first: dict[int, int] = {}
    reward_only: list[int] = []
    for e in range(len(ref.lengths)):
        n = min(ref.lengths[e], got.lengths[e]) + 1
        a, b = got.rows.take(slice(j0[e], j0[e] + n)), ref.rows.take(slice(g0[e], g0[e] + n))
        traj = (
            (a.obs.view(np.uint32) != b.obs.view(np.uint32)).any(1)
            | (a.state.view(np.uint64) != b.state.view(np.uint64)).any(1)
            | (a.flags != b.flags)
        )
        stop = int(np.argmax(traj)) if traj.any() else n
        if stop < n:
            first[e] = int(g0[e] + stop)
        else:  # equal rows, flags included, end both episodes at the same step
            assert ref.lengths[e] == got.lengths[e], f"episode {e}: equal rows, yet different lengths"
        reward = np.flatnonzero(a.differs(b)[:stop])
        reward_only += (g0[e] + reward).tolist()
    return Separations(first, reward_only)
