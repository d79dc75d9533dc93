"""Contract-1 checkpoints for tests: random-weight policies, and PyTorch's forward pass as the reference."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ACT = {"tanh": torch.tanh, "relu": torch.relu}


def make_random_checkpoint(out: Path, obs_dim: int = 4, hidden=(64, 64), activation: str = "tanh",
                           action: dict | None = None, obs_norm: bool = False, seed: int = 0,
                           env_id: str = "Random-v0", scale: float = 1.0) -> Path:
    """Write a contract-1 checkpoint with random weights (tensor names as train/ writes them)."""
    action = action or {"type": "discrete", "n": 2}
    g = torch.Generator().manual_seed(seed)
    n_out = action["n"] if action["type"] == "discrete" else int(np.prod(action["shape"]))
    tensors: dict[str, torch.Tensor] = {}
    for head, last in (("actor", n_out), ("critic", 1)):
        sizes = [obs_dim, *hidden, last]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            tensors[f"{head}.{i}.weight"] = torch.randn(b, a, generator=g) * scale / a ** 0.5
            tensors[f"{head}.{i}.bias"] = torch.randn(b, generator=g) * 0.1 * scale
    if action["type"] == "box":
        tensors["actor.log_std"] = torch.full((n_out,), -0.5)
    if obs_norm:
        tensors["obs_norm.mean"] = torch.randn(obs_dim, generator=g)
        tensors["obs_norm.var"] = torch.rand(obs_dim, generator=g) * 4 + 0.01
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(out / "policy.safetensors"))
    meta = {"format": 1, "env_id": env_id, "obs_dim": obs_dim, "action": action, "hidden": list(hidden),
            "activation": activation, "obs_norm": {"clip": 10.0, "eps": 1e-8} if obs_norm else None,
            "train": {"seed": seed, "env_steps": 0, "wall_s": 0.0,
                      "eval": {"episodes": 0, "mean": 0.0, "std": 0.0}, "versions": {}}}
    (out / "policy.json").write_text(json.dumps(meta, indent=1))
    return out


@torch.no_grad()
def torch_forward(model_dir: Path, obs: np.ndarray) -> np.ndarray:
    """PyTorch float32 forward pass of a contract-1 policy: [N, obs_dim] -> [N, action outputs + 1 value]."""
    meta = json.loads((Path(model_dir) / "policy.json").read_text())
    t = load_file(str(Path(model_dir) / "policy.safetensors"))
    act = ACT[meta["activation"]]
    x = torch.as_tensor(np.asarray(obs, dtype=np.float32))
    if meta.get("obs_norm"):
        n = meta["obs_norm"]
        x = (x - t["obs_norm.mean"]) / torch.sqrt(t["obs_norm.var"] + n["eps"])
        x = torch.clamp(x, -n["clip"], n["clip"])
    outs = []
    for head in ("actor", "critic"):
        h, i = x, 0
        while f"{head}.{i}.weight" in t:
            h = torch.nn.functional.linear(h, t[f"{head}.{i}.weight"], t[f"{head}.{i}.bias"])
            if f"{head}.{i + 1}.weight" in t:
                h = act(h)
            i += 1
        outs.append(h)
    if meta["action"]["type"] == "discrete":
        outs[0] = torch.softmax(outs[0], dim=-1)
    return torch.cat(outs, dim=-1).numpy()
