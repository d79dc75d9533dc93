"""The checkpoint format (docs/design.md) is defined once, in rl_web_agent/policy/checkpoint.py: what
`write_checkpoint` writes, `load_checkpoint` reads back unchanged, and what the reader refuses the writer
refuses without writing. The page's MicroPython-safe reader (rl_web_agent/runtime_py/mlp.py, reading the
export-json form of a checkpoint) accepts and refuses the same policy.json variants; the only differences are
listed in READER_ONLY and LIMITS."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from rl_web_agent.compiler.model import torch_forward
from rl_web_agent.policy.checkpoint import (
    MAX_HIDDEN_LAYERS,
    MAX_UNITS,
    CheckpointError,
    check_checkpoint,
    expected_shapes,
    load_checkpoint,
    write_checkpoint,
)
from rl_web_agent.runtime_py import mlp
from rl_web_agent.runtime_py.export_json import to_json_dict

BOX = {"type": "box", "shape": [2], "low": [-1.0, -2.0], "high": [1.0, 2.0]}
BASES = {
    "discrete": {
        "format": 1,
        "env_id": "CartPole-v1",
        "obs_dim": 4,
        "action": {"type": "discrete", "n": 3},
        "hidden": [8, 8],
        "activation": "tanh",
        "obs_norm": None,
    },
    "box": {
        "format": 1,
        "env_id": "Pendulum-v1",
        "obs_dim": 3,
        "action": BOX,
        "hidden": [8],
        "activation": "relu",
        "obs_norm": {"clip": 10.0, "eps": 1e-8},
    },
}


def variant(base: str, **changes) -> dict:
    """BASES[base] with top-level keys replaced (`drop`: the keys to remove)."""
    meta = copy.deepcopy(BASES[base])
    for key in changes.pop("drop", ()):
        meta.pop(key)
    meta.update(changes)
    return meta


def action(base: str, **changes) -> dict:
    return {**copy.deepcopy(BASES[base]["action"]), **changes}


# (name, policy.json, accepted): both readers must agree on each
VARIANTS = [
    ("discrete", variant("discrete"), True),
    ("box gaussian with obs_norm", variant("box"), True),
    ("no hidden layers", variant("discrete", hidden=[]), True),
    ("relu, obs_norm eps 0", variant("discrete", activation="relu", obs_norm={"clip": 5, "eps": 0}), True),
    ("head q", variant("discrete", head="q", value=False), True),
    ("head q with a critic", variant("discrete", head="q"), True),
    ("head policy, explicit", variant("discrete", head="policy", value=True), True),
    ("value false", variant("box", value=False), True),
    ("squash tanh", variant("box", value=False, action=action("box", squash="tanh")), True),
    ("critic_hidden", variant("discrete", critic_hidden=[16, 16, 4]), True),
    ("critic_hidden with no hidden", variant("box", hidden=[], critic_hidden=[6]), True),
    ("train and source records", variant("discrete", train={"seed": 1}, source={"library": "x"}), True),
    ("format 2", variant("discrete", format=2), False),
    ("not a JSON object", ["format", 1], False),
    ("obs_dim 0", variant("discrete", obs_dim=0), False),
    ("obs_dim true", variant("discrete", obs_dim=True), False),
    ("obs_dim a string", variant("discrete", obs_dim="4"), False),
    ("no action", variant("discrete", drop=["action"]), False),
    ("no hidden", variant("discrete", drop=["hidden"]), False),
    ("no activation", variant("discrete", drop=["activation"]), False),
    ("action type multi", variant("discrete", action={"type": "multi_discrete", "n": 3}), False),
    ("discrete n 0", variant("discrete", action={"type": "discrete", "n": 0}), False),
    ("discrete n 2.0", variant("discrete", action={"type": "discrete", "n": 2.0}), False),
    ("box shape []", variant("box", action=action("box", shape=[])), False),
    ("box shape 2", variant("box", action=action("box", shape=2)), False),
    ("box shape [0]", variant("box", action=action("box", shape=[0])), False),
    ("hidden a number", variant("discrete", hidden=8), False),
    ("hidden [0]", variant("discrete", hidden=[0]), False),
    ("hidden [8.5]", variant("discrete", hidden=[8.5]), False),
    ("activation gelu", variant("discrete", activation="gelu"), False),
    ("obs_norm a list", variant("box", obs_norm=[10.0, 1e-8]), False),
    ("obs_norm clip 0", variant("box", obs_norm={"clip": 0, "eps": 1e-8}), False),
    ("obs_norm eps < 0", variant("box", obs_norm={"clip": 10.0, "eps": -1.0}), False),
    ("obs_norm clip inf", variant("box", obs_norm={"clip": math.inf, "eps": 1e-8}), False),
    ("obs_norm no eps", variant("box", obs_norm={"clip": 10.0}), False),
    ("head value", variant("discrete", head="value"), False),
    ("head q on box actions", variant("box", head="q", value=False), False),
    ("value 1", variant("discrete", value=1), False),
    ("value 'false'", variant("discrete", value="false"), False),
    ("squash sigmoid", variant("box", value=False, action=action("box", squash="sigmoid")), False),
    ("squash on discrete", variant("discrete", action={"type": "discrete", "n": 3, "squash": "tanh"}), False),
    ("squash, unbounded", variant("box", value=False, action=action("box", squash="tanh", high=None)), False),
    (
        "squash, inf bound",
        variant("box", value=False, action=action("box", squash="tanh", low=[-1.0, -math.inf])),
        False,
    ),
    ("critic_hidden without a critic", variant("discrete", value=False, critic_hidden=[4]), False),
    ("critic_hidden a number", variant("discrete", critic_hidden=4), False),
    ("critic_hidden [0]", variant("discrete", critic_hidden=[0]), False),
]

# refused by the contract, but not a rule of the weights' meaning: the reference never reads env_id (the page
# knows its env), and runs networks of any size (the limits bound the compiled kernel's memory and code)
READER_ONLY = [
    ("no env_id", variant("discrete", drop=["env_id"])),
    ("env_id that names a module", variant("discrete", env_id="os:system")),
]
LIMITS = [
    ("hidden too many layers", variant("discrete", hidden=[4] * (MAX_HIDDEN_LAYERS + 1))),
    ("hidden too wide", variant("discrete", hidden=[MAX_UNITS + 1])),
    ("critic_hidden too wide", variant("discrete", critic_hidden=[MAX_UNITS + 1])),
]


def tensors_for(meta) -> dict[str, np.ndarray]:
    """Random float32 tensors of the architecture META declares (the discrete base's where it declares none
    that expected_shapes can read), so that a refusal is the policy.json's, not a shape mismatch."""
    rng = np.random.default_rng(0)
    try:
        act = meta["action"]
        box = act["type"] == "box"
        n_act = math.prod(act["shape"]) if box else act["n"]
        value = meta.get("value", True) is not False
        critic = tuple(meta["critic_hidden"]) if meta.get("critic_hidden") else None
        gaussian, norm = box and "squash" not in act, isinstance(meta.get("obs_norm"), dict)
        hidden = tuple(meta["hidden"])
        shapes = expected_shapes(meta["obs_dim"], hidden, int(n_act), gaussian, norm, value, critic)
        out = {k: rng.normal(scale=0.5, size=s).astype(np.float32) for k, s in shapes.items()}
    except (KeyError, TypeError, ValueError):
        shapes = expected_shapes(4, (8, 8), 3, False, False)
        out = {k: rng.normal(scale=0.5, size=s).astype(np.float32) for k, s in shapes.items()}
    if "obs_norm.var" in out:
        out["obs_norm.var"] = np.abs(out["obs_norm.var"]) + 0.1
    return out


