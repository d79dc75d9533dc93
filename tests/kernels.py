"""Compiled kernels for tests: compile folders in the checkpoint format, and check a kernel's outputs against
the oracle (tests/checkpoints.oracle_forward) within the parity bound."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from rl_web_agent.compiler.compile import CompileConfig, compile_policy
from rl_web_agent.policy.checkpoint import CheckpointError, resolve_model_dir
from tests.checkpoints import make_random_checkpoint
from tests.conftest import ROOT


def cartpole_model(tmp: Path) -> Path:
    """The CartPole-v1 policy `make compile-kernel` would use (copied: training may rewrite it meanwhile)."""
    try:
        src = resolve_model_dir("CartPole-v1", ROOT)
    except CheckpointError:  # not trained yet: a random policy of the shipped architecture
        return make_random_checkpoint(tmp / "CartPole-v1", hidden=(32, 32), env_id="CartPole-v1", seed=3)
    return Path(shutil.copytree(src, tmp / "CartPole-v1"))


def compile_kernels(models: dict[str, Path], out: Path, parity_samples: int) -> dict[str, tuple[Path, Path]]:
    """Compile each model into out/<name>: name -> (model_dir, kernel_dir)."""
    for name, model in models.items():
        compile_policy(
            CompileConfig(model_dir=model, out=out / name, parity_samples=parity_samples), log=lambda *a: None
        )
    return {name: (model, out / name) for name, model in models.items()}


def assert_parity(got: np.ndarray, ref: np.ndarray, manifest: dict) -> None:
    """Every output of GOT within 1e-5*max(1, |REF|) of the oracle's REF, and for discrete actions the same
    greedy action wherever REF's top two probabilities differ by more than 1e-5."""
    assert got.shape == ref.shape
    err = np.abs(got.astype(np.float64) - ref)
    bound = 1e-5 * np.maximum(1.0, np.abs(ref))
    assert (err <= bound).all(), f"max err {err.max()} (worst relative to bound {(err / bound).max():.2f})"
    if manifest["action"]["type"] == "discrete":
        n = manifest["action"]["n"]
        probs, ref_p = got[:, :n], ref[:, :n]
        top2 = np.sort(ref_p, axis=1)[:, -2:] if n > 1 else None
        clear = (top2[:, 1] - top2[:, 0] > 1e-5) if n > 1 else np.ones(len(ref), bool)
        assert (probs.argmax(1)[clear] == ref_p.argmax(1)[clear]).all()
