"""`python -m tiny_infer compile`: a contract-1 checkpoint -> build/kernels/<env-id>/ (contract 2).

compile_policy runs five steps, each a function of this module that reads what the one before returned:

1. resolve: the checkpoint (MODEL_DIR, or the newest for --env) loaded and validated, and checked against its
   environment's spaces when Gymnasium registers it; the --out folder, checked that compile may replace it.
2. render: the policy as a tinygrad graph, its kernels rendered by tinygrad's C and WGSL renderers; the C
   kernels and the weights linked into the text of policy.c.
3. link: policy.c written to a temp folder beside --out, and zig cc started on it (policy.wasm) in the
   background.
4. check: while zig runs, PyTorch's reference (a float32 overflow named first) and tinygrad's own pass against
   it; then policy.wasm against PyTorch (wasmtime): forward pass, saliency, and an imported policy against the
   library it came from.
5. write: the rest of the kernel folder (the WebGPU loader policy.webgpu.js, its data module
   policy.webgpu.data.js, policy.weights.bin, policy.weights.json, manifest.json) into the temp folder,
   which then replaces --out whole: --out is always either the old kernel or the new one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiny_infer.checkpoint import (
    SNAPSHOTS_DIR,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    resolve_model_dir,
    train_eval,
)
from tiny_infer.envid import EnvIdError, check_env_id, is_registered
from tiny_infer.files import staged_dir

# a kernel folder's files (contract 2): compile never replaces a folder holding anything else (but the
# snapshots/ folder, is_kernel_dir). policy.weights.json: the python backend's weights, so that the bundler
# needs nothing but this folder
FILES = (
    "policy.c",
    "policy.wasm",
    "policy.webgpu.js",
    "policy.webgpu.data.js",
    "policy.weights.bin",
    "policy.weights.json",
    "manifest.json",
)


@dataclass(frozen=True)
class CompileConfig:
    """What to compile, as the CLI's flags say it; resolve() settles what they leave open."""

    model_dir: Path | None = None  # None: the newest checkpoint for `env` (checkpoint.resolve_model_dir)
    env: str | None = None
    out: Path | None = None  # None: build/kernels/<env-id>
    batch_size: int = 256  # capacity of forward_batch
    parity_samples: int = 20_000
    tinygrad_check_samples: int = 3
    saliency_samples: int = 10_000
    python_samples: int = 500  # of the parity observations, run through reference.py (pure Python: slow)
    seed: int = 0
    snapshots: bool = False  # also the checkpoint's training snapshots, into <out>/snapshots/ (snapshots.py)


class CompileError(RuntimeError):
    """Bad input to compile (a flag, an --out it must not replace) or a kernel that fails its checks."""


@dataclass(frozen=True)
class Resolved:
    """resolve()'s answer: the loaded checkpoint and the folder to write."""

    ckpt: Checkpoint
    out: Path


@dataclass(frozen=True)
class Rendered:
    """render()'s answer: the tinygrad graph and everything rendered from it."""

    policy: object  # model.TinyPolicy (imported when compiling: it imports tinygrad)
    weights: dict[str, np.ndarray]  # the realized weight buffers, flat, as the kernels index them
    c_src: str  # policy.c
    wgsl: dict  # codegen.Graph of each WebGPU entry point: "single", "batch", "saliency"


@dataclass(frozen=True)
class Checks:
    """check()'s answer: what it measured, as the manifest records it."""

    parity: dict  # policy.wasm vs PyTorch: {"samples", "max_abs_err"}
    tinygrad_check: dict  # tinygrad's own pass vs PyTorch: {"samples", "max_abs_err"}
    saliency: dict  # policy.wasm's saliency vs PyTorch autograd: {"samples", "max_rel_err"}
    python: dict  # policy.weights.json in reference.py vs PyTorch: {"samples", "max_abs_err"}
    weights_json: str  # the text of policy.weights.json that was checked (export_json.to_json), for write()
    source: dict | None  # an imported policy: the kernel vs the library it came from (import_common)


