"""Short training runs for tests: the env's preset cut down to a few seconds of CPU."""

from __future__ import annotations

import dataclasses

from train.config import PPOConfig, preset

SHORT = {
    "n_envs": 4,
    "n_steps": 64,
    "epochs": 2,
    "minibatches": 2,
    "eval_every": 0,
    "stop_return": 0.0,
    "eval_episodes": 5,
}
# the same on the command line (python -m train), without the plot and the progress bar
SMALL = [
    *(a for k, v in SHORT.items() for a in (f"--{k.replace('_', '-')}", str(v))),
    "--no-plot",
    "--no-progress",
]


def small(env_id: str = "CartPole-v1", **kw) -> PPOConfig:
    """ENV_ID's preset with SHORT's settings (and KW's)."""
    return dataclasses.replace(preset(env_id), **SHORT, **kw)
