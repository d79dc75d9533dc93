"""Short training runs for tests: the env's preset cut down to a few seconds of CPU."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from rl_web_agent.train.config import PPOConfig, preset
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
