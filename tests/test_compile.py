"""rl_web_agent compile: policy.wasm (wasmtime) and policy.c (gcc) vs the oracle, the manifest, bad input."""

from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rl_web_agent.compiler.compile import CompileConfig, CompileError, compile_policy
from rl_web_agent.compiler.wasm import (
    EAGER_EXPORTS,
    FORWARD_CODE_BYTES,
    LAZY_EXPORTS,
    LAZY_EXPORTS_VALUE,
    WasmPolicy,
)
from tests.checkpoints import load_oracle, make_random_checkpoint, oracle_forward
from tests.kernels import assert_parity

pytestmark = pytest.mark.compile

ROOT = Path(__file__).resolve().parent.parent
N_RANDOM = 100_000
# the shared test kernels (tests/kernels.MODELS) this module checks: CartPole's policy and the architectures
# at the edges of the checkpoint format
ARCHS = ["cartpole", "linear-3act", "relu256-18act-norm", "tanh3-box-norm"]


def cartpole_states(model_dir: Path, n: int = 5_000) -> np.ndarray:
    """Observations the policy visits in Gymnasium's CartPole-v1 (greedy actions, via the oracle)."""
    import gymnasium as gym

    env, states, ep, oracle = gym.make("CartPole-v1"), [], 0, load_oracle(model_dir)
    while len(states) < n:
        obs, _ = env.reset(seed=ep)
        ep += 1
        done = False
        while not done and len(states) < n:
            states.append(obs)
            a = int(np.argmax(oracle(obs[None])[0, :2]))
            obs, _, term, trunc, _ = env.step(a)
            done = term or trunc
    return np.asarray(states, dtype=np.float32)


def observations(obs_dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    half = N_RANDOM // 2
    return np.concatenate(
        [rng.normal(0, 3, (half, obs_dim)), rng.uniform(-10, 10, (N_RANDOM - half, obs_dim))]
    ).astype(np.float32)


@pytest.mark.parametrize("name", ARCHS)
def test_wasm_matches_the_oracle(compiled, name):
    model, kdir = compiled[name]
    manifest = json.loads((kdir / "manifest.json").read_text())
    obs = observations(manifest["obs_dim"])
    if name == "cartpole":
        obs = np.concatenate([obs, cartpole_states(model)])
    wasm = WasmPolicy(kdir / "policy.wasm")
    n_out = sum(o["size"] for o in manifest["outputs"])
    ref = oracle_forward(model, obs)
    assert_parity(wasm.forward_batch(obs, n_out), ref, manifest)
    # the single-observation entry point, and forward_batch with every n in a short range
    single = np.stack([wasm.forward(o, n_out) for o in obs[:1000]])
    assert_parity(single, ref[:1000], manifest)
    for n in (1, 2, 3, 7, wasm.batch - 1, wasm.batch):
        wasm_n = WasmPolicy(kdir / "policy.wasm")
        wasm_n.batch = n  # feed forward_batch n rows at a time
        assert_parity(wasm_n.forward_batch(obs[: 2 * n + 1], n_out), ref[: 2 * n + 1], manifest)


def test_kernel_tanh_accuracy(tmp_path):
    """The kernel's own tanh (a rational function, model.TANH_NUM), read off a 1-unit critic whose value is
    exactly tanh(obs): within 3.5e-7 of the true tanh everywhere, odd, and at most an ulp past +-1 (the fit's
    error alternates in sign up to the clamp, where tanh is within an ulp of 1)."""
    import torch
    from safetensors.torch import load_file, save_file

    model = make_random_checkpoint(tmp_path / "m", obs_dim=1, hidden=(1,), seed=0)
    t = {k: v.clone() for k, v in load_file(str(model / "policy.safetensors")).items()}
    for i in (0, 1):  # value = 1 * tanh(1 * obs + 0) + 0, every step exact in float32
        t[f"critic.{i}.weight"], t[f"critic.{i}.bias"] = torch.ones(1, 1), torch.zeros(1)
    save_file(t, str(model / "policy.safetensors"))
    kdir = tmp_path / "k"
    compile_policy(CompileConfig(model_dir=model, out=kdir, parity_samples=100), log=lambda *a: None)
    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-30, 20, 50_000)]).astype(np.float32)
    x = np.concatenate([x, -x, [0.0, np.inf, -np.inf, np.finfo(np.float32).max]]).astype(np.float32)
    got = WasmPolicy(kdir / "policy.wasm").forward_batch(x[:, None], 3)[:, 2].astype(np.float64)
    true = np.tanh(x.astype(np.float64))
    assert np.abs(got - true).max() <= 3.5e-7
    assert (np.abs(got) <= 1 + 2.0**-23).all()
    n = (len(x) - 4) // 2
    assert (got[:n] == -got[n : 2 * n]).all()


