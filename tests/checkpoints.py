"""Checkpoints (the checkpoint format) for tests: random-weight policies, and the numpy forward pass that is
the oracle."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.torch import save_file


def make_random_checkpoint(
    out: Path,
    obs_dim: int = 4,
    hidden=(64, 64),
    activation: str = "tanh",
    action: dict | None = None,
    obs_norm: bool = False,
    seed: int = 0,
    env_id: str = "Random-v0",
    scale: float = 1.0,
) -> Path:
    """Write a checkpoint with random weights (tensor names as train/ writes them)."""
    action = action or {"type": "discrete", "n": 2}
    g = torch.Generator().manual_seed(seed)
    n_out = action["n"] if action["type"] == "discrete" else int(np.prod(action["shape"]))
    tensors: dict[str, torch.Tensor] = {}
    for head, last in (("actor", n_out), ("critic", 1)):
        sizes = [obs_dim, *hidden, last]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            tensors[f"{head}.{i}.weight"] = torch.randn(b, a, generator=g) * scale / a**0.5
            tensors[f"{head}.{i}.bias"] = torch.randn(b, generator=g) * 0.1 * scale
    if action["type"] == "box":
        tensors["actor.log_std"] = torch.full((n_out,), -0.5)
    if obs_norm:
        tensors["obs_norm.mean"] = torch.randn(obs_dim, generator=g)
        tensors["obs_norm.var"] = torch.rand(obs_dim, generator=g) * 4 + 0.01
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(out / "policy.safetensors"))
    meta = {
        "format": 1,
        "env_id": env_id,
        "obs_dim": obs_dim,
        "action": action,
        "hidden": list(hidden),
        "activation": activation,
        "obs_norm": {"clip": 10.0, "eps": 1e-8} if obs_norm else None,
        "train": {
            "seed": seed,
            "env_steps": 0,
            "wall_s": 0.0,
            "eval": {"episodes": 0, "mean": 0.0, "std": 0.0},
            "versions": {},
        },
    }
    (out / "policy.json").write_text(json.dumps(meta, indent=1))
    return out


def load_oracle(model_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The checkpoint format's forward pass in float64 numpy, written from docs/design.md alone (independent
    of train/'s PyTorch model, the compiler's tinygrad graph and their float32 summation order), for the
    policy in MODEL_DIR (read once): [N, obs_dim] -> [N, outputs], the kernel's layout (probabilities,
    q-values or the action mean/squashed action; then the value, if any)."""
    meta = json.loads((Path(model_dir) / "policy.json").read_text())
    t = {k: v.astype(np.float64) for k, v in load_numpy(str(Path(model_dir) / "policy.safetensors")).items()}
    critic_hidden = meta.get("critic_hidden")
    hidden = {"actor": meta["hidden"], "critic": meta["hidden"] if critic_hidden is None else critic_hidden}
    heads = ("actor", "critic") if meta.get("value", True) else ("actor",)
    action, norm = meta["action"], meta.get("obs_norm")

    def forward(obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float64)
        if norm:
            x = (x - t["obs_norm.mean"]) / np.sqrt(t["obs_norm.var"] + norm["eps"])
            x = np.clip(x, -norm["clip"], norm["clip"])
        outs = []
        for head in heads:
            h = x
            for i in range(len(hidden[head]) + 1):
                if i:
                    h = np.tanh(h) if meta["activation"] == "tanh" else np.maximum(h, 0.0)
                h = h @ t[f"{head}.{i}.weight"].T + t[f"{head}.{i}.bias"]
            outs.append(h)
        if action["type"] == "discrete" and meta.get("head", "policy") == "policy":
            e = np.exp(outs[0] - outs[0].max(axis=-1, keepdims=True))
            outs[0] = e / e.sum(axis=-1, keepdims=True)
        if action.get("squash") == "tanh":
            low, high = np.asarray(action["low"], np.float64), np.asarray(action["high"], np.float64)
            outs[0] = low + 0.5 * (np.tanh(outs[0]) + 1.0) * (high - low)
        return np.concatenate(outs, axis=-1)

    return forward


def oracle_forward(model_dir: Path, obs: np.ndarray) -> np.ndarray:
    """The oracle's outputs for OBS [N, obs_dim] (load_oracle, reading MODEL_DIR on every call)."""
    return load_oracle(model_dir)(obs)


NATURE_CNN = [
    {"out": 32, "kernel": 8, "stride": 4},
    {"out": 64, "kernel": 4, "stride": 2},
    {"out": 64, "kernel": 3, "stride": 1},
]


def make_cnn_checkpoint(
    out: Path,
    image=(4, 84, 84),
    conv=NATURE_CNN,
    trunk=(512,),
    hidden=(),
    n_act: int = 6,
    value: bool = True,
    seed: int = 0,
    env_id: str = "ALE/Pong-v5",
    head: str = "policy",
    frames: str | None = None,
) -> Path:
    """Write a convolutional checkpoint (SB3's NatureCNN by default: CleanRL's and SB3's Atari policy) with
    orthogonal weights (gain sqrt(2), the heads 0.01 and 1 as CleanRL initialises them) and small biases."""
    from rl_web_agent.policy.checkpoint import write_checkpoint

    g = torch.Generator().manual_seed(seed)

    def ortho(shape, gain):
        t = torch.empty(shape)
        torch.nn.init.orthogonal_(t, gain, generator=g)
        return t

    tensors: dict[str, torch.Tensor] = {}
    c = image[0]
    for i, layer in enumerate(conv):
        tensors[f"conv.{i}.weight"] = ortho((layer["out"], c, layer["kernel"], layer["kernel"]), 2**0.5)
        tensors[f"conv.{i}.bias"] = torch.randn(layer["out"], generator=g) * 0.01
        c = layer["out"]
    meta = {
        "format": 1,
        "env_id": env_id,
        "obs_dim": int(np.prod(image)),
        "image": list(image),
        "conv": list(conv),
        "trunk": list(trunk),
        "action": {"type": "discrete", "n": n_act},
        "hidden": list(hidden),
        "activation": "relu",
        "head": head,
        "value": value,
        "obs_norm": None,
        **({"frames": frames} if frames else {}),
    }
    from rl_web_agent.policy.checkpoint import expected_shapes

    shapes = expected_shapes(
        meta["obs_dim"],
        tuple(hidden),
        n_act,
        False,
        False,
        value,
        None,
        tuple(image),
        tuple(conv),
        tuple(trunk),
    )
    for name, shape in shapes.items():
        if name in tensors:
            continue
        if name.endswith(".weight"):
            gain = 0.01 if name.startswith("actor.") else 1.0 if name.startswith("critic.") else 2**0.5
            tensors[name] = ortho(shape, gain)
        else:
            tensors[name] = torch.randn(shape, generator=g) * 0.01
    write_checkpoint(out, {k: v.contiguous().float().numpy() for k, v in tensors.items()}, meta)
    return out
