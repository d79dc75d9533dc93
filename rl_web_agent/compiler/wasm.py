"""Link tinygrad's C kernels into one standalone `policy.c` (weights baked in), compiled to two wasm modules.

The kernel bodies are tinygrad's ClangRenderer output, untouched apart from their names (made unique and
`static`) and their vector typedefs (hoisted into a prelude that also builds with GCC). The glue here
declares the buffers tinygrad's scheduler asked for, calls the kernels in schedule order, and defines the
kernel-folder entry points: input_ptr, output_ptr, forward (the action head of one observation), value (its
critic's value, for a policy with a critic), batch_size, batch_input_ptr, batch_output_ptr, forward_batch(n)
(head and value of n), and the saliency's (saliency.py): saliency(k), saliency_ptr.

A page's first action needs only forward(), so policy.c becomes two modules (the kernel folder):
`policy.wasm` (-DPOLICY_EAGER: the actor's weights, forward() and its buffers; no imports) and
`policy.lazy.wasm` (-DPOLICY_LAZY: value, forward_batch and saliency), which imports policy.wasm's memory and
reads the weights where policy.wasm holds them: each such weight and each of its own buffers is a constant
address there (build_wasm lays them out); its own data is the weights policy.wasm lacks, the critic's. Both
are built from the same policy.c: without either define, policy.c is one module with every entry point (a
native build has them all).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from string import Template

import numpy as np

from rl_web_agent.compiler.codegen import BATCH_VAR, Graph, Kernel, comment_safe
from rl_web_agent.compiler.kernel_dir import LAZY_WASM_FILE
from rl_web_agent.compiler.saliency import SELECT

# forward_batch runs the blocked kernel of an elementwise call with at most this many floats per row (below)
SINGLE_BLOCKED_MAX_ROW = 8
# What policy.wasm (a page's first action's kernel) may hold beyond the float32 weights forward() reads (the
# manifest's forward_weight_bytes: not the critic's): forward()'s code, the module's sections. The shipped
# policies need 1,133 to 1,684 B for 32x32 tanh (the softmax and the observation normaliser cost most),
# 1,845 B for LunarLander's 64x64, 913 B for HalfCheetah's 256x256 ReLU (2026-12-06, forward()'s kernels
# upcast by codegen.row_opts: about 160 B more each). tests/test_compile.py and the bench's kernel-size row
# hold policy.wasm to it.
FORWARD_CODE_BYTES = 2048
# the entry points of each module (the kernel folder): policy.wasm's, what the first action needs, and
# policy.lazy.wasm's (its input_ptr is saliency()'s input, a buffer of its own)
EAGER_EXPORTS = ("input_ptr", "output_ptr", "forward")
LAZY_EXPORTS = (
    "input_ptr",
    "batch_size",
    "batch_input_ptr",
    "batch_output_ptr",
    "forward_batch",
    "saliency",
    "saliency_ptr",
)
LAZY_EXPORTS_VALUE = ("value",)  # a policy with a critic's
EXPORTS = tuple(dict.fromkeys(EAGER_EXPORTS + LAZY_EXPORTS + LAZY_EXPORTS_VALUE))
LAZY_NAME = LAZY_WASM_FILE
# -fno-unroll-loops: clang's unrolling of the kernels' loops (on top of tinygrad's upcasts) cost ~1.2 KB of
# code for no measurable speed (Node 20, CartPole 32x32: forward() was as fast or faster without it)
ZIG_FLAGS = [
    "--target=wasm32-freestanding",
    "-O3",
    "-msimd128",
    "-fno-unroll-loops",
    "-nostdlib",
    "-Wl,--no-entry",
    "-Wl,--export-memory",
    "-Wl,--strip-all",
]

# policy.c, top to bottom: emit_c fills each $hole (string.Template: C has no `$`). forward() runs the action
# head's kernels on the s_ buffers (one row), value() the critic's on the v_ buffers (reading s_input),
# forward_batch the whole policy's on the b_ buffers (n rows of at most $batch).
POLICY_C = Template("""\
$header
#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name)
#endif
/* policy.wasm is built with -DPOLICY_EAGER (the forward pass), policy.lazy.wasm with -DPOLICY_LAZY (the rest,
   its weights and buffers at AT_<name>, addresses in policy.wasm's memory); without either, one module. The
   other module's entry points are static there: clang drops them, and specialises the kernels for the calls
   that remain (forward()'s n = 1). */