def test_tanh_coefficients_are_the_fit():
    """model.TANH_* are what rl_web_agent/compiler/tanh_fit.py computes, and within 3.5e-7 of tanh in
    float32."""
    from rl_web_agent.compiler import model
    from rl_web_agent.compiler.tanh_fit import fit_tanh, float32_error

    p, q, err = fit_tanh(len(model.TANH_NUM) - 1, len(model.TANH_DEN) - 1, model.TANH_CLAMP)
    np.testing.assert_allclose(p, model.TANH_NUM, rtol=1e-6)
    np.testing.assert_allclose(q, model.TANH_DEN, rtol=1e-6)
    assert err < 2e-8 and float32_error(model.TANH_NUM, model.TANH_DEN, model.TANH_CLAMP) < 3.5e-7


def test_manifest_and_module(compiled):
    model, kdir = compiled["cartpole"]
    m = json.loads((kdir / "manifest.json").read_text())
    meta = json.loads((model / "policy.json").read_text())
    for key in (
        "env_id",
        "obs_dim",
        "action",
        "outputs",
        "batch_size",
        "weights_sha256",
        "wasm_sha256",
        "lazy_wasm_sha256",
        "tinygrad_version",
        "files",
        "parity",
        "hidden",
        "activation",
        "eval",
    ):
        assert key in m, key
    assert m["env_id"] == meta["env_id"] and m["obs_dim"] == meta["obs_dim"] and m["action"] == meta["action"]
    assert m["outputs"] == [{"name": "probs", "size": 2}, {"name": "value", "size": 1}]
    assert m["tinygrad_version"] == "0.14.0" and m["batch_size"] == 256
    assert set(m["files"]) == {
        "policy.c",
        "policy.wasm",
        "policy.lazy.wasm",
        "policy.webgpu.js",
        "policy.webgpu.data.js",
        "policy.weights.bin",
        "policy.weights.json",
    }
    # the WebGPU loader is static: the kernel's own data comes in as a generated data module
    gpu = {"module": "policy.webgpu.js", "data": "policy.webgpu.data.js", "weights": "policy.weights.bin"}
    assert m["webgpu"] == gpu
    assert (kdir / "policy.webgpu.js").read_bytes() == (
        ROOT / "rl_web_agent" / "compiler" / "webgpu_loader.js"
    ).read_bytes()
    # the python backend's weights: the same checkpoint, as the reference forward pass reads it
    py = json.loads((kdir / "policy.weights.json").read_text())
    assert py["env_id"] == meta["env_id"] and py["hidden"] == m["hidden"]
    for f, size in m["files"].items():
        assert (kdir / f).stat().st_size == size, f
    assert m["weights_sha256"] == hashlib.sha256((kdir / "policy.weights.bin").read_bytes()).hexdigest()
    assert m["wasm_sha256"] == hashlib.sha256((kdir / "policy.wasm").read_bytes()).hexdigest()
    assert m["lazy_wasm_sha256"] == hashlib.sha256((kdir / "policy.lazy.wasm").read_bytes()).hexdigest()
    assert m["parity"]["samples"] >= 1000 and m["parity"]["max_abs_err"] < 1e-4
    # policy.wasm imports nothing (WasmPolicy raises otherwise) and has the forward pass alone; the lazy
    # module the rest (the value: a policy with a critic), on policy.wasm's memory
    wasm = WasmPolicy(kdir / "policy.wasm")
    assert wasm.exports_names == sorted(["memory", *EAGER_EXPORTS])
    value = LAZY_EXPORTS_VALUE if any(o["name"] == "value" for o in m["outputs"]) else ()
    assert wasm.lazy_exports_names == sorted(LAZY_EXPORTS + value)
    assert wasm.batch == 256


def _strings(x) -> list[str]:
    """Every string in a parsed JSON value, keys included."""
    if isinstance(x, dict):
        return [s for k, v in x.items() for s in (k, *_strings(v))]
    if isinstance(x, list):
        return [s for v in x for s in _strings(v)]
    return [x] if isinstance(x, str) else []


@pytest.mark.parametrize("name", ["cartpole", "linear-3act"])
def test_manifest_names_only_the_kernel_folder(compiled, name):
    """The kernel folder's manifest.json holds no path of the machine that compiled it: the folder bundles
    anywhere. Its `eval` is the checkpoint's policy.json train.eval, copied (the bundler has no checkpoint to
    read)."""
    model, kdir = compiled[name]
    m = json.loads((kdir / "manifest.json").read_text())
    for s in _strings(m):
        assert not Path(s).is_absolute() and ".." not in Path(s).parts, s
        for where in (model, model.resolve(), kdir.parent, kdir.resolve().parent):
            assert str(where) not in s, s
    named = [*m["files"], *m["webgpu"].values()]
    assert all((kdir / f).is_file() and (kdir / f).resolve().parent == kdir.resolve() for f in named), named
    ev = json.loads((model / "policy.json").read_text()).get("train", {}).get("eval")
    assert ev is not None  # the shipped policy and make_random_checkpoint both record one
    # the python backend's weights were run by runtime_py/mlp.py against PyTorch, within the parity bound
    assert m["python"]["samples"] == min(500, m["parity"]["samples"]) and m["python"]["max_abs_err"] < 1e-4
    # a random checkpoint's record counts no episode: no evaluation, so null
    assert m["eval"] == ({"mean": ev["mean"], "episodes": ev["episodes"]} if ev["episodes"] >= 1 else None)


