"""Convolutional policies (the checkpoint format's image, conv, trunk; rl_web_agent/compiler/cnn.py): the
checkpoint rules, the compiled policy.wasm against an oracle of the test's own (NumPy, float64) with the
weights it should hold (float32, float16, or int8 per output channel), its manifest, and a kernel off the
bound refused."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from safetensors.numpy import load_file

from rl_web_agent.compiler import cnn, model
from rl_web_agent.compiler.compile import CompileConfig, CompileError, compile_policy
from rl_web_agent.compiler.parity import ale_game, certificate_frames, parity_bound
from rl_web_agent.policy.checkpoint import CheckpointError, check_checkpoint, load_checkpoint
from tests.checkpoints import NATURE_CNN, make_cnn_checkpoint, make_random_checkpoint

SMALL = dict(
    image=(2, 30, 27),
    conv=[{"out": 8, "kernel": 6, "stride": 3}, {"out": 12, "kernel": 3, "stride": 1}],
    trunk=(48,),
    hidden=(16,),
    n_act=4,
    env_id="Small-v0",
    seed=5,
)
SAMPLES = 96


def oracle(meta: dict, t: dict[str, np.ndarray], frames: np.ndarray, terms: bool = False) -> np.ndarray:
    """The policy's forward pass in NumPy float64 (im2col convs), written from the checkpoint format alone;
    TERMS: instead of each output, the sum of the absolute terms of its last dot product."""
    x = frames.astype(np.float64) / 255.0
    for i, c in enumerate(meta["conv"]):
        w, b, k, s = t[f"conv.{i}.weight"].astype(np.float64), t[f"conv.{i}.bias"], c["kernel"], c["stride"]
        n, ch, h, wd = x.shape
        oh, ow = (h - k) // s + 1, (wd - k) // s + 1
        cols = np.empty((n, ch, k, k, oh, ow))
        for dy in range(k):
            for dx in range(k):
                cols[:, :, dy, dx] = x[:, :, dy : dy + s * oh : s, dx : dx + s * ow : s]
        x = np.maximum(np.einsum("nckjhw,ockj->nohw", cols, w) + b[None, :, None, None], 0)
    x = x.reshape(len(x), -1)
    for i in range(len(meta["trunk"])):
        x = np.maximum(x @ t[f"trunk.{i}.weight"].T.astype(np.float64) + t[f"trunk.{i}.bias"], 0)
    outs = []
    for head in ("actor", "critic")[: 2 if meta.get("value", True) else 1]:
        h, n = x, 1 + len(meta["hidden"])
        for i in range(n):
            w, b = t[f"{head}.{i}.weight"].T.astype(np.float64), t[f"{head}.{i}.bias"]
            h = np.abs(h) @ np.abs(w) + np.abs(b) if terms and i == n - 1 else h @ w + b
            if i < n - 1:
                h = np.maximum(h, 0) if meta["activation"] == "relu" else np.tanh(h)
        outs.append(h)
    return np.concatenate(outs, axis=1)


def stored_weights(t: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """The weights policy.wasm should compute with, by the rules in docs/design.md (not cnn.quantize)."""
    out = dict(t)
    for name, w in t.items():
        if not name.endswith(".weight"):
            continue
        if dtype == "f16" or (dtype == "int8" and name == "conv.0.weight"):  # int8 keeps the first conv f16
            out[name] = w.astype(np.float16).astype(np.float32)
        elif dtype == "int8":
            axes = tuple(range(1, w.ndim))  # per output channel: axis 0 in the checkpoint's layout
            scale = (np.abs(w).max(axis=axes, keepdims=True) / np.float32(127)).astype(np.float32)
            q = np.clip(np.round(w / scale), -127, 127)
            out[name] = (q.astype(np.float32) * scale).astype(np.float32)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_cnn_checkpoint(tmp_path_factory.mktemp("cnn") / "small", **SMALL)


@pytest.fixture(scope="module")
def compiled(small, tmp_path_factory):
    """The small CNN compiled with each weight storage: dtype -> kernel folder."""
    out = {}
    for dtype in cnn.WEIGHT_DTYPES:
        kdir = tmp_path_factory.mktemp("k") / dtype
        cfg = CompileConfig(model_dir=small, out=kdir, weights=dtype, image_parity_samples=SAMPLES)
        compile_policy(cfg, log=lambda *_: None)
        out[dtype] = kdir
    return out


@pytest.mark.parametrize("dtype", cnn.WEIGHT_DTYPES)
def test_small_cnn_matches_oracle(small, compiled, dtype):
    meta = json.loads((small / "policy.json").read_text())
    t = load_file(str(small / "policy.safetensors"))
    kdir = compiled[dtype]
    m = json.loads((kdir / "manifest.json").read_text())
    assert sorted(p.name for p in kdir.iterdir()) == [
        "manifest.json",
        "policy.c",
        "policy.wasm",
        "policy.webgpu.data.js",
        "policy.webgpu.js",
        "policy.weights.bin",
    ]
    assert m["files"]["policy.wasm"] == (kdir / "policy.wasm").stat().st_size
    assert m["outputs"] == [{"name": "logits", "size": 4}, {"name": "value", "size": 1}]
    assert m["weights"]["dtype"] == dtype and m["parity"]["samples"] == SAMPLES
    # frames the certificate did not see: noise, and flat frames at every level
    rng = np.random.default_rng(99)
    frames = rng.integers(0, 256, (40, *SMALL["image"]), dtype=np.uint8)
    frames[:16] = np.linspace(0, 255, 16).astype(np.uint8)[:, None, None, None]
    got = cnn.WasmCNN(kdir / "policy.wasm", 5).forward(frames)
    ref = oracle(meta, stored_weights(t, dtype), frames)
    assert np.abs(got - ref).max() <= 1e-5 * np.maximum(1, np.abs(ref)).min()
    # the manifest's numbers, recomputed on the certificate's own frames
    cert, _ = certificate_frames(tuple(SMALL["image"]), SAMPLES, 0)
    got, ref32 = cnn.WasmCNN(kdir / "policy.wasm", 5).forward(cert), oracle(meta, t, cert)
    f32 = m["parity"]["float32_policy"]
    assert f32["greedy_agree"] == int((got[:, :4].argmax(1) == ref32[:, :4].argmax(1)).sum())
    assert f32["max_abs_err"] == pytest.approx(np.abs(got - ref32).max(), rel=1e-3, abs=1e-9)
    assert m["parity"]["max_abs_err"] <= 1e-5 * max(1.0, np.abs(ref32).max())
    if dtype == "f32":
        assert f32["max_abs_err"] < 1e-5
    else:  # quantized: measurably off the float32 policy, by about the storage's precision
        assert 1e-6 < f32["max_abs_err"] < (0.05 if dtype == "int8" else 2e-3)


def test_weight_storage_sizes(small, compiled):
    ckpt = load_checkpoint(small)
    n_w = sum(ckpt.tensors[n].size for n in cnn.weight_names(ckpt))
    n_b = sum(a.size for k, a in ckpt.tensors.items() if k.endswith(".bias"))
    channels = sum(ckpt.tensors[n].shape[0] for n in cnn.weight_names(ckpt))
    sizes = {d: json.loads((compiled[d] / "manifest.json").read_text())["weights"] for d in compiled}
    tensors = {d: sizes[d]["tensors"] for d in sizes}
    assert sizes["f32"]["stored_bytes"] == 4 * (n_w + n_b) == sizes["f32"]["float32_bytes"]
    assert sizes["f16"]["stored_bytes"] == 2 * n_w + 4 * n_b
    # int8: the first conv float16, every other weight a byte and its channel a float32 scale
    first = ckpt.tensors["conv.0.weight"]
    assert sizes["int8"]["stored_bytes"] == n_w + first.size + 4 * (channels - first.shape[0]) + 4 * n_b
    assert sizes["int8"]["scale"] == "float32 per output channel"
    assert tensors["int8"] == {n: "f16" if n == "conv.0.weight" else "int8" for n in cnn.weight_names(ckpt)}
    assert set(tensors["f16"].values()) == {"f16"} and set(tensors["f32"].values()) == {"f32"}
    wasm = {d: (compiled[d] / "policy.wasm").stat().st_size for d in compiled}
    assert wasm["int8"] < wasm["f16"] < wasm["f32"]
    rest = n_w - first.size
    assert wasm["f32"] - wasm["f16"] > 1.8 * n_w and wasm["f16"] - wasm["int8"] > 0.9 * rest


def test_int8_quantize_per_channel():
    w = np.random.default_rng(1).normal(0, 1, (3, 5, 8)).astype(np.float32)  # kernel layout: channel last
    w[..., 2] *= 100
    w[..., 5] = 0
    q, scale, deq = cnn.quantize(w, "int8")
    assert q.dtype == np.int8 and scale.shape == (8,) and scale[5] == 1 and (q[..., 5] == 0).all()
    assert np.abs(q).max() == 127 and (np.abs(q).reshape(-1, 8).max(0)[[0, 1, 2]] == 127).all()
    assert (np.abs(deq - w) <= scale / 2 * (1 + 1e-6)).all()
    assert np.array_equal(deq, q.astype(np.float32) * scale)
    with pytest.raises(cnn.QuantError):
        cnn.quantize(np.array([[1e5]], np.float32), "f16")


def test_nature_cnn(tmp_path):
    """SB3's and CleanRL's Atari network (NatureCNN, 6 actions, a critic), with real frames of its own game
    (Pong) in the certificate when ale-py is installed."""
    model = make_cnn_checkpoint(tmp_path / "m", seed=2)
    kdir = tmp_path / "k"
    compile_policy(
        CompileConfig(model_dir=model, out=kdir, weights="int8", image_parity_samples=24), log=lambda *_: None
    )
    m = json.loads((kdir / "manifest.json").read_text())
    assert m["conv"] == NATURE_CNN and m["trunk"] == [512] and m["macs"] > 9_000_000
    assert m["weights"]["stored_bytes"] < m["weights"]["float32_bytes"] / 3.9
    frames, sources = certificate_frames((4, 84, 84), 24, 0, "ALE/Pong-v5")
    assert sum(sources.values()) == 24 == m["parity"]["samples"] and m["parity"]["frames"] == sources
    assert sources["ale:pong"] == 12 and "ale:breakout" not in sources
    t = load_file(str(model / "policy.safetensors"))
    meta = json.loads((model / "policy.json").read_text())
    got = cnn.WasmCNN(kdir / "policy.wasm", 7).forward(frames[:6])
    ref = oracle(meta, stored_weights(t, "int8"), frames[:6])
    assert np.abs(got - ref).max() <= 1e-5


def test_ale_game_names_the_rom_an_atari_env_plays():
    games = {
        "ALE/SpaceInvaders-v5": "space_invaders",
        "PongNoFrameskip-v4": "pong",
        "MsPacmanNoFrameskip-v4": "ms_pacman",
    }
    assert {e: ale_game(e) for e in games} == games
    assert ale_game("CartPole-v1") is None and ale_game("ALE/NoSuchGame-v5") is None
    # any other env's certificate takes its real frames from Pong and Breakout
    assert set(certificate_frames((4, 84, 84), 8, 0, "Small-v0")[1]) >= {"ale:pong", "ale:breakout"}


def test_parity_bound_scales_with_the_terms_of_each_outputs_last_dot_product(small):
    """Float32 errs in proportion to the terms a dot product adds: the certificate's bound is 1e-5 *
    max(1, |reference|, terms), the terms as torch_cnn_forward gives them."""
    meta = json.loads((small / "policy.json").read_text())
    t = load_file(str(small / "policy.safetensors"))
    frames = certificate_frames(tuple(meta["image"]), 16, 1)[0]
    out, terms = model.torch_cnn_forward(load_checkpoint(small), frames, terms=True)
    assert np.abs(out - oracle(meta, t, frames)).max() <= 1e-9
    assert np.abs(terms - oracle(meta, t, frames, terms=True)).max() <= 1e-9
    assert (terms >= np.abs(out) - 1e-9).all() and (terms > 1.5 * np.abs(out)).any()
    ref = np.array([[0.5, 40.0, 0.5]])
    assert (parity_bound(ref) == 1e-5 * np.array([[1.0, 40.0, 1.0]])).all()
    assert np.allclose(parity_bound(ref, np.array([[60.0, 50.0, 0.2]])), 1e-5 * np.array([[60.0, 50.0, 1.0]]))


def test_off_bound_kernel_is_refused(small, tmp_path, monkeypatch):
    real = model.torch_cnn_forward

    def off(*a, **k):  # twice the bound off
        out, terms = real(*a, **k)
        return out + 2e-5 * np.maximum(1.0, np.maximum(np.abs(out), terms)), terms

    monkeypatch.setattr(model, "torch_cnn_forward", off)
    kdir = tmp_path / "k"
    with pytest.raises(CompileError, match="differs from PyTorch"):
        compile_policy(CompileConfig(model_dir=small, out=kdir, image_parity_samples=8), log=lambda *_: None)
    assert not kdir.exists()


def test_default_weights_are_int8_for_a_cnn(small, tmp_path):
    """--weights auto (the default, what `make compile-kernel` uses): int8, an Atari page's budget."""
    compile_policy(
        CompileConfig(model_dir=small, out=tmp_path / "k", image_parity_samples=8), log=lambda *_: None
    )
    assert json.loads((tmp_path / "k" / "manifest.json").read_text())["weights"]["dtype"] == "int8"


