"""rl_web_agent compile, hardened against bad input: every output width, the --out folder, ids and metadata in
the generated code, the policy against its Gymnasium env, overflowing checkpoints, the manifest's wasm
hash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rl_web_agent.compiler.compile import CompileConfig, CompileError, compile_policy
from rl_web_agent.compiler.wasm import WasmPolicy
from rl_web_agent.policy.checkpoint import CheckpointError
from tests.checkpoints import make_random_checkpoint, oracle_forward
from tests.kernels import assert_parity

ROOT = Path(__file__).resolve().parent.parent
WIDE = {"discrete": 18, "box": 64}  # the widest action each kind supports (checkpoint.MAX_*)
# Gymnasium envs whose spaces fit a case (kind, width, obs_dim): their ids also exercise compile's env check
ENV_OF = {
    ("discrete", 2, 4): "CartPole-v1",
    ("discrete", 3, 6): "Acrobot-v1",
    ("box", 1, 3): "Pendulum-v1",
    ("box", 1, 2): "MountainCarContinuous-v0",
}
BOUND = {"MountainCarContinuous-v0": 1.0}  # box actions are in [-2, 2] otherwise (Pendulum-v1's)


def action(kind: str, width: int, bound: float = 2.0) -> dict:
    if kind == "discrete":
        return {"type": "discrete", "n": width}
    return {"type": "box", "shape": [width], "low": [-bound] * width, "high": [bound] * width}


# (kind, action width, --batch-size, obs_norm, obs_dim): every width from 1 (one action output beside the one
# value: tinygrad's Tensor.cat stored those two columns transposed) to the widest, at the default batch size,
# each width with and without obs_norm (one kind each); and a single output at small capacities (1, 2, 3:
# no blocked kernels) and its batched
CASES = [
    (kind, w, 256, (w % 2 == 0) == (kind == "discrete"), {2: 4, 3: 6}.get(w, 3) if kind == "discrete" else 3)
    for kind in ("discrete", "box")
    for w in (1, 2, 3, 4, 5, WIDE[kind])
] + [
    (kind, 1, bs, bs % 2 == 1, 2 if kind == "box" else 5) for kind in ("box", "discrete") for bs in (1, 2, 3)
]


@pytest.mark.compile
@pytest.mark.parametrize(
    "kind,width,batch,norm,obs_dim",
    CASES,
    ids=[f"{k}{w}-b{b}{'-norm' if n else ''}" for k, w, b, n, _ in CASES],
)
def test_every_output_width(kind, width, batch, norm, obs_dim, tmp_path):
    """policy.wasm's forward() and forward_batch(n) for n = 1, 2, 3 and the capacity agree with the oracle."""
    env_id = ENV_OF.get((kind, width, obs_dim), f"Width{width}-v0")
    model = make_random_checkpoint(
        tmp_path / "m",
        obs_dim=obs_dim,
        hidden=(8,),
        obs_norm=norm,
        action=action(kind, width, BOUND.get(env_id, 2.0)),
        seed=width + batch,
        env_id=env_id,
    )
    kdir = tmp_path / "k"
    # a few hundred observations for compile's own checks, in each of 18 cases (saliency: test_saliency.py)
    cfg = CompileConfig(model_dir=model, out=kdir, batch_size=batch, parity_samples=300, saliency_samples=300)
    compile_policy(cfg, log=lambda *a: None)
    m = json.loads((kdir / "manifest.json").read_text())
    assert m["outputs"][0]["size"] == width and m["batch_size"] == batch and m["env_id"] == env_id
    assert m["wasm_sha256"] == hashlib.sha256((kdir / "policy.wasm").read_bytes()).hexdigest()
    rng = np.random.default_rng(width)
    obs = rng.normal(0, 3, (2 * batch + 7, obs_dim)).astype(np.float32)
    ref = oracle_forward(model, obs)
    wasm = WasmPolicy(kdir / "policy.wasm")
    assert wasm.batch == batch
    single = np.stack([wasm.forward(o, width + 1) for o in obs[:20]])
    assert_parity(single, ref[:20], m)
    for n in sorted({1, 2, 3, batch} & set(range(1, batch + 1))):
        wasm.batch = n  # forward_batch with n rows at a time
        assert_parity(wasm.forward_batch(obs, width + 1), ref, m)


