"""The training race's judge, shared by both contenders (imported in the project's venv and in
bench/.venv-sb3): the trainer's own greedy evaluation (rl_web_agent/train/evaluate.py) over 100 episodes
(BipedalWalker: 10) of one env from fixed initial states, the policy called on all episodes at once. Needs
only numpy and gymnasium (and the project folder on sys.path, as bench/race_*.py put it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from rl_web_agent.train.evaluate import greedy_eval

EVAL_EPISODES = 100
# where solved is defined over fewer episodes (BipedalWalker-v3: 300 over 10 of up to 1,600 steps)
EVAL_EPISODES_OF = {"BipedalWalker-v3": 10}
EVAL_SEED = 1_000_000  # the vector env's reset seed: fixed, far from any training seed

# env id -> (greedy mean return that counts as solved, env steps between evaluations). The grid is the same
# for both trainers; it is coarser where an evaluation costs more (100 Acrobot episodes of up to 500 Python
# steps take seconds, 100 CartPole episodes 0.1 s) or where solving takes longer.
RACES: dict[str, tuple[float, int]] = {
    "CartPole-v1": (500.0, 2048),
    "Acrobot-v1": (-100.0, 4096),
    "Pendulum-v1": (-200.0, 4096),
    "MountainCar-v0": (-110.0, 8192),
    "MountainCarContinuous-v0": (90.0, 2048),
    # Box2D: 100 greedy episodes of up to 1,000 steps take 5-20 s here, so a coarse grid (SB3's Zoo rollout
    # is 16 x 1024 steps: one eval per SB3 update)
    "LunarLander-v3": (200.0, 16_384),
    "LunarLanderContinuous-v3": (200.0, 16_384),
    "BipedalWalker-v3": (300.0, 131_072),
}


class RaceClock:
    """Training time with evaluation time taken out, and the eval log of one seed on one env."""

    def __init__(self, env_id: str = "CartPole-v1") -> None:
        self.env_id = env_id
        self.threshold, self.eval_every = RACES[env_id]
        self.t0 = time.perf_counter()
        self.eval_s = 0.0
        self.log: list[dict] = []
        self.solved: dict | None = None

    def train_s(self) -> float:
        return time.perf_counter() - self.t0 - self.eval_s

    def evaluate(self, steps: int, act: Callable[[np.ndarray], np.ndarray]) -> float:
        train_s = self.train_s()
        t = time.perf_counter()
        mean, std = greedy_eval(act, self.env_id, EVAL_EPISODES_OF.get(self.env_id, EVAL_EPISODES), EVAL_SEED)
        self.eval_s += time.perf_counter() - t
        rec = {"steps": int(steps), "train_s": round(train_s, 3), "mean": mean, "std": std}
        self.log.append(rec)
        # progress on stderr (the result is stdout's last line): a long race can be watched, or cut short
        print(
            f"{self.env_id}: {steps:,} env steps, {train_s:.0f} s: greedy {mean:.1f}",
            file=sys.stderr,
            flush=True,
        )
        if self.solved is None and mean >= self.threshold:
            self.solved = rec
        return mean

    def result(self, seed: int, **extra) -> dict:
        return {
            "env": self.env_id,
            "seed": seed,
            "threshold": self.threshold,
            "solved": self.solved,
            "evals": self.log,
            "eval_s": round(self.eval_s, 2),
            "total_s": round(time.perf_counter() - self.t0, 2),
            **extra,
        }
