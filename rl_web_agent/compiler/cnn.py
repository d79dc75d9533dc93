"""Convolutional policies (the checkpoint format's `image`, `conv`, `trunk`): uint8 frames -> policy.wasm.

The graph (TinyCNN) is tinygrad's, on the PYTHON device like model.TinyPolicy's, scheduled and rendered by
codegen.render_graphs with tinygrad's C renderer and this module's opts (conv_opts); the kernels are linked
here into a policy.c of one module (emit_cnn_c) with one entry point, forward(): the frames at input_ptr()
(uint8[C*H*W], channels first) -> f32[n_out] at output_ptr(): the logits (discrete), q-values (`head: "q"`)
or action mean (box), then the critic's value when there is one. The critic reads the trunk's features,
which forward() computes anyway, so it costs a few hundred multiply-adds and is not put off into a lazy
module. The same graph is rendered to WGSL for the WebGPU backend (render_cnn_wgsl). The MLP kernel's other
parts do not exist for these policies yet: no policy.lazy.wasm (batch, saliency), no python backend
(policy.weights.json); the manifest says so.

Weights are stored in policy.wasm's data as float32, float16 or int8 with a float32 scale per output channel
(`--weights`, quantize). A trunk layer's int8 weights are read as they are, the scale applied to each sum
(TinyCNN); every other stored f16 or int8 weight is widened once, at the first forward(), into a float32
buffer of its own. Every weight tensor is laid out with the output channel
last ([in, k, k, out] for a conv, [in, out] for a linear layer): conv_opts upcasts that axis into vector
loads, and a weight's output channel is its index modulo the channel count.

The parity certificate (compile.compile_cnn): policy.wasm against PyTorch's forward pass
(model.torch_cnn_forward, float64 arithmetic on the float32 weights as model.torch_forward) on
parity.certificate_frames (real ALE frames and parity_frames' synthetic ones), with the weights the kernel
holds (the dequantized ones for f16 and int8), within parity.parity_bound (scaled by the absolute terms of
each output's last dot product: a trained policy's logits cancel large terms); for quantized weights also the
largest error against the float32 policy and how often the greedy action agrees with it.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np

from rl_web_agent.compiler.codegen import c_renderer, comment_safe, render_graphs, wgsl_renderer
from rl_web_agent.compiler.model import on_policy_device, rational_tanh
from rl_web_agent.compiler.wasm import _kernel_sources, c_float, c_ident, zig_cc
from rl_web_agent.policy.checkpoint import Checkpoint

DEVICE = "PYTHON"
WEIGHT_DTYPES = ("f32", "f16", "int8")  # --weights: how policy.wasm stores the weight tensors (not biases)
EXPORTS = ("input_ptr", "output_ptr", "forward")
INT8_MAX = 127  # symmetric int8: q in [-127, 127], w = q * scale[out channel]
F16_MAX = 65504.0


class QuantError(ValueError):
    """Weights that the chosen storage cannot hold (f16 overflow)."""


def weight_names(ckpt: Checkpoint) -> list[str]:
    """The checkpoint's weight tensors in forward order (conv, trunk, actor, critic), not the biases."""
    names = [f"conv.{i}.weight" for i in range(len(ckpt.conv))]
    names += [f"trunk.{i}.weight" for i in range(len(ckpt.trunk))]
    for head in ckpt.heads:
        names += [f"{head}.{i}.weight" for i in range(len(ckpt.layers(head)))]
    return names


def kernel_layout(a: np.ndarray) -> np.ndarray:
    """A checkpoint weight ([out, in] or [out, in, k, k]) with its output channel last, as the kernels
    read it."""
    return np.ascontiguousarray(np.moveaxis(a, 0, -1), dtype=np.float32)


