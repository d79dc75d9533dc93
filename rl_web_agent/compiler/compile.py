"""The compiler: a checkpoint (the checkpoint format) -> a kernel folder, build/kernels/<env-id>/.

The command line is rl_web_agent/compiler/cli.py (`python -m rl_web_agent compile`); a policy's training
snapshots are compiled by snapshots.py, each with compile_policy. compile_policy runs five steps, each a
function of this module that reads what the one before returned:

1. resolve: the checkpoint (MODEL_DIR, or the newest for --env) loaded and validated, and checked against its
   environment's spaces when Gymnasium registers it; the --out folder, checked that compile may replace it.
2. render: the policy as a tinygrad graph, its kernels rendered by tinygrad's C and WGSL renderers; the C
   kernels and the weights linked into the text of policy.c.
3. link: policy.c written to a temp folder beside --out, and zig cc started on it (policy.wasm and
   policy.lazy.wasm) in the background.
4. check: while zig runs, PyTorch's reference (a float32 overflow named first) and tinygrad's own pass against
   it; then policy.wasm against PyTorch (wasmtime): forward pass, saliency, and an imported policy against the
   library it came from.
5. write: the rest of the kernel folder (the WebGPU loader policy.webgpu.js, its data module
   policy.webgpu.data.js, policy.weights.bin, policy.weights.json, manifest.json) into the temp folder,
   which then replaces --out whole: --out is always either the old kernel or the new one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import warnings
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import numpy as np

from rl_web_agent.compiler import cnn, model, saliency
from rl_web_agent.compiler.codegen import (
    BLOCK,
    c_renderer,
    render_graphs,
    row_opts,
    weight_arrays,
    wgsl_renderer,
)
from rl_web_agent.compiler.kernel_dir import (
    C_FILE,
    FILES,
    LAZY_WASM_FILE,
    PYTHON_WEIGHTS_FILE,
    WASM_FILE,
    WEBGPU_DATA_FILE,
    WEBGPU_MODULE_FILE,
    WEBGPU_WEIGHTS_FILE,
    is_kernel_dir,
    write_manifest,
)
from rl_web_agent.compiler.model import TinyPolicy, torch_forward
from rl_web_agent.compiler.parity import (
    certificate_frames,
    check_parity,
    check_source_parity,
    parity_bound,
    parity_observations,
)
from rl_web_agent.compiler.wasm import WasmPolicy, emit_c, start_compile_wasm, wait_wasm
from rl_web_agent.compiler.webgpu import LOADER, emit_data, weights_blob
from rl_web_agent.policy.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    resolve_model_dir,
    train_eval,
)
from rl_web_agent.policy.env_spaces import EnvError, misfit, spaces
from rl_web_agent.policy.envid import EnvIdError, check_env_id, is_registered
from rl_web_agent.policy.files import staged_dir
from rl_web_agent.runtime_py.export_json import to_json
from rl_web_agent.runtime_py.mlp import Policy as PythonPolicy

# what policy.c and the WebGPU data module say generated them, in their first comment line: the name the
# compiler had when the shipped kernels were compiled, kept so that a kernel's bytes do not change with it
GENERATOR = "tiny_infer"


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
    python_samples: int = 500  # of the parity observations, run through runtime_py/mlp.py (pure Python: slow)
    seed: int = 0
    # how policy.wasm stores a convolutional policy's weights: cnn.WEIGHT_DTYPES, or "auto": int8 for a
    # convolutional policy (NatureCNN's float32 weights alone are 6.3 MB gzipped, over an Atari page's 2.5 MB
    # budget until the first action; int8's greedy action agreement is certified), f32 for an MLP
    weights: str = "auto"
    image_parity_samples: int = 10_000  # a convolutional policy's parity frames (parity.certificate_frames)


class CompileError(RuntimeError):
    """Bad input to compile (a flag, an --out it must not replace) or a kernel that fails its checks."""


class AgreementError(CompileError):
    """Quantized weights whose greedy action is not the float32 policy's often enough (GREEDY_AGREE_MIN)."""


