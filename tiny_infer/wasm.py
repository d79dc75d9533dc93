"""Link tinygrad's C kernels into one standalone `policy.c` (weights baked in), compiled to `policy.wasm`.

The kernel bodies are tinygrad's ClangRenderer output, untouched apart from their names (made unique and
`static`) and their vector typedefs (hoisted into a prelude that also builds with GCC). The glue here
declares the buffers tinygrad's scheduler asked for, calls the kernels in schedule order, and exports the
contract-2 entry points: memory, input_ptr, output_ptr, forward, batch_size, batch_input_ptr,
batch_output_ptr, forward_batch(n).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tiny_infer.codegen import BATCH_VAR, Graph

EXPORTS = (
    "input_ptr",
    "output_ptr",
    "forward",
    "batch_size",
    "batch_input_ptr",
    "batch_output_ptr",
    "forward_batch",
)
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

PRELUDE = r"""
#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name)
#endif
/* tinygrad's C renderer targets clang; with other compilers (GCC, microcontroller toolchains) map its two
   clang-only features, ext_vector_type and __builtin_bit_cast, onto GNU C. */
/* kernels are called from forward() and forward_batch(): one copy of each keeps the module small */
#define NOINLINE __attribute__((noinline))
#if !defined(__clang__)
#define __builtin_bit_cast(T, x) (((union { __typeof__(x) from; T to; }){ .from = (x) }).to)
#endif
"""

_TYPEDEF = re.compile(
    r"^typedef (\w+) (\w+) __attribute__\(\(aligned\((\d+)\),ext_vector_type\((\d+)\)\)\);$", re.M
)
_SIZEOF = {"float": 4, "int": 4, "unsigned int": 4, "_Bool": 1, "signed char": 1, "unsigned char": 1}


def c_float(v: np.float32) -> str:
    """Shortest decimal that reads back as exactly this float32 (numpy's float32 repr), as a C literal."""
    s = str(np.float32(v))
    return (s if ("." in s or "e" in s) else s + ".0") + "f"


def c_array(name: str, a: np.ndarray, per_line: int = 8) -> str:
    vals = [c_float(v) for v in np.asarray(a, dtype=np.float32).ravel()]
    rows = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return f"static const ALIGN16 float {name}[{len(vals)}] = {{\n  " + ",\n  ".join(rows) + "\n};\n"


def c_ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _kernel_sources(graphs: list[Graph]) -> tuple[list[str], list[str]]:
    """Kernel sources (static, typedefs stripped) and the typedef lines, portable to GCC."""
    typedefs: dict[str, str] = {}
    kernels = []
    for g in graphs:
        for k in g.kernels:
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


def _calls(g: Graph, prefix: str, weight_names: dict[str, str], n: str = BATCH_VAR) -> str:
    lines = []
    for c in g.calls:
        args = []
        for b in c.bufs:
            buf = g.buffers[b]
            args.append(f"(float *){weight_names[b]}" if buf.kind == "weight" else f"{prefix}_{c_ident(b)}")
        args += [n for _ in c.vars]
        lines.append(f"  {g.kernels[c.kernel].name}({', '.join(args)});")
    return "\n".join(lines)


def emit_c(single: Graph | None, batch: Graph, weights: dict[str, np.ndarray], header: str) -> str:
    """The whole policy.c: prelude, weights, buffers, tinygrad's kernels, then the exported entry points.

    single: the kernels of a batch-1 graph for forward(); None: forward() runs the batch kernels with n = 1
    on buffers of its own (one row each), which halves the code.
    """
    typedefs, kernels = _kernel_sources([single, batch] if single else [batch])
    weight_names = {name: "w_" + c_ident(name) for name in weights}
    out = [f"/* {line} */" if line else "" for line in header.splitlines()]
    out += [
        PRELUDE.strip(),
        "#define ALIGN16 _Alignas(16)",
        *typedefs,
        "",
        "/* ---- weights (float32, as the kernels index them) ---- */",
    ]
    out += [c_array(weight_names[n], a) for n, a in weights.items()]
    out.append("/* ---- buffers planned by tinygrad's scheduler ---- */")
    for prefix, g in (("s", single or batch), ("b", batch)):
        for b in g.buffers.values():
            if b.kind == "weight":
                continue
            size = b.size
            if single is None and prefix == "s":  # every non-weight buffer is [rows, ...]: keep one block
                if b.size % batch.rows:
                    raise RuntimeError(f"buffer {b.name} ({b.size} floats) is not batch-major")
                size = b.size // batch.rows * batch.block
            out.append(f"static ALIGN16 float {prefix}_{c_ident(b.name)}[{size}];")
    # forward() runs one block: rows 1.. of its input stay zero, and only row 0 of its output is read
    forward = _calls(single, "s", weight_names) if single else _calls(batch, "s", weight_names, n="1")
    out += [
        "",
        "/* ---- kernels rendered by tinygrad's ClangRenderer ---- */",
        *kernels,
        "",
        "/* ---- entry points (contract 2) ---- */",
        "EXPORT(input_ptr) float *input_ptr(void) { return s_input; }",
        "EXPORT(output_ptr) float *output_ptr(void) { return s_output; }",
        f"EXPORT(batch_size) int batch_size(void) {{ return {batch.batch}; }}",
        "EXPORT(batch_input_ptr) float *batch_input_ptr(void) { return b_input; }",
        "EXPORT(batch_output_ptr) float *batch_output_ptr(void) { return b_output; }",
        "EXPORT(forward) void forward(void) {",
        forward,
        "}",
        f"EXPORT(forward_batch) void forward_batch(int {BATCH_VAR}) {{",
        f"  if ({BATCH_VAR} < 1) return;",
        f"  if ({BATCH_VAR} > {batch.batch}) {BATCH_VAR} = {batch.batch};",
        *(
            [f"  {BATCH_VAR} = ({BATCH_VAR} + {batch.block - 1}) / {batch.block};"
             "  /* blocks of rows: the buffers hold whole blocks */"]
            if batch.block > 1 else []
        ),
        _calls(batch, "b", weight_names),
        "}",
        "",
    ]
    return "\n".join(out)


def compile_wasm(c_path: Path, wasm_path: Path) -> None:
    """zig cc (PyPI ziglang) -> a freestanding wasm32 module with no imports."""
    wait_wasm(start_compile_wasm(c_path, wasm_path))


def start_compile_wasm(c_path: Path, wasm_path: Path) -> subprocess.Popen:
    """Like compile_wasm, in the background (the caller checks tinygrad meanwhile); finish with wait_wasm."""
    cmd = [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        *ZIG_FLAGS,
        *[f"-Wl,--export={e}" for e in EXPORTS],
        "-o",
        str(wasm_path),
        str(c_path),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_wasm(proc: subprocess.Popen) -> None:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"zig cc failed ({' '.join(proc.args)}):\n{err.strip()}")


class WasmPolicy:
    """policy.wasm run by wasmtime: forward_batch over any number of observations (the parity harness)."""

    def __init__(self, wasm: Path | bytes):
        import wasmtime

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
        self.fn = {n: ex[n] for n in EXPORTS}
        self.memory = ex["memory"]
        self.batch = self.fn["batch_size"](self.store)

    def _view(self, ptr: int, n: int) -> np.ndarray:
        raw = self.memory.get_buffer_ptr(self.store)
        import ctypes

        return np.ctypeslib.as_array(
            ctypes.cast(ctypes.addressof(raw) + ptr, ctypes.POINTER(ctypes.c_float)), shape=(n,)
        )

    def forward(self, obs: np.ndarray, n_out: int) -> np.ndarray:
        """One observation through forward()."""
        s = self.store
        self._view(self.fn["input_ptr"](s), obs.size)[:] = np.asarray(obs, dtype=np.float32).ravel()
        self.fn["forward"](s)
        return self._view(self.fn["output_ptr"](s), n_out).copy()

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
