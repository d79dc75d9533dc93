"""The bench's own dependencies, installed on first use and kept apart from the project's.

- bench/node_modules: the JS peers (onnxruntime-web, TensorFlow.js, MicroPython, Pyodide), from
  bench/package-lock.json with `npm ci --prefix bench`.
- bench/.venv-sb3: Stable-Baselines3 (the training peer) and `onnx` (to build the onnxruntime-web model).
  torch is pinned to the project's 2.13.0 (a CPU build from local disk here; anything else pulls GBs of CUDA)
  and gymnasium and box2d to the project's own versions, so both trainers step the same environment code.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

from bench.common import BENCH, run

SB3_VENV = BENCH / ".venv-sb3"
SB3_PY = SB3_VENV / "bin" / "python"
NODE_STAMP = BENCH / "node_modules" / ".installed"
SB3_STAMP = SB3_VENV / ".installed"


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def sb3_requirements() -> list[str]:
    gym = importlib.metadata.version("gymnasium")
    np_major = importlib.metadata.version("numpy").split(".")[0]
    return [
        "torch==2.13.0",
        "stable-baselines3==2.9.2",
        f"gymnasium=={gym}",
        f"box2d=={importlib.metadata.version('box2d')}",  # LunarLander's physics, the same wheel
        # gymnasium.envs.box2d imports pygame (CarRacing) before any Box2D env is made
        f"pygame=={importlib.metadata.version('pygame')}",
        f"numpy>={np_major},<{int(np_major) + 1}",
        "onnx>=1.16,<2",
    ]


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_node() -> Path:
    """bench/node_modules from bench/package-lock.json (npm ci), redone only when the lock file changes."""
    lock = BENCH / "package-lock.json"
    want = _fingerprint(lock.read_text())
    if NODE_STAMP.is_file() and NODE_STAMP.read_text().strip() == want:
        return BENCH / "node_modules"
    _log("installing the JS peers: npm ci --prefix bench (first run only)")
    run(["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund", "--loglevel=error"], timeout=900)
    NODE_STAMP.write_text(want + "\n")
    return BENCH / "node_modules"


def ensure_sb3() -> Path:
    """bench/.venv-sb3 with Stable-Baselines3 and onnx; returns its python."""
    reqs = sb3_requirements()
    want = _fingerprint("\n".join(reqs))
    if SB3_STAMP.is_file() and SB3_STAMP.read_text().strip() == want and SB3_PY.exists():
        return SB3_PY
    _log(f"creating {SB3_VENV.relative_to(BENCH.parent)} with {', '.join(reqs)} (first run only)")
    if not SB3_PY.exists():
        # the interpreter the project's venv was made from, not the venv itself (a venv inside a venv is fine,
        # but this keeps the project's site-packages out of it)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(SB3_VENV)], check=True, timeout=300)
    run([str(SB3_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *reqs], timeout=1800)
    SB3_STAMP.write_text(want + "\n")
    return SB3_PY