# a quantized convolutional kernel's greedy action must equal the float32 policy's on at least this share of
# the certificate's real Atari frames (all its frames where it has none), so that the page's agent plays as
# the trained one did. `--weights auto` then falls back from int8 to f16; an explicit --weights is refused
GREEDY_AGREE_MIN = 0.99


@dataclass(frozen=True)
class Resolved:
    """resolve()'s answer: the loaded checkpoint and the folder to write."""

    ckpt: Checkpoint
    out: Path


@dataclass(frozen=True)
class Rendered:
    """render()'s answer: the tinygrad graph and everything rendered from it."""

    policy: TinyPolicy
    weights: dict[str, np.ndarray]  # the realized weight buffers, flat, as the kernels index them
    c_src: str  # policy.c
    wgsl: dict  # codegen.Graph of each WebGPU entry point: "single", "batch", "saliency"


@dataclass(frozen=True)
class Checks:
    """check()'s answer: what it measured, as the manifest records it."""

    parity: dict  # policy.wasm vs PyTorch: {"samples", "max_abs_err"}
    tinygrad_check: dict  # tinygrad's own pass vs PyTorch: {"samples", "max_abs_err"}
    saliency: dict  # policy.wasm's saliency vs PyTorch autograd: {"samples", "max_rel_err"}
    python: dict  # policy.weights.json in runtime_py/mlp.py vs PyTorch: {"samples", "max_abs_err"}
    weights_json: str  # the text of policy.weights.json that was checked (export_json.to_json), for write()
    source: dict | None  # an imported policy: the kernel vs the library it came from (parity.py)


def _tinygrad_check(policy, ckpt: Checkpoint, n: int, seed: int) -> float:
    """tinygrad's own forward pass (PYTHON device, no compiler) vs PyTorch's, before emitting anything."""
    from tinygrad.helpers import Context  # tinygrad only when compiling: it takes a while to import

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
    if not is_registered(ckpt.env_id) or ckpt.image is not None:
        # not one of Gymnasium's: nothing to check against; or image observations, which are the output of
        # the env's wrappers (gray, resized, stacked), not its own observation space
        return
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
    if ckpt.image is not None:
        return (
            f"{what}: generated by {GENERATOR} from {ckpt.model_dir} ({ckpt.env_id}) with tinygrad "
            f"{version('tinygrad')}. Do not edit.\n{cnn.image_summary(ckpt)} -> "
            f"{', '.join(o['name'] for o in ckpt.outputs)}"
        )
    return (
        f"{what}: generated by {GENERATOR} from {ckpt.model_dir} ({ckpt.env_id}) with tinygrad "
        f"{version('tinygrad')}. Do not edit.\n"
        f"obs[{ckpt.obs_dim}] -> {ckpt.outputs[0]['name']}[{ckpt.n_act}], value; hidden {list(ckpt.hidden)} "
        f"{ckpt.activation}{', obs_norm' if ckpt.obs_norm else ''}"
    )


def compile_policy(cfg: CompileConfig, log=print) -> Path:
    """Compile cfg.model_dir (or the newest policy for cfg.env) into cfg.out; returns the output folder."""
    return compile_checkpoint(cfg, log).out


def compile_checkpoint(cfg: CompileConfig, log=print) -> Resolved:
    """compile_policy's work: returns the checkpoint it compiled and the folder it wrote. The steps, in order:
    resolve, render, link, check, write (see the module docstring)."""
    t0 = time.perf_counter()
    job = resolve(cfg)
    ckpt = job.ckpt
    if ckpt.image is not None:
        compile_cnn(job, cfg, log)
        return job
    if cfg.weights not in ("auto", "f32"):
        raise CompileError(
            f"--weights {cfg.weights}: quantized weights are for convolutional policies only; this policy is "
            "an MLP (pass --weights f32)"
        )
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
    return job


