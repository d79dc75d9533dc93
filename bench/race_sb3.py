"""Stable-Baselines3 PPO in the training race: the RL Zoo's tuned hyperparameters for each env
(rl-baselines3-zoo hyperparams/ppo.yml, copied into ZOO below), evaluated greedily on the env's grid by
bench/race_eval.py. `normalize: true` is the Zoo's VecNormalize (observations and rewards, with the
algorithm's gamma); the greedy evaluation feeds the policy observations normalised with the running
statistics as they are at that moment (the evaluation does not update them).

Runs in bench/.venv-sb3:  bench/.venv-sb3/bin/python bench/race_sb3.py SEED [--env ID] [--max-steps N]
Prints one JSON line: {"env", "seed", "solved": {"steps", "train_s", "mean"} | null, "evals": [...], ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # race_eval, and train.evaluate which it uses
from race_eval import RACES, RaceClock  # noqa: E402

# hyperparams/ppo.yml of rl-baselines3-zoo; "lin_X" is the Zoo's linear schedule X * progress_remaining.
# n_timesteps is the Zoo's budget, which is also the race's cap.
ZOO: dict[str, dict] = {
    "CartPole-v1": dict(
        n_envs=8,
        n_timesteps=100_000,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate="lin_0.001",
        clip_range="lin_0.2",
    ),
    "Acrobot-v1": dict(
        normalize=True,
        n_envs=16,
        n_timesteps=1_000_000,
        n_steps=256,
        gae_lambda=0.94,
        gamma=0.99,
        n_epochs=4,
        ent_coef=0.0,
    ),
    "Pendulum-v1": dict(
        n_envs=4,
        n_timesteps=100_000,
        n_steps=1024,
        gae_lambda=0.95,
        gamma=0.9,
        n_epochs=10,
        ent_coef=0.0,
        learning_rate=1e-3,
        clip_range=0.2,
        use_sde=True,
        sde_sample_freq=4,
    ),
    "MountainCar-v0": dict(
        normalize=True,
        n_envs=16,
        n_timesteps=1_000_000,
        n_steps=16,
        gae_lambda=0.98,
        gamma=0.99,
        n_epochs=4,
        ent_coef=0.0,
    ),
    "MountainCarContinuous-v0": dict(
        normalize=True,
        n_envs=1,
        n_timesteps=20_000,
        batch_size=256,
        n_steps=8,
        gamma=0.9999,
        learning_rate=7.77e-05,
        ent_coef=0.00429,
        clip_range=0.1,
        n_epochs=10,
        gae_lambda=0.9,
        max_grad_norm=5,
        vf_coef=0.19,
        use_sde=True,
        policy_kwargs=dict(log_std_init=-3.29, ortho_init=False),
    ),
    "LunarLander-v3": dict(
        n_envs=16,
        n_timesteps=1_000_000,
        n_steps=1024,
        batch_size=64,
        gae_lambda=0.98,
        gamma=0.999,
        n_epochs=4,
        ent_coef=0.01,
    ),
    "BipedalWalker-v3": dict(
        normalize=True,
        n_envs=32,
        n_timesteps=5_000_000,
        n_steps=2048,
        batch_size=64,
        gae_lambda=0.95,
        gamma=0.999,
        n_epochs=10,
        ent_coef=0.0,
        learning_rate=3e-4,
        clip_range=0.18,
    ),
    "LunarLanderContinuous-v3": dict(
        normalize=True,
        n_envs=16,
        n_timesteps=1_000_000,
        n_steps=1024,
        batch_size=64,
        gae_lambda=0.98,
        gamma=0.999,
        n_epochs=4,
        ent_coef=0.01,
    ),
}


def schedule(v):
    if isinstance(v, str) and v.startswith("lin_"):
        x = float(v[4:])
        return lambda progress_remaining: progress_remaining * x
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int, help="training seed (one race entry per seed)")
    ap.add_argument(
        "--env",
        default="CartPole-v1",
        choices=sorted(ZOO),
        help="env to race on, with the RL Zoo's settings (default %(default)s)",
    )
    ap.add_argument("--max-steps", type=int, default=None, help="default: the Zoo's n_timesteps")
    ap.add_argument("--full", action="store_true", help="train the whole budget, not stop when solved")
    args = ap.parse_args()
    torch.set_num_threads(1)  # a busy second core made torch's default 2 threads 15-60x slower

    import stable_baselines3
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    hp = dict(ZOO[args.env])
    n_envs, budget, normalize = hp.pop("n_envs"), hp.pop("n_timesteps"), hp.pop("normalize", False)
    threshold, eval_every = RACES[args.env]

    class Race(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.clock: RaceClock | None = None
            self.next_eval = eval_every
            self.stop = False

        def _on_training_start(self) -> None:
            self.clock = RaceClock(args.env)

        def act(self, obs: np.ndarray) -> np.ndarray:
            if normalize:
                obs = env.normalize_obs(obs)  # the current statistics, not updated by the evaluation
            with torch.no_grad():
                return self.model.policy.predict(obs, deterministic=True)[0]

        def check(self) -> None:
            # at a rollout's start the previous rollout's update is done: the policy has learnt from
            # num_timesteps env steps
            if self.num_timesteps >= self.next_eval:
                mean = self.clock.evaluate(self.num_timesteps, self.act)
                while self.next_eval <= self.num_timesteps:
                    self.next_eval += eval_every
                self.stop = mean >= threshold and not args.full

        def _on_rollout_start(self) -> None:
            self.check()

        def _on_step(self) -> bool:
            return not self.stop

    env = make_vec_env(args.env, n_envs=n_envs, seed=args.seed)
    if normalize:
        env = VecNormalize(env, gamma=hp["gamma"])  # as the Zoo's exp_manager passes the algorithm's gamma
    model = PPO(
        "MlpPolicy", env, seed=args.seed, device="cpu", verbose=0, **{k: schedule(v) for k, v in hp.items()}
    )
    race = Race()
    model.learn(total_timesteps=args.max_steps or budget, callback=race)
    if not race.stop and race.clock.solved is None:
        race.check()  # the last update's result, if it landed on the eval grid
    info = {k: v for k, v in ZOO[args.env].items() if k != "policy_kwargs"}
    info.update(ZOO[args.env].get("policy_kwargs", {}))
    out = race.clock.result(
        args.seed,
        trainer="sb3",
        env_steps=int(model.num_timesteps),
        version=stable_baselines3.__version__,
        hyperparams=info,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
