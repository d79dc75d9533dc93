"""`python -m rl_web_agent compile [MODEL_DIR] [--env ID] [--out DIR] [--batch-size 256] [--snapshots]`: the
compiler's command line. `add_compile_parser` adds the subcommand to the project's parser
(rl_web_agent/__main__.py); `main` runs it (compile.compile_policy, or snapshots.compile_with_snapshots)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rl_web_agent.compiler.compile import CompileConfig, CompileError, compile_policy
from rl_web_agent.compiler.snapshots import compile_with_snapshots
from rl_web_agent.policy.checkpoint import CheckpointError


def add_compile_parser(sub) -> None:
    """The `compile` subcommand."""
    c = sub.add_parser(
        "compile", help="compile a policy (the checkpoint format) to wasm + WebGPU kernels (a kernel folder)"
    )
    c.add_argument(
        "model_dir",
        nargs="?",
        metavar="MODEL_DIR",
        help="checkpoint folder (default: build/models/ENV, else models/ENV)",
    )
    c.add_argument(
        "--env", help="environment id, e.g. CartPole-v1 (picks the checkpoint when MODEL_DIR is omitted)"
    )
    c.add_argument(
        "--out",
        help="output folder (default: build/kernels/ENV), replaced whole: a new or empty folder, or a kernel "
        "folder compile wrote (any other is refused)",
    )
    c.add_argument(
        "--batch-size", type=int, default=256, help="capacity of forward_batch (default: %(default)s)"
    )
    c.add_argument(
        "--weights",
        choices=("auto", "f32", "f16", "int8"),
        default="auto",
        help="how policy.wasm stores a convolutional policy's weights: float32, float16, or int8 with a "
        "float32 scale per output channel (the first conv float16; widened to float32 at the first "
        "forward()); auto: int8 for a convolutional policy (an Atari page's budget), f32 for an MLP "
        "(default: %(default)s)",
    )
    c.add_argument(
        "--parity-samples",
        type=int,
        default=10_000,
        help="frame stacks a convolutional policy's parity certificate runs (default: %(default)s)",
    )
    c.add_argument(
        "--snapshots",
        action="store_true",
        help="also compile the policy's training snapshots (MODEL_DIR/snapshots/) into OUT/snapshots/",
    )


def main(args: argparse.Namespace) -> int:
    """Compile as ARGS say (compile.resolve checks the flags: MODEL_DIR or --env, --batch-size); one-line
    error and exit 1 on bad input."""
    cfg = CompileConfig(
        model_dir=Path(args.model_dir) if args.model_dir else None,
        env=args.env,
        out=Path(args.out) if args.out else None,
        batch_size=args.batch_size,
        weights=getattr(args, "weights", "auto"),
        image_parity_samples=getattr(args, "parity_samples", 10_000),
    )
    try:
        # with --snapshots, the policy's training snapshots too (the page's timeline)
        (compile_with_snapshots if getattr(args, "snapshots", False) else compile_policy)(cfg)
    except (CheckpointError, CompileError) as e:
        print(f"compile: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a path we cannot create or write: nothing was written (compile_policy cleans up)
        where = f"{e.filename}: " if e.filename else ""
        print(f"compile: error: {where}{e.strerror or e}; pick a writable --out", file=sys.stderr)
        return 1
    except RuntimeError as e:  # codegen or zig cc failed: a bug or a broken toolchain, not bad input
        print(
            f"compile: error: {e}\n(nothing was written; please report this with the checkpoint)",
            file=sys.stderr,
        )
        return 1
    return 0