@pytest.mark.compile
def test_squashed_single_action_beside_a_value(tmp_path):
    """A tanh-squashed box action of width 1 joined with a value (SB3's PPO with squash_output): every kernel
    within WebGPU's 8 storage buffers, and policy.wasm agrees with the oracle."""
    from safetensors.numpy import load_file, save_file

    act = {**action("box", 1), "squash": "tanh"}
    model = make_random_checkpoint(tmp_path / "m", obs_dim=3, hidden=(8,), action=act, seed=4)
    t = load_file(str(model / "policy.safetensors"))
    del t["actor.log_std"]  # a squashed actor is deterministic
    save_file(t, str(model / "policy.safetensors"))
    kdir = tmp_path / "k"
    compile_policy(CompileConfig(model_dir=model, out=kdir, parity_samples=300), log=lambda *a: None)
    m = json.loads((kdir / "manifest.json").read_text())
    assert [o["size"] for o in m["outputs"]] == [1, 1]
    obs = np.random.default_rng(0).normal(0, 3, (600, 3)).astype(np.float32)
    ref = oracle_forward(model, obs)
    assert_parity(WasmPolicy(kdir / "policy.wasm").forward_batch(obs, 2), ref, m)


@pytest.mark.compile
def test_codegen_refuses_a_transposed_output(tmp_path, monkeypatch):
    """The codegen reads the output buffer as [rows, outputs]: a policy whose output is a permuted view of
    its buffer (what Tensor.cat of two one-column parts gives) is refused, not linked wrong."""
    from rl_web_agent.compiler import model as model_mod
    from rl_web_agent.compiler.codegen import CodegenError, c_renderer, render_graphs
    from rl_web_agent.policy.checkpoint import load_checkpoint

    ckpt = load_checkpoint(
        make_random_checkpoint(tmp_path / "m", obs_dim=3, hidden=(8,), action=action("box", 1))
    )
    policy = model_mod.TinyPolicy(ckpt)
    render_graphs(policy, 8, True, {"c": c_renderer()}, "k")  # model.columns: accepted
    monkeypatch.setattr(model_mod, "columns", lambda a, b: a.cat(b, dim=-1))
    with pytest.raises(CodegenError, match="PERMUTE view"):
        render_graphs(policy, 8, True, {"c": c_renderer()}, "k")


# ---- the CLI on bad input: one line on stderr, exit 1, the disk as it was ----


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # also from a cwd outside the repository
    return subprocess.run(
        [sys.executable, "-m", "rl_web_agent", "compile", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=env,
    )


def snapshot(d: Path) -> dict[str, bytes | None]:
    """Every path under D -> its bytes (None for a folder)."""
    return {str(p.relative_to(d)): (None if p.is_dir() else p.read_bytes()) for p in sorted(d.rglob("*"))}


def assert_refused(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compile: error: "), p.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in p.stderr and "report" not in p.stderr


@pytest.fixture
def model(tmp_path) -> Path:
    return make_random_checkpoint(tmp_path / "m", hidden=(8,), seed=2)


def test_out_is_the_checkpoint_folder(tmp_path, model):
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(model)), "is the checkpoint's folder")
    assert_refused(cli(str(model), "--out", str(tmp_path)), f"holds the checkpoint {model}")
    assert snapshot(tmp_path) == before


def test_out_is_a_user_folder(tmp_path, model):
    user = tmp_path / "notes"
    user.mkdir()
    (user / "todo.txt").write_text("mine")
    (user / "manifest.json").write_text('{"name": "a web app"}')
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(user)), "not a kernel folder", "'todo.txt'")
    (user / "todo.txt").unlink()  # a manifest.json that is not a kernel's is not enough
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(user)), "no manifest.json of a kernel")
    assert snapshot(tmp_path) == before


def test_out_is_the_current_folder(tmp_path, model):
    """`--out .` (also when empty) would rename the folder the user stands in: refused."""
    empty = tmp_path / "empty"
    empty.mkdir()
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", ".", cwd=empty), "--out . is the current folder")
    assert_refused(cli(str(model), "--out", "..", cwd=empty), "--out .. is the current folder or holds it")
    assert snapshot(tmp_path) == before