def test_int8_that_changes_the_greedy_action_is_refused_or_replaced(tmp_path, monkeypatch):
    """Quantized weights whose greedy action differs from the float32 policy's on more than 1% of the real
    frames (here int8 with the actor's weights lost, so its logits are its biases alone): an explicit
    --weights int8 is refused, one line naming the fix, nothing written; --weights auto compiles f16, and the
    manifest says how often f16's greedy action matched on the real frames."""
    from rl_web_agent.compiler import compile as compile_module

    model = make_cnn_checkpoint(tmp_path / "m", seed=3)
    real = cnn.quantized_tensors

    def lossy(ckpt, dtype):
        stored, tensors = real(ckpt, dtype)
        if dtype == "int8":
            q, scale = stored["actor.0.weight"]
            stored["actor.0.weight"] = (np.zeros_like(q), scale)
            tensors["actor.0.weight"] = np.zeros_like(tensors["actor.0.weight"])
        return stored, tensors

    monkeypatch.setattr(cnn, "quantized_tensors", lossy)
    out = tmp_path / "k"
    cfg = CompileConfig(model_dir=model, out=out, weights="int8", image_parity_samples=40)
    with pytest.raises(
        CompileError,
        match=r"greedy action equals the float32 policy's on .* real pong frames, "
        r"under 99%; pass --weights f16 or f32",
    ) as e:
        compile_policy(cfg, log=lambda *_: None)
    assert "\n" not in str(e.value) and not out.exists()
    logs: list[str] = []
    compile_policy(CompileConfig(model_dir=model, out=out, image_parity_samples=40), log=logs.append)
    m = json.loads((out / "manifest.json").read_text())
    f32 = m["parity"]["float32_policy"]
    assert m["weights"]["dtype"] == "f16" and any("compiles f16 instead" in line for line in logs)
    assert f32["greedy_real_samples"] == 20 and f32["greedy_agree_real"] >= 0.99 * 20
    assert f32["greedy_agree_min"] == compile_module.GREEDY_AGREE_MIN == 0.99


