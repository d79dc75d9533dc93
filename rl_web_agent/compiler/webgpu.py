"""Emit the WebGPU kernel's data: `policy.webgpu.data.js` holds tinygrad's WGSL kernels and their dispatch
plan; `policy.webgpu.js`, the static loader beside it (webgpu_loader.js, copied verbatim), imports it.

The data module is `export default {...}` written by json.dumps alone, so no WGSL or metadata can change how
JavaScript reads it. The weights go to `policy.weights.bin` (float32, little-endian); the loader's
`createPolicy(device, weightsUrlOrBytes)` uploads them once, builds one compute pipeline per kernel and one
bind group per launch, and returns {forward(obs), forwardBatch(obs, n), saliency(obs, k), batchSize, obsDim,
nOut}; saliency (saliency.py) is there when compile rendered its graph. The file names are the kernel
folder's (kernel_dir.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rl_web_agent.compiler.codegen import CodegenError, Graph, comment_safe
from rl_web_agent.compiler.kernel_dir import WEBGPU_WEIGHTS_FILE

MAX_STORAGE_BUFFERS = 8  # WebGPU's default maxStorageBuffersPerShaderStage

LOADER = Path(__file__).with_name("webgpu_loader.js")  # copied verbatim as every kernel's WEBGPU_MODULE_FILE


def weights_blob(weights: dict[str, np.ndarray]) -> tuple[bytes, dict[str, list[int]]]:
    """All weights, float32 little-endian, concatenated; and name -> [offset, size] in floats."""
    layout, off, parts = {}, 0, []
    for name, a in weights.items():
        a = np.asarray(a, dtype="<f4").ravel()
        layout[name] = [off, int(a.size)]
        parts.append(a.tobytes())
        off += a.size
    return b"".join(parts), layout


def _plan(graphs: dict[str, Graph]) -> tuple[list[dict], dict[str, dict]]:
    """Every distinct kernel once, and each graph's launches: [kernel index, buffers (bindings 1..), grid]."""
    kernels: list[dict] = []
    index: dict[str, int] = {}
    plans = {}
    for key, g in graphs.items():
        if g.symbolic:
            raise CodegenError("the WebGPU graphs are rendered for a fixed batch")
        calls = []
        for c in g.calls:
            k = g.kernels[c.kernel]
            if k.n_bufs > MAX_STORAGE_BUFFERS:
                raise CodegenError(
                    f"kernel {k.name} binds {k.n_bufs} storage buffers, WebGPU allows "
                    f"{MAX_STORAGE_BUFFERS} by default"
                )
            if k.src not in index:
                index[k.src] = len(kernels)
                kernels.append({"name": k.name, "n_bufs": k.n_bufs, "code": k.src})
            calls.append([index[k.src], c.bufs, list(k.global_size)])
        plans[key] = {
            "batch": g.batch,
            "width": g.buffers["output"].size // g.rows,  # output floats per row
            "calls": calls,
            "buffers": {b.name: b.size for b in g.buffers.values() if b.kind != "weight"},
        }
    return kernels, plans


def emit_data(
    single: Graph,
    batch: Graph,
    weight_layout: dict[str, list[int]],
    obs_dim: int,
    n_out: int,
    outputs: list[dict],
    header: str,
    saliency: Graph | None = None,
) -> str:
    """The data module (WEBGPU_DATA_FILE): the header as comments, then `export default {...}`, a key
    a line."""
    named = {"single": single, "batch": batch, **({"saliency": saliency} if saliency else {})}
    kernels, graphs = _plan(named)
    data = {
        "obs_dim": obs_dim,
        "n_out": n_out,
        "batch": batch.batch,
        "outputs": outputs,
        "weights_file": WEBGPU_WEIGHTS_FILE,
        "weights_floats": sum(n for _, n in weight_layout.values()),
        "weights": weight_layout,  # name -> [offset, size] in floats of weights_file
        "kernels": kernels,  # rendered by tinygrad's WGSLRenderer
        "graphs": graphs,  # launches in schedule order
    }
    lines = [f"// {comment_safe(line)}" for line in header.splitlines()]
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in data.items())
    return "\n".join([*lines, "export default {", body, "};", ""])
