"""Emit `policy.webgpu.js`: tinygrad's WGSL kernels, their dispatch plan and a small WebGPU loader.

The weights go to `policy.weights.bin` (float32, little-endian) beside it; the module's
`createPolicy(device, weightsUrlOrBytes)` uploads them once, builds one compute pipeline per kernel and
one bind group per launch, and returns {forward(obs), forwardBatch(obs, n), saliency(obs, k), batchSize,
obsDim, nOut}; saliency (saliency.py) is there when compile rendered its graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tiny_infer.codegen import CodegenError, Graph, comment_safe

WEIGHTS_FILE = "policy.weights.bin"
MAX_STORAGE_BUFFERS = 8  # WebGPU's default maxStorageBuffersPerShaderStage

LOADER = Path(__file__).with_name("webgpu_loader.js")  # appended verbatim to every policy.webgpu.js


def weights_blob(weights: dict[str, np.ndarray]) -> tuple[bytes, dict[str, list[int]]]:
    """All weights, float32 little-endian, concatenated; and name -> [offset, size] in floats."""
    layout, off, parts = {}, 0, []
    for name, a in weights.items():
        a = np.asarray(a, dtype="<f4").ravel()
        layout[name] = [off, int(a.size)]
        parts.append(a.tobytes())
        off += a.size
    return b"".join(parts), layout


def emit_js(
    single: Graph,
    batch: Graph,
    weight_layout: dict[str, list[int]],
    obs_dim: int,
    n_out: int,
    outputs: list[dict],
    header: str,
    saliency: Graph | None = None,
) -> str:
    """The ES module: constants, the WGSL of every kernel, each graph's launches, then the loader."""
    kernels, index = [], {}
    graphs = {}
    named = [("single", single), ("batch", batch)] + ([("saliency", saliency)] if saliency else [])
    for key, g in named:
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
            if any(c in k.src for c in ("`", "\\", "${")):  # it goes into a JS template literal verbatim
                raise CodegenError(f"kernel {k.name}: its WGSL holds a character special in a JS template")
            if k.src not in index:
                index[k.src] = len(kernels)
                kernels.append({"name": k.name, "nBufs": k.n_bufs, "code": k.src})
            calls.append([index[k.src], c.bufs, list(k.global_size)])
        graphs[key] = {
            "batch": g.batch,
            "width": g.buffers["output"].size // g.rows,  # output floats per row
            "calls": calls,
            "buffers": {b.name: b.size for b in g.buffers.values() if b.kind != "weight"},
        }
    weights_floats = sum(n for _, n in weight_layout.values())
    lines = [f"// {comment_safe(line)}" for line in header.splitlines()]
    lines += [
        f"const OBS_DIM = {obs_dim}, N_OUT = {n_out}, BATCH = {batch.batch};",
        f"const WEIGHTS_FLOATS = {weights_floats};",
        f"const OUTPUTS = {json.dumps(outputs)};",
        f"const WEIGHTS = {json.dumps(weight_layout)};  // name -> [offset, size] in floats, {WEIGHTS_FILE}",
        "// kernels rendered by tinygrad's WGSLRenderer",
        "const KERNELS = [",
    ]
    for k in kernels:
        lines.append(f"  {{ name: {json.dumps(k['name'])}, nBufs: {k['nBufs']}, code: `{k['code']}` }},")
    lines += [
        "];",
        "// launches in schedule order: [kernel, buffers (bindings 1..), workgroups]",
        f"const GRAPHS = {json.dumps(graphs)};",
        LOADER.read_text().strip(),
        "",
    ]
    return "\n".join(lines)
