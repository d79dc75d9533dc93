"""Atari for training: the `gymnasium-atari` frames (policy.json `frames`, rl_web_agent/policy/checkpoint.py
FRAMES), a batched env of them with a plain-data state for --resume, and the greedy evaluation on them.

The frames are Gymnasium's own wrappers, not a copy of them, because a page replays them bit for bit:

    env = gym.make("ALE/Pong-v5", frameskip=1)      # v5's sticky actions (0.25) and action set kept
    env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, terminal_on_life_loss=False,
                             grayscale_obs=True, scale_obs=False)
    env = FrameStackObservation(env, 4)             # padding "reset": the reset frame repeated

The observation is uint8 [4, 84, 84], oldest first: the checkpoint format's `image`, as the kernel reads it.
Copy i of a batch is reset with seed + i once, then without a seed (its RNGs go on), as BatchedEnv's copies.

Resume is bit for bit, from plain data (nothing is pickled; ALE reads its own bytes back, `ALEState(bytes)`).
ALE's saved state (`cloneState(include_rng=True)`: the emulator and the RNG the sticky actions draw from)
lacks one thing the next frames depend on: the action ALE applied last, which a sticky frame repeats
(StellaEnvironment's m_player_a_action; a step's four frames all repeat it with probability 0.25^4). It is
known at one point only: after a reset (softReset sets it to NOOP, and the noop frames keep it). So a copy's
state is its state right after its episode's reset (ALE's bytes, the env's NumPy generator, which draws the
noop counts, and the wrappers' buffers: AtariPreprocessing's two screens and lives, FrameStackObservation's
frames) and the actions of the episode so far; --resume puts it on a freshly reset copy and replays the
actions (a Pong episode is a few thousand steps: ~0.4 ms each), then checks that ALE's bytes are the saved
ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rl_web_agent.policy.env_spaces import EnvError, action_spec, make_env, register_atari

FRAMES = "gymnasium-atari"  # policy.json "frames" of the policies trained here
STACK, SIDE = 4, 84
IMAGE = (STACK, SIDE, SIDE)
NOOP_MAX = 30
FRAME_SKIP = 4
# the ids whose frames are `gymnasium-atari`: ale-py's v5 envs (made with frameskip=1: the wrapper skips 4)
ATARI_V5_RE = re.compile(r"^ALE/[A-Za-z0-9]+-v5$")


def is_atari_v5(env_id: str) -> bool:
    """Whether env_id is an ALE v5 id (ALE/Pong-v5), the envs the gymnasium-atari frames are made from."""
    return isinstance(env_id, str) and ATARI_V5_RE.fullmatch(env_id) is not None


def make_atari(env_id: str) -> gym.Env:
    """The gymnasium-atari env of an ALE v5 id (see the module docstring), or EnvError with a one-line
    reason (ale-py or opencv missing, an id ale-py does not have)."""
    if not is_atari_v5(env_id):
        raise EnvError(
            f"{env_id!r} is not an ALE v5 id; the gymnasium-atari frames need one like ALE/Pong-v5"
        )
    if not register_atari():
        raise EnvError(f"env {env_id!r} needs ale-py (pip install ale-py), which is not installed")
    if env_id not in gym.registry:
        raise EnvError(f"ale-py has no env {env_id!r}; pass an ALE id such as ALE/Pong-v5")
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    env = make_env(env_id, frameskip=1)
    try:
        env = AtariPreprocessing(
            env,
            noop_max=NOOP_MAX,
            frame_skip=FRAME_SKIP,
            screen_size=SIDE,
            terminal_on_life_loss=False,
            grayscale_obs=True,
            scale_obs=False,
        )
    except gym.error.DependencyNotInstalled as e:
        env.close()
        raise EnvError(
            f"env {env_id!r}: Gymnasium's AtariPreprocessing needs opencv-python-headless ({e})"
        ) from None
    return FrameStackObservation(env, STACK)


def atari_spaces(env_id: str) -> tuple[int, dict]:
    """(obs_dim, checkpoint-format action) of env_id's gymnasium-atari env: 4 x 84 x 84 uint8 values, and its
    discrete action set (v5's minimal one)."""
    env = make_atari(env_id)
    try:
        obs, act = env.observation_space, env.action_space
    finally:
        env.close()
    if not (isinstance(obs, gym.spaces.Box) and obs.shape == IMAGE and obs.dtype == np.uint8):
        raise EnvError(f"env {env_id!r}'s frames are {obs}, not uint8 {list(IMAGE)}")
    if not (isinstance(act, gym.spaces.Discrete) and act.start == 0):
        raise EnvError(f"env {env_id!r} has action space {act}; a convolutional policy takes Discrete(n)")
    return int(np.prod(IMAGE)), action_spec(act)


def _layers(env: gym.Env) -> tuple:
    """(FrameStackObservation, AtariPreprocessing, OrderEnforcing, AtariEnv) of a make_atari env."""
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, OrderEnforcing

    pre = getattr(env, "env", None)
    order = getattr(pre, "env", None)
    if not (
        isinstance(env, FrameStackObservation)
        and isinstance(pre, AtariPreprocessing)
        and isinstance(order, OrderEnforcing)
        and order.env is env.unwrapped
    ):
        raise TypeError(f"{env} is not an env of make_atari")
    return env, pre, order, env.unwrapped


def ale_bytes(env: gym.Env) -> np.ndarray:
    """ALE's state of a make_atari env (emulator and RNG) as uint8 bytes."""
    return np.frombuffer(env.unwrapped.ale.cloneState(include_rng=True).serialize(), dtype=np.uint8).copy()


def get_copy_state(env: gym.Env) -> dict:
    """A make_atari env's state as plain data: ALE's bytes (emulator and RNG), the env's NumPy generator and
    the wrappers' buffers. Complete only right after a reset: ALE's last applied action (see the module
    docstring) is not in it."""
    stack, pre, order, ale_env = _layers(env)
    return {
        "ale": ale_bytes(env),
        "np_random": ale_env.np_random.bit_generator.state,
        "np_random_seed": ale_env.np_random_seed,
        "screens": [b.copy() for b in pre.obs_buffer],
        "lives": int(pre.lives),
        "game_over": bool(pre.game_over),
        "stack": [np.array(f, copy=True) for f in stack.obs_queue],
        "has_reset": bool(order._has_reset),
    }


def set_copy_state(env: gym.Env, st: dict) -> None:
    """Put a get_copy_state state taken right after a reset on a make_atari env of the same id that was just
    reset too (ALE's last applied action is then NOOP in both); ValueError when it does not fit."""
    import ale_py

    stack, pre, order, ale_env = _layers(env)
    ale, screens, frames = st["ale"], st["screens"], st["stack"]
    ok = (
        isinstance(ale, np.ndarray)
        and ale.dtype == np.uint8
        and ale.ndim == 1
        and len(screens) == len(pre.obs_buffer)
        and all(
            isinstance(s, np.ndarray) and s.shape == b.shape
            for s, b in zip(screens, pre.obs_buffer, strict=True)
        )
        and len(frames) == STACK
        and all(isinstance(f, np.ndarray) and f.shape == IMAGE[1:] for f in frames)
    )
    if not ok:
        raise ValueError("the saved Atari env state does not fit the envs of this config")
    try:
        ale_env.ale.restoreState(ale_py.ALEState(ale.tobytes()))
    except Exception as e:  # ALE's own check of its bytes
        raise ValueError(f"ALE refused the saved emulator state ({type(e).__name__}: {e})") from None
    ale_env.np_random.bit_generator.state = st["np_random"]
    ale_env._np_random_seed = st["np_random_seed"]
    for buf, s in zip(pre.obs_buffer, screens, strict=True):
        buf[...] = s
    pre.lives, pre.game_over = int(st["lives"]), bool(st["game_over"])
    stack.obs_queue.clear()
    stack.obs_queue.extend(np.array(f, dtype=np.uint8) for f in frames)
    order._has_reset = bool(st["has_reset"])


class AtariEnvs:
    """n gymnasium-atari envs in a Python loop with BatchedEnv's interface: same-step autoreset, episode
    statistics, the final frames of truncated episodes (ALE's 108,000-frame limit) and a plain-data state
    (each copy's state after its episode's reset and the episode's actions: see the module docstring).
    obs is uint8 [n, 4, 84, 84]."""

    def __init__(self, env_id: str, n: int, seed: int):
        self.envs = [make_atari(env_id) for _ in range(n)]
        self.n = n
        self.obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(self.envs)])
        self.starts = [get_copy_state(e) for e in self.envs]  # each copy's state after its last reset
        self.actions: list[list[int]] = [[] for _ in range(n)]  # and its actions since
        self.elapsed = [0] * n
        self.ep_return = [0.0] * n
        self.finished: list[tuple[float, int]] = []

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step all copies. Returns frames (already reset where done), reward, terminated, truncated, and
        {i: final frames} for the truncated (not terminated) copies."""
        obs, rew, term, trunc = [], [], [], []
        final: dict[int, np.ndarray] = {}
        elapsed, ep_return = self.elapsed, self.ep_return
        for i, (env, a) in enumerate(zip(self.envs, np.asarray(actions).tolist(), strict=True)):
            self.actions[i].append(int(a))
            o, r, te, tr, _ = env.step(int(a))
            elapsed[i] += 1
            ep_return[i] += float(r)
            tr = bool(tr) and not te
            if te or tr:
                self.finished.append((ep_return[i], elapsed[i]))
                ep_return[i], elapsed[i] = 0.0, 0
                if tr:
                    final[i] = o
                o, _ = env.reset()
                self.starts[i], self.actions[i] = get_copy_state(env), []
            obs.append(o)
            rew.append(r)
            term.append(te)
            trunc.append(tr)
        self.obs = np.stack(obs)
        return self.obs, np.asarray(rew, np.float32), np.asarray(term), np.asarray(trunc), final

    def drain(self) -> list[tuple[float, int]]:
        out, self.finished = self.finished, []
        return out

    def get_state(self) -> tuple[dict, list[str]]:
        """(plain-data state of all copies, []): nothing is lost."""
        return {
            "obs": self.obs,
            "elapsed": self.elapsed,
            "ep_return": self.ep_return,
            "finished": self.finished,
            "envs": [
                {"start": st, "actions": np.asarray(acts, dtype=np.uint8), "ale": ale_bytes(e)}
                for e, st, acts in zip(self.envs, self.starts, self.actions, strict=True)
            ],
        }, []

    def set_state(self, st: dict) -> None:
        """Restore a get_state state onto these copies, made and reset (not stepped) with any seed: each
        copy's episode start, then its actions replayed; ValueError when it does not fit or the replay does
        not end in the saved ALE state."""
        if len(st["envs"]) != self.n:
            raise ValueError(f"the state has {len(st['envs'])} envs, the config {self.n}")
        obs = st["obs"]
        if not (isinstance(obs, np.ndarray) and obs.shape == self.obs.shape and obs.dtype == np.uint8):
            raise ValueError("the saved env field 'obs' does not fit the envs of this config")
        for i, (env, est) in enumerate(zip(self.envs, st["envs"], strict=True)):
            acts = est["actions"]
            if not (isinstance(acts, np.ndarray) and acts.dtype == np.uint8 and acts.ndim == 1):
                raise ValueError("the saved Atari actions are not a list of action indices")
            set_copy_state(env, est["start"])
            o, done = None, False
            for a in acts.tolist():
                if done or a >= env.action_space.n:
                    raise ValueError(f"the saved actions of env {i} do not replay its episode")
                o, _, te, tr, _ = env.step(a)
                done = te or tr
            frames = o if o is not None else env.obs_queue
            if not (
                np.array_equal(ale_bytes(env), est["ale"]) and np.array_equal(np.asarray(frames), obs[i])
            ):
                raise ValueError(f"replaying env {i}'s saved episode did not reproduce its saved state")
            self.starts[i], self.actions[i] = est["start"], [int(a) for a in acts.tolist()]
        self.obs, self.elapsed, self.ep_return = obs, list(st["elapsed"]), list(st["ep_return"])
        self.finished = list(st["finished"])

    def close(self) -> None:
        for e in self.envs:
            e.close()


def greedy_eval_atari(
    act: Callable[[np.ndarray], np.ndarray], env_id: str, episodes: int = 10, seed: int = 10_000
) -> tuple[float, float]:
    """Mean and std of the returns of `episodes` gymnasium-atari episodes, episode i from
    reset(seed=seed + i), with act (frames uint8 [n, 4, 84, 84] -> greedy actions [n]) called on the copies
    still playing. The
    episodes end where the game or ALE's frame limit ends them (sticky actions keep them random: the seeds
    make them repeatable)."""
    envs = [make_atari(env_id) for _ in range(episodes)]
    try:
        obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)])
        returns = np.zeros(episodes)
        alive = np.ones(episodes, dtype=bool)
        while alive.any():
            idx = np.flatnonzero(alive)
            actions = np.asarray(act(obs[idx])).reshape(len(idx))
            for i, a in zip(idx, actions.tolist(), strict=True):
                obs[i], r, term, trunc, _ = envs[i].step(int(a))
                returns[i] += r
                alive[i] = not (term or trunc)
    finally:
        for e in envs:
            e.close()
    return float(returns.mean()), float(returns.std())
