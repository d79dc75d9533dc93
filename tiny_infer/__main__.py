"""CLI: `python -m tiny_infer compile [MODEL_DIR] [--env ID] [--out DIR] [--batch-size 256]`
`python -m tiny_infer export-json MODEL_DIR --out FILE`
and `python -m tiny_infer import sb3|cleanrl MODEL ... --out DIR`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tiny_infer", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile", help="compile a contract-1 policy to wasm + WebGPU kernels (contract 2)")
    c.add_argument(
        "model_dir", nargs="?", help="checkpoint folder (default: build/models/ENV, else models/ENV)"
    )
    c.add_argument(
        "--env", help="environment id, e.g. CartPole-v1 (picks the checkpoint when MODEL_DIR is omitted)"
    )
    c.add_argument(
        "--out",
        help="output folder (default: build/kernels/ENV), replaced whole: a new or empty folder, or a kernel "
        "folder compile wrote (any other is refused)",
    )
    c.add_argument("--batch-size", type=int, default=256, help="capacity of forward_batch (default 256)")
    c.add_argument("--snapshots", action="store_true",
                   help="also compile the policy's training snapshots (MODEL_DIR/snapshots/) into "
                   "OUT/snapshots/")
    e = sub.add_parser("export-json", help="write a policy's weights as one JSON file")
    e.add_argument("model_dir", help="checkpoint folder (policy.json + policy.safetensors)")
    e.add_argument("--out", required=True, help="output JSON file")
    from tiny_infer.import_common import add_import_parser
    from tiny_infer.import_common import main as import_main

    add_import_parser(sub)
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
