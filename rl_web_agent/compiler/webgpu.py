"""Emit the WebGPU kernel's data: `policy.webgpu.data.js` holds tinygrad's WGSL kernels and their dispatch
plan; `policy.webgpu.js`, the static loader beside it (webgpu_loader.js, copied verbatim), imports it.

The data module is `export default {...}` written by json.dumps alone, so no WGSL or metadata can change how
JavaScript reads it. The weights go to `policy.weights.bin`, each tensor stored as policy.wasm stores it:
float32 (an MLP's, or `--weights f32`), float16, or int8 with a float32 scale per output channel (a
convolutional policy's, cnn.quantize), little-endian, every tensor at a multiple of 4 bytes; the loader widens
them to the float32 the kernels read, as policy.c's widen() does, so both backends compute with the same
weights and a page's WebGPU download is no bigger than its wasm kernel. `createPolicy(device,
weightsUrlOrBytes)` uploads them once, builds one compute pipeline per kernel and one bind group per launch,
and returns {forward(obs), forwardBatch(obs, n)?, saliency(obs, k)?, batchSize, obsDim, nOut}; the batch
(the what-if sweep) and the saliency (saliency.py) are there when compile rendered their graphs. obs is
float32, or the uint8 frames of a convolutional policy (`input: "uint8"`). The file names are the kernel
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


def weights_blob(
    weights: dict[str, np.ndarray], stored: dict[str, tuple[np.ndarray, np.ndarray | None]] | None = None
) -> tuple[bytes, dict[str, dict]]:
    """All weights concatenated, each at a multiple of 4 bytes: float32 little-endian, or as STORED holds it
    (name -> (float16 values, None) or (int8 values, float32 scale per output channel), the output channel
    last: cnn.quantized_tensors' layout); and name -> {offset (bytes), size (floats), dtype, and for int8
    scales (the byte offset of the float32 scales) and channels}: the loader's recipe to widen them."""
    stored = stored or {}
    layout, parts, off = {}, [], 0

    def put(b: bytes) -> int:
        nonlocal off
        at = off
        parts.append(b + bytes(-len(b) % 4))
        off += len(parts[-1])
        return at

    for name, a in weights.items():
        a = np.asarray(a, dtype="<f4").ravel()
        q, scale = stored.get(name, (None, None))
        if q is None:
            layout[name] = {"offset": put(a.tobytes()), "size": int(a.size), "dtype": "f32"}
            continue
        if q.size != a.size:
            raise CodegenError(f"stored weights of {name}: {q.size} values for a tensor of {a.size}")
        dtype = {np.dtype(np.float16): "f16", np.dtype(np.int8): "int8"}[q.dtype]
        entry = {
            "offset": put(q.astype(q.dtype.newbyteorder("<")).tobytes()),
            "size": int(a.size),
            "dtype": dtype,
        }
        if dtype == "int8":
            entry["scales"] = put(np.asarray(scale, "<f4").tobytes())
            entry["channels"] = int(len(scale))
        layout[name] = entry
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
    batch: Graph | None,
    weight_layout: dict[str, dict],
    weights_bytes: int,
    obs_dim: int,
    n_out: int,
    outputs: list[dict],
    header: str,
    saliency: Graph | None = None,
    input_dtype: str = "float32",
) -> str:
    """The data module (WEBGPU_DATA_FILE): the header as comments, then `export default {...}`, a key
    a line. batch None: no batched pass (batch 0)."""
    named = {
        "single": single,
        **({"batch": batch} if batch else {}),
        **({"saliency": saliency} if saliency else {}),
    }
    kernels, graphs = _plan(named)
    data = {
        "obs_dim": obs_dim,
        "n_out": n_out,
        "batch": batch.batch if batch else 0,
        "input": input_dtype,  # the observation buffer: float32, or uint8 frames (a convolutional policy)
        "outputs": outputs,
        "weights_file": WEBGPU_WEIGHTS_FILE,
        "weights_bytes": weights_bytes,
        "weights": weight_layout,  # name -> {offset, size, dtype, scales?, channels?} (weights_blob)
        "kernels": kernels,  # rendered by tinygrad's WGSLRenderer
        "graphs": graphs,  # launches in schedule order
    }
    lines = [f"// {comment_safe(line)}" for line in header.splitlines()]
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in data.items())
    return "\n".join([*lines, "export default {", body, "};", ""])
