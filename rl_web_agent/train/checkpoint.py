"""What training writes: the policy, in the checkpoint format (through rl_web_agent/policy/checkpoint.py,
which defines it), and the resumable run state (state.pt), both atomically. Not the checkpoint format itself.

The run state (state.pt) is stored as plain data only: tensors, numbers, strings and containers, which
torch.load(weights_only=True) reads back without running any code. NumPy arrays, NumPy scalars and NumPy
random generators are encoded as tagged tuples of tensors and plain data (`to_plain`) and rebuilt by
`from_plain`, so --resume continues bit for bit without ever unpickling an object from the file.
"""

from __future__ import annotations

import io
import os
import pickle
import platform
import tempfile
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rl_web_agent.policy.checkpoint import FORMAT, META_FILE, SNAPSHOTS_DIR, TENSORS_FILE, write_checkpoint
from rl_web_agent.policy.files import atomic_write

from .atari import FRAMES as ATARI_FRAMES
from .config import PPOConfig

STATE_FILE = "state.pt"
STATE_FORMAT = 2  # 1: pickled env objects (read with weights_only=False), refused since it could run code

# NumPy bit generators a state may name: looked up here, never imported by a name from the file
BIT_GENERATORS = {
    c.__name__: c
    for c in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox, np.random.SFC64)
}


class ResumeError(ValueError):
    """A resume file (state.pt) that is missing, corrupt, or does not match the requested run."""


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
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
    }


def policy_json(model, cfg: PPOConfig, obs_dim: int, train_record: dict) -> dict:
    """The policy.json (the checkpoint format) of MODEL trained with CFG; train_record goes under "train".
    A NatureCNN (network nature_cnn) is the format's convolutional policy, its fields in the order the
    importers write them (rl_web_agent/importers/atari.py), its frames the gymnasium-atari ones; its critic
    is exported as the MLPs' is (the kernel's value output)."""
    if cfg.network == "nature_cnn":
        return {
            "format": FORMAT,
            "env_id": cfg.env_id,
            "obs_dim": obs_dim,
            **model.policy_fields(),
            "frames": ATARI_FRAMES,
            "action": model.action,
            "hidden": [],
            "activation": "relu",
            "obs_norm": None,
            "train": train_record,
        }
    return {
        "format": FORMAT,
        "env_id": cfg.env_id,
        "obs_dim": obs_dim,
        "action": model.action,
        "hidden": list(cfg.hidden),
        "activation": cfg.activation,
        "obs_norm": {"clip": float(cfg.obs_clip), "eps": model.eps} if cfg.obs_norm else None,
        "train": train_record,
    }


def write_policy(folder: Path, model, cfg: PPOConfig, obs_dim: int, train_record: dict) -> list[Path]:
    """Write MODEL as a folder in the checkpoint format (write_checkpoint: validated, atomic, json last);
    returns the paths. A ValueError (the checkpoint format's CheckpointError), before anything is written, for
    non-finite weights or record values."""
    tensors = {k: t.numpy() for k, t in model.checkpoint_tensors().items()}
    return write_checkpoint(Path(folder), tensors, policy_json(model, cfg, obs_dim, train_record))


def check_policy_target(folder: Path) -> None:
    """Raise OSError now if folder's policy files or its snapshots/ folder (rl_web_agent/train/snapshots.py)
    could not be replaced (e.g. policy.json is a folder, snapshots is a file or a symbolic link)."""
    for name in (TENSORS_FILE, META_FILE):
        p = Path(folder) / name
        if p.exists() and not p.is_file():
            raise IsADirectoryError(21, "not a regular file", str(p))
    snaps = Path(folder) / SNAPSHOTS_DIR
    if snaps.is_symlink() or (snaps.exists() and not snaps.is_dir()):
        raise NotADirectoryError(20, "not a folder of policy snapshots", str(snaps))


class NotPlainData(TypeError):
    """A value with no plain-data encoding (an arbitrary object: it would need pickle)."""


