"""Compile a policy's training snapshots (the page's timeline) into its kernel folder. The compiler's
snapshots: the training side that writes them is rl_web_agent/train/snapshots.py.

`python -m rl_web_agent compile ... --snapshots` (compile_with_snapshots) compiles the policy, then every
snapshot of its checkpoint (<model>/snapshots/<env-steps>/, folders in the checkpoint format that training
writes) into <kernel>/snapshots/<env-steps>/, each a full kernel folder, and lists them in
<kernel>/snapshots/snapshots.json:
[{"steps": N, "dir": "N", "eval": mean | null}, ..., {"steps": M, "final": true, "eval": mean | null}],
in order of steps. A snapshot whose weights are the policy's own (the final one) is not compiled again: the
page plays the policy's kernel for it. The snapshots go to a temp folder first, swapped in whole.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from rl_web_agent.compiler.compile import CompileConfig, compile_checkpoint, compile_policy
from rl_web_agent.policy.checkpoint import (
    SNAPSHOTS_DIR,
    TENSORS_FILE,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    train_eval,
)
from rl_web_agent.policy.files import staged_dir

INDEX = "snapshots.json"
STEPS = re.compile(r"^(0|[1-9][0-9]{0,14})$")  # a folder named by its env steps


def snapshot_dirs(model_dir: Path) -> list[tuple[int, Path]]:
    """(env steps, folder) of each snapshot of the checkpoint at model_dir, by steps; [] when it has none.
    A CheckpointError names anything else found there (hidden entries, such as temp folders, are skipped)."""
    root = Path(model_dir) / SNAPSHOTS_DIR
    if not root.exists():
        return []
    if root.is_symlink() or not root.is_dir():
        raise CheckpointError(f"{root} is not a folder of snapshots: remove it or retrain the policy")
    out = []
    for d in root.iterdir():
        if d.name.startswith("."):
            continue
        if not (STEPS.match(d.name) and d.is_dir() and not d.is_symlink()):
            raise CheckpointError(
                f"{d} is not a snapshot (a folder named by its env steps, e.g. "
                f"{SNAPSHOTS_DIR}/4096/): remove it or retrain the policy"
            )
        out.append((int(d.name), d))
    return sorted(out)


# a convolutional snapshot's parity certificate: its frames, fewer than the policy's own 10,000 (each takes
# ~10 ms through policy.wasm under wasmtime, and a run keeps up to 8 snapshots): the timeline shows how the
# policy learned, the shipped policy is the one certified in full
SNAPSHOT_IMAGE_PARITY_SAMPLES = 1_000


def compile_snapshots(kernel_dir: Path, main: Checkpoint, cfg: CompileConfig, log=print) -> list[dict]:
    """Compile each snapshot of the checkpoint MAIN (compiled into kernel_dir with CFG) into
    kernel_dir/snapshots/ (see the module docstring), each with CFG's batch size and weight storage; returns
    the index written. With no snapshots, kernel_dir/snapshots/ is removed."""
    kernel_dir, model_dir = Path(kernel_dir), main.model_dir
    snaps = snapshot_dirs(model_dir)
    dest = kernel_dir / SNAPSHOTS_DIR
    if not snaps:
        shutil.rmtree(dest, ignore_errors=True)
        return []
    own = (Path(model_dir) / TENSORS_FILE).read_bytes()
    index: list[dict] = []
    with staged_dir(dest) as tmp:
        for steps, d in snaps:
            ck = load_checkpoint(d)
            if ck.env_id != main.env_id or ck.obs_dim != main.obs_dim or ck.action != main.action:
                raise CheckpointError(
                    f"{d} is a policy for {ck.env_id} (obs {ck.obs_dim}, {ck.action}), not "
                    f"a snapshot of {model_dir}: remove it or retrain the policy"
                )
            entry = {"steps": steps, "eval": (train_eval(ck.meta) or {}).get("mean")}
            if (d / TENSORS_FILE).read_bytes() == own:
                entry["final"] = True
            else:
                sub = CompileConfig(
                    model_dir=d,
                    out=tmp / str(steps),
                    batch_size=cfg.batch_size,
                    weights=cfg.weights,
                    image_parity_samples=min(cfg.image_parity_samples, SNAPSHOT_IMAGE_PARITY_SAMPLES),
                    seed=cfg.seed,
                )
                compile_policy(sub, log=lambda *a: None)
                entry["dir"] = str(steps)
            index.append(entry)
            log(
                f"  snapshot at {steps:,} env steps: "
                f"{'the policy itself' if entry.get('final') else f'{dest / str(steps)}'}"
            )
        (tmp / INDEX).write_text(json.dumps(index, indent=1) + "\n")
    return index


def compile_with_snapshots(cfg: CompileConfig, log=print) -> Path:
    """compile_policy, then the compiled checkpoint's training snapshots into <out>/snapshots/
    (compile_snapshots); returns the output folder."""
    job = compile_checkpoint(cfg, log)
    compile_snapshots(job.out, job.ckpt, cfg, log)
    return job.out