def test_out_is_a_file_or_under_one_or_a_link(tmp_path, model):
    (tmp_path / "f").write_text("a file")
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target", target_is_directory=True)
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(tmp_path / "f")), "exists and is not a folder")
    assert_refused(cli(str(model), "--out", str(tmp_path / "f" / "k")), f"{tmp_path / 'f'} is a file")
    assert_refused(cli(str(model), "--out", str(tmp_path / "link")), "is a symbolic link")
    assert snapshot(tmp_path) == before


@pytest.mark.compile
def test_out_kernel_folder_is_replaced(tmp_path, model):
    """A kernel folder compile wrote (also with a policy.weights.json) is replaced whole; an empty one too."""
    out = tmp_path / "k"
    out.mkdir()
    compile_policy(CompileConfig(model_dir=model, out=out, parity_samples=100), log=lambda *a: None)
    first = json.loads((out / "manifest.json").read_text())
    (out / "policy.weights.json").write_text("{}")  # stale: it belongs to the weights being replaced
    p = cli(str(model), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in out.iterdir()) == sorted([*first["files"], "manifest.json"])
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []  # no temp or old folder


def test_env_id_that_would_inject_code(tmp_path):
    """An env_id outside Gymnasium's grammar (here one that ends policy.c's comment) is refused at loading."""
    model = make_random_checkpoint(tmp_path / "m", hidden=(8,), env_id="X-v0 */ int evil; /*")
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(tmp_path / "k")), "invalid environment id", "policy.json")
    assert_refused(cli("--env", "../../etc", "--out", str(tmp_path / "k")), "--env: invalid environment id")
    assert snapshot(tmp_path) == before


def test_bad_flags_are_compile_errors(tmp_path, model):
    """A flag compile cannot use is a CompileError naming the flag (the checkpoint is fine), nothing is
    written, and the config is never changed: compile_policy resolves what it leaves open on its own."""
    before = snapshot(tmp_path)
    out = tmp_path / "k"
    cases = [
        (CompileConfig(model_dir=model, out=out, batch_size=0), "--batch-size 0: pass a number from 1 to"),
        (CompileConfig(model_dir=model, out=out, batch_size=4097), "--batch-size 4097"),
        (CompileConfig(out=out), "pass a checkpoint folder or --env ENV_ID"),
        (CompileConfig(env="../../etc", out=out), "--env: invalid environment id"),
        (CompileConfig(model_dir=model, env="CartPole-v1", out=out), "Random-v0, not --env CartPole-v1"),
    ]
    for cfg, needle in cases:
        with pytest.raises(CompileError) as e:
            compile_policy(cfg, log=lambda *a: None)
        assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert_refused(cli(str(model), "--batch-size", "0", "--out", str(out)), "--batch-size 0")
    assert snapshot(tmp_path) == before
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        cases[2][0].model_dir = model


@pytest.mark.compile
@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("node") is None, reason="needs gcc and node")
def test_metadata_in_generated_code_is_escaped(tmp_path):
    """The model folder's path is user text in policy.c's and policy.webgpu.data.js's headers: with `*/`, `/*`
    and a JS line separator in it, policy.c still builds with -Wall -Werror and the JS module still parses."""
    model = make_random_checkpoint(tmp_path / "a*" / "*b\u2028c", hidden=(8,))  # the path has */ and /*
    kdir = tmp_path / "k"
    compile_policy(CompileConfig(model_dir=model, out=kdir, parity_samples=100), log=lambda *a: None)
    c_src = (kdir / "policy.c").read_text()
    header = c_src.split("#if")[0]
    assert header.count("*/") == header.count("/*") == len(header.strip().splitlines())  # one pair a line
    gcc = ["gcc", "-std=c11", "-fsyntax-only", "-Wall", "-Werror"]
    subprocess.run([*gcc, str(kdir / "policy.c")], check=True)
    js = kdir / "policy.webgpu.data.mjs"
    js.write_text((kdir / "policy.webgpu.data.js").read_text())
    assert "\u2028" not in js.read_text()
    subprocess.run(["node", "--check", str(js)], check=True)


