"""The project's command line, one subcommand per stage of the pipeline:

  python -m rl_web_agent train [--env ID] [--seed N] ...            train PPO, write the policy
  python -m rl_web_agent compile [MODEL_DIR] [--env ID] [--out DIR]  the policy -> wasm + WebGPU kernels
  python -m rl_web_agent import sb3|cleanrl MODEL ... [--out DIR]    another library's policy -> ours
  python -m rl_web_agent export-json MODEL_DIR --out FILE            the policy's weights as one JSON file

`python -m rl_web_agent COMMAND --help` shows a command's flags."""

from __future__ import annotations

import argparse
import sys

from rl_web_agent.compiler.cli import add_compile_parser
from rl_web_agent.compiler.cli import main as compile_main
from rl_web_agent.importers.cli import add_import_parser
from rl_web_agent.importers.cli import main as import_main
from rl_web_agent.runtime_py.export_json import add_export_parser
from rl_web_agent.runtime_py.export_json import main as export_main


def build_parser() -> argparse.ArgumentParser:
    """The CLI's parser: the train, compile, export-json and import subcommands (train's own flags are in
    rl_web_agent/train/cli.py's parser, which parses them)."""
    ap = argparse.ArgumentParser(
        prog="python -m rl_web_agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND", help="what to do")
    sub.add_parser(
        "train",
        add_help=False,
        help="train a PPO policy for an env and write it (flags: python -m rl_web_agent train --help)",
    )
    add_compile_parser(sub)
    add_export_parser(sub)
    add_import_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:  # train parses its own flags
        # here, not at the top: it imports PyTorch, which the other commands do without
        from rl_web_agent.train.cli import main as train_main

        return train_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.cmd == "import":
        return import_main(args)
    if args.cmd == "compile":  # compile.resolve checks the flags (MODEL_DIR or --env, --batch-size)
        return compile_main(args)
    return export_main(args)


if __name__ == "__main__":
    sys.exit(main())
