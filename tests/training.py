"""Short training runs for tests: the env's preset cut down to a few seconds of CPU."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import torch

from rl_web_agent.train.checkpoint import load_state, save_state
from rl_web_agent.train.config import PPOConfig, preset
from rl_web_agent.train.ppo import Trainer
from tests.conftest import ROOT

SHORT = {
    "n_envs": 4,
    "n_steps": 64,
    "epochs": 2,
    "minibatches": 2,
    "eval_every": 0,
    "stop_return": 0.0,
    "eval_episodes": 5,
}
# the same on the command line (python -m rl_web_agent train), without the plot and the progress bar
SMALL = [
    *(a for k, v in SHORT.items() for a in (f"--{k.replace('_', '-')}", str(v))),
    "--no-plot",
    "--no-progress",
]


def small(env_id: str = "CartPole-v1", **kw) -> PPOConfig:
    """ENV_ID's preset with SHORT's settings (and KW's)."""
    return dataclasses.replace(preset(env_id), **SHORT, **kw)


def resumed_run(cfg: PPOConfig, tmp: Path, stop_after: int) -> tuple[Trainer, Trainer, Trainer]:
    """(uninterrupted, stopped, resumed) runs of cfg: the second stopped after STOP_AFTER iterations and saved
    under TMP, the third resumed from that save to the end."""
    full = Trainer(cfg)
    full.run()
    part = Trainer(cfg)
    part.run(should_stop=lambda: part.s.iteration >= stop_after)
    save_state(tmp, part.state_dict())
    resumed = Trainer(cfg, state=load_state(tmp))
    resumed.run()
    return full, part, resumed


def same_weights(a: Trainer, b: Trainer) -> bool:
    """Whether two trainers' models hold the same checkpoint tensors, bit for bit."""
    x, y = a.model.checkpoint_tensors(), b.model.checkpoint_tensors()
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def train_cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m rl_web_agent train ARGS` in a subprocess, writing only under TMP (o/ for the policy, r/ for
    the runs)."""
    cmd = [
        sys.executable,
        "-m",
        "rl_web_agent",
        "train",
        *args,
        "--out",
        str(tmp / "o"),
        "--runs",
        str(tmp / "r"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