#if defined(POLICY_EAGER)
#define EXPORT_LAZY(name) static __attribute__((unused))
#else
#define EXPORT_LAZY(name) EXPORT(name)
#endif
#if defined(POLICY_LAZY)
#define EXPORT_EAGER(name) static __attribute__((unused))
#else
#define EXPORT_EAGER(name) EXPORT(name)
#endif
/* tinygrad's C renderer targets clang; with other compilers (GCC, microcontroller toolchains) map its two
   clang-only features, ext_vector_type and __builtin_bit_cast, onto GNU C. */
/* kernels are called from forward() and forward_batch(): one copy of each keeps the module small */
#define NOINLINE __attribute__((noinline))
#if !defined(__clang__)
#define __builtin_bit_cast(T, x) (((union { __typeof__(x) from; T to; }){ .from = (x) }).to)
#endif
#define ALIGN16 _Alignas(16)
$typedefs

/* ---- weights (float32, as the kernels index them) ---- */
$weights
/* ---- buffers planned by tinygrad's scheduler: a row for forward() and value(), all for batches */
$buffers

/* ---- kernels rendered by tinygrad's ClangRenderer ---- */
$kernels

/* ---- entry points (contract 2) ---- */
EXPORT(input_ptr) float *input_ptr(void) { return s_input; }
EXPORT_EAGER(output_ptr) float *output_ptr(void) { return s_output; }
EXPORT_LAZY(batch_size) int batch_size(void) { return $batch; }
EXPORT_LAZY(batch_input_ptr) float *batch_input_ptr(void) { return b_input; }
EXPORT_LAZY(batch_output_ptr) float *batch_output_ptr(void) { return b_output; }
EXPORT_EAGER(forward) void forward(void) {
$forward
}
$value
EXPORT_LAZY(forward_batch) void forward_batch(int $n) {
  if ($n < 1) return;
  if ($n > $batch) $n = $batch;
$forward_batch
}
$saliency""")
# with blocked kernels, forward_batch computes whole blocks of $k rows
ROUND_TO_BLOCKS = Template("""\
  int blocks = ($n + $k_1) / $k;
  $n = blocks * $k;  /* whole blocks: rows past n are computed, and never read */""")
# value(): the critic alone (policy.wasm holds none of it), on the observation at input_ptr
VALUE_C = Template("""\
$buffers
EXPORT_LAZY(value) float value(void) {
$calls
  return v_output[0];
}
""")
# the saliency graph (saliency.py) reads forward()'s input, s_input; $select fills its one-hot of k
SALIENCY_C = Template("""\
$buffers
/* the gradient of the decision for action k (saliency.py) with respect to the observation */
EXPORT_LAZY(saliency_ptr) float *saliency_ptr(void) { return g_output; }
EXPORT_LAZY(saliency) void saliency(int k) {
$select
$calls
}
""")

_TYPEDEF = re.compile(
    r"^typedef (\w+) (\w+) __attribute__\(\(aligned\((\d+)\),ext_vector_type\((\d+)\)\)\);$", re.M
)
_SIZEOF = {"float": 4, "int": 4, "unsigned int": 4, "_Bool": 1, "signed char": 1, "unsigned char": 1}


def c_float(v: np.float32) -> str:
    """Shortest decimal that reads back as exactly this float32 (numpy's float32 repr), as a C literal."""
    s = str(np.float32(v))
    return (s if ("." in s or "e" in s) else s + ".0") + "f"


def c_array(name: str, a: np.ndarray, per_line: int = 8) -> str:
    """A as a static const float array NAME, exact to the bit (c_float), PER_LINE values a line; in the lazy
    module (-DPOLICY_LAZY) NAME is instead policy.wasm's copy, at address AT_NAME, where policy.wasm has one
    (clang folds a small weight that forward() reads at constant indices into its code)."""
    vals = [c_float(v) for v in np.asarray(a, dtype=np.float32).ravel()]
    rows = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return (
        f"#if defined(POLICY_LAZY) && defined(AT_{name})\n#define {name} ((const float *)AT_{name})\n#else\n"
        f"static const ALIGN16 float {name}[{len(vals)}] = {{\n  " + ",\n  ".join(rows) + "\n};\n#endif\n"
    )


_BUFFER = re.compile(r"^static ALIGN16 float (\w+)\[(\d+)\];$", re.M)


def _lazy_or_static(decls: list[str]) -> str:
    """Buffer declarations (`static ALIGN16 float NAME[N];`), each at address AT_NAME in the lazy module."""
    if not decls:
        return ""
    at = [f"#define {m.group(1)} ((float *)AT_{m.group(1)})" for m in map(_BUFFER.match, decls)]
    return "\n".join(["#if defined(POLICY_LAZY)", *at, "#else", *decls, "#endif"])


def c_ident(name: str) -> str:
    """NAME (a tensor or buffer name) as a C identifier."""
    return re.sub(r"\W", "_", name)


def _kernel_sources(kernels_in: list[Kernel]) -> tuple[list[str], list[str]]:
    """Kernel sources (static, typedefs stripped) and the typedef lines, portable to GCC."""
    typedefs: dict[str, str] = {}
    kernels = []
    for k in kernels_in:
        src = k.src
        for m in _TYPEDEF.finditer(src):
            base, vec, align, n = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
            size = _SIZEOF.get(base)
            if size is None:
                raise RuntimeError(f"unsupported vector element type {base!r} in tinygrad's C output")
            typedefs[vec] = (
                f"#if defined(__clang__)\n{m.group(0)}\n#else\n"
                f"typedef {base} {vec} __attribute__((aligned({align}),vector_size({size * n})));\n#endif"
            )
        src = _TYPEDEF.sub("", src).strip()
        src, n_sub = re.subn(
            rf"^void {re.escape(k.name)}\(", f"static NOINLINE void {k.name}(", src, flags=re.M
        )
        if n_sub != 1:
            raise RuntimeError(f"could not find the kernel function {k.name} in tinygrad's C output")
        kernels.append(src)
    return list(typedefs.values()), kernels


def _arg(g: Graph, b: str, prefix: str, weight_names: dict[str, str]) -> str:
    return f"(float *){weight_names[b]}" if g.buffers[b].kind == "weight" else f"{prefix}_{c_ident(b)}"


def blocked_calls(batch: Graph, blocked: Graph) -> list[bool]:
    """Per call of BATCH: does forward_batch() run BLOCKED's kernel instead (blocks of rows)?

    For every matmul (a reduction reading a weight), where each weight load then feeds a block of rows, and
    tiny elementwise calls. Both graphs come from the same tinygrad schedule, so call i of one is call i of
    the other: checked here.
    """
    if len(batch.calls) != len(blocked.calls) or batch.rows != blocked.rows:
        raise RuntimeError("the per-row and the blocked schedules differ; cannot link them")
    many = []
    for a, b in zip(batch.calls, blocked.calls, strict=True):
        if a.bufs != b.bufs or any(batch.buffers[x].size != blocked.buffers[x].size for x in a.bufs):
            raise RuntimeError(
                "the per-row and the blocked schedules use different buffers; cannot link them"
            )
        w = [blocked.buffers[x].size for x in b.bufs if blocked.buffers[x].kind == "weight"]
        per_row = max(
            blocked.buffers[x].size // blocked.rows for x in b.bufs if blocked.buffers[x].kind != "weight"
        )
        matmul = blocked.kernels[b.kernel].reduce and bool(w)
        # an elementwise kernel's blocked version is the same code looping over whole blocks (which lets clang
        # drop its vector loop's remainder): for a few floats per row, one kernel can serve both entry points
        tiny = not blocked.kernels[b.kernel].reduce and per_row <= SINGLE_BLOCKED_MAX_ROW
        many.append(matmul or tiny)
    return many


def _buffers_c(g: Graph, prefix: str, n_rows: int, skip: tuple[str, ...] = ()) -> list[str]:
    """PREFIX_<name>: G's input, output and scratch buffers, for N_ROWS rows."""
    out = []
    for b in g.buffers.values():
        if b.kind == "weight" or b.name in skip:
            continue
        if b.size % g.rows:  # every non-weight buffer is [rows, ...]
            raise RuntimeError(f"buffer {b.name} ({b.size} floats) is not batch-major")
        out.append(f"static ALIGN16 float {prefix}_{c_ident(b.name)}[{b.size // g.rows * n_rows}];")
    return out


def _one_row_calls(g: Graph, prefix: str, weight_names: dict[str, str]) -> list[str]:
    """G's kernel calls for one row on the PREFIX_ buffers; G's input is always forward()'s, s_input."""
    calls = []
    for c in g.calls:
        args = ["s_input" if b == "input" else _arg(g, b, prefix, weight_names) for b in c.bufs]
        calls.append(f"  {g.kernels[c.kernel].name}({', '.join(args + ['1'] * len(c.vars))});")
    return calls


def _saliency_c(g: Graph, weight_names: dict[str, str]) -> str:
    """SALIENCY_C filled: the saliency graph's buffers and its entry points saliency(k), saliency_ptr."""
    calls = _one_row_calls(g, "g", weight_names)
    # a one-action discrete policy's log pi is 0 whatever the observation: tinygrad's graph then never reads k
    select = g.buffers.get(SELECT)
    fill = "  (void)k;"
    if select:
        fill = f"  for (int i = 0; i < {select.size // g.rows}; i++) g_{SELECT}[i] = i == k ? 1.0f : 0.0f;"
    return SALIENCY_C.substitute(
        buffers=_lazy_or_static(_buffers_c(g, "g", 1, skip=("input",))), select=fill, calls="\n".join(calls)
    )


def emit_c(
    batch: Graph,
    weights: dict[str, np.ndarray],
    header: str,
    head: Graph,
    value: Graph | None = None,
    blocked: Graph | None = None,
    saliency: Graph | None = None,
) -> str:
    """policy.c: POLICY_C filled with the weights, buffers, tinygrad's kernels and each entry point's calls.

    head, value: the action head's and the critic's kernels for one observation (forward(), value()).
    batch: the whole policy's kernels over n rows (n symbolic), forward_batch's. With BLOCKED (the same
    schedule in blocks of rows), matmuls run its kernels instead (blocked_calls), over n rounded up to whole
    blocks: the rows past n are computed and never read.
    """
    if head.buffers["input"].size != batch.buffers["input"].size // batch.rows:
        raise RuntimeError("the head's graph reads another observation than the batch's; cannot link them")
    many = blocked_calls(batch, blocked) if blocked is not None else [False] * len(batch.calls)
    k = blocked.block if blocked is not None else 1
    weight_names = {name: "w_" + c_ident(name) for name in weights}
    calls_b: list[str] = []
    used: set[str] = set()
    for i, use_blocked in enumerate(many):
        g = blocked if use_blocked else batch
        c = g.calls[i]
        kern = g.kernels[c.kernel]
        used.add(kern.name)
        n = "blocks" if use_blocked else BATCH_VAR
        args = [_arg(g, b, "b", weight_names) for b in c.bufs] + [n] * len(c.vars)
        calls_b.append(f"  {kern.name}({', '.join(args)});")
    kernels_used = [kn for kn in batch.kernels + (blocked.kernels if blocked else []) if kn.name in used]
    kernels_used += [kn for g in (head, value, saliency) if g is not None for kn in g.kernels]
    typedefs, kernels = _kernel_sources(kernels_used)
    rows = batch.rows if blocked is None else blocked.rows
    if blocked is not None:
        calls_b.insert(0, ROUND_TO_BLOCKS.substitute(n=BATCH_VAR, k=k, k_1=k - 1))
    value_c = ""
    if value is not None:
        value_c = VALUE_C.substitute(
            buffers=_lazy_or_static(_buffers_c(value, "v", 1, skip=("input",))),
            calls="\n".join(_one_row_calls(value, "v", weight_names)),
        )
    return POLICY_C.substitute(
        header="\n".join(f"/* {comment_safe(line)} */" if line else "" for line in header.splitlines()),
        typedefs="\n".join(typedefs),
        weights="\n".join(c_array(weight_names[n], a) for n, a in weights.items()),
        buffers=_lazy_or_static(_buffers_c(head, "s", 1) + _buffers_c(batch, "b", rows)),
        kernels="\n".join(kernels),
        batch=batch.batch,
        n=BATCH_VAR,
        forward="\n".join(_one_row_calls(head, "s", weight_names)),
        value=value_c,
        forward_batch="\n".join(calls_b),
        saliency=_saliency_c(saliency, weight_names) if saliency is not None else "",
    )


def zig_cc(sources: list[Path], out: Path, *flags: str) -> list[str]:
    """The zig cc command (PyPI ziglang) that builds SOURCES into OUT, a freestanding wasm32 module with no
    imports, with policy.wasm's flags (ZIG_FLAGS) and FLAGS (exports, include paths)."""
    return [sys.executable, "-m", "ziglang", "cc", *ZIG_FLAGS, *flags, "-o", str(out), *map(str, sources)]


def _zig(cmd: list[str]) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"zig cc failed ({' '.join(cmd)}):\n{p.stderr.strip()}")


