"""Atomic files: the contract-1 policy (safetensors + json) and the resumable run state."""
from __future__ import annotations

import io
import json
import os
import platform
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from safetensors.torch import save

from .config import PPOConfig

STATE_FILE = "state.pt"


class CheckpointError(ValueError):
    """A resume file that is missing, corrupt, or does not match the requested run."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write a temp file in the same folder, fsync, rename it over path: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600 files; a policy must stay readable by a web server
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: Path) -> None:
    """Raise OSError now (before training) if folder cannot be created or written; creates nothing."""
    folder = Path(folder).absolute()
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise NotADirectoryError(20, "not a directory", str(probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(13, "permission denied", str(probe))
    if probe == folder:  # exists: prove it with a real write (read-only mounts pass os.access as root)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write-test.")
        os.close(fd)
        os.unlink(tmp)


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__, "gymnasium": gym.__version__,
            "numpy": np.__version__}


def policy_json(model, cfg: PPOConfig, obs_dim: int, train_record: dict) -> dict:
    return {"format": 1, "env_id": cfg.env_id, "obs_dim": obs_dim, "action": model.action,
            "hidden": list(cfg.hidden), "activation": cfg.activation,
            "obs_norm": {"clip": float(cfg.obs_clip), "eps": model.eps} if cfg.obs_norm else None,
            "train": train_record}


def write_policy(folder: Path, model, cfg: PPOConfig, obs_dim: int, train_record: dict) -> list[Path]:
    """Write policy.safetensors then policy.json (json last: its presence marks a complete pair)."""
    folder = Path(folder)
    st, js = folder / "policy.safetensors", folder / "policy.json"
    atomic_write(st, save(model.contract_tensors()))  # no metadata: its key order varies, the bytes must not
    meta = policy_json(model, cfg, obs_dim, train_record)
    atomic_write(js, (json.dumps(meta, indent=1) + "\n").encode())
    return [st, js]


def save_state(run_dir: Path, state: dict) -> Path:
    buf = io.BytesIO()
    torch.save(state, buf)
    path = Path(run_dir) / STATE_FILE
    atomic_write(path, buf.getvalue())
    return path


def load_state(run_dir: Path) -> dict:
    """The run state written by save_state. It holds pickled env copies, so only load your own runs."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"no resume file {path}: pass a run folder under runs/<env-id>/ that has a "
                              f"{STATE_FILE}, or start a new run without --resume")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(state, dict) or state.get("format") != 1 or "config" not in state:
            raise ValueError("not a train/ run state")
    except Exception as e:
        raise CheckpointError(f"corrupt resume file {path} ({type(e).__name__}: {str(e)[:80]}); delete the "
                              f"run folder or start a new run without --resume") from e
    return state
