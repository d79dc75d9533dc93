"""Section `runtimes`: rl_web_agent/runtime_py/mlp.py (the pure-Python policy) under MicroPython and Pyodide,
in Node and in headless Chromium, next to the wasm kernel; and the bytes each runtime costs when the page's
`python` backend is chosen (runtime files + runtime_py/mlp.py + the weights JSON, gzipped)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.browser import chromium
from bench.common import BENCH, NO_CHROMIUM, ROOT, Row, chromium_path, gz_size, run, skipped
from bench.context import Context
from bench.deps import ensure_node
from rl_web_agent.compiler.kernel_dir import LAZY_WASM_FILE

S = "runtimes"
NM = BENCH / "node_modules"
FILES = {
    "micropython": [
        "@micropython/micropython-webassembly-pyscript/micropython.mjs",
        "@micropython/micropython-webassembly-pyscript/micropython.wasm",
    ],
    "pyodide": [
        "pyodide/pyodide.mjs",
        "pyodide/pyodide.asm.mjs",
        "pyodide/pyodide.asm.wasm",
        "pyodide/python_stdlib.zip",
        "pyodide/pyodide-lock.json",
    ],
}
LABEL = {"micropython": "MicroPython", "pyodide": "Pyodide"}


def weights_export(ctx: Context) -> Path:
    out = ctx.tmp / "policy.weights.json"
    if not out.exists():
        sys.path.insert(0, str(ROOT))
        from rl_web_agent.runtime_py.export_json import export_json

        export_json(ctx.model, out)
    return out


def run_chromium(ctx: Context, src: Path, weights: Path) -> dict:
    res: dict = {}
    mounts = {"/js/": BENCH / "js", "/nm/": NM, "/t/": ctx.tmp, "/src/": src.parent}
    cfg = {
        "io": "/t/" + ctx.io_json.name,
        "src": "/src/" + src.name,
        "weights": "/t/" + weights.name,
        "quick": ctx.quick,
    }
    with chromium(mounts, use_gzip=True) as (browser, base):
        res["version"] = browser.version
        for name in ("micropython", "pyodide"):
            page = browser.new_context().new_page()
            try:
                page.goto(base + "/js/pyrt.html")
                page.wait_for_function("window.benchReady === true", timeout=60_000)
                res[name] = page.evaluate("cfg => window.runPy(cfg)", {**cfg, "runtime": name})
            except Exception as e:  # noqa: BLE001
                res[name] = {"error": str(e).splitlines()[0][:300]}
            finally:
                page.context.close()
    return res


def measure(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    src = ROOT / "rl_web_agent" / "runtime_py" / "mlp.py"
    if not src.is_file():
        return [skipped(S, "all", "rl_web_agent/runtime_py/mlp.py missing")]
    try:
        ensure_node()
        weights = weights_export(ctx)
    except Exception as e:  # noqa: BLE001
        return [skipped(S, "all", str(e))]
    wasm: dict[str, Path] = {}
    try:
        wasm["ours"] = ctx.kernel / "policy.wasm"
    except Exception as e:  # noqa: BLE001
        rows.append(skipped(S, "ours (wasm)", f"no kernel ({e}); hand-written C stands in"))
        try:
            wasm["baseline"] = ctx.baseline
        except Exception as e2:  # noqa: BLE001
            rows.append(skipped(S, "hand-written C", str(e2)))
    ref_name = "ours (wasm)" if "ours" in wasm else "hand-written C (wasm)"

    cfg = {
        "io": str(ctx.io_json),
        "src": str(src),
        "weights": str(weights),
        "wasm": {k: str(v) for k, v in wasm.items()},
        "lazy": {"ours": str(ctx.kernel / LAZY_WASM_FILE)} if "ours" in wasm else {},
        "quick": ctx.quick,
    }
    (ctx.tmp / "pyrt_node.json").write_text(json.dumps(cfg))
    results: dict[str, dict] = {}
    try:
        out = run(["node", str(BENCH / "js" / "pyrt_node.mjs"), str(ctx.tmp / "pyrt_node.json")], timeout=900)
        results["node"] = json.loads(out.stdout.strip().splitlines()[-1])["results"]
    except Exception as e:  # noqa: BLE001
        rows.append(skipped(S, "node", str(e)))
    if chromium_path() is None:
        rows.append(skipped(S, "chromium", NO_CHROMIUM))
    else:
        try:
            results["chromium"] = run_chromium(ctx, src, weights)
            from bench.kernel import run_chromium as kernel_chromium

            k = kernel_chromium(ctx, wasm, list(wasm))["results"]
            results["chromium"].update(k)
        except Exception as e:  # noqa: BLE001
            rows.append(skipped(S, "chromium", str(e).splitlines()[0]))

    for where, r in results.items():
        kernel = next((r[k] for k in ("ours", "baseline") if k in r and "single_us" in r[k]), None)
        if kernel:
            rows.append(Row(S, f"{where}: {ref_name} single", kernel["single_us"], "us"))
        for name in ("micropython", "pyodide"):
            m = r.get(name)
            if m is None:
                continue
            if "error" in m:
                rows.append(skipped(S, f"{where}: {LABEL[name]}", m["error"]))
                continue
            row = Row(
                S,
                f"{where}: {LABEL[name]} forward (called from JS)",
                m["single_us"],
                "us",
                note=f"loop inside Python {m['in_python_us']:.0f} us; "
                f"runtime load {m['load_ms']:.0f} ms; "
                f"max err vs PyTorch {m['max_err']:.1e}",
                extra={
                    k: m[k]
                    for k in ("in_python_us", "load_ms", "max_err", "inner", "reps", "fetched")
                    if k in m
                },
            )
            if kernel:
                row.ratio, row.ratio_to = m["single_us"] / kernel["single_us"], ref_name
            rows.append(row)
            if "fetched" in m:
                rows.append(
                    Row(
                        S,
                        f"{where}: {LABEL[name]} bytes fetched to load (gzip)",
                        m["fetched"]["body"],
                        "B",
                        extra=m["fetched"],
                        note=f"{m['fetched']['n']} requests, {m['fetched']['decoded']:,} B decoded",
                    )
                )
    # What choosing the backend costs, counted from the files (gzip -9): runtime + module + weights.
    extra_bytes = gz_size(src.read_bytes()) + gz_size(weights.read_bytes())
    kernel_gz = None
    if "ours" in wasm:
        kernel_gz = gz_size(wasm["ours"].read_bytes())
    for name, files in FILES.items():
        paths = [NM / f for f in files]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            rows.append(skipped(S, f"size: {LABEL[name]}", f"missing {', '.join(missing)}"))
            continue
        gz = sum(gz_size(p.read_bytes()) for p in paths) + extra_bytes
        raw = sum(p.stat().st_size for p in paths)
        row = Row(
            S,
            f"size: {LABEL[name]} backend (runtime + mlp.py + weights)",
            gz,
            "B gz",
            extra={"runtime_raw": raw, "module_and_weights_gz": extra_bytes},
            note=f"runtime {raw:,} B raw; mlp.py + weights JSON {extra_bytes:,} B gz",
        )
        if kernel_gz:
            row.ratio, row.ratio_to = gz / kernel_gz, "policy.wasm"
        rows.append(row)
    return rows