def _exports(names: tuple[str, ...]) -> list[str]:
    return [f"-Wl,--export={e}" for e in names]


def _instance(wasm: bytes, imports=()):
    import wasmtime

    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), list(imports))
    return store, inst.exports(store)


def _memory(store, exports) -> bytes:
    mem = exports["memory"]
    return bytes(mem.read(store, 0, mem.data_len(store)))


def _leb(b: bytes, i: int) -> tuple[int, int]:
    r = shift = 0
    while True:
        r |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if b[i - 1] < 0x80:
            return r, i


def _find_all(haystack: bytes, needle: bytes):
    i = haystack.find(needle)
    while i >= 0:
        yield i
        i = haystack.find(needle, i + 1)


def data_segments(wasm: bytes) -> list[tuple[int, bytes]]:
    """The active data segments of a module (what wasm-ld writes: memory 0, an i32.const offset) as
    (address, bytes): the read-only data that instantiation copies into memory."""
    i, out = 8, []
    while i < len(wasm):
        sid, (n, i) = wasm[i], _leb(wasm, i + 1)
        if sid == 11:
            count, j = _leb(wasm, i)
            for _ in range(count):
                if wasm[j] != 0 or wasm[j + 1] != 0x41:  # flags 0 (active, memory 0), i32.const
                    raise RuntimeError("policy.wasm has a data segment wasm-ld does not write")
                offset, j = _leb(wasm, j + 2)  # a non-negative i32 (wasm-ld's addresses): LEB128 as signed
                if wasm[j - 1] & 0x40:
                    raise RuntimeError("policy.wasm has a data segment at a negative address")
                size, j = _leb(wasm, j + 1)  # past the `end` opcode
                out.append((offset, wasm[j : j + size]))
                j += size
        i += n
    return out


