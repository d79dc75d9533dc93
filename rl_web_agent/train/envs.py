"""Batched envs with same-step autoreset (an env id is checked and made by rl_web_agent.policy.env_spaces).

Why not gymnasium.vector.SyncVectorEnv as is: Gymnasium 1.x autoresets on the NEXT step (the step after an
episode ends returns the reset observation and must be masked out of the rollout), and it no longer
reports final_info by default, so code written for gym 0.29 silently loses episode returns. Both envs here
reset in the same step, hand back the final observation of truncated episodes (to bootstrap their value)
and record finished episodes themselves.

- VecCartPole: Gymnasium's own numpy-vectorised CartPoleVectorEnv (the physics of CartPoleEnv on arrays),
  for CartPole ids. Measured on this 2-core CPU: ~100 us per step of the whole batch whatever its size
  (numpy call overhead), i.e. 3 us per env step at 32 copies vs 16 us for BatchedEnv.
- VecPendulum: Gymnasium's PendulumEnv.step on arrays, bit for bit (tests/test_train_envs.py), for
  Pendulum-v1 (which has no vector entry point). A Pendulum-v1 training run spent ~30% of its time in
  BatchedEnv's Python loop (~120 us per step of 8 copies on this loaded 2-core CPU, 40k steps profiled).
- BatchedEnv: any env, n unwrapped copies stepped in one Python loop (13-16 us per CartPole step, about
  SyncVectorEnv's speed).
- AtariEnvs (rl_web_agent/train/atari.py): an ALE v5 env's gymnasium-atari frames, for network nature_cnn.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import DEFAULT_X, DEFAULT_Y
from gymnasium.utils import seeding

from rl_web_agent.policy.env_spaces import EnvError, env_spaces, make_env
from rl_web_agent.policy.envid import is_atari_id

from .atari import AtariEnvs, atari_spaces, is_atari_v5
from .checkpoint import is_plain

# Attributes a fresh copy of an env rebuilds identically, so their absence from a snapshot loses nothing
# (spaces carry their own RNG, used only by sample(), which training never calls).
REBUILT = frozenset(
    {
        "spec",
        "action_space",
        "observation_space",
        "single_action_space",
        "single_observation_space",
        "metadata",
        "render_mode",
        "screen",
        "clock",
        "isopen",
    }
)


def snapshot(obj: Any) -> tuple[dict, list[str]]:
    """(plain-data attributes of obj, names of the other attributes a fresh copy may not reproduce).

    Plain data (numbers, arrays, strings, NumPy RNGs and containers of them) is everything Gymnasium's
    classic-control envs and CartPoleVectorEnv keep between steps, so restoring it onto a fresh copy made
    with the same id continues bit for bit. Simulator handles (MuJoCo's MjData) are not plain data: such an
    env resumes from its fresh copy's state and the caller is told by name."""
    state, lost = {}, []
    for k, v in vars(obj).items():
        if is_plain(v):
            state[k] = v
        elif k not in REBUILT:
            lost.append(k)
    return state, lost


def restore(obj: Any, state: dict) -> None:
    """Set the attributes of a snapshot on a fresh copy of the same env."""
    for k, v in state.items():
        if not isinstance(k, str) or k not in vars(obj):
            raise ValueError(f"the saved env state has attribute {k!r}, which {type(obj).__name__} lacks")
        now = getattr(obj, k)
        if now is not None and v is not None and (type(v) is not type(now) or _shape(v) != _shape(now)):
            raise ValueError(
                f"the saved env attribute {k!r} is a {type(v).__name__} {_shape(v)}, not a "
                f"{type(now).__name__} {_shape(now)}"
            )
        setattr(obj, k, v)


def _shape(x: Any) -> tuple | None:
    return x.shape if isinstance(x, np.ndarray) else None


def _check_like(name: str, saved: Any, now: Any) -> None:
    """A saved wrapper field must have the type and the shape (or length) of the fresh one it replaces."""
    size = (lambda x: _shape(x) or len(x)) if name != "finished" else (lambda x: None)  # finished: any length
    if type(saved) is not type(now) or size(saved) != size(now):
        raise ValueError(f"the saved env field {name!r} does not fit the envs of this config")


class BatchedEnv:
    """n copies of one env in a Python loop: same-step autoreset, own time limit, episode statistics.

    Copies are the unwrapped envs (the checker/order/time-limit wrappers cost ~35% per step); the time
    limit is re-implemented exactly as gymnasium's TimeLimit (truncated once elapsed >= max_episode_steps).
    """

    def __init__(self, env_id: str, n: int, seed: int):
        self.envs = [make_env(env_id).unwrapped for _ in range(n)]
        spec = gym.spec(env_id)
        self.max_steps = spec.max_episode_steps or 0
        space = self.envs[0].action_space
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self.low, self.high = (None, None) if self.discrete else (space.low, space.high)
        self.n = n
        self.obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(self.envs)]).astype(np.float32)
        self.elapsed = [0] * n
        self.ep_return = [0.0] * n
        self.finished: list[tuple[float, int]] = []  # (return, length) of episodes since the last drain

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step all copies. Returns obs (already reset where done), reward, terminated, truncated, and
        {i: final observation} for the truncated (not terminated) copies."""
        obs, rew, term, trunc = [], [], [], []
        final: dict[int, np.ndarray] = {}
        acts = actions.tolist() if self.discrete else np.clip(actions, self.low, self.high)
        elapsed, ep_return, limit = self.elapsed, self.ep_return, self.max_steps
        for i, env in enumerate(self.envs):  # plain Python lists here: numpy scalar indexing costs more
            o, r, te, tr, _ = env.step(acts[i])
            elapsed[i] += 1
            ep_return[i] += r
            tr = (tr or (limit > 0 and elapsed[i] >= limit)) and not te
            if te or tr:
                self.finished.append((ep_return[i], elapsed[i]))
                ep_return[i], elapsed[i] = 0.0, 0
                if tr:
                    final[i] = np.asarray(o, dtype=np.float32)
                o, _ = env.reset()
            obs.append(o)
            rew.append(r)
            term.append(te)
            trunc.append(tr)
        self.obs = np.asarray(obs, dtype=np.float32)
        return self.obs, np.asarray(rew, np.float32), np.asarray(term), np.asarray(trunc), final

    def drain(self) -> list[tuple[float, int]]:
        out, self.finished = self.finished, []
        return out

    def get_state(self) -> tuple[dict, list[str]]:
        """(plain-data state of all copies, names of attributes it could not keep): see snapshot."""
        snaps = [snapshot(e) for e in self.envs]
        lost = sorted({k for _, ks in snaps for k in ks})
        return {
            "obs": self.obs,
            "elapsed": self.elapsed,
            "ep_return": self.ep_return,
            "finished": self.finished,
            "envs": [st for st, _ in snaps],
        }, lost

    def set_state(self, st: dict) -> None:
        if len(st["envs"]) != self.n:
            raise ValueError(f"the state has {len(st['envs'])} envs, the config {self.n}")
        for k in ("obs", "elapsed", "ep_return", "finished"):
            _check_like(k, st[k], getattr(self, k))
        for env, est in zip(self.envs, st["envs"], strict=True):
            restore(env, est)
        self.obs, self.elapsed, self.ep_return = st["obs"], list(st["elapsed"]), list(st["ep_return"])
        self.finished = list(st["finished"])

    def close(self) -> None:
        for e in self.envs:
            e.close()


class VecCartPole:
    """Gymnasium's CartPoleVectorEnv with same-step autoreset, and the interface of BatchedEnv.

    CartPoleVectorEnv resets a finished copy at the start of the NEXT step (ignoring that step's action);
    we do exactly that reset (same RNG, same bounds) right away instead, so no step is wasted or masked."""

    def __init__(self, env_id: str, n: int, seed: int):
        self.venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point").unwrapped
        self.obs = self.venv.reset(seed=seed)[0]
        self.elapsed = np.zeros(n, dtype=np.int64)
        self.ep_return = np.zeros(n)
        self.finished: list[tuple[float, int]] = []

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        v = self.venv
        obs, rew, term, trunc, _ = v.step(np.asarray(actions, dtype=np.int64))
        trunc &= ~term  # as TimeLimit: an episode that fails on its last step is terminated, not truncated
        self.elapsed += 1
        self.ep_return += rew
        done = term | trunc
        final: dict[int, np.ndarray] = {}
        if done.any():
            for i in np.flatnonzero(done):
                self.finished.append((float(self.ep_return[i]), int(self.elapsed[i])))
            final = {int(i): obs[i].copy() for i in np.flatnonzero(trunc)}
            v.state[:, done] = v.np_random.uniform(v.low, v.high, size=(4, int(done.sum())))
            v.steps[done], v.prev_done[:] = 0, False
            obs[done] = v.state[:, done].T
            self.elapsed[done], self.ep_return[done] = 0, 0.0
        self.obs = obs
        return obs, rew, term, trunc, final

    def drain(self) -> list[tuple[float, int]]:
        out, self.finished = self.finished, []
        return out

    def get_state(self) -> tuple[dict, list[str]]:
        """(plain-data state, names of attributes it could not keep): see snapshot."""
        venv, lost = snapshot(self.venv)
        return {
            "obs": self.obs,
            "elapsed": self.elapsed,
            "ep_return": self.ep_return,
            "finished": self.finished,
            "venv": venv,
        }, lost

    def set_state(self, st: dict) -> None:
        for k in ("obs", "elapsed", "ep_return", "finished"):
            _check_like(k, st[k], getattr(self, k))
        restore(self.venv, st["venv"])
        self.obs, self.elapsed, self.ep_return = st["obs"], st["elapsed"], st["ep_return"]
        self.finished = list(st["finished"])

    def close(self) -> None:
        self.venv.close()


class VecPendulum:
    """n copies of Gymnasium's PendulumEnv (time limit included) stepped as arrays, with the interface of
    BatchedEnv and exactly its steps: copy i is seeded with seed + i and draws its resets from its own
    generator, as BatchedEnv's copy i does, and each float operation is the one PendulumEnv.step does on
    scalars, in the same precision (NumPy 2 keeps `python float * float32` in float32)."""

    def __init__(self, env_id: str, n: int, seed: int):
        env = make_env(env_id).unwrapped  # the constants as registered (g is a make() kwarg)
        self.g, self.m, self.l, self.dt = env.g, env.m, env.l, env.dt
        self.max_speed, self.max_torque = env.max_speed, env.max_torque
        env.close()
        self.max_steps = gym.spec(env_id).max_episode_steps or 0
        self.high = np.array([DEFAULT_X, DEFAULT_Y])
        self.rngs = [seeding.np_random(seed + i)[0] for i in range(n)]
        self.th, self.thdot = np.empty(n), np.empty(n)
        for i in range(n):
            self._reset(i)
        self.obs = self._obs()
        self.elapsed = np.zeros(n, dtype=np.int64)
        self.ep_return = np.zeros(n)
        self.finished: list[tuple[float, int]] = []

    def _reset(self, i: int) -> None:
        self.th[i], self.thdot[i] = self.rngs[i].uniform(low=-self.high, high=self.high)

    def _obs(self) -> np.ndarray:
        return np.stack([np.cos(self.th), np.sin(self.th), self.thdot], 1).astype(np.float32)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        th, thdot, g, m, l, dt = self.th, self.thdot, self.g, self.m, self.l, self.dt
        u = np.clip(
            np.asarray(actions, dtype=np.float32).reshape(len(th), -1)[:, 0],
            -self.max_torque,
            self.max_torque,
        )
        # PendulumEnv squares a float32 scalar: libm's powf, which here misrounds some squares that
        # np.square (and so u ** 2 on an array) rounds correctly
        u2 = np.array([x**2 for x in u], dtype=np.float32)
        costs = (((th + np.pi) % (2 * np.pi)) - np.pi) ** 2 + 0.1 * thdot**2 + 0.001 * u2
        newthdot = thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u) * dt
        newthdot = np.clip(newthdot, -self.max_speed, self.max_speed)
        self.th, self.thdot = th + newthdot * dt, newthdot
        obs, rew = self._obs(), -costs
        self.elapsed += 1
        self.ep_return += rew
        trunc = self.elapsed >= self.max_steps if self.max_steps > 0 else np.zeros(len(th), dtype=bool)
        term = np.zeros(len(th), dtype=bool)  # a pendulum never fails
        final: dict[int, np.ndarray] = {}
        if trunc.any():
            for i in np.flatnonzero(trunc):
                self.finished.append((float(self.ep_return[i]), int(self.elapsed[i])))
                final[int(i)] = obs[i].copy()
                self._reset(i)
            obs[trunc] = self._obs()[trunc]
            self.elapsed[trunc], self.ep_return[trunc] = 0, 0.0
        self.obs = obs
        return obs, rew.astype(np.float32), term, trunc, final

    def drain(self) -> list[tuple[float, int]]:
        out, self.finished = self.finished, []
        return out

    def get_state(self) -> tuple[dict, list[str]]:
        """(plain-data state, names of attributes it could not keep): nothing is lost."""
        return {
            "obs": self.obs,
            "elapsed": self.elapsed,
            "ep_return": self.ep_return,
            "finished": self.finished,
            "th": self.th,
            "thdot": self.thdot,
            "rngs": [r.bit_generator.state for r in self.rngs],
        }, []

    def set_state(self, st: dict) -> None:
        for k in ("obs", "elapsed", "ep_return", "finished", "th", "thdot", "rngs"):
            _check_like(
                k, st[k], getattr(self, k) if k != "rngs" else [r.bit_generator.state for r in self.rngs]
            )
        for r, rs in zip(self.rngs, st["rngs"], strict=True):
            r.bit_generator.state = rs
        self.obs, self.elapsed, self.ep_return = st["obs"], st["elapsed"], st["ep_return"]
        self.th, self.thdot, self.finished = st["th"], st["thdot"], list(st["finished"])

    def close(self) -> None:
        pass


def train_spaces(cfg) -> tuple[int, dict]:
    """(obs_dim, checkpoint-format action) of what cfg's network reads (a PPOConfig): the env's own flat
    observations (mlp), or the gymnasium-atari frames of an ALE v5 env (nature_cnn); EnvError otherwise."""
    if cfg.network == "nature_cnn":
        return atari_spaces(cfg.env_id)
    if is_atari_v5(cfg.env_id):
        raise EnvError(
            f"env {cfg.env_id!r} is an Atari game: its frames are read by --network nature_cnn (its preset), "
            "not an MLP"
        )
    if is_atari_id(cfg.env_id):
        raise EnvError(
            f"env {cfg.env_id!r}: Atari games train on the gymnasium-atari frames of their ALE v5 id "
            "(ALE/Pong-v5, with sticky actions), not on this one"
        )
    return env_spaces(cfg.env_id)


def make_batched(env_id: str, n: int, seed: int) -> BatchedEnv | VecCartPole | VecPendulum | AtariEnvs:
    """The fastest batched env for env_id: Gymnasium's vectorised CartPole where it applies, our vectorised
    Pendulum for Pendulum-v1 (its entry point unchanged: a re-registered id keeps BatchedEnv); an ALE v5 id's
    gymnasium-atari frames (AtariEnvs)."""
    if is_atari_v5(env_id):
        return AtariEnvs(env_id, n, seed)
    spec = gym.spec(env_id)
    if (spec.vector_entry_point or "").endswith(":CartPoleVectorEnv"):
        return VecCartPole(env_id, n, seed)
    if spec.entry_point == "gymnasium.envs.classic_control.pendulum:PendulumEnv":
        return VecPendulum(env_id, n, seed)
    return BatchedEnv(env_id, n, seed)


class RunningMeanStd:
    """Running mean/variance of observations (parallel-batch update, as in SB3's VecNormalize)."""

    def __init__(self, dim: int):
        self.mean = np.zeros(dim)
        self.var = np.ones(dim)
        self.count = 1e-4

    def state_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, st: dict) -> None:
        if st["mean"].shape != self.mean.shape:
            raise ValueError(
                f"the observation normaliser has shape {st['mean'].shape}, not {self.mean.shape}"
            )
        self.mean, self.var, self.count = st["mean"], st["var"], st["count"]

    def update(self, x: np.ndarray) -> None:
        bm, bv, bc = x.mean(0), x.var(0), x.shape[0]
        delta, tot = bm - self.mean, self.count + bc
        self.mean = self.mean + delta * bc / tot
        self.var = (self.var * self.count + bv * bc + delta**2 * self.count * bc / tot) / tot
        self.count = tot
