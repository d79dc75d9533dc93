"""`python -m bench` (`make bench`): sizes, kernel latency (MLP and CNN), page load, Python runtimes and
training speed, each against its peers, measured in one run on this machine. Prints a table; writes
bench/results.json.

    python -m bench                      # every section but the training race (--train adds it)
    python -m bench --train              # everything
    python -m bench --only train         # the training race alone (`make bench-train`)
    python -m bench --only kernel,page --quick
    python -m bench --only cnn --quick   # the convolutional policy (Atari) alone, about a minute
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import BENCH, Row, chromium_path, machine, node_version, skipped, write_json_atomic
from bench.context import Context
from rl_web_agent.policy.errors import first_line

SECTIONS = ["bundle", "kernel", "cnn", "page", "sweep", "mujoco", "runtimes", "train"]


def section_fn(name: str) -> Callable[[Context], list[Row]]:
    # imported lazily: a section whose module fails to import becomes a skip row, not a crash
    import importlib

    mod = {
        "bundle": "bench.bundle",
        "kernel": "bench.kernel",
        "cnn": "bench.cnn",
        "page": "bench.page",
        "sweep": "bench.sweep",
        "mujoco": "bench.mujoco",
        "runtimes": "bench.runtimes",
        "train": "bench.training",
    }[name]
    return importlib.import_module(mod).measure


def versions(ctx: Context) -> dict[str, str | None]:
    v: dict[str, str | None] = {}
    for pkg in ("torch", "tinygrad", "gymnasium", "numpy", "playwright"):
        try:
            v[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            v[pkg] = None
    v["node"] = node_version()
    v["chromium"] = ctx.facts.get("chromium")
    for name in (
        "onnxruntime-web",
        "@tensorflow/tfjs-core",
        "@micropython/micropython-webassembly-pyscript",
        "pyodide",
    ):
        pj = BENCH / "node_modules" / name / "package.json"
        v[name] = json.loads(pj.read_text())["version"] if pj.exists() else None
    if "sb3_version" in ctx.facts:
        v["stable-baselines3"] = ctx.facts["sb3_version"]
    return v


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return ""
    if x == float("inf"):
        return "never"
    if unit.startswith("B") or float(x).is_integer() and abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def print_table(rows: list[Row]) -> None:
    head = ["section", "measurement", "value", "unit", "ratio", "vs", "target", "ok"]
    cells = []
    for r in rows:
        ok = "" if r.ok is None else ("yes" if r.ok else "NO")
        ratio = "" if r.ratio is None else (f"{r.ratio:,.0f}x" if r.ratio >= 100 else f"{r.ratio:.3g}x")
        cells.append([r.section, r.name, fmt(r.value, r.unit), r.unit, ratio, r.ratio_to, r.target, ok])
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    widths[1] = min(widths[1], 60)
    line = lambda c: "  ".join(
        str(x)[: widths[i]].ljust(widths[i]) if i != 2 else str(x).rjust(widths[i]) for i, x in enumerate(c)
    )
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r, c in zip(rows, cells, strict=True):
        print(line(c))
        if r.note and (r.value is None or r.note.startswith("skipped")):
            print(" " * (widths[0] + 2) + f"  {r.note}")
    notes = [(r.name, r.note) for r in rows if r.note and r.value is not None]
    if notes:
        print("\nnotes:")
        for name, note in notes:
            print(f"  {name}: {note}")


def build_parser() -> argparse.ArgumentParser:
    """The CLI's parser."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help=f"comma-separated sections out of {','.join(SECTIONS)}")
    ap.add_argument("--train", action="store_true", help="include the (slow) training race in a full run")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and seeds: noisy smoke test")
    ap.add_argument("--seeds", type=int, default=None, help="training race seeds (default 5, --quick 2)")
    ap.add_argument(
        "--out",
        type=Path,
        default=BENCH / "results.json",
        metavar="PATH",
        help="results file (default: bench/results.json)",
    )
    ap.add_argument(
        "--kernel",
        type=Path,
        default=None,
        metavar="DIR",
        help="measure this compiled kernel instead of compiling the policy afresh",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary build folder (printed)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the wanted sections, print the table and write --out; the exit status."""
    args = build_parser().parse_args(argv)

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        print(f"bench: unknown section {', '.join(bad)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    wanted = only or [s for s in SECTIONS if s != "train" or args.train]
    if not args.out.parent.is_dir():
        print(f"bench: output folder {args.out.parent} does not exist; pass --out PATH", file=sys.stderr)
        return 2

    ctx = Context(quick=args.quick, keep=args.keep, kernel_dir=args.kernel)
    ctx.seeds = args.seeds or (2 if args.quick else 5)
    started = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    timings: dict[str, float] = {}
    try:
        for name in SECTIONS:
            if name not in wanted:
                if name == "train" and not only:
                    rows.append(
                        skipped(
                            "train",
                            "training race",
                            "slow (minutes): run `make bench-train` or `python -m bench --train`",
                        )
                    )
                continue
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                rows += section_fn(name)(ctx)
            except Exception as e:  # noqa: BLE001 - one broken section must not lose the others
                rows.append(skipped(name, "all", f"{type(e).__name__}: {first_line(e)}"))
            timings[name] = round(time.perf_counter() - t0, 1)
    finally:
        if args.keep:
            print(f"[bench] kept {ctx.tmp}", file=sys.stderr)
        ctx.close()

    print_table(rows)
    now = dt.datetime.now(dt.UTC)
    run_info = {
        "date": started.isoformat(timespec="seconds"),
        "finished": now.isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(ctx),
        "model": ctx.facts.get("model"),
        **({"cnn_model": ctx.facts["cnn_model"]} if "cnn_model" in ctx.facts else {}),
        "kernel": ctx.facts.get("kernel", "compiled afresh"),
        "chromium_path": chromium_path(),
        "section_seconds": timings,
    }
    # Sections not run this time keep their previous results, each with the run it came from.
    old = {}
    if args.out.exists():
        try:
            old = json.loads(args.out.read_text()).get("sections", {})
        except (json.JSONDecodeError, AttributeError):
            old = {}
    sections = {k: v for k, v in old.items() if k not in wanted}
    for name in wanted:
        sections[name] = {"run": run_info, "rows": [r.as_dict() for r in rows if r.section == name]}
    write_json_atomic(args.out, {"format": 1, "last_run": run_info, "sections": sections})
    print(f"\n[bench] wrote {args.out} ({', '.join(wanted)}; {sum(timings.values()):.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