def _report(log, out: Path, manifest: dict, times: dict[str, float]) -> None:
    """What compile wrote and measured (the manifest's numbers), and where its time went."""
    for f, n in manifest["files"].items():
        log(f"  wrote {out / f} ({n:,} bytes)")
    par, tg, sal, py = (manifest[k] for k in ("parity", "tinygrad_check", "saliency", "python"))
    log(
        f"  parity: policy.wasm vs PyTorch on {par['samples']:,} observations, max abs err "
        f"{par['max_abs_err']:.2e}; tinygrad vs PyTorch {tg['max_abs_err']:.2e}; saliency vs PyTorch "
        f"autograd on {sal['samples']:,}, max rel err {sal['max_rel_err']:.2e}; policy.weights.json in "
        f"runtime_py/mlp.py vs PyTorch on {py['samples']:,}, max abs err {py['max_abs_err']:.2e}"
    )
    wasm, weights = manifest["files"][WASM_FILE], manifest["forward_weight_bytes"]
    log(
        f"  policy.wasm {wasm:,} bytes = forward()'s float32 weights {weights:,} + {wasm - weights:,}; "
        f"policy.lazy.wasm (value, batch, saliency) {manifest['files'][LAZY_WASM_FILE]:,}"
    )
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
    policy = TinyPolicy(ckpt)
    single = render_graphs(policy, 1, False, {"wgsl": wgsl_renderer()}, "s")["wgsl"]
    batch_c = render_graphs(policy, batch_size, True, {"c": c_renderer()}, "k")["c"]
    # the same schedule in blocks of BLOCK rows, for forward_batch's big matmuls (wasm.blocked_calls)
    blocked_c = None
    if batch_size % BLOCK == 0:
        blocked_c = render_graphs(policy, batch_size, True, {"c": c_renderer(BLOCK)}, "q", block=BLOCK)["c"]
    batch_wgsl = render_graphs(policy, batch_size, False, {"wgsl": wgsl_renderer()}, "b")["wgsl"]
    # the gradient of the decision with respect to the observation (saliency.py), derived by tinygrad
    grad = saliency.render_saliency(policy, {"c": c_renderer(), "wgsl": wgsl_renderer()}, "g")

    # forward(), what a decision needs: the action head alone, for one observation (policy.wasm); value(), the
    # critic alone (policy.lazy.wasm: the critic's weights and code stay off the first action's bill)
    def one_row(prefix: str, f):  # F (policy.head, policy.value) of one observation, in C
        return render_graphs(
            policy, 1, False, {"c": c_renderer(opts=row_opts)}, prefix, target=lambda x: (f(x), {})
        )["c"]

    head_c = one_row("a", policy.head)
    value_c = one_row("v", policy.value) if ckpt.value else None
    weights = weight_arrays(policy)
    c_src = emit_c(batch_c, weights, _header(ckpt, C_FILE), head_c, value_c, blocked_c, grad["c"])
    wgsl = {"single": single, "batch": batch_wgsl, "saliency": grad["wgsl"]}
    return Rendered(policy, weights, c_src, wgsl)


def link(rendered: Rendered, folder: Path) -> dict:
    """Step 3: policy.c into FOLDER, and zig cc started on it for FOLDER/policy.wasm and policy.lazy.wasm
    (wasm.build_wasm); check() waits for it."""
    (folder / C_FILE).write_text(rendered.c_src)
    return start_compile_wasm(folder / C_FILE, folder / WASM_FILE, folder / LAZY_WASM_FILE, rendered.weights)