def test_manifest_eval_is_null_without_one(tmp_path):
    """A checkpoint whose policy.json records no evaluation (an imported policy, say): `eval` is null."""
    model = make_random_checkpoint(tmp_path / "m", obs_dim=2, hidden=(), seed=5)
    meta = json.loads((model / "policy.json").read_text())
    del meta["train"]["eval"]
    (model / "policy.json").write_text(json.dumps(meta))
    compile_policy(
        CompileConfig(model_dir=model, out=tmp_path / "k", parity_samples=50, saliency_samples=50),
        log=lambda *a: None,
    )
    assert json.loads((tmp_path / "k" / "manifest.json").read_text())["eval"] is None


def test_building_a_policy_leaves_tinygrads_default_device(tmp_path):
    """TinyPolicy keeps its graph on its own device (PYTHON) whatever tinygrad's default is, and changes no
    process-wide state: the default device after building, running and rendering it is the one before."""
    from tinygrad import Device
    from tinygrad.helpers import Context

    from rl_web_agent.compiler.codegen import c_renderer, render_graphs
    from rl_web_agent.compiler.model import TinyPolicy
    from rl_web_agent.compiler.saliency import render_saliency
    from rl_web_agent.policy.checkpoint import load_checkpoint

    model = make_random_checkpoint(tmp_path / "m", obs_dim=3, hidden=(8,), obs_norm=True, seed=6)
    with Context(DEV="CPU"):  # a default the policy must not use (nor open: it needs a C compiler)
        policy = TinyPolicy(load_checkpoint(model))
        assert Device.DEFAULT == "CPU"
        obs = np.zeros((2, 3), np.float32)
        np.testing.assert_allclose(policy.run(obs), oracle_forward(model, obs), rtol=1e-5, atol=1e-6)
        render_graphs(policy, 4, True, {"c": c_renderer()}, "k")
        render_saliency(policy, {"c": c_renderer()}, "g")
        assert Device.DEFAULT == "CPU" and "CPU" not in Device._opened_devices


def test_wasm_size_budget(compiled):
    """policy.wasm, what a page fetches before its first action, is the actor's float32 weights plus at most
    FORWARD_CODE_BYTES of forward pass (the bench's kernel-size row holds it to the same): the critic's
    weights are policy.lazy.wasm's, which holds no copy of the actor's (tests/test_saliency.py: its
    saliency's share)."""
    model, kdir = compiled["cartpole"]
    m = json.loads((kdir / "manifest.json").read_text())
    from safetensors.numpy import load_file

    critic = sum(4 * t.size for n, t in load_file(str(model / "policy.safetensors")).items() if "critic" in n)
    assert m["forward_weight_bytes"] == m["files"]["policy.weights.bin"] - critic
    assert critic > FORWARD_CODE_BYTES, "CartPole's critic: more bytes than policy.wasm's code may have"
    assert m["files"]["policy.wasm"] <= m["forward_weight_bytes"] + FORWARD_CODE_BYTES
    # each hidden layer's weights (as the kernels read them, [in, out]) in one module, never in both
    eager, lazy = ((kdir / f).read_bytes() for f in ("policy.wasm", "policy.lazy.wasm"))
    tensors = load_file(str(model / "policy.safetensors"))
    for head, home, other in (("actor", eager, lazy), ("critic", lazy, eager)):
        w = np.ascontiguousarray(tensors[f"{head}.1.weight"].T, dtype="<f4").tobytes()
        assert w in home and w not in other, head


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc to build policy.c natively")
@pytest.mark.parametrize("name", ["cartpole", "tanh3-box-norm"])
def test_policy_c_builds_natively_with_gcc(compiled, name, tmp_path):
    model, kdir = compiled[name]
    lib = tmp_path / "policy.so"
    subprocess.run(
        [
            "gcc",
            "-std=c11",
            "-O2",
            "-Wall",
            "-Werror",
            "-shared",
            "-fPIC",
            "-o",
            str(lib),
            str(kdir / "policy.c"),
        ],
        check=True,
    )
    so = ctypes.CDLL(str(lib))
    for f in ("input_ptr", "output_ptr", "batch_input_ptr", "batch_output_ptr"):
        getattr(so, f).restype = ctypes.POINTER(ctypes.c_float)
    m = json.loads((kdir / "manifest.json").read_text())
    n_out, d, b = sum(o["size"] for o in m["outputs"]), m["obs_dim"], so.batch_size()
    obs = observations(d, seed=1)[:20_000]
    got = np.empty((len(obs), n_out), np.float32)
    bi, bo = so.batch_input_ptr(), so.batch_output_ptr()
    for i in range(0, len(obs), b):
        chunk = obs[i : i + b]
        np.ctypeslib.as_array(bi, (b * d,))[: chunk.size] = chunk.ravel()
        so.forward_batch(len(chunk))
        got[i : i + len(chunk)] = np.ctypeslib.as_array(bo, (len(chunk) * n_out,)).reshape(-1, n_out)
    ref = oracle_forward(model, obs)
    assert_parity(got, ref, m)
    np.ctypeslib.as_array(so.input_ptr(), (d,))[:] = obs[5]
    so.forward()  # the action head; value() the critic's value of the same input (one module: one input)
    so.value.restype = ctypes.c_float
    got1 = np.append(np.ctypeslib.as_array(so.output_ptr(), (n_out - 1,)), so.value())
    assert_parity(got1[None], ref[5:6], m)


