"""CLI: `python -m tiny_infer compile [MODEL_DIR] [--env ID] [--out DIR] [--batch-size 256]`
`python -m tiny_infer export-json MODEL_DIR --out FILE`
and `python -m tiny_infer import sb3|cleanrl MODEL ... --out DIR`."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """The CLI's parser: the compile, export-json and import subcommands."""
    from tiny_infer.import_common import add_import_parser

    ap = argparse.ArgumentParser(
        prog="python -m tiny_infer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND", help="what to do")
    c = sub.add_parser("compile", help="compile a contract-1 policy to wasm + WebGPU kernels (contract 2)")
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
        "--snapshots",
        action="store_true",
        help="also compile the policy's training snapshots (MODEL_DIR/snapshots/) into OUT/snapshots/",
    )
    e = sub.add_parser("export-json", help="write a policy's weights as one JSON file")
    e.add_argument(
        "model_dir", metavar="MODEL_DIR", help="checkpoint folder (policy.json + policy.safetensors)"
    )
    e.add_argument("--out", required=True, metavar="FILE", help="output JSON file")
    add_import_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; its exit status."""
    ap = build_parser()
    from tiny_infer.import_common import main as import_main

    args = ap.parse_args(argv)
    if args.cmd == "import":
        return import_main(args)
    if args.cmd == "compile":  # compile.resolve checks the flags (MODEL_DIR or --env, --batch-size)
        from tiny_infer.compile import main as compile_main

        return compile_main(args)
    from tiny_infer.export_json import main as export_main  # lazy: torch/tinygrad-free path

    return export_main(args)


if __name__ == "__main__":
    sys.exit(main())