def to_plain(x: Any) -> Any:
    """x encoded with tensors, None, bool, int, float, str and tagged tuples only (weights_only-loadable).

    Exact types are checked (a subclass such as numpy.float64 or an IntEnum would pickle by class name):
    NumPy values keep their dtype, Python containers their kind, generators their whole bit state."""
    t = type(x)
    if x is None or t in (bool, int, float, str):
        return x
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, (np.ndarray, np.generic)):
        a = np.asarray(x)
        if a.dtype.kind not in "biufc" or not a.dtype.isnative:
            raise NotPlainData(f"numpy array of dtype {a.dtype}")
        return ("ndarray" if t is np.ndarray else "np_scalar", torch.from_numpy(a.copy()))
    if t is np.random.Generator:
        return ("np_generator", to_plain(x.bit_generator.state))
    if t in (list, tuple):
        return (t.__name__, [to_plain(v) for v in x])
    if t is dict:
        return ("dict", [[to_plain(k), to_plain(v)] for k, v in x.items()])
    raise NotPlainData(f"{t.__module__}.{t.__qualname__}")


def is_plain(x: Any) -> bool:
    """Whether to_plain can encode x."""
    try:
        to_plain(x)
    except NotPlainData:
        return False
    return True


def from_plain(x: Any) -> Any:
    """The value to_plain encoded; ValueError for anything it cannot have written."""
    if x is None or type(x) in (bool, int, float, str) or isinstance(x, torch.Tensor):
        return x
    if not (type(x) is tuple and len(x) == 2 and isinstance(x[0], str)):
        raise ValueError(f"unexpected {type(x).__name__} in the state")
    tag, v = x
    if tag in ("ndarray", "np_scalar") and isinstance(v, torch.Tensor):
        a = v.numpy().copy()
        return a if tag == "ndarray" else a[()]
    if tag == "np_generator":
        st = from_plain(v)
        if not isinstance(st, dict) or st.get("bit_generator") not in BIT_GENERATORS:
            raise ValueError("unknown numpy bit generator in the state")
        bg = BIT_GENERATORS[st["bit_generator"]]()
        bg.state = st
        return np.random.Generator(bg)
    if tag in ("list", "tuple", "dict") and isinstance(v, list):
        if tag == "dict":
            return {from_plain(k): from_plain(val) for k, val in v}
        items = [from_plain(i) for i in v]
        return items if tag == "list" else tuple(items)
    raise ValueError(f"unexpected tag {tag!r} in the state")


def save_state(run_dir: Path, state: dict) -> Path:
    """Write state (a Trainer.state_dict()) as plain data, atomically, to run_dir/state.pt."""
    buf = io.BytesIO()
    torch.save({"format": STATE_FORMAT, "state": to_plain(state)}, buf)
    path = Path(run_dir) / STATE_FILE
    atomic_write(path, buf.getvalue())
    return path


def load_state(run_dir: Path) -> dict:
    """The run state written by save_state. Reads tensors and plain data only: a file that holds anything else
    (a pickled object, which could run code while loading) is refused, never executed."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        raise ResumeError(
            f"no resume file {path}: pass a run folder under runs/<env-id>/ that has a "
            f"{STATE_FILE}, or start a new run without --resume"
        )
    try:
        with warnings.catch_warnings():  # (torch warns about unusual pickle protocols: the error says enough)
            warnings.simplefilter("ignore")
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise ResumeError(
                f"corrupt resume file {path} (UnpicklingError: {str(e)[:80]}); delete the "
                f"run folder or start a new run without --resume"
            ) from e
        raise ResumeError(
            f"resume file {path} holds objects other than tensors and plain data (refused "
            f"unread: loading them could run code); delete it and start a new run"
        ) from e
    except Exception as e:
        raise ResumeError(
            f"corrupt resume file {path} ({type(e).__name__}: {str(e)[:80]}); delete the "
            f"run folder or start a new run without --resume"
        ) from e
    if isinstance(raw, dict) and raw.get("format") == 1:
        raise ResumeError(
            f"resume file {path} has the old format 1 (pickled envs, refused: loading them "
            f"could run code); start a new run"
        )
    try:
        if not isinstance(raw, dict) or raw.get("format") != STATE_FORMAT:
            raise ValueError("not a train/ run state")
        state = from_plain(raw["state"])
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
            raise ValueError("no config in the state")
    except Exception as e:
        raise ResumeError(
            f"corrupt resume file {path} ({type(e).__name__}: {str(e)[:80]}); delete the "
            f"run folder or start a new run without --resume"
        ) from e
    return state