def lazy_layout(c_src: str, eager: bytes, data_end: int, weights: dict[str, np.ndarray]) -> dict:
    """The addresses policy.lazy.wasm is built with (-DAT_<name>=address): each weight where policy.wasm
    holds it (found in its data segments, by its bytes: identical arrays are interchangeable, they are read
    only; never in its stack or buffers, which change), each buffer policy.c declares in a region of its own
    past policy.wasm's data (DATA_END).
    A weight policy.wasm does not hold (folded into forward()'s code) stays in the lazy module's own data,
    placed past the buffers. Returns {"at": {name: address}, "data": where the lazy module's data starts,
    "end": the end of its region, its data included}."""
    at: dict[str, int] = {}
    segments = data_segments(eager)
    own = 1024  # bytes for the lazy module's own data: the weights it keeps, and room for a constant or two
    for name, a in weights.items():
        cname = "w_" + c_ident(name)
        raw = np.asarray(a, dtype="<f4").tobytes()
        found = [seg_at + i for seg_at, seg in segments for i in _find_all(seg, raw) if (seg_at + i) % 4 == 0]
        if found:  # a float's bytes start at a float's address
            at[cname] = found[0]
        else:
            own += -(-len(raw) // 16) * 16
    addr = -(-data_end // 16) * 16
    for m in _BUFFER.finditer(c_src):
        at[m.group(1)] = addr
        addr += -(-int(m.group(2)) * 4 // 16) * 16  # 16-byte aligned, as the kernels' vector loads want
    return {"at": at, "data": addr, "end": addr + own}


def build_wasm(c_path: Path, eager: Path, lazy: Path, weights: dict[str, np.ndarray]) -> None:
    """policy.c into EAGER (policy.wasm) and LAZY (policy.lazy.wasm), with zig cc (wasm.py's docstring):

    1. a probe of policy.wasm, in a temporary folder, that also exports __data_end (where its data ends);
    2. lazy_layout: the weights' addresses in it, and a region past its data for the lazy module's buffers;
    3. policy.wasm with memory enough for that region (its layout checked to be the probe's), and
       policy.lazy.wasm importing that memory, with every weight and buffer at its address: it has no data
       of its own (checked: its memory import asks for no more than policy.wasm has). Both modules keep
       zig's stack at the bottom of the memory (--stack-first): the same region, which is safe because a
       stack holds nothing between calls and a call into one module never runs while the other's is
       under way (a page runs one thread, and neither module calls the other).
    """
    import tempfile

    eager_flags = ["-DPOLICY_EAGER", *_exports(EAGER_EXPORTS)]
    with tempfile.TemporaryDirectory(prefix="policy-probe-") as tmp:
        probe = Path(tmp) / "probe.wasm"
        _zig(zig_cc([c_path], probe, *eager_flags, "-Wl,--export=__data_end"))
        store, ex = _instance(probe.read_bytes())
        data_end, probe_memory = ex["__data_end"].value(store), _memory(store, ex)
        layout = lazy_layout(c_path.read_text(), probe.read_bytes(), data_end, weights)
    pages = -(-layout["end"] // 65536)
    _zig(zig_cc([c_path], eager, *eager_flags, f"-Wl,--initial-memory={pages * 65536}"))
    store, ex = _instance(eager.read_bytes())
    memory = _memory(store, ex)
    if memory[:data_end] != probe_memory[:data_end] or len(memory) != pages * 65536:
        raise RuntimeError("policy.wasm's layout differs from its probe's: cannot place the lazy module")
    defines = [f"-DAT_{name}={addr}" for name, addr in layout["at"].items()]
    # its own data from layout["data"] on: should it outgrow the room lazy_layout made, its memory import
    # asks for more than policy.wasm has, and it fails to instantiate here (never overwrites policy.wasm's)
    lazy_flags = ["-DPOLICY_LAZY", "-Wl,--import-memory", f"-Wl,--global-base={layout['data']}"]
    lazy_exports = LAZY_EXPORTS + (LAZY_EXPORTS_VALUE if "EXPORT_LAZY(value)" in c_path.read_text() else ())
    cmd = zig_cc([c_path], lazy, *lazy_flags, *defines, *_exports(lazy_exports))
    # policy.wasm's memory, which it imports, is not the lazy module's to export
    _zig([a for a in cmd if a != "-Wl,--export-memory"])
    import wasmtime

    try:
        wasmtime.Instance(store, wasmtime.Module(store.engine, lazy.read_bytes()), [ex["memory"]])
    except wasmtime.WasmtimeError as e:
        raise RuntimeError(f"policy.lazy.wasm does not fit in policy.wasm's memory: {e}") from None


def start_compile_wasm(c_path: Path, eager: Path, lazy: Path, weights: dict[str, np.ndarray]):
    """build_wasm in a background thread (zig runs while the caller checks tinygrad); finish with
    wait_wasm, which raises its error."""
    import threading

    job: dict = {}

    def run():
        try:
            build_wasm(c_path, eager, lazy, weights)
        except BaseException as e:  # noqa: BLE001 - handed to wait_wasm
            job["error"] = e

    job["thread"] = threading.Thread(target=run, daemon=True)
    job["thread"].start()
    return job


def wait_wasm(job: dict) -> None:
    """Wait for start_compile_wasm's build; its error, if it failed, raised here."""
    job["thread"].join()
    if "error" in job:
        raise job["error"]


class WasmPolicy:
    """policy.wasm run by wasmtime, with policy.lazy.wasm on its memory: forward, forward_batch over any
    number of observations and saliency (the parity harness). Given policy.wasm's path, the lazy module is
    the file beside it (LAZY, when there is one; a kernel from before the split has one module)."""

    def __init__(self, wasm: Path | bytes, lazy: Path | bytes | None = None):
        import wasmtime

        if lazy is None and not isinstance(wasm, bytes) and Path(wasm).with_name(LAZY_NAME).is_file():
            lazy = Path(wasm).with_name(LAZY_NAME)
        self.store = wasmtime.Store()
        module = wasmtime.Module(
            self.store.engine, wasm if isinstance(wasm, bytes) else Path(wasm).read_bytes()
        )
        if module.imports:
            raise RuntimeError(
                f"policy.wasm imports {[i.name for i in module.imports]}; it must import nothing"
            )
        self.exports_names = sorted(e.name for e in module.exports)
        self.inst = wasmtime.Instance(self.store, module, [])
        ex = self.inst.exports(self.store)
        self.memory = ex["memory"]
        self.fn = {n: ex[n] for n in EXPORTS if n in ex}  # kernels compiled before saliency lack its two
        self.lazy_exports_names: list[str] = []
        if lazy is not None:
            lazy_module = wasmtime.Module(
                self.store.engine, lazy if isinstance(lazy, bytes) else Path(lazy).read_bytes()
            )
            if [(i.module, i.name) for i in lazy_module.imports] != [("env", "memory")]:
                raise RuntimeError("policy.lazy.wasm must import policy.wasm's memory (env.memory) alone")
            self.lazy_exports_names = sorted(e.name for e in lazy_module.exports)
            lz = wasmtime.Instance(self.store, lazy_module, [self.memory]).exports(self.store)
            self.fn.update(
                {n: lz[n] for n in LAZY_EXPORTS + LAZY_EXPORTS_VALUE if n in lz and n != "input_ptr"}
            )
            self.fn["lazy_input_ptr"] = lz["input_ptr"]
        self.batch = self.fn["batch_size"](self.store)

    def _view(self, ptr: int, n: int) -> np.ndarray:
        raw = self.memory.get_buffer_ptr(self.store)
        import ctypes

        return np.ctypeslib.as_array(
            ctypes.cast(ctypes.addressof(raw) + ptr, ctypes.POINTER(ctypes.c_float)), shape=(n,)
        )

    def forward(self, obs: np.ndarray, n_out: int) -> np.ndarray:
        """One observation through forward(), and value() where the kernel has one: [head..., value]."""
        s, obs = self.store, np.asarray(obs, dtype=np.float32).ravel()
        self._view(self.fn["input_ptr"](s), obs.size)[:] = obs
        self.fn["forward"](s)
        if "value" not in self.fn:  # no critic, or a kernel from before value() (forward() wrote it)
            return self._view(self.fn["output_ptr"](s), n_out).copy()
        head = self._view(self.fn["output_ptr"](s), n_out - 1).copy()
        self._view(self.fn.get("lazy_input_ptr", self.fn["input_ptr"])(s), obs.size)[:] = obs
        return np.append(head, np.float32(self.fn["value"](s)))

    def saliency(self, obs: np.ndarray, k: np.ndarray) -> np.ndarray:
        """[N, obs_dim] observations, one k each -> [N, obs_dim]: saliency(k_i) on observation i."""
        s, obs = self.store, np.ascontiguousarray(obs, dtype=np.float32)
        out = np.empty_like(obs)
        ip = self.fn.get("lazy_input_ptr", self.fn["input_ptr"])(s)
        sp, run = self.fn["saliency_ptr"](s), self.fn["saliency"]
        x, g = self._view(ip, obs.shape[1]), self._view(sp, obs.shape[1])
        for i, (o, ki) in enumerate(zip(obs, np.asarray(k).tolist(), strict=True)):
            x[:] = o
            run(s, ki)
            out[i] = g
        return out

    def forward_batch(self, obs: np.ndarray, n_out: int) -> np.ndarray:
        """[N, obs_dim] through forward_batch, B rows at a time."""
        s, obs = self.store, np.ascontiguousarray(obs, dtype=np.float32)
        out = np.empty((len(obs), n_out), dtype=np.float32)
        ip, op = self.fn["batch_input_ptr"](s), self.fn["batch_output_ptr"](s)
        for i in range(0, len(obs), self.batch):
            chunk = obs[i : i + self.batch]
            self._view(ip, chunk.size)[:] = chunk.ravel()
            self.fn["forward_batch"](s, len(chunk))
            out[i : i + len(chunk)] = self._view(op, len(chunk) * n_out).reshape(len(chunk), n_out)
        return out
