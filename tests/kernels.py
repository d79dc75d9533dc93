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


PENDULUM = {"type": "box", "shape": [1], "low": [-2.0], "high": [2.0]}
# Every test kernel compiled from a checkpoint of its own, by name: None is the CartPole-v1 policy `make
# compile-kernel` uses, the others random checkpoints (make_random_checkpoint's arguments). Each is compiled
# once per test run, when a test first asks for it (conftest's `compiled`), with SAMPLES parity and saliency
# observations, so that the modules which check it (compile, saliency, WebGPU) share one compile.
MODELS: dict[str, dict | None] = {
    "cartpole": None,
    # architectures at the edges of the checkpoint format (test_compile)
    "linear-3act": dict(
        obs_dim=5, hidden=(), action={"type": "discrete", "n": 3}, seed=10, env_id="Random0-v0"
    ),
    "relu256-18act-norm": dict(
        obs_dim=8,
        hidden=(256,),
        activation="relu",
        action={"type": "discrete", "n": 18},
        obs_norm=True,
        seed=11,
        env_id="Random1-v0",
    ),
    "tanh3-box-norm": dict(
        obs_dim=6,
        hidden=(48, 32, 16),
        action={"type": "box", "shape": [3], "low": [-1.0] * 3, "high": [1.0] * 3},
        obs_norm=True,
        seed=12,
        env_id="Random2-v0",
    ),
    # discrete and box, with and without the observation normaliser, whose clip has a zero gradient outside
    # its range (test_saliency)
    "discrete-norm": dict(
        obs_dim=6,
        hidden=(32, 32),
        action={"type": "discrete", "n": 3},
        obs_norm=True,
        seed=11,
        env_id="Acrobot-v1",
    ),
    "box": dict(
        obs_dim=5,
        hidden=(16, 16),
        action={"type": "box", "shape": [2], "low": [-1.0] * 2, "high": [1.0] * 2},
        seed=12,
    ),
    "box-norm-relu": dict(
        obs_dim=3,
        hidden=(32, 32),
        action=PENDULUM,
        obs_norm=True,
        activation="relu",
        seed=13,
        env_id="Pendulum-v1",
    ),
    # WebGPU's dispatch plan on a wide ReLU net, and one action output beside the value (Pendulum-v1's shape:
    # the two output columns of equal width) (test_webgpu_kernel)
    "relu-box-norm": dict(
        obs_dim=3,
        hidden=(64, 64),
        activation="relu",
        obs_norm=True,
        seed=5,
        action={"type": "box", "shape": [2], "low": [-2.0] * 2, "high": [2.0] * 2},
    ),
    "box1": dict(obs_dim=3, hidden=(16,), seed=6, action=PENDULUM),
}
SAMPLES = 2_000


class Compiled:
    """name -> (model_dir, kernel_dir) for MODELS, each compiled into ROOT on first use."""

    def __init__(self, root: Path):
        self.root, self.done = root, {}

    def __getitem__(self, name: str) -> tuple[Path, Path]:
        if name not in self.done:
            kw = MODELS[name]
            model = (
                cartpole_model(self.root / "models")
                if kw is None
                else make_random_checkpoint(self.root / "models" / name, **kw)
            )
            out = self.root / "kernels" / name
            cfg = CompileConfig(model_dir=model, out=out, parity_samples=SAMPLES, saliency_samples=SAMPLES)
            compile_policy(cfg, log=lambda *a: None)
            self.done[name] = (model, out)
        return self.done[name]


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