def parity_observations(obs_dim: int, n: int, seed: int) -> np.ndarray:
    """Observations over a wide range: half N(0, 3), half uniform [-10, 10], plus a few extremes."""
    rng = np.random.default_rng(seed)
    half = n // 2
    obs = np.concatenate([rng.normal(0, 3, (half, obs_dim)), rng.uniform(-10, 10, (n - half, obs_dim))])
    obs[:3] = np.array([0.0, 100.0, -100.0])[:, None]
    return obs.astype(np.float32)


def _tinygrad_check(policy, ckpt: Checkpoint, n: int, seed: int) -> float:
    """tinygrad's own forward pass (PYTHON device, no compiler) vs PyTorch's, before emitting anything."""
    from tinygrad.helpers import Context

    from tiny_infer.model import check_parity, torch_forward

    obs = parity_observations(ckpt.obs_dim, max(n, 3), seed + 1)[: max(n, 1)]
    obs[-1] = np.random.default_rng(seed).normal(0, 1, ckpt.obs_dim)
    with Context(PARALLEL=0):  # no compile worker pool: a few tiny kernels compile faster in-process
        got = policy.run(obs)
    try:
        return check_parity(got, torch_forward(ckpt, obs), "tinygrad's forward pass")
    except ValueError as e:
        raise CompileError(
            f"{e}; the tinygrad graph does not match the checkpoint (a bug: please report it)"
        ) from None


def compiled_from(kernel: Path, model_dir: Path) -> bool:
    """Whether the kernel folder was compiled from the checkpoint at MODEL_DIR: contract 2 names no
    checkpoint, but its policy.weights.json is that checkpoint's export, byte for byte."""
    from tiny_infer.export_json import to_json

    weights = Path(kernel) / "policy.weights.json"
    return weights.is_file() and weights.read_text() == to_json(load_checkpoint(model_dir))