def quantize(a: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """A (kernel layout: output channel last) as DTYPE stores it: (stored values, float32 scale per output
    channel or None, the float32 weights the kernel computes with after widening them).

    int8: symmetric per output channel, scale = max |w| / 127 (1 for an all-zero channel),
    q = round(w / scale);
    the kernel's weight is float32(q) * scale, one float32 rounding, as the C widening computes it."""
    a = np.asarray(a, np.float32)
    if dtype == "f32":
        return a, None, a
    if dtype == "f16":
        if np.abs(a).max(initial=0.0) > F16_MAX:
            raise QuantError(f"a weight of magnitude {np.abs(a).max():.3g} overflows float16 (max {F16_MAX})")
        h = a.astype(np.float16)
        return h, None, h.astype(np.float32)
    if dtype == "int8":
        m = np.abs(a.reshape(-1, a.shape[-1])).max(axis=0)
        scale = np.where(m > 0, m / np.float32(INT8_MAX), np.float32(1)).astype(np.float32)
        q = np.clip(np.rint(a / scale), -INT8_MAX, INT8_MAX).astype(np.int8)
        return q, scale, (q.astype(np.float32) * scale).astype(np.float32)
    raise ValueError(f"weights dtype {dtype!r}: expected one of {WEIGHT_DTYPES}")


def tensor_dtype(name: str, dtype: str) -> str:
    """How the storage DTYPE (--weights) stores weight NAME. int8 keeps the first conv, the one over raw
    pixels, in float16: it is 8,192 of NatureCNN's 1.7 M weights, yet its rounding moves every feature
    after it. A trained Pong policy's int8 kernel took the float32 policy's greedy action on 98.8% of
    5,000 Pong frames, 99.6% with this layer in float16 (2026-12-07)."""
    return "f16" if dtype == "int8" and name == "conv.0.weight" else dtype


def quantized_tensors(ckpt: Checkpoint, dtype: str) -> tuple[dict, dict[str, np.ndarray]]:
    """({weight name: (stored, scale)} in kernel layout, the checkpoint's tensors with each weight replaced by
    the one the kernel computes with, checkpoint layout): what policy.c stores and what PyTorch is run
    with."""
    stored, tensors = {}, dict(ckpt.tensors)
    for name in weight_names(ckpt):
        q, scale, deq = quantize(kernel_layout(ckpt.tensors[name]), tensor_dtype(name, dtype))
        stored[name] = (q, scale)
        tensors[name] = np.ascontiguousarray(np.moveaxis(deq, -1, 0))
    return stored, tensors


class TinyCNN:
    """frames uint8 [B, C, H, W] -> [B, n_out]: the action head's outputs, then the value (if any).

    tensors: the checkpoint's tensors to compute with (quantized_tensors' dequantized ones). The weights
    are realized tinygrad buffers (as model.TinyPolicy's) in kernel layout, so the scheduler passes them
    to the kernels as inputs; each kernel reads a view of them in PyTorch's layout.

    stored: quantized_tensors' stored weights; where a trunk layer's are int8, its kernel reads those
    bytes themselves and a float32 `<layer>.scale` per output channel, (x @ q) * scale + bias: the same
    weights as float32(q) * scale, scaled after the sum instead of before each product, which reads a
    quarter of the bytes (NatureCNN's trunk, 3136x512: 0.77 ms widened, 0.27 ms on the int8 bytes, Node,
    2026-12-06). A conv's int8 weights are widened (a conv reuses each weight hundreds of times: bytes are
    not what it waits on).
    """

    def __init__(
        self,
        ckpt: Checkpoint,
        tensors: dict[str, np.ndarray] | None = None,
        device: str = DEVICE,
        stored: dict | None = None,
    ):
        from tinygrad import Tensor

        self.ckpt, self.device = ckpt, device
        t = tensors if tensors is not None else ckpt.tensors
        stored = stored or {}
        self.weights: dict[str, Tensor] = {}

        def w(name: str, a: np.ndarray, dtype=np.float32) -> Tensor:
            r = Tensor(np.ascontiguousarray(a, dtype=dtype), device=device).realize()
            self.weights[name] = r
            return r

        def linear(layer: str, direct: bool) -> tuple:  # (weight [in, out], bias, scale or None)
            q, scale = stored.get(f"{layer}.weight", (None, None))
            b = w(f"{layer}.bias", t[f"{layer}.bias"])
            if direct and q is not None and q.dtype == np.int8:
                return w(f"{layer}.weight", q, np.int8), b, w(f"{layer}.scale", scale)
            return w(f"{layer}.weight", kernel_layout(t[f"{layer}.weight"])), b, None

        self.conv = []
        for i, c in enumerate(ckpt.conv):  # stored [in, k, k, out]; conv2d reads the [out, in, k, k] view
            wt = w(f"conv.{i}.weight", kernel_layout(t[f"conv.{i}.weight"])).permute(3, 0, 1, 2)
            self.conv.append((wt, w(f"conv.{i}.bias", t[f"conv.{i}.bias"]), c["stride"]))
        self.trunk = [linear(f"trunk.{i}", True) for i in range(len(ckpt.trunk))]
        # the heads' weights are widened: a few thousand, and their last layers share one kernel, which with
        # two scales more would bind 9 storage buffers (WebGPU allows 8)
        self.heads = {
            head: [linear(f"{head}.{i}", False) for i in range(len(ckpt.layers(head)))] for head in ckpt.heads
        }

    def _mlp(self, layers, x, act_last: bool, tanh: bool):
        from tinygrad import dtypes

        for i, (wt, b, scale) in enumerate(layers):
            x = x.linear(wt, b) if scale is None else (x @ wt.cast(dtypes.float32)) * scale + b
            if act_last or i < len(layers) - 1:
                # ReLU fused into the matmul's kernel; tanh in a kernel of its own (model.TinyPolicy._mlp)
                x = rational_tanh(x.contiguous()).contiguous() if tanh else x.relu().contiguous()
        return x

    @on_policy_device
    def __call__(self, frames):
        from tinygrad import dtypes

        from rl_web_agent.compiler.model import columns

        # the frames as float32 once, in a kernel of their own: the first conv then reads floats (tinygrad
        # would otherwise convert and scale every uint8 it loads, in the innermost loop)
        x = (frames.cast(dtypes.float32) / 255.0).contiguous()
        for wt, b, stride in self.conv:
            x = x.conv2d(wt, b, stride=stride).relu().contiguous()
        x = x.reshape(x.shape[0], -1)  # channels, height, width: PyTorch's flatten
        x = self._mlp(self.trunk, x, True, False)
        tanh = self.ckpt.activation == "tanh"
        outs = [self._mlp(self.heads[h], x, False, tanh) for h in self.ckpt.heads]
        return columns(*outs) if len(outs) > 1 else outs[0]

    @on_policy_device
    def run(self, frames: np.ndarray) -> np.ndarray:
        """Evaluate the graph on tinygrad's PYTHON device (very slow: a frame or two)."""
        from tinygrad import Tensor

        return self(Tensor(np.ascontiguousarray(frames, dtype=np.uint8), device=self.device)).numpy()


def _divisors(n: int, of: tuple[int, ...]) -> list[int]:
    return [d for d in of if n % d == 0]


def conv_opts(ast, ren) -> list:
    """Candidate opts for a convolutional policy's C kernels, one row (the first that applies wins).

    A conv (output axes: channel, row, column; the weights' channel axis is contiguous) upcasts 8 or 4
    channels (vector loads of weights) and a few output columns (each weight vector then feeds several
    positions): a register block of channels x columns of independent accumulators; a whole row of 9 first.
    A kernel of at most 4 rows (reduce axes: input channel, row, column) also unrolls its rows: NatureCNN's
    4x4 conv went from 0.58 to 0.18 ms and its 3x3 from 0.39 to 0.22 (its 8x8 conv, unrolled, from 0.17 to
    0.36: it keeps its loop; Node, 2026-12-06). A linear layer (one output axis) upcasts 16 outputs: each
    input row of its [in, out] weights is then read a whole 64-byte cache line at a time, which halved
    NatureCNN's trunk (3136x512: 1.34 ms at 8 outputs, 0.65 at 16; 32 and 64 are refused by tinygrad).
    Elementwise kernels: none (clang vectorises the flat loop).
    """
    from tinygrad.codegen.opt import Opt, OptOps
    from tinygrad.uop.ops import AxisType, Ops

    ops = ast.toposort()
    if not any(u.op is Ops.REDUCE for u in ops):
        return [[]]
    outputs = [u for u in ops if u.op is Ops.RANGE and u.arg[-1] is not AxisType.REDUCE]
    if len(outputs) == 1:  # a linear layer
        return [[Opt(OptOps.UPCAST, 0, n)] for n in (16, 8, 4)] + [[]]
    reduce = [
        n for _, n in sorted((u.arg[0], u.src[0].arg) for u in ops if u.op is Ops.RANGE and u not in outputs)
    ]
    rows = [Opt(OptOps.UNROLL, 1, reduce[1])] if len(reduce) == 3 and reduce[1] <= 4 else []
    cands = []
    for ch in (8, 4):
        for col in (9, 4, 5, 3, 7, 2):
            block = [Opt(OptOps.UPCAST, 0, ch), Opt(OptOps.UPCAST, 2, col)]
            cands += [block + rows, block] if rows else [block]
        cands.append([Opt(OptOps.UPCAST, 0, ch)])
    cands += [[Opt(OptOps.UPCAST, 0, 16)], [Opt(OptOps.UPCAST, 0, 8)], [Opt(OptOps.UPCAST, 0, 4)], []]
    return cands


def render_cnn(policy: TinyCNN, opts=conv_opts):
    """The forward pass of one frame stack, rendered by tinygrad's C renderer: a codegen.Graph whose input
    buffer ("input") is the uint8 frames."""
    from tinygrad import Tensor, dtypes

    ckpt = policy.ckpt

    def target(_x):
        frames = Tensor.empty(1, *ckpt.image, dtype=dtypes.uint8, device=policy.device)
        return policy(frames), {frames.uop.buffer: "input"}

    return render_graphs(policy, 1, False, {"c": c_renderer(opts=opts)}, "c", target=target)["c"]


def render_cnn_wgsl(policy: TinyCNN):
    """The same forward pass rendered by tinygrad's WGSL renderer, with its own opts for the GPU (workgroups
    and locals): a codegen.Graph for webgpu.emit_data, whose "input" is the uint8 frames (WGSL has no 8-bit
    type: tinygrad reads them as packed u32 words)."""
    from tinygrad import Tensor, dtypes

    ckpt = policy.ckpt

    def target(_x):
        frames = Tensor.empty(1, *ckpt.image, dtype=dtypes.uint8, device=policy.device)
        return policy(frames), {frames.uop.buffer: "input"}

    return render_graphs(policy, 1, False, {"wgsl": wgsl_renderer()}, "s", target=target)["wgsl"]


# policy.c of a convolutional policy: $hole filled by emit_cnn_c (string.Template: C has no `$`)
CNN_C = """\
$header
#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name)
#endif
#define NOINLINE __attribute__((noinline))
#if !defined(__clang__)
#define __builtin_bit_cast(T, x) (((union { __typeof__(x) from; T to; }){ .from = (x) }).to)
#endif
#define ALIGN16 _Alignas(16)
$typedefs

/* ---- weights: $storage ---- */
$weights
/* ---- buffers planned by tinygrad's scheduler (the input: uint8 frames, channels first) ---- */
$buffers

/* ---- kernels rendered by tinygrad's ClangRenderer ---- */
$kernels

/* ---- the stored weights widened to the float32 the kernels read, once, at the first forward() ---- */
static int widened;
$widen_fns
static void widen(void) {
$widen
}

/* ---- entry points ---- */
EXPORT(input_ptr) unsigned char *input_ptr(void) { return s_input; }
EXPORT(output_ptr) float *output_ptr(void) { return s_output; }
EXPORT(forward) void forward(void) {
  if (!widened) { widen(); widened = 1; }
$forward
}
"""

HALF_TO_FLOAT = """\
static float half_to_float(unsigned short h) { /* IEEE binary16 -> binary32, exact (finite values) */
  unsigned int sign = (unsigned int)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) { float f = (float)m * 5.9604644775390625e-8f; return sign ? -f : f; } /* m * 2^-24 */
  return __builtin_bit_cast(float, sign | ((e + 112u) << 23) | (m << 13));
}"""


def _rows(vals: list[str], per_line: int) -> str:
    return ",\n  ".join(", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line))


def _weight_c(name: str, a: np.ndarray, stored: tuple | None) -> tuple[str, str]:
    """(declarations, widening code) of the kernels' weight NAME (w_NAME): float32 or int8 data the kernels
    read in place (an int8 array: a trunk layer's, TinyCNN), or f16/int8 data (h_/q_NAME, with qs_NAME the
    scales) widened into a float32 buffer."""
    cname = "w_" + c_ident(name)
    n = a.size
    if a.dtype == np.int8:
        vals = [str(v) for v in a.ravel().tolist()]
        return f"static const ALIGN16 signed char {cname}[{n}] = {{\n  {_rows(vals, 24)}\n}};", ""
    if stored is None:  # float32 in the data segment, read in place
        vals = [c_float(v) for v in np.asarray(a, np.float32).ravel()]
        return f"static const ALIGN16 float {cname}[{n}] = {{\n  {_rows(vals, 8)}\n}};", ""
    q, scale = stored
    buf = f"static ALIGN16 float {cname}[{n}];"
    if q.dtype == np.float16:
        vals = [f"0x{v:04x}" for v in q.view(np.uint16).ravel().tolist()]
        decl = f"static const unsigned short h_{cname}[{n}] = {{\n  {_rows(vals, 12)}\n}};\n{buf}"
        return decl, f"  for (int i = 0; i < {n}; i++) {cname}[i] = half_to_float(h_{cname}[i]);"
    out = q.shape[-1]
    vals = [str(v) for v in q.ravel().tolist()]
    scales = [c_float(v) for v in scale]
    decl = (
        f"static const signed char q_{cname}[{n}] = {{\n  {_rows(vals, 24)}\n}};\n"
        f"static const float qs_{cname}[{out}] = {{\n  {_rows(scales, 8)}\n}};\n{buf}"
    )
    # [.., out] with the output channel last: channel i % out; as two loops, no division
    widen = (
        f"  for (int i = 0; i < {n // out}; i++)\n    for (int o = 0; o < {out}; o++)\n"
        f"      {cname}[i * {out} + o] = (float)q_{cname}[i * {out} + o] * qs_{cname}[o];"
    )
    return decl, widen


def emit_cnn_c(g, weights: dict[str, np.ndarray], stored: dict, dtype: str, header: str) -> str:
    """policy.c of a convolutional policy: CNN_C filled with G's kernels (render_cnn), their buffers, the
    weights as the kernels read them (WEIGHTS, the realized buffers: float32, or int8 for a trunk layer
    that reads its bytes) or as STORED (quantized_tensors': name -> (values, scales)) widened at the first
    forward(), and forward()'s calls."""
    from string import Template

    typedefs, kernels = _kernel_sources(g.kernels)
    decls, widen = [], []
    for name, a in weights.items():
        d, wd = _weight_c(name, a, stored.get(name) if dtype != "f32" else None)
        decls.append(d)
        if wd:
            widen.append(wd)
    buffers = []
    for b in g.buffers.values():
        if b.kind == "weight":
            continue
        ctype = "unsigned char" if b.name == "input" else "float"
        buffers.append(f"static ALIGN16 {ctype} s_{c_ident(b.name)}[{b.size}];")
    calls = []
    for c in g.calls:
        args = [
            f"({'signed char' if weights[b].dtype == np.int8 else 'float'} *)w_{c_ident(b)}"
            if g.buffers[b].kind == "weight"
            else f"s_{c_ident(b)}"
            for b in c.bufs
        ]
        calls.append(f"  {g.kernels[c.kernel].name}({', '.join(args + ['1'] * len(c.vars))});")
    storage = {
        "f32": "float32, read in place",
        "f16": "float16 (biases float32), widened to float32 at the first forward()",
        "int8": "int8 with a float32 scale per output channel (the first conv float16, biases float32): "
        "the trunk reads the int8 bytes and scales its sums, the other layers' are widened to float32 at the "
        "first forward()",
    }[dtype]
    return Template(CNN_C).substitute(
        header="\n".join(f"/* {comment_safe(line)} */" for line in header.splitlines() if line),
        typedefs="\n".join(typedefs),
        storage=storage,
        weights="\n".join(decls),
        buffers="\n".join(buffers),
        kernels="\n".join(kernels),
        widen_fns=HALF_TO_FLOAT if any(q.dtype == np.float16 for q, _ in stored.values()) else "",
        widen="\n".join(widen) or "  /* nothing to widen */",
        forward="\n".join(calls),
    )


def build_cnn_wasm(c_path: Path, wasm_path: Path) -> None:
    """policy.c into policy.wasm (one module, no imports), with policy.wasm's zig cc flags
    (wasm.ZIG_FLAGS)."""
    cmd = zig_cc([c_path], wasm_path, *[f"-Wl,--export={e}" for e in EXPORTS])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"zig cc failed ({' '.join(cmd)}):\n{p.stderr.strip()}")


class WasmCNN:
    """policy.wasm of a convolutional policy, run by wasmtime: frames -> outputs (the parity harness)."""

    def __init__(self, wasm: Path | bytes, n_out: int):
        import wasmtime

        self.store = wasmtime.Store()
        data = wasm if isinstance(wasm, bytes) else Path(wasm).read_bytes()
        module = wasmtime.Module(self.store.engine, data)
        if module.imports:
            raise RuntimeError(
                f"policy.wasm imports {[i.name for i in module.imports]}; it must import nothing"
            )
        ex = wasmtime.Instance(self.store, module, []).exports(self.store)
        self.memory, self.fn, self.n_out = ex["memory"], {e: ex[e] for e in EXPORTS}, n_out

    def forward(self, frames: np.ndarray) -> np.ndarray:
        """[N, C, H, W] uint8 -> [N, n_out] float32, one forward() each."""
        import ctypes

        s = self.store
        frames = np.ascontiguousarray(frames, dtype=np.uint8)
        base = ctypes.addressof(self.memory.get_buffer_ptr(s))
        size = frames[0].size if len(frames) else 0
        inp = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(base + self.fn["input_ptr"](s)))
        outp = np.ctypeslib.as_array(
            (ctypes.c_float * self.n_out).from_address(base + self.fn["output_ptr"](s))
        )
        out = np.empty((len(frames), self.n_out), np.float32)
        fwd = self.fn["forward"]
        for i, f in enumerate(frames):
            inp[:] = f.ravel()
            fwd(s)
            out[i] = outp
        return out


def greedy(ckpt: Checkpoint, out: np.ndarray) -> np.ndarray:
    """The greedy action of each row of kernel outputs: argmax (discrete), the mean (box)."""
    head = out[:, : ckpt.n_act]
    return head.argmax(-1) if ckpt.discrete else head


def image_summary(ckpt: Checkpoint) -> str:
    convs = ", ".join(f"{c['out']}x{c['kernel']}x{c['kernel']}/{c['stride']}" for c in ckpt.conv)
    return (
        f"uint8{list(ckpt.image)} -> conv [{convs}] -> trunk {list(ckpt.trunk)} -> hidden {list(ckpt.hidden)}"
    )


def macs(ckpt: Checkpoint) -> int:
    """Multiply-adds of one forward pass (the convs, the trunk, every head)."""
    c, h, w = ckpt.image
    total = 0
    for layer in ckpt.conv:
        k, s = layer["kernel"], layer["stride"]
        h, w = (h - k) // s + 1, (w - k) // s + 1
        total += layer["out"] * h * w * c * k * k
        c = layer["out"]
    for name in weight_names(ckpt):
        if not name.startswith("conv."):
            total += math.prod(ckpt.tensors[name].shape)
    return total