def check(ckpt: Checkpoint, rendered: Rendered, zig: dict, folder: Path, cfg: CompileConfig) -> Checks:
    """Step 4: PyTorch's reference and tinygrad's pass while zig runs, then FOLDER/policy.wasm against
    PyTorch. CheckpointError for a checkpoint that overflows float32, CompileError for a kernel off bound."""
    try:
        # PyTorch's reference, while zig runs (importing torch takes seconds): first of all, a checkpoint
        # whose values overflow float32 is named here, before tinygrad's pass could be blamed for it
        obs = parity_observations(ckpt.obs_dim, cfg.parity_samples, cfg.seed)
        ref = torch_forward(ckpt, obs, check_finite=True)
        tg_err = _tinygrad_check(rendered.policy, ckpt, cfg.tinygrad_check_samples, cfg.seed)
        sal_obs = obs[: cfg.saliency_samples]
        # through the module: the tests put a reference off bound in its place
        sal_k = saliency.saliency_actions(ckpt, len(sal_obs))
        sal_ref = saliency.torch_saliency(ckpt, sal_obs, sal_k)
        sal_ref32 = saliency.torch_saliency_float32(ckpt, sal_obs, sal_k)
    except BaseException:
        try:  # wait for zig, but the first error stands: zig's own would hide it
            wait_wasm(zig)
        except Exception:  # noqa: BLE001, S110
            pass
        raise
    wait_wasm(zig)
    # the python backend's weights; after PyTorch's reference, which names a checkpoint that overflows float32
    weights_json = to_json(ckpt)

    wasm = WasmPolicy(folder / WASM_FILE, folder / LAZY_WASM_FILE)
    try:
        max_err = check_parity(wasm.forward_batch(obs, ckpt.n_out), ref, "policy.wasm forward_batch")
        single_n = min(len(obs), 200)
        got1 = np.stack([wasm.forward(o, ckpt.n_out) for o in obs[:single_n]])
        max_err = max(max_err, check_parity(got1, ref[:single_n], "policy.wasm forward"))
        # an imported policy: the kernel against the library it came from, as recorded at import
        source = check_source_parity(ckpt, lambda o: wasm.forward_batch(o, ckpt.n_out))
        sal_err = saliency.check_saliency(
            wasm.saliency(sal_obs, sal_k), sal_ref, "policy.wasm saliency", sal_ref32
        )
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
    rl_web_agent/runtime_py/mlp.py, here in CPython, against PyTorch's forward pass: the bundler has no Python
    to check them with."""
    policy = PythonPolicy(json.loads(weights_json))
    got = np.array([policy.forward([float(x) for x in o]) for o in obs], np.float64).reshape(ref.shape)
    return check_parity(got, ref, "policy.weights.json in rl_web_agent/runtime_py/mlp.py")


def write(folder: Path, job: Resolved, rendered: Rendered, checks: Checks, batch_size: int) -> dict:
    """Step 5: the rest of the kernel folder and its manifest.json into FOLDER, staged beside job.out,
    which it replaces whole once this returns; returns the manifest. The manifest names no path of this
    machine: the folder moves as it is."""
    ckpt = job.ckpt
    webgpu = write_webgpu(folder, ckpt, rendered)
    (folder / PYTHON_WEIGHTS_FILE).write_text(checks.weights_json)
    manifest = {
        "env_id": ckpt.env_id,
        "obs_dim": ckpt.obs_dim,
        "action": ckpt.action,
        "outputs": ckpt.outputs,
        "batch_size": batch_size,
        "weights_sha256": hashlib.sha256((folder / webgpu["weights"]).read_bytes()).hexdigest(),
        "wasm_sha256": hashlib.sha256((folder / WASM_FILE).read_bytes()).hexdigest(),
        "lazy_wasm_sha256": hashlib.sha256((folder / LAZY_WASM_FILE).read_bytes()).hexdigest(),
        # what policy.wasm must hold: the float32 weights forward() reads (not the critic's, value()'s)
        "forward_weight_bytes": sum(
            a.size * 4 for n, a in rendered.weights.items() if not n.startswith("critic.")
        ),
        "tinygrad_version": version("tinygrad"),
        "files": {},  # write_manifest fills it in
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
    write_manifest(folder, manifest)
    check_out_dir(job.out, ckpt.model_dir)  # again: the folder may have changed while we compiled
    return manifest


def write_webgpu(folder: Path, ckpt: Checkpoint, rendered: Rendered) -> dict:
    """The WebGPU kernel into FOLDER: the static loader (policy.webgpu.js), the data module it imports
    (policy.webgpu.data.js: WGSL, dispatch plan, layouts) and the weights it uploads (policy.weights.bin);
    returns the manifest's `webgpu` entry, which names them."""
    g = rendered.wgsl
    return _write_webgpu(folder, ckpt, rendered.weights, None, g["single"], g["batch"], g["saliency"])