def is_kernel_dir(d: Path) -> bool:
    """Whether folder D is a kernel folder compile wrote: a manifest.json of ours and only FILES (and
    the snapshots/ folder that --snapshots writes, tiny_infer/snapshots.py)."""
    try:
        entries = list(d.iterdir())
        manifest = json.loads((d / "manifest.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(manifest, dict)
        and {"env_id", "files", "weights_sha256"} <= manifest.keys()
        and all(
            (e.is_file() if e.name in FILES else e.name == SNAPSHOTS_DIR and e.is_dir())
            and not e.is_symlink()
            for e in entries
        )
    )


def check_out_dir(out: Path, model_dir: Path) -> None:
    """Refuse an --out that compile must not replace: compile swaps the whole folder for the new kernel, so
    only a new or empty folder, or a kernel folder it wrote before, may be named."""
    fix = "pass a new folder such as build/kernels/ENV, or a kernel folder compile wrote"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        what = "is a symbolic link" if out.is_symlink() else "exists and is not a folder"
        raise CompileError(f"--out {out} {what}; {fix}")
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise CompileError(f"--out {out}: {blocker} is a file, not a folder; {fix}")
    dest, cwd, model = out.resolve(), Path.cwd().resolve(), Path(model_dir).resolve()
    if dest == cwd or dest in cwd.parents:
        raise CompileError(f"--out {out} is the current folder or holds it; {fix}")
    if dest == model or dest in model.parents:
        what = "is the checkpoint's folder" if dest == model else f"holds the checkpoint {model_dir}"
        raise CompileError(f"--out {out} {what}; {fix}")
    if out.is_dir() and any(out.iterdir()) and not is_kernel_dir(out):
        foreign = sorted(e.name for e in out.iterdir() if e.name not in FILES)
        what = "no manifest.json of a kernel"
        if foreign:
            what = f"it holds {', '.join(map(repr, foreign[:3]))}{', ...' if len(foreign) > 3 else ''}"
        raise CompileError(
            f"--out {out} is not a kernel folder compile wrote ({what}), and compile replaces its --out "
            f"whole; {fix}"
        )


def check_env_spaces(ckpt: Checkpoint) -> None:
    """When Gymnasium registers ckpt.env_id, the policy must fit its spaces (env_spaces.misfit): obs_dim, and
    the action space (discrete n, or box shape and bounds). A mismatch (weights labelled with another env) is
    refused."""
    if not is_registered(ckpt.env_id):
        return  # not one of Gymnasium's: nothing to check against
    import warnings

    from tiny_infer.env_spaces import EnvError, misfit, spaces

    try:
        with warnings.catch_warnings():  # an old version's deprecation notice is not ours to print
            warnings.simplefilter("ignore")
            obs, act = spaces(ckpt.env_id)
    except EnvError as e:
        raise CheckpointError(
            f"{ckpt.env_id}: Gymnasium cannot make this environment ({e}), so the policy cannot be checked "
            "against it; install what it needs, then compile again"
        ) from None
    problem = misfit(ckpt.obs_dim, ckpt.action, obs, act)
    if problem:
        raise CheckpointError(
            f"{ckpt.model_dir}/policy.json: the policy does not fit {ckpt.env_id}: {problem}; compile the "
            f"checkpoint trained on {ckpt.env_id}, or correct env_id in its policy.json"
        )


def _header(ckpt: Checkpoint, what: str) -> str:
    from importlib.metadata import version

    return (
        f"{what}: generated by tiny_infer from {ckpt.model_dir} ({ckpt.env_id}) with tinygrad "
        f"{version('tinygrad')}. Do not edit.\n"
        f"obs[{ckpt.obs_dim}] -> {ckpt.outputs[0]['name']}[{ckpt.n_act}], value; hidden {list(ckpt.hidden)} "
        f"{ckpt.activation}{', obs_norm' if ckpt.obs_norm else ''}"
    )


def compile_policy(cfg: CompileConfig, log=print) -> Path:
    """Compile cfg.model_dir (or the newest policy for cfg.env) into cfg.out; returns the output folder.
    The steps, in order: resolve, render, link, check, write (see the module docstring)."""
    t0 = time.perf_counter()
    job = resolve(cfg)
    ckpt = job.ckpt
    log(
        f"compile: model {ckpt.model_dir} ({ckpt.env_id}, obs {ckpt.obs_dim}, hidden {list(ckpt.hidden)} "
        f"{ckpt.activation}, {ckpt.action['type']} {ckpt.n_act}{', obs_norm' if ckpt.obs_norm else ''})"
    )
    rendered = render(ckpt, cfg.batch_size)
    t_render = time.perf_counter()
    with staged_dir(job.out.resolve()) as folder:  # `--out .` and the like have no name of their own
        zig = link(rendered, folder)
        checks = check(ckpt, rendered, zig, folder, cfg)
        t_check = time.perf_counter()
        manifest = write(folder, job, rendered, checks, cfg.batch_size)
    times = {"render": t_render - t0, "zig+check": t_check - t_render, "write": time.perf_counter() - t_check}
    _report(log, job.out, manifest, times)
    if cfg.snapshots:  # the policy's training snapshots too (the page's timeline)
        from tiny_infer.snapshots import compile_snapshots

        compile_snapshots(job.out, ckpt, cfg.batch_size, log)
    return job.out


def _report(log, out: Path, manifest: dict, times: dict[str, float]) -> None:
    """What compile wrote and measured (the manifest's numbers), and where its time went."""
    for f, n in manifest["files"].items():
        log(f"  wrote {out / f} ({n:,} bytes)")
    par, tg, sal, py = (manifest[k] for k in ("parity", "tinygrad_check", "saliency", "python"))
    log(
        f"  parity: policy.wasm vs PyTorch on {par['samples']:,} observations, max abs err "
        f"{par['max_abs_err']:.2e}; tinygrad vs PyTorch {tg['max_abs_err']:.2e}; saliency vs PyTorch "
        f"autograd on {sal['samples']:,}, max rel err {sal['max_rel_err']:.2e}; policy.weights.json in "
        f"reference.py vs PyTorch on {py['samples']:,}, max abs err {py['max_abs_err']:.2e}"
    )
    wasm, weights = manifest["files"]["policy.wasm"], manifest["files"]["policy.weights.bin"]
    log(f"  policy.wasm {wasm:,} bytes = float32 weights {weights:,} + {wasm - weights:,}")
    steps = ", ".join(f"{step} {s:.1f}" for step, s in times.items())
    log(f"  time {sum(times.values()):.1f} s ({steps})")


def resolve(cfg: CompileConfig) -> Resolved:
    """Step 1: the checkpoint and the output folder CFG names, checked. CompileError for a bad flag or an
    --out compile must not replace; CheckpointError for a checkpoint that is none, or not for its env."""
    if not 1 <= cfg.batch_size <= 4096:
        raise CompileError(f"--batch-size {cfg.batch_size}: pass a number from 1 to 4096")
    model_dir = cfg.model_dir
    if model_dir is None:
        if not cfg.env:
            raise CompileError("no checkpoint named: pass a checkpoint folder or --env ENV_ID")
        model_dir = resolve_model_dir(_env_arg(cfg.env))
    ckpt = load_checkpoint(model_dir)
    if cfg.env and cfg.env != ckpt.env_id:
        raise CompileError(
            f"{model_dir}/policy.json is for {ckpt.env_id}, not --env {cfg.env}; pass {cfg.env}'s checkpoint "
            f"or --env {ckpt.env_id}"
        )
    check_env_spaces(ckpt)
    out = Path(cfg.out) if cfg.out else Path("build") / "kernels" / ckpt.env_id
    check_out_dir(out, ckpt.model_dir)
    return Resolved(ckpt, out)


def render(ckpt: Checkpoint, batch_size: int) -> Rendered:
    """Step 2: the policy as a tinygrad graph (model.TinyPolicy), its kernels rendered by tinygrad's C and
    WGSL renderers (codegen.render_graphs), and the text of policy.c (wasm.emit_c)."""
    from tiny_infer.codegen import BLOCK, c_renderer, render_graphs, weight_arrays, wgsl_renderer
    from tiny_infer.model import TinyPolicy
    from tiny_infer.saliency import render_saliency
    from tiny_infer.wasm import emit_c

    policy = TinyPolicy(ckpt)
    single = render_graphs(policy, 1, False, {"wgsl": wgsl_renderer()}, "s")["wgsl"]
    batch_c = render_graphs(policy, batch_size, True, {"c": c_renderer()}, "k")["c"]
    # the same schedule in blocks of BLOCK rows, for forward_batch's big matmuls (wasm.blocked_calls)
    blocked_c = None
    if batch_size % BLOCK == 0:
        blocked_c = render_graphs(policy, batch_size, True, {"c": c_renderer(BLOCK)}, "q", block=BLOCK)["c"]
    batch_wgsl = render_graphs(policy, batch_size, False, {"wgsl": wgsl_renderer()}, "b")["wgsl"]
    # the gradient of the decision with respect to the observation (saliency.py), derived by tinygrad
    saliency = render_saliency(policy, {"c": c_renderer(), "wgsl": wgsl_renderer()}, "g")
    weights = weight_arrays(policy)
    # forward() runs the per-row kernels with n = 1: one set of kernels, plus blocked big matmuls
    c_src = emit_c(batch_c, weights, _header(ckpt, "policy.c"), blocked_c, saliency["c"])
    wgsl = {"single": single, "batch": batch_wgsl, "saliency": saliency["wgsl"]}
    return Rendered(policy, weights, c_src, wgsl)


def link(rendered: Rendered, folder: Path) -> subprocess.Popen:
    """Step 3: policy.c into FOLDER, and zig cc started on it for FOLDER/policy.wasm; check() waits for it."""
    from tiny_infer.wasm import start_compile_wasm

    (folder / "policy.c").write_text(rendered.c_src)
    return start_compile_wasm(folder / "policy.c", folder / "policy.wasm")


def check(
    ckpt: Checkpoint, rendered: Rendered, zig: subprocess.Popen, folder: Path, cfg: CompileConfig
) -> Checks:
    """Step 4: PyTorch's reference and tinygrad's pass while zig runs, then FOLDER/policy.wasm against
    PyTorch. CheckpointError for a checkpoint that overflows float32, CompileError for a kernel off bound."""
    from tiny_infer.export_json import to_json
    from tiny_infer.import_common import check_source_parity
    from tiny_infer.model import check_parity, torch_forward
    from tiny_infer.saliency import check_saliency, saliency_actions, torch_saliency, torch_saliency_float32
    from tiny_infer.wasm import WasmPolicy, wait_wasm

    try:
        # PyTorch's reference, while zig runs (importing torch takes seconds): first of all, a checkpoint
        # whose values overflow float32 is named here, before tinygrad's pass could be blamed for it
        obs = parity_observations(ckpt.obs_dim, cfg.parity_samples, cfg.seed)
        ref = torch_forward(ckpt, obs, check_finite=True)
        tg_err = _tinygrad_check(rendered.policy, ckpt, cfg.tinygrad_check_samples, cfg.seed)
        sal_obs = obs[: cfg.saliency_samples]
        sal_k = saliency_actions(ckpt, len(sal_obs))
        sal_ref = torch_saliency(ckpt, sal_obs, sal_k)
        sal_ref32 = torch_saliency_float32(ckpt, sal_obs, sal_k)
    except BaseException:
        zig.communicate()  # wait for zig, but the first error stands: zig's own would hide it
        raise
    wait_wasm(zig)
    # the python backend's weights; after PyTorch's reference, which names a checkpoint that overflows float32
    weights_json = to_json(ckpt)

    wasm = WasmPolicy(folder / "policy.wasm")
    try:
        max_err = check_parity(wasm.forward_batch(obs, ckpt.n_out), ref, "policy.wasm forward_batch")
        single_n = min(len(obs), 200)
        got1 = np.stack([wasm.forward(o, ckpt.n_out) for o in obs[:single_n]])
        max_err = max(max_err, check_parity(got1, ref[:single_n], "policy.wasm forward"))
        # an imported policy: the kernel against the library it came from, as recorded at import
        source = check_source_parity(ckpt, lambda o: wasm.forward_batch(o, ckpt.n_out))
        sal_err = check_saliency(wasm.saliency(sal_obs, sal_k), sal_ref, "policy.wasm saliency", sal_ref32)
        n_py = min(len(obs), cfg.python_samples)
        py_err = _python_check(weights_json, obs[:n_py], ref[:n_py])
    except ValueError as e:
        raise CompileError(str(e)) from None
    return Checks(
        parity={"samples": int(len(obs)), "max_abs_err": max_err},
        tinygrad_check={"samples": cfg.tinygrad_check_samples, "max_abs_err": tg_err},
        saliency={"samples": int(len(sal_obs)), "max_rel_err": sal_err},
        source=source,
        python={"samples": int(n_py), "max_abs_err": py_err},
        weights_json=weights_json,
    )


def _python_check(weights_json: str, obs: np.ndarray, ref: np.ndarray) -> float:
    """The python backend's weights (the text write() puts in policy.weights.json) run by
    tiny_infer/reference.py, here in CPython, against PyTorch's reference: the bundler has no Python to check
    them with."""
    from tiny_infer.model import check_parity
    from tiny_infer.reference import Policy

    policy = Policy(json.loads(weights_json))
    got = np.array([policy.forward([float(x) for x in o]) for o in obs], np.float64).reshape(ref.shape)
    return check_parity(got, ref, "policy.weights.json in tiny_infer/reference.py")


def write(folder: Path, job: Resolved, rendered: Rendered, checks: Checks, batch_size: int) -> dict:
    """Step 5: the rest of the kernel folder and its manifest.json into FOLDER, staged beside job.out,
    which it replaces whole once this returns; returns the manifest. The manifest names no path of this
    machine: the folder moves as it is."""
    from importlib.metadata import version

    ckpt = job.ckpt
    webgpu = write_webgpu(folder, ckpt, rendered)
    (folder / "policy.weights.json").write_text(checks.weights_json)
    manifest = {
        "env_id": ckpt.env_id,
        "obs_dim": ckpt.obs_dim,
        "action": ckpt.action,
        "outputs": ckpt.outputs,
        "batch_size": batch_size,
        "weights_sha256": hashlib.sha256((folder / webgpu["weights"]).read_bytes()).hexdigest(),
        "wasm_sha256": hashlib.sha256((folder / "policy.wasm").read_bytes()).hexdigest(),
        "tinygrad_version": version("tinygrad"),
        "files": {},
        "parity": checks.parity,
        "hidden": list(ckpt.hidden),
        "activation": ckpt.activation,
        "obs_norm": ckpt.obs_norm,
        "eval": train_eval(ckpt.meta),
        "webgpu": webgpu,
        "tinygrad_check": checks.tinygrad_check,
        "saliency": checks.saliency,
        "python": checks.python,
        **({"source": checks.source} if checks.source else {}),
    }
    manifest["files"] = {f: (folder / f).stat().st_size for f in FILES if f != "manifest.json"}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    manifest["files"]["manifest.json"] = (folder / "manifest.json").stat().st_size
    check_out_dir(job.out, ckpt.model_dir)  # again: the folder may have changed while we compiled
    return manifest


def write_webgpu(folder: Path, ckpt: Checkpoint, rendered: Rendered) -> dict:
    """The WebGPU kernel into FOLDER: the static loader (policy.webgpu.js), the data module it imports
    (policy.webgpu.data.js: WGSL, dispatch plan, layouts) and the weights it uploads (policy.weights.bin);
    returns the manifest's `webgpu` entry, which names them."""
    from tiny_infer.webgpu import DATA_FILE, LOADER, MODULE_FILE, WEIGHTS_FILE, emit_data, weights_blob

    blob, layout = weights_blob(rendered.weights)
    (folder / WEIGHTS_FILE).write_bytes(blob)
    g = rendered.wgsl
    header = _header(ckpt, DATA_FILE)
    data = emit_data(
        g["single"], g["batch"], layout, ckpt.obs_dim, ckpt.n_out, ckpt.outputs, header, g["saliency"]
    )
    (folder / DATA_FILE).write_text(data)
    shutil.copyfile(LOADER, folder / MODULE_FILE)
    return {"module": MODULE_FILE, "data": DATA_FILE, "weights": WEIGHTS_FILE}


def _env_arg(env: str) -> str:
    try:
        return check_env_id(env)
    except EnvIdError as e:
        raise CompileError(f"--env: {e}") from None


def main(args: argparse.Namespace) -> int:
    cfg = CompileConfig(
        model_dir=Path(args.model_dir) if args.model_dir else None,
        env=args.env,
        out=Path(args.out) if args.out else None,
        batch_size=args.batch_size,
        snapshots=getattr(args, "snapshots", False),
    )
    try:
        compile_policy(cfg)
    except (CheckpointError, CompileError) as e:
        print(f"compile: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a path we cannot create or write: nothing was written (compile_policy cleans up)
        where = f"{e.filename}: " if e.filename else ""
        print(f"compile: error: {where}{e.strerror or e}; pick a writable --out", file=sys.stderr)
        return 1
    except RuntimeError as e:  # codegen or zig cc failed: a bug or a broken toolchain, not bad input
        print(
            f"compile: error: {e}\n(nothing was written; please report this with the checkpoint)",
            file=sys.stderr,
        )
        return 1
    return 0
