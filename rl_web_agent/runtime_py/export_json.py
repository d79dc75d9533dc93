"""`python -m rl_web_agent export-json MODEL_DIR --out FILE`: a policy's weights as one JSON file.

The format a hand-written runtime reads (rl_web_agent/runtime_py/mlp.py is one, in plain Python):

    {"format": 1, "env_id": "CartPole-v1", "obs_dim": 4,
     "action": {"type": "discrete", "n": 2} | {"type": "box", "shape": [1], "low": [-2.0], "high": [2.0]},
     "hidden": [32, 32], "activation": "tanh" | "relu",
     "obs_norm": null | {"mean": [obs_dim], "var": [obs_dim], "clip": 10.0, "eps": 1e-08},
     "actor":  [{"weight": [[in] * out], "bias": [out]}, ...],   # len(hidden) + 1 layers
     "critic": [{"weight": [[in] * out], "bias": [out]}, ...],   # same, last layer has 1 output
     "value": true | false,  "head": "policy" | "q",             # false: no "critic"; q: q-values
     "critic_hidden": [64, 64],                                  # only when the critic's sizes differ
     "outputs": [{"name": "probs" | "mean", "size": n}, {"name": "value", "size": 1}]}

Layers follow torch.nn.Linear: `weight` is [out][in] and a layer computes y = weight @ x + bias.
The activation sits between layers, never after the last one. With `obs_norm`, both networks see
x = clip((obs - mean) / sqrt(var + eps), -clip, clip). Outputs, in order: softmax(actor(x)) for
discrete actions or actor(x) (the raw action mean) for box actions, then critic(x)[0].
Box bounds that are infinite are written as null. Numbers are the checkpoint's float32 values in
their shortest decimal form: parsed as float32 they give back the exact weights.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from rl_web_agent.policy.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from rl_web_agent.policy.files import atomic_write
from rl_web_agent.runtime_py.mlp import FORMAT, Policy


def _floats(a: np.ndarray) -> list:
    """float32 values as the float64s of their shortest round-trip decimals (str() of a numpy float32):
    json.dump writes those decimals, ~40% smaller than the float64 repr of a float32, and reading them
    as float32 gives the exact weights back."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1:
        return [float(str(v)) for v in a]
    return [_floats(row) for row in a]


def _bound(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def to_json_dict(ckpt: Checkpoint) -> dict:
    """The export, as a dict, of a validated checkpoint."""
    action = dict(ckpt.action)
    for key in ("low", "high") if action["type"] == "box" else ():
        if key in action:
            v = np.ravel(np.asarray(action[key], dtype=np.float64))
            v = np.full(ckpt.n_act, v[0]) if v.size == 1 else v  # a scalar bound applies to every dimension
            if v.size != ckpt.n_act:
                raise CheckpointError(
                    f"policy.json: action.{key} has {v.size} values for {ckpt.n_act} "
                    "action dimensions; fix the checkpoint's policy.json"
                )
            action[key] = [_bound(x) for x in v]
    heads = {
        head: [{"weight": _floats(w), "bias": _floats(b)} for w, b in ckpt.layers(head)]
        for head in ckpt.heads
    }
    obs_norm = None
    if ckpt.obs_norm is not None:
        t = ckpt.tensors
        obs_norm = {"mean": _floats(t["obs_norm.mean"]), "var": _floats(t["obs_norm.var"]), **ckpt.obs_norm}
    return {
        "format": FORMAT,
        "env_id": ckpt.env_id,
        "obs_dim": ckpt.obs_dim,
        "action": action,
        "hidden": list(ckpt.hidden),
        "activation": ckpt.activation,
        "obs_norm": obs_norm,
        **heads,
        "value": ckpt.value,
        "head": ckpt.head,
        "outputs": ckpt.outputs,
        **({"critic_hidden": list(ckpt.critic_hidden)} if ckpt.critic_hidden is not None else {}),
    }


def to_json(ckpt: Checkpoint) -> str:
    """The export of a validated checkpoint as JSON text, checked by the reader (mlp.Policy) first."""
    data = to_json_dict(ckpt)
    Policy(data)  # the reader's own shape checks: never write a file it would reject
    return json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"


def export_json(model_dir: str | Path, out: str | Path) -> Path:
    """Write MODEL_DIR's weights as JSON to OUT atomically (a temp file, then a rename); returns OUT."""
    text = to_json(load_checkpoint(Path(model_dir)))
    out = Path(out)
    atomic_write(out, text.encode())
    return out


def add_export_parser(sub) -> None:
    """The `export-json` subcommand of the project's parser (rl_web_agent/__main__.py)."""
    e = sub.add_parser("export-json", help="write a policy's weights as one JSON file")
    e.add_argument(
        "model_dir", metavar="MODEL_DIR", help="checkpoint folder (policy.json + policy.safetensors)"
    )
    e.add_argument("--out", required=True, metavar="FILE", help="output JSON file")


def main(args: argparse.Namespace) -> int:
    """The `export-json` subcommand: export args.model_dir to args.out."""
    try:
        out = export_json(args.model_dir, args.out)
    except (CheckpointError, ValueError) as e:
        print(f"export-json: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(
            f"export-json: cannot write {args.out}: {e.strerror or e}; pick a writable file path",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0