def _relabel(tmp: Path, **kw) -> Path:
    return make_random_checkpoint(tmp / "m", hidden=(8,), **kw)


MISMATCH = {
    "Acrobot weights as CartPole-v1": (
        dict(obs_dim=6, action={"type": "discrete", "n": 3}, env_id="CartPole-v1"),
        ["does not fit CartPole-v1", "obs_dim=6"],
    ),
    "CartPole-v1 with 3 actions": (
        dict(obs_dim=4, action={"type": "discrete", "n": 3}, env_id="CartPole-v1"),
        ["it has 2 actions, the policy 3"],
    ),
    "Pendulum-v1 as discrete": (
        dict(obs_dim=3, action={"type": "discrete", "n": 2}, env_id="Pendulum-v1"),
        ["its action space is Box"],
    ),
    "Pendulum-v1 with 2 dims": (
        dict(obs_dim=3, action=action("box", 2), env_id="Pendulum-v1"),
        ["box actions have shape [2]"],
    ),
    "Pendulum-v1 with the wrong bounds": (
        dict(obs_dim=3, action=action("box", 1, bound=1.0), env_id="Pendulum-v1"),
        ["its action low is [-2.0], policy.json says [-1.0]"],
    ),
    "an env Gymnasium cannot make here": (
        dict(obs_dim=4, env_id="phys2d/CartPole-v1"),
        ["phys2d/CartPole-v1: Gymnasium cannot make this environment", "install what it needs"],
    ),
}


@pytest.mark.parametrize("case", list(MISMATCH))
def test_policy_against_its_env(case, tmp_path):
    kw, needles = MISMATCH[case]
    if kw["env_id"].startswith("phys2d/"):
        pytest.importorskip("gymnasium")
        try:
            import jax  # noqa: F401

            pytest.skip("jax is installed: Gymnasium can make phys2d envs here")
        except ImportError:
            pass
    model = _relabel(tmp_path, **kw)
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(tmp_path / "k")), *needles)
    assert snapshot(tmp_path) == before


def _scaled(tmp: Path, tensor: str, value: float) -> Path:
    from safetensors.numpy import load_file, save_file

    d = make_random_checkpoint(tmp / "m", hidden=(8,), obs_norm=True)
    t = load_file(str(d / "policy.safetensors"))
    t[tensor][...] = value
    save_file(t, str(d / "policy.safetensors"))
    return d


@pytest.mark.compile
@pytest.mark.parametrize(
    "tensor,value,needle",
    [
        ("critic.0.weight", 3e38, "the output of layer critic.0"),
        ("actor.1.weight", 3e38, "the output of layer actor.1"),
        ("obs_norm.var", 0.0, "the normalised observation"),  # with eps 0 below: 0 / 0
    ],
)
def test_overflowing_checkpoint(tensor, value, needle, tmp_path):
    """Finite weights whose outputs overflow float32 are the checkpoint's problem, named before codegen."""
    model = _scaled(tmp_path, tensor, value)
    if tensor == "obs_norm.var":
        meta = json.loads((model / "policy.json").read_text())
        meta["obs_norm"]["eps"] = 0.0
        (model / "policy.json").write_text(json.dumps(meta))
    before = snapshot(tmp_path)
    if tensor == "critic.0.weight":  # through the CLI once; the others in-process (the same code path)
        assert_refused(cli(str(model), "--out", str(tmp_path / "k")), needle, "Inf/NaN", "retrain")
    else:
        with pytest.raises(CheckpointError) as e:
            compile_policy(CompileConfig(model_dir=model, out=tmp_path / "k"), log=lambda *a: None)
        assert needle in str(e.value) and "retrain" in str(e.value) and "\n" not in str(e.value)
    assert snapshot(tmp_path) == before


def test_model_path_of_the_wrong_kind(tmp_path, model):
    (model / "policy.json").rename(tmp_path / "policy.json")
    (model / "policy.json").mkdir()
    before = snapshot(tmp_path)
    assert_refused(cli(str(model), "--out", str(tmp_path / "k")), "policy.json: is not a file")
    p = cli(str(tmp_path / "policy.json"), "--out", str(tmp_path / "k"))
    assert_refused(p, "is a file, not a folder")
    assert snapshot(tmp_path) == before