def test_quantized_weights_are_for_cnns_only(tmp_path):
    model = make_random_checkpoint(tmp_path / "mlp", obs_dim=3, hidden=(8,))
    with pytest.raises(CompileError, match="convolutional policies only"):
        compile_policy(
            CompileConfig(model_dir=model, out=tmp_path / "k", weights="int8"), log=lambda *_: None
        )


BAD = {
    "image not 3 values": (lambda m, t: m.update(image=[84, 84]), "image is"),
    "zero channels": (lambda m, t: m.update(image=[0, 30, 27]), "image channels"),
    "too wide": (lambda m, t: m.update(image=[2, 30, 200]), "image width"),
    "no conv": (lambda m, t: m.pop("conv"), "conv is None"),
    "five convs": (lambda m, t: m.update(conv=m["conv"] * 3), "1 to 4 conv layers"),
    "conv key": (lambda m, t: m["conv"][0].update(padding=1), "conv[0] is"),
    "stride > kernel": (lambda m, t: m["conv"][1].update(stride=4), "conv[1].stride"),
    "too many channels": (lambda m, t: m["conv"][0].update(out=65), "conv[0].out"),
    "kernel > input": (lambda m, t: m["conv"][1].update(kernel=11), "larger than its"),
    "trunk too wide": (lambda m, t: m.update(trunk=[513]), "trunk[0]"),
    "obs_dim": (lambda m, t: m.update(obs_dim=100), "obs_dim is 100, expected 1620"),
    "obs_norm": (lambda m, t: m.update(obs_norm={"clip": 10.0, "eps": 1e-8}), "obs_norm is not supported"),
    "conv without image": (lambda m, t: m.pop("image"), "conv needs image"),
    "conv weight shape": (
        lambda m, t: t.update({"conv.1.weight": np.zeros((12, 8, 3, 2), np.float32)}),
        "conv.1.weight has shape",
    ),
    "missing trunk tensor": (lambda m, t: t.pop("trunk.0.bias"), "missing tensors ['trunk.0.bias']"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_cnn_checkpoints(small, case):
    meta = json.loads((small / "policy.json").read_text())
    tensors = load_file(str(small / "policy.safetensors"))
    check_checkpoint(small, copy.deepcopy(meta), dict(tensors))  # the good one passes
    edit, words = BAD[case]
    edit(meta, tensors)
    with pytest.raises(CheckpointError) as e:
        check_checkpoint(small, meta, tensors)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_checkpoint_fields(small):
    ckpt = load_checkpoint(small)
    assert ckpt.image == (2, 30, 27) and ckpt.obs_dim == math.prod(ckpt.image) and ckpt.trunk == (48,)
    assert ckpt.features == 48 and ckpt.n_out == 5
    assert ckpt.tensors["trunk.0.weight"].shape == (48, 12 * 7 * 6)  # 30x27 -> 9x8 -> 7x6, flattened