def _write_webgpu(
    folder: Path, ckpt: Checkpoint, weights: dict, stored: dict | None, single, batch, sal
) -> dict:
    """write_webgpu's files for any policy: the weights (as STORED holds them, else float32), the data module
    of the graphs (batch and saliency may be None), the loader; the manifest's `webgpu` entry."""
    blob, layout = weights_blob(weights, stored)
    (folder / WEBGPU_WEIGHTS_FILE).write_bytes(blob)
    data = emit_data(
        single,
        batch,
        layout,
        len(blob),
        ckpt.obs_dim,
        ckpt.n_out,
        ckpt.outputs,
        _header(ckpt, WEBGPU_DATA_FILE),
        sal,
        "uint8" if ckpt.image is not None else "float32",
    )
    (folder / WEBGPU_DATA_FILE).write_text(data)
    shutil.copyfile(LOADER, folder / WEBGPU_MODULE_FILE)
    return {"module": WEBGPU_MODULE_FILE, "data": WEBGPU_DATA_FILE, "weights": WEBGPU_WEIGHTS_FILE}


def compile_cnn(job: Resolved, cfg: CompileConfig, log=print) -> dict:
    """A convolutional policy (the checkpoint format's `image`) into job.out: policy.c, policy.wasm, the
    WebGPU kernel and manifest.json (cnn.py's docstring). Its parity certificate: policy.wasm against
    PyTorch run with the weights it holds, on cfg.image_parity_samples frame stacks
    (parity.certificate_frames), within the parity bound, or nothing is written; with quantized weights also
    against the float32 policy, whose greedy action it must take on GREEDY_AGREE_MIN of the real frames
    (`--weights auto`: int8, else f16). Returns the manifest."""
    if cfg.weights != "auto":
        return _compile_cnn(job, cfg, log)
    try:
        return _compile_cnn(job, replace(cfg, weights="int8"), log)
    except AgreementError as e:
        log(f"  {e}: --weights auto compiles f16 instead")
        return _compile_cnn(job, replace(cfg, weights="f16"), log)