def weights_json(meta, tensors: dict[str, np.ndarray]):
    """The export-json form of META and TENSORS, built here (export_json.to_json_dict takes only checkpoints
    the format accepted): policy.json's fields, the layers by checkpoint-format name, obs_norm with mean,
    var."""
    if not isinstance(meta, dict):
        return meta
    w = dict(meta)
    for head in ("actor", "critic"):
        n = sum(1 for k in tensors if k.startswith(f"{head}.") and k.endswith(".weight"))
        if n:
            w[head] = [
                {
                    "weight": tensors[f"{head}.{i}.weight"].tolist(),
                    "bias": tensors[f"{head}.{i}.bias"].tolist(),
                }
                for i in range(n)
            ]
    if isinstance(meta.get("obs_norm"), dict) and "obs_norm.mean" in tensors:
        w["obs_norm"] = {
            **meta["obs_norm"],
            "mean": tensors["obs_norm.mean"].tolist(),
            "var": tensors["obs_norm.var"].tolist(),
        }
    return w


def format_accepts(meta, tensors) -> bool:
    try:
        check_checkpoint("model", meta, tensors)
    except CheckpointError:
        return False
    return True


def reference_accepts(meta, tensors) -> bool:
    try:
        mlp.Policy(weights_json(meta, tensors))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name, meta, accepted", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_reference_reader_agrees_with_the_contract(name, meta, accepted):
    tensors = tensors_for(meta)
    assert format_accepts(meta, tensors) == accepted, name
    assert reference_accepts(meta, tensors) == accepted, name
    if accepted:  # and reads the same function from it: the export of the checkpoint, run by the reference
        ckpt = check_checkpoint("model", meta, tensors)
        policy = mlp.Policy(json.loads(json.dumps(to_json_dict(ckpt))))
        obs = np.random.default_rng(1).normal(scale=2.0, size=(16, ckpt.obs_dim)).astype(np.float32)
        ours = np.array([policy.forward(o.tolist()) for o in obs])
        np.testing.assert_allclose(ours, torch_forward(ckpt, obs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, meta", READER_ONLY + LIMITS, ids=[v[0] for v in READER_ONLY + LIMITS])
def test_the_listed_differences_are_the_only_ones(name, meta):
    tensors = tensors_for(meta)
    assert not format_accepts(meta, tensors) and reference_accepts(meta, tensors), name


def test_write_then_load_round_trips_exactly(tmp_path):
    meta = variant("box", train={"seed": 3, "eval": {"mean": -150.5}})
    tensors = tensors_for(meta)
    paths = write_checkpoint(tmp_path / "m", tensors, meta)
    assert [p.name for p in paths] == ["policy.safetensors", "policy.json"]
    ckpt = load_checkpoint(tmp_path / "m")
    assert ckpt.meta == meta and ckpt.tensors.keys() == tensors.keys()
    assert all(np.array_equal(ckpt.tensors[k], tensors[k]) for k in tensors)
    first = [p.read_bytes() for p in paths]
    write_checkpoint(tmp_path / "m", dict(reversed(tensors.items())), meta)  # bytes independent of key order
    assert [p.read_bytes() for p in paths] == first
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["policy.json", "policy.safetensors"]


@pytest.mark.parametrize(
    "break_it, words",
    [
        (lambda m, t: m.update(hidden=[9]), "do not belong together"),
        (lambda m, t: t.pop("actor.log_std"), "missing tensors ['actor.log_std']"),
        (lambda m, t: t.update(extra=np.zeros(1, np.float32)), "unexpected tensors ['extra']"),
        (lambda m, t: t["actor.0.weight"].__setitem__((0, 0), np.nan), "NaN/Inf"),
        (lambda m, t: t.update({"actor.0.bias": t["actor.0.bias"].astype(np.float64)}), "float32"),
        (lambda m, t: m.update(format=2), "the checkpoint format in docs/design.md"),
        (lambda m, t: m.pop("hidden"), "the checkpoint format in docs/design.md"),
        (lambda m, t: m.update(train={"eval": {"mean": math.nan}}), "finite numbers only"),
    ],
)
def test_write_refuses_what_load_refuses_and_writes_nothing(tmp_path, break_it, words):
    meta = variant("box")
    tensors = tensors_for(meta)
    break_it(meta, tensors)
    with pytest.raises(CheckpointError) as info:
        write_checkpoint(tmp_path / "m", tensors, meta)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "m").exists()