# ---- bad input: a one-line message, a non-zero exit, the output folder untouched ----


def _bad(tmp: Path, name: str) -> Path:
    return make_random_checkpoint(tmp / name, hidden=(8,), seed=1)


def _edit_json(d: Path, **kw) -> Path:
    meta = json.loads((d / "policy.json").read_text())
    meta.update(kw)
    (d / "policy.json").write_text(json.dumps(meta))
    return d


def _nan_weights(d: Path) -> Path:
    from safetensors.numpy import load_file, save_file

    t = load_file(str(d / "policy.safetensors"))
    t["critic.1.weight"][0, 0] = np.nan
    save_file(t, str(d / "policy.safetensors"))
    return d


def _truncate(d: Path) -> Path:
    p = d / "policy.safetensors"
    p.write_bytes(p.read_bytes()[:200])
    return d


BAD = {
    "missing folder": (lambda tmp: tmp / "nope", "no such folder"),
    "missing safetensors": (
        lambda tmp: (_bad(tmp, "a") / "policy.safetensors").unlink() or tmp / "a",
        "missing",
    ),
    "truncated safetensors": (lambda tmp: _truncate(_bad(tmp, "b")), "truncated"),
    "json/weights mismatch": (lambda tmp: _edit_json(_bad(tmp, "c"), hidden=[16]), "do not belong together"),
    "obs_dim mismatch": (lambda tmp: _edit_json(_bad(tmp, "d"), obs_dim=5), "do not belong together"),
    "NaN weights": (lambda tmp: _nan_weights(_bad(tmp, "e")), "NaN/Inf"),
    "4 hidden layers": (
        lambda tmp: make_random_checkpoint(tmp / "f", hidden=(8, 8, 8, 8)),
        "0 to 3 hidden layers",
    ),
    "too wide": (lambda tmp: make_random_checkpoint(tmp / "g", hidden=(300,)), "hidden[0]"),
    "activation": (lambda tmp: _edit_json(_bad(tmp, "h"), activation="sigmoid"), "activation 'sigmoid'"),
    "19 actions": (
        lambda tmp: make_random_checkpoint(tmp / "i", hidden=(8,), action={"type": "discrete", "n": 19}),
        "action.n",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_leaves_output_untouched(case, tmp_path):
    make, needle = BAD[case]
    model = make(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("previous kernel")
    before = sorted(p.name for p in tmp_path.iterdir())
    p = subprocess.run(
        [sys.executable, "-m", "rl_web_agent", "compile", str(model), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert sorted(q.name for q in out.iterdir()) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == "previous kernel"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temp folder left beside it


def test_python_weights_off_from_pytorch_are_refused(tmp_path, monkeypatch):
    """The python backend's weights are checked at compile time (the bundler has no Python): an mlp.py
    that computed something else fails compile, and nothing is written."""
    from rl_web_agent.runtime_py import mlp

    forward = mlp.Policy.forward
    monkeypatch.setattr(mlp.Policy, "forward", lambda self, obs: [y + 1e-3 for y in forward(self, obs)])
    model = make_random_checkpoint(tmp_path / "m", obs_dim=3, hidden=(8,), seed=6)
    cfg = CompileConfig(model_dir=model, out=tmp_path / "k", parity_samples=50, saliency_samples=50)
    with pytest.raises(
        CompileError, match="policy.weights.json in rl_web_agent/runtime_py/mlp.py: differs from PyTorch"
    ):
        compile_policy(cfg, log=lambda *a: None)
    assert not (tmp_path / "k").exists()
