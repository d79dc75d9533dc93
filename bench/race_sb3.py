"""Stable-Baselines3 PPO in the training race: the RL Zoo's tuned CartPole-v1 hyperparameters
(hyperparams/ppo.yml:
n_envs 8, n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, n_epochs 20, ent_coef 0, lr lin_0.001,
clip lin_0.2, 1e5 steps, MlpPolicy), evaluated greedily every 2,048 env steps by bench/race_eval.py.

Runs in bench/.venv-sb3:  bench/.venv-sb3/bin/python bench/race_sb3.py SEED [--max-steps N]
Prints one JSON line: {"seed", "solved": {"steps", "train_s", "mean"} | null, "evals": [...], ...}.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from race_eval import EVAL_EVERY, SOLVED, RaceClock  # noqa: E402

ZOO = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0)
N_ENVS, N_TIMESTEPS, LR, CLIP = 8, 100_000, 1e-3, 0.2


def linear(v: float):
    # rl_zoo3's lin_X schedule: X * progress_remaining
    return lambda progress_remaining: progress_remaining * v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("--max-steps", type=int, default=N_TIMESTEPS)
    ap.add_argument("--full", action="store_true", help="train the whole budget, not stop when solved")
    args = ap.parse_args()
    torch.set_num_threads(1)  # a busy second core made torch's default 2 threads 15-60x slower (issue 2)

    import stable_baselines3
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class Race(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.clock: RaceClock | None = None
            self.next_eval = EVAL_EVERY
            self.stop = False

        def _on_training_start(self) -> None:
            self.clock = RaceClock()

        def act(self, obs: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return self.model.policy.predict(obs, deterministic=True)[0]

        def check(self) -> None:
            # at a rollout's start the previous rollout's update is done: the policy has learnt from
            # num_timesteps env steps
            if self.num_timesteps >= self.next_eval:
                mean = self.clock.evaluate(self.num_timesteps, self.act)
                self.next_eval += EVAL_EVERY
                self.stop = mean >= SOLVED and not args.full

        def _on_rollout_start(self) -> None:
            self.check()

        def _on_step(self) -> bool:
            return not self.stop

    env = make_vec_env("CartPole-v1", n_envs=N_ENVS, seed=args.seed)
    model = PPO("MlpPolicy", env, learning_rate=linear(LR), clip_range=linear(CLIP), seed=args.seed,
                device="cpu", verbose=0, **ZOO)
    race = Race()
    model.learn(total_timesteps=args.max_steps, callback=race)
    if not race.stop and race.clock.solved is None:
        race.check()  # the last update's result, if it landed on the eval grid
    hp = {**ZOO, "n_envs": N_ENVS, "lr": f"lin_{LR}", "clip": f"lin_{CLIP}"}
    out = race.clock.result(args.seed, trainer="sb3", env_steps=int(model.num_timesteps),
                            version=stable_baselines3.__version__, hyperparams=hp)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
