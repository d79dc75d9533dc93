"""Latency and download size of the pure-Python policy (tiny_infer/reference.py) in MicroPython and Pyodide.

    .venv/bin/python bench/python_runtimes/measure.py [MODEL_DIR] [--calls 1000]

MODEL_DIR defaults to the CartPole-v1 policy (build/models, else models/), else a random 32x32 tanh
checkpoint of the same shape. Prints JSON: per runtime the forward latency in Node (called from JS, and
in a Python loop), the load time, and the bytes a browser fetches (raw and gzip -9) for the runtime,
reference.py and the weights JSON.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

NM = ROOT / "node_modules"
# What the page fetches when the backend is chosen (loadPyodide also reads its lock file).
FILES = {"micropython": ["@micropython/micropython-webassembly-pyscript/micropython.mjs",
                         "@micropython/micropython-webassembly-pyscript/micropython.wasm"],
         "pyodide": ["pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "pyodide/pyodide.asm.wasm",
                     "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json"]}


def sizes(paths: list[Path]) -> dict[str, int]:
    data = [p.read_bytes() for p in paths]
    return {"raw": sum(map(len, data)), "gzip": sum(len(gzip.compress(d, 9, mtime=0)) for d in data)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", nargs="?", help="checkpoint folder (default: the newest CartPole-v1 policy)")
    ap.add_argument("--calls", type=int, default=1000, help="forward passes to time per runtime")
    args = ap.parse_args()
    import numpy as np

    from tiny_infer.export_json import export_json

    tmp = Path(tempfile.mkdtemp(prefix="pyrt_bench_"))
    found = [d for d in (ROOT / "build/models/CartPole-v1", ROOT / "models/CartPole-v1")
             if (d / "policy.json").is_file()]
    model = Path(args.model_dir) if args.model_dir else (found[0] if found else None)
    if model is None:
        from tests.checkpoints import make_random_checkpoint
        model = make_random_checkpoint(tmp / "random", obs_dim=4, hidden=(32, 32), env_id="CartPole-v1")
    weights = export_json(model, tmp / "policy.weights.json")
    obs_dim = json.loads(weights.read_text())["obs_dim"]
    obs = np.random.default_rng(0).normal(scale=0.5, size=(256, obs_dim)).astype(np.float32)
    job = tmp / "job.json"
    job.write_text(json.dumps({"cases": [{"name": "policy", "weights": str(weights), "obs": obs.tolist(),
                                          "bench": args.calls}]}))
    p = subprocess.run(["node", str(ROOT / "bench/python_runtimes/run.mjs"), str(job)], capture_output=True,
                       text=True, timeout=900)
    if p.returncode:
        sys.exit(f"measure: {p.stderr.strip()[-500:]}")
    res = json.loads(p.stdout)
    module = sizes([ROOT / "tiny_infer/reference.py", weights])
    out = {"model": str(model), "module_and_weights": module}
    for name, r in res.items():
        c = r["cases"]["policy"]
        out[name] = {"version": r["version"].split(";")[-1].strip()[:60], "load_ms": round(r["load_ms"], 1),
                     "call_us": round(c["call_us"], 1), "loop_us": round(c["loop_us"], 1),
                     "runtime_bytes": sizes([NM / f for f in FILES[name]])}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
