"""Ask tinygrad for the kernels of the policy's forward pass, rendered by its own C and WGSL renderers.

`Tensor.linear_with_vars(out)` gives the scheduled kernel ASTs (one CALL per kernel, its arguments being
the input, the realized weights, the output, and views of tinygrad's planned scratch arena);
`tinygrad.codegen.to_program(ast, renderer)` lowers each AST and renders its source. We keep the call
order and each call's buffers; the emitters (wasm.py, webgpu.py) link them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rl_web_agent.compiler.model import TinyPolicy

BATCH_VAR = "n"  # the symbolic batch: the number of row blocks (of Graph.block rows each) to compute
BLOCK = 4  # rows per block of the batched matmul kernels: each weight load then feeds 4 rows


def comment_safe(text: str) -> str:
    """TEXT (metadata: paths, ids) as it may stand in a C block comment or a JS line comment: printable ASCII
    only (anything else as an escape, so no line break of any language ends the comment early), and no
    `*/` or `/*` (which would end a C comment, or start a nested one)."""
    s = "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in text)
    return s.replace("*/", "*\\/").replace("/*", "/\\*")


def c_renderer(block: int = 1, opts=None):
    """tinygrad's ClangRenderer for a single-threaded target, with its compiler swapped for a no-op: we only
    want the source (zig cc compiles it later, for wasm32). block: rows per block of the batch axis, which
    with_opts upcasts. opts: another choice of opts than with_opts (same signature; cnn.py's conv_opts)."""
    choose = opts or with_opts
    from tinygrad.device import Compiler
    from tinygrad.helpers import Target
    from tinygrad.renderer import Renderer
    from tinygrad.renderer.cstyle import ClangRenderer

    class PortableClangRenderer(ClangRenderer):
        has_threads = False  # no core_id parameter: wasm32 and microcontrollers run one thread

        def __init__(self):
            self.block = block
            Renderer.__init__(self, Target(device="CPU", renderer="CLANG", arch="wasm32,generic"))
            # never asked to compile: to_program stops at the SOURCE when it is unused
            self.compiler = Compiler()

        def choose_opts(self, ast):
            return choose(ast, self)

    return PortableClangRenderer()


def _program(ast, ren):
    """to_program with the renderer's preferred opts: the first candidate list tinygrad accepts."""
    from dataclasses import replace

    from tinygrad.codegen import to_program
    from tinygrad.codegen.opt import KernelOptError

    choose = getattr(ren, "choose_opts", None)
    for opts in (choose(ast) if choose else None) or []:
        try:
            return to_program(ast.replace(arg=replace(ast.arg, opts_to_apply=tuple(opts))), ren)
        except KernelOptError:
            continue
    return to_program(ast, ren)


def with_opts(ast, ren) -> list:
    """Candidate opts for tinygrad's C kernels (the first that applies wins; [] = none at all).

    Matmul kernels: upcast the output axis (contiguous: weights are stored [in, out]) so each reduce step is
    one vector load of weights into independent accumulators, which clang turns into wasm SIMD. With a
    blocked batch (ren.block rows) also upcast the batch axis (axis 0): every weight vector loaded then feeds
    `block` rows, which is what makes the batched pass cheaper per row than a loop of single ones.
    Elementwise kernels (activations, exp): no upcast, so clang vectorises the flat loop and the polynomial
    appears once in the code. tinygrad's default heuristics upcast and unroll far more: ~3x the code for no
    speed on these sizes.
    """
    from tinygrad.codegen.opt import Opt, OptOps
    from tinygrad.uop.ops import Ops

    if not any(u.op is Ops.REDUCE for u in ast.toposort()):
        return [[]]
    block = getattr(ren, "block", 1)
    if block > 1:
        b = [Opt(OptOps.UPCAST, 0, block)]
        return [b + [Opt(OptOps.UPCAST, 1, n)] for n in (8, 4, 2)] + [b, []]
    return [[Opt(OptOps.UPCAST, 1, 16)], [Opt(OptOps.UPCAST, 1, 8)], [Opt(OptOps.UPCAST, 1, 4)], []]


def row_opts(ast, ren) -> list:
    """with_opts for forward()'s one-row kernels (batch 1, not symbolic): there the output axis is 0 and
    axis 1 the reduce, so with_opts' upcasts never applied and forward() ran scalar code, 2x the hand-written
    C's time (bench kernel row, 2026-12-06); upcast by 8 (or 4) it is 0.66x, for 160 more bytes of
    policy.wasm. The saliency's one-row kernels keep with_opts: upcast, its backward pass grows
    policy.lazy.wasm by 5 KB."""
    from tinygrad.codegen.opt import Opt, OptOps
    from tinygrad.uop.ops import Ops

    if not any(u.op is Ops.REDUCE for u in ast.toposort()):
        return [[]]
    return [[Opt(OptOps.UPCAST, 0, 8)], [Opt(OptOps.UPCAST, 0, 4)], []]


def wgsl_renderer():
    """tinygrad's WGSLRenderer, for the WebGPU kernels (webgpu.py)."""
    from tinygrad.helpers import Target
    from tinygrad.renderer.wgsl import WGSLRenderer

    return WGSLRenderer(Target(device="WEBGPU"))


@dataclass
class Buf:
    """A buffer of the graph: `input`, `output`, `weight` (tensor name) or `scratch`; size in floats."""

    name: str
    kind: str
    size: int


@dataclass
class Call:
    """One kernel launch: kernel index into Graph.kernels, buffer names in parameter order, variable names."""

    kernel: int
    bufs: list[str]
    vars: list[str]


@dataclass
class Kernel:
    """One rendered kernel; its launches (Call) name its buffers and variables."""

    name: str  # unique within the graph's target
    src: str  # tinygrad's rendered source, function renamed to `name`
    global_size: tuple[int, ...]  # workgroups to dispatch (WGSL; its workgroup size is in the source)
    n_bufs: int
    reduce: bool  # has a reduction (a matmul, max or sum): what blocking of the batch axis can speed up


@dataclass
class Graph:
    """The rendered forward pass for one renderer and one batch size.

    symbolic: the kernels compute n blocks of `block` rows (n = 1..rows // block), so one set of kernels
    serves any batch; its buffers hold `rows` = batch rounded up to a multiple of `block`.
    """

    batch: int
    symbolic: bool
    block: int = 1
    buffers: dict[str, Buf] = field(default_factory=dict)
    kernels: list[Kernel] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return -(-self.batch // self.block) * self.block


class CodegenError(RuntimeError):
    pass


def _arg_key(u) -> tuple:
    """Identity of a call argument: a whole BUFFER, or a (base, byte offset, byte size) view of the arena."""
    from tinygrad.uop.ops import Ops

    if u.op is Ops.BUFFER:
        return ("buf", u)
    if u.op is Ops.BITCAST and u.src[0].op is Ops.SHRINK:
        base, off, size = u.src[0].src
        if off.op is Ops.CONST and base.op is Ops.BUFFER:
            return ("view", base, int(off.arg), int(size.vmax), u.dtype)
    if u.op is Ops.BITCAST and u.src[0].op is Ops.BUFFER and u.src[0].src and u.src[0].src[0].op is Ops.CONST:
        arena = u.src[0]  # the whole arena
        return ("view", arena, 0, int(arena.src[0].arg) * arena.dtype.itemsize, u.dtype)
    raise CodegenError(
        f"unexpected kernel argument {u.op} from tinygrad's scheduler; is tinygrad 0.14.0 installed?"
    )


def _output_buffer(u, n_out: int):
    """The buffer behind the policy's output view, checked to hold it row-major: [rows, n_out].

    The symbolic batch leaves a view of the full output buffer (SHRINKs of its leading rows, RESHAPEs);
    anything else (a PERMUTE, as tinygrad's Tensor.cat makes of equal-width parts) would put the outputs
    in an order the entry points do not read, so it is refused here rather than linked wrong.
    """
    from tinygrad.uop.ops import Ops

    view = u
    while u.op is not Ops.BUFFER:
        starts = u.src[1].src if u.op is Ops.SHRINK and u.src[1].op is Ops.STACK else u.src[1:2]
        row_prefix = (
            u.op is Ops.SHRINK
            and u.shape[1:] == u.src[0].shape[1:]
            and all(s.op is Ops.CONST and s.arg == 0 for s in starts)
        )
        if not (row_prefix or u.op is Ops.RESHAPE) or not u.src:
            raise CodegenError(
                f"the policy's output is a {u.op.name} view of its buffer, not its leading rows; the "
                "kernels' callers read it as [rows, outputs] (a bug: please report it)"
            )
        u = u.src[0]
    if view.shape[-1] != n_out or u.buffer.size % n_out:
        raise CodegenError(
            f"the policy's output is {view.shape}, expected [rows, {n_out}] (a bug: please report it)"
        )
    return u.buffer


def render_graphs(
    policy: TinyPolicy,
    batch: int,
    symbolic: bool,
    renderers: dict[str, object],
    prefix: str,
    block: int = 1,
    target=None,
) -> dict[str, Graph]:
    """Schedule policy(obs[batch, obs_dim]) and render every kernel with each renderer (key -> Graph).

    target: another graph of the same observation instead of the policy's forward pass (saliency.py):
    target(obs) -> (out [rows, width], {extra input Buffer: name}).

    symbolic: the batch dimension is `n * block` rows, n a variable (1..rows // block), so one set of kernels
    serves any batch up to `batch`; the batch axis of every kernel is then a multiple of `block`, which
    lets the opts upcast it (with_opts).
    """
    from tinygrad import Tensor, UOp, dtypes
    from tinygrad.uop.ops import Ops

    graphs = {k: Graph(batch, symbolic, block if symbolic else 1) for k in renderers}
    rows = next(iter(graphs.values())).rows
    x = Tensor.empty(rows, policy.ckpt.obs_dim, dtype=dtypes.float32, device=policy.device)
    if symbolic:
        n_max = rows // block
        n = UOp.variable(BATCH_VAR, 1, n_max).bind(n_max)
        xin = x[: n * block] if block > 1 else x[:n]
    else:
        xin = x
    out, extra = target(xin) if target else (policy(xin), {})
    linear, _ = out.linear_with_vars()

    roles = {t.uop.buffer: ("weight", name) for name, t in policy.weights.items()}
    roles[x.uop.buffer] = ("input", "input")
    roles.update({b: ("input", name) for b, name in extra.items()})
    roles[_output_buffer(out.uop, out.shape[-1] if target else policy.ckpt.n_out)] = ("output", "output")

    names: dict[tuple, Buf] = {}

    def buf_for(u) -> Buf:
        key = _arg_key(u)
        if key in names:
            return names[key]
        n_scratch = sum(1 for v in names.values() if v.kind == "scratch")
        if key[0] == "buf" and u.buffer in roles:
            kind, name = roles[u.buffer]
            b = Buf(name, kind, u.buffer.size if kind != "weight" else policy.weights[name].numel())
        elif key[0] == "buf":  # an intermediate the scheduler gave its own buffer (e.g. after .contiguous())
            if u.buffer.dtype != dtypes.float32:
                raise CodegenError(
                    f"intermediate buffer of dtype {u.buffer.dtype}: only float32 is supported"
                )
            b = Buf(f"scratch{n_scratch}", "scratch", u.buffer.size)
        else:
            if key[4] != dtypes.float32:
                raise CodegenError(f"scratch buffer of dtype {key[4]}: only float32 is supported")
            b = Buf(f"scratch{n_scratch}", "scratch", key[3] // 4)
        names[key] = b
        return b

    # per renderer: source -> kernel index (identical kernels render once)
    seen: dict[str, dict[str, int]] = {k: {} for k in renderers}
    programs: dict = {}
    for call in linear.src:
        if call.op is not Ops.CALL or call.src[0].op is not Ops.SINK:
            raise CodegenError(f"tinygrad scheduled a {call.src[0].op} (not a kernel); unsupported graph")
        args = [s for s in call.src[1:] if not s.is_bound_var]
        for key, ren in renderers.items():
            g = graphs[key]
            if (call.src[0], key) not in programs:  # ASTs are hash-consed: the same layer twice renders once
                programs[(call.src[0], key)] = _program(call.src[0], ren)
            prg = programs[(call.src[0], key)]
            info = prg.arg
            src = next(s.arg for s in prg.src if s.op is Ops.SOURCE)
            fname = prg.src[0].arg.function_name
            bufs = [buf_for(args[i]) for i in info.globals]
            for b in bufs:
                g.buffers.setdefault(b.name, b)
            var_names = [v.arg.name for v in info.vars]
            if any(v != BATCH_VAR for v in var_names):
                raise CodegenError(
                    f"kernel {fname} takes variables {var_names}; only the batch size is supported"
                )
            if src not in seen[key]:
                seen[key][src] = len(g.kernels)
                name = f"{prefix}{len(g.kernels)}_{fname}"
                g.kernels.append(
                    Kernel(
                        name,
                        re.sub(rf"\b{re.escape(fname)}\b", name, src),
                        tuple(int(s) for s in info.global_size),
                        len(bufs),
                        any(u.op is Ops.REDUCE for u in call.src[0].toposort()),
                    )
                )
            g.calls.append(Call(seen[key][src], [b.name for b in bufs], var_names))
    return graphs


def weight_arrays(policy: TinyPolicy) -> dict[str, np.ndarray]:
    """The realized weight buffers, flat float32, as the kernels index them."""
    return {name: t.numpy().astype(np.float32).ravel() for name, t in policy.weights.items()}