def _compile_cnn(job: Resolved, cfg: CompileConfig, log=print) -> dict:
    """compile_cnn with the weight storage cfg.weights names."""
    ckpt, dtype, t0 = job.ckpt, cfg.weights, time.perf_counter()
    if dtype not in cnn.WEIGHT_DTYPES:
        raise CompileError(f"--weights {dtype}: pass one of {', '.join(cnn.WEIGHT_DTYPES)}")
    if cfg.image_parity_samples < 3:
        raise CompileError(f"--parity-samples {cfg.image_parity_samples}: pass a number >= 3")
    log(f"compile: model {ckpt.model_dir} ({ckpt.env_id}, {cnn.image_summary(ckpt)}, weights {dtype})")
    try:
        stored, tensors = cnn.quantized_tensors(ckpt, dtype)
    except cnn.QuantError as e:
        raise CompileError(f"--weights {dtype}: {e}; pass --weights f32") from None
    policy = cnn.TinyCNN(ckpt, tensors, stored=stored if dtype == "int8" else None)
    graph = cnn.render_cnn(policy)
    # as the kernels read them: float32, or a trunk layer's int8 bytes
    weights = {name: t.numpy().ravel() for name, t in policy.weights.items()}
    # the WGSL kernel reads every weight as float32, widened by its loader: WGSL has no byte loads, and
    # tinygrad's packed-word reads of the int8 trunk took NatureCNN from 15 to 41 ms a forward on SwiftShader
    gpu_policy = cnn.TinyCNN(ckpt, tensors) if dtype == "int8" else policy
    wgsl = cnn.render_cnn_wgsl(gpu_policy)
    gpu_weights = {name: t.numpy().ravel() for name, t in gpu_policy.weights.items()}
    c_src = cnn.emit_cnn_c(graph, weights, stored, dtype, _header(ckpt, C_FILE))
    t_render = time.perf_counter()
    with staged_dir(job.out.resolve()) as folder:
        (folder / C_FILE).write_text(c_src)
        cnn.build_cnn_wasm(folder / C_FILE, folder / WASM_FILE)
        t_zig = time.perf_counter()
        frames, sources = certificate_frames(ckpt.image, cfg.image_parity_samples, cfg.seed, ckpt.env_id)
        # PyTorch with the weights policy.wasm computes with; a checkpoint that overflows float32 named first
        ref, terms = model.torch_cnn_forward(ckpt, frames, tensors, terms=True)
        if not np.isfinite(ref.astype(np.float32)).all():
            raise CheckpointError(
                f"{ckpt.model_dir}/policy.safetensors: the outputs overflow float32 on some test frames; the "
                "training diverged, retrain or use an earlier checkpoint"
            )
        got = cnn.WasmCNN(folder / WASM_FILE, ckpt.n_out).forward(frames)
        try:
            max_err = check_parity(got, ref, "policy.wasm forward", terms)
        except ValueError as e:
            raise CompileError(str(e)) from None
        ref32 = ref if dtype == "f32" else model.torch_cnn_forward(ckpt, frames)
        agree = cnn.greedy(ckpt, got) == cnn.greedy(ckpt, ref32)
        # the real frames are the certificate's last ones (parity.certificate_frames)
        n_real = sum(n for k, n in sources.items() if k.startswith("ale:"))
        judged = agree[-n_real:] if n_real else agree
        rate = float(judged.all(-1).mean() if judged.ndim > 1 else judged.mean())
        if dtype != "f32" and ckpt.discrete and rate < GREEDY_AGREE_MIN:
            games = [k.removeprefix("ale:") for k in sources if k.startswith("ale:")]
            where = f"real {' and '.join(games)} frames" if n_real else "test frames"
            raise AgreementError(
                f"--weights {dtype}: the greedy action equals the float32 policy's on {rate:.1%} of "
                f"{len(judged):,} {where}, under {GREEDY_AGREE_MIN:.0%}; pass --weights f16 or f32"
            )
        # an imported policy: the kernel against the library's own outputs recorded at import (f16 and int8
        # weights: measured, not bound)
        wasm_cnn = cnn.WasmCNN(folder / WASM_FILE, ckpt.n_out)
        try:
            source = check_source_parity(ckpt, wasm_cnn.forward, strict=dtype == "f32")
        except ValueError as e:
            raise CompileError(str(e)) from None
        t_check = time.perf_counter()
        # the WGSL kernel, on the weights as policy.wasm stores them (tests/test_webgpu_kernel.py runs it)
        webgpu = _write_webgpu(
            folder, ckpt, gpu_weights, stored if dtype != "f32" else None, wgsl, None, None
        )
        stored_bytes = sum(q.nbytes + (0 if sc is None else sc.nbytes) for q, sc in stored.values())
        biases = sum(a.nbytes for n, a in ckpt.tensors.items() if n.endswith(".bias"))
        manifest = {
            "env_id": ckpt.env_id,
            "obs_dim": ckpt.obs_dim,
            "image": list(ckpt.image),
            # the preprocessing that made the policy's frames (policy.json `frames`): the page's env must make
            # them the same way (web/page/core/actions.js kernelMismatch)
            "frames": ckpt.frames,
            "conv": list(ckpt.conv),
            "trunk": list(ckpt.trunk),
            "action": ckpt.action,
            "outputs": ckpt.outputs,
            "hidden": list(ckpt.hidden),
            "activation": ckpt.activation,
            "obs_norm": None,
            "input": {"dtype": "uint8", "shape": list(ckpt.image), "scale": "1/255, in the kernel"},
            "weights": {
                "dtype": dtype,
                "scale": "float32 per output channel" if dtype == "int8" else None,
                "tensors": {name: cnn.tensor_dtype(name, dtype) for name in stored},  # how each is stored
                "stored_bytes": stored_bytes
                + biases,  # the weights policy.wasm holds, biases (float32) included
                "float32_bytes": sum(a.nbytes for a in ckpt.tensors.values() if a.ndim > 0),
            },
            "macs": cnn.macs(ckpt),
            "wasm_sha256": hashlib.sha256((folder / WASM_FILE).read_bytes()).hexdigest(),
            "weights_sha256": hashlib.sha256((folder / webgpu["weights"]).read_bytes()).hexdigest(),
            "tinygrad_version": version("tinygrad"),
            "files": {},  # write_manifest fills it in
            "parity": {
                "samples": int(len(frames)),
                "frames": sources,
                "reference": "PyTorch (float64 arithmetic) with the weights policy.wasm computes with"
                + (" (dequantized)" if dtype != "f32" else ""),
                "max_abs_err": max_err,
                "bound": "1e-5 * max(1, |reference|, the sum of the absolute terms of its last dot product)",
                "max_err_over_bound": float(
                    (np.abs(got.astype(np.float64) - ref) / parity_bound(ref, terms)).max()
                ),
                "float32_policy": {
                    "max_abs_err": float(np.abs(got.astype(np.float64) - ref32).max()),
                    "greedy_agree": int(agree.all(-1).sum() if agree.ndim > 1 else agree.sum()),
                    "greedy_samples": int(len(frames)),
                    # on the real frames alone (all frames where none are): what GREEDY_AGREE_MIN bounds
                    "greedy_agree_real": int(judged.all(-1).sum() if judged.ndim > 1 else judged.sum()),
                    "greedy_real_samples": int(n_real),
                    "greedy_agree_min": GREEDY_AGREE_MIN if ckpt.discrete and dtype != "f32" else None,
                },
            },
            "eval": train_eval(ckpt.meta),
            "source": source,
            "webgpu": webgpu,
            # the parts of an MLP kernel a convolutional policy does not have yet
            "batch_size": None,
            "tinygrad_check": None,  # tinygrad's PYTHON device interprets each multiply-add: too slow here
            "saliency": None,
            "python": None,
            "not_built": {
                "policy.lazy.wasm": "no forward_batch, saliency or separate value(): forward() writes the "
                "value",
                "policy.weights.json": "the python backend (runtime_py/mlp.py) runs MLPs only",
            },
        }
        write_manifest(
            folder, manifest, (C_FILE, WASM_FILE, WEBGPU_MODULE_FILE, WEBGPU_DATA_FILE, WEBGPU_WEIGHTS_FILE)
        )
        check_out_dir(job.out, ckpt.model_dir)
    for f, n in manifest["files"].items():
        log(f"  wrote {job.out / f} ({n:,} bytes)")
    f32 = manifest["parity"]["float32_policy"]
    log(
        f"  parity: policy.wasm vs PyTorch on {len(frames):,} frame stacks ({sources}), max abs err "
        f"{max_err:.2e}; vs the float32 policy {f32['max_abs_err']:.2e}, greedy action equal on "
        f"{f32['greedy_agree']:,} of {len(frames):,}"
    )
    if source is not None:
        sp = source["parity"]
        agree = sp.get("greedy_equal", sp.get("greedy_agree"))
        log(
            f"  parity vs {source['library']} {source['algo']} (recorded at import) on {sp['samples']:,} "
            f"frame stacks: max abs err {sp['max_abs_err']:.2e}, greedy action equal on {agree:,}"
        )
    log(
        f"  time {time.perf_counter() - t0:.1f} s (render {t_render - t0:.1f}, zig {t_zig - t_render:.1f}, "
        f"check {t_check - t_zig:.1f})"
    )
    return manifest


def _env_arg(env: str) -> str:
    try:
        return check_env_id(env)
    except EnvIdError as e:
        raise CompileError(f"--env: {e}") from None
