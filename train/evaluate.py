"""Greedy evaluation: many episodes at once, one batched policy call per step for all running episodes."""
from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np


def greedy_eval(act: Callable[[np.ndarray], np.ndarray], env_id: str, episodes: int = 100,
                seed: int = 10_000) -> tuple[float, float]:
    """Mean and std of the returns of `episodes` episodes; episode i starts from reset(seed=seed + i).

    act maps observations [n, obs_dim] float32 to greedy actions [n] (discrete) or [n, act_dim] (box).
    Envs are made with gym.make (TimeLimit included), so the numbers match any other Gymnasium harness.
    """
    envs = [gym.make(env_id) for _ in range(episodes)]
    obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]).astype(np.float32)
    space = envs[0].action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    returns = np.zeros(episodes)
    alive = np.arange(episodes)
    while len(alive):
        actions = np.asarray(act(obs[alive]))
        if not discrete:
            actions = np.clip(actions.reshape(len(alive), *space.shape), space.low, space.high)
        keep = []
        for k, i in enumerate(alive):
            a = int(actions[k]) if discrete else actions[k]
            o, r, term, trunc, _ = envs[i].step(a)
            returns[i] += r
            obs[i] = o
            if not (term or trunc):
                keep.append(i)
        alive = np.array(keep, dtype=np.int64)
    for e in envs:
        e.close()
    return float(returns.mean()), float(returns.std())
