"""Stable-Baselines3's model zip read as data: its members (size-checked), `data` as JSON, the classes it
stores pickled read as names from the pickles' opcodes (never unpickled), spaces, activations and the layers
of a state dict. Shared by sb3.py (MlpPolicy) and sb3_cnn.py (CnnPolicy); runs no code from the zip.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from rl_web_agent.importers.imported import PolicyImportError
from rl_web_agent.importers.safe_pickle import globals_in
from rl_web_agent.policy.errors import first_line

SUPPORTED = (
    "PPO, A2C, DQN, SAC, TD3 and DDPG with MlpPolicy on a flat Box observation space; PPO, A2C and DQN "
    "with CnnPolicy on Atari frames"
)
POLICY_CLASSES = {  # the pickled policy class -> what it is
    ("stable_baselines3.common.policies", "ActorCriticPolicy"): "actor-critic",
    ("stable_baselines3.dqn.policies", "DQNPolicy"): "DQN",
    ("stable_baselines3.sac.policies", "SACPolicy"): "SAC",
    ("stable_baselines3.td3.policies", "TD3Policy"): "TD3",
}
CNN_CLASSES = {  # CnnPolicy: read by sb3_cnn.py
    ("stable_baselines3.common.policies", "ActorCriticCnnPolicy"): "actor-critic",
    ("stable_baselines3.dqn.policies", "CnnPolicy"): "DQN",
}
KNOWN_UNSUPPORTED = {
    "CnnPolicy": "CnnPolicy with continuous actions (SAC, TD3; image observations are imported for PPO, A2C "
    "and DQN)",
    "MultiInputActorCriticPolicy": "MultiInputPolicy (dict observations)",
    "MultiInputPolicy": "MultiInputPolicy (dict observations)",
    "RecurrentActorCriticPolicy": "a recurrent (LSTM) policy",
    "RecurrentActorCriticCnnPolicy": "a recurrent (LSTM) policy",
    "RecurrentMultiInputActorCriticPolicy": "a recurrent (LSTM) policy",
}
ACTIVATIONS = {"Tanh": "tanh", "ReLU": "relu"}
MAX_MEMBER_BYTES = 1 << 30  # a zip member larger than this is refused before it is read (zip bombs)


def _fail(path: Path, msg: str) -> PolicyImportError:
    return PolicyImportError(f"{path}: {msg}")


def _read_zip(path: Path) -> tuple[dict, dict, str]:
    """(data JSON, policy.pth state dict as numpy, SB3 version) of an SB3 model zip."""
    import torch

    if not path.is_file():
        raise _fail(path, "no such file; pass the .zip that model.save() wrote")
    if not zipfile.is_zipfile(path):
        raise _fail(path, "not a zip file; pass the .zip that a Stable-Baselines3 model.save() wrote")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "data" not in names or "policy.pth" not in names:
                raise _fail(
                    path, "a zip, but not a Stable-Baselines3 model (no 'data' and 'policy.pth' in it)"
                )
            for n in ("data", "policy.pth"):
                if z.getinfo(n).file_size > MAX_MEMBER_BYTES:
                    raise _fail(path, f"its '{n}' is larger than 1 GiB; not a policy this compiler can take")
            data = json.loads(z.read("data").decode("utf-8"))
            pth = z.read("policy.pth")
            version = (
                z.read("_stable_baselines3_version").decode().strip()
                if ("_stable_baselines3_version" in names)
                else "unknown"
            )
    except PolicyImportError:
        raise
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, KeyError, OSError) as e:
        raise _fail(path, f"not a readable Stable-Baselines3 zip ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        raise _fail(path, "its 'data' is not a JSON object; not a Stable-Baselines3 model")
    try:
        sd = torch.load(io.BytesIO(pth), map_location="cpu", weights_only=True)
    except Exception as e:  # weights_only refuses anything but tensors and plain containers
        raise _fail(
            path, f"policy.pth is not a plain tensor file ({first_line(e)}); refusing to load it"
        ) from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise _fail(path, "policy.pth is not a state dict of tensors")
    return data, {k: v.detach().float().numpy() for k, v in sd.items()}, version


def _pickled_globals(field) -> list[tuple[str, str]]:
    if isinstance(field, dict) and isinstance(field.get(":serialized:"), str):
        try:
            return globals_in(base64.b64decode(field[":serialized:"]))
        except ValueError:
            return []
    return []


def _policy_kind(path: Path, data: dict) -> str:
    names = _pickled_globals(data.get("policy_class"))
    for g in names:
        if g in CNN_CLASSES:
            return f"{CNN_CLASSES[g]} cnn"
    for g in names:
        if g in POLICY_CLASSES:
            return POLICY_CLASSES[g]
    name = names[0][1] if names else str((data.get("policy_class") or {}).get("__module__", "?"))
    what = KNOWN_UNSUPPORTED.get(name, f"policy class {'.'.join(names[0]) if names else name}")
    raise _fail(path, f"{what} is not supported; supported: {SUPPORTED}")


def _space(path: Path, data: dict, key: str) -> dict:
    """A space from its plain JSON fields: {"kind": "box"|"discrete", "shape", "low", "high", "n"}."""
    sp = data.get(key)
    if not isinstance(sp, dict):
        raise _fail(path, f"no {key} in the model's data; not a Stable-Baselines3 model zip")
    typ = str(sp.get(":type:", ""))
    m = re.search(r"spaces\.(\w+)\.(\w+)'", typ)
    kind = m.group(2) if m else typ
    if kind == "Discrete":
        n, start = int(str(sp.get("n"))), int(str(sp.get("start", 0)))
        if start != 0:
            raise _fail(path, f"{key} is Discrete(n={n}, start={start}); only start=0 is supported")
        return {"kind": "discrete", "n": n}
    if kind == "Box":
        shape = [int(s) for s in sp.get("_shape") or []]

        def arr(s) -> np.ndarray:
            s = str(s)
            if "..." in s:
                raise _fail(
                    path, f"{key} bounds are summarised in the zip ('...'); pass --env to take them from it"
                )
            return np.array([float(x) for x in s.replace("[", " ").replace("]", " ").split()], np.float64)

        return {
            "kind": "box",
            "shape": shape,
            "low": arr(sp.get("low")),
            "high": arr(sp.get("high")),
            "dtype": str(sp.get("dtype")),
        }
    raise _fail(path, f"{key} is a {kind} space; supported: {SUPPORTED}")


def _activation(path: Path, data: dict, default: str) -> str:
    pk = data.get("policy_kwargs")
    names = {n for m, n in _pickled_globals(pk) if m == "torch.nn.modules.activation"}
    plain = str(pk.get("activation_fn", "")) if isinstance(pk, dict) else ""
    if not names and plain:  # a hand-made JSON without the pickle: the class as text, "<class '...ReLU'>"
        m = re.search(r"activation\.(\w+)'", plain)
        names = {m.group(1)} if m else {plain}
    if not names:
        return default
    if len(names) > 1 or next(iter(names)) not in ACTIVATIONS:
        raise _fail(path, f"activation {sorted(names)} is not supported; the compiler takes Tanh or ReLU")
    return ACTIVATIONS[next(iter(names))]


def _check_kwargs(path: Path, data: dict) -> None:
    pk = data.get("policy_kwargs") or {}
    for m, n in _pickled_globals(pk):
        if m.startswith("stable_baselines3.common.torch_layers") and n != "FlattenExtractor":
            raise _fail(path, f"features extractor {n} is not supported; supported: {SUPPORTED}")
        if m.startswith("stable_baselines3") and n.endswith("Extractor") and n != "FlattenExtractor":
            raise _fail(path, f"features extractor {n} is not supported; supported: {SUPPORTED}")
    if data.get("use_sde") or (isinstance(pk, dict) and (pk.get("use_sde") or pk.get("squash_output"))):
        raise _fail(path, "gSDE (use_sde=True) policies are not supported; retrain with use_sde=False")


def _seq(sd: dict, prefix: str, used: set) -> list[tuple[np.ndarray, np.ndarray]]:
    """The Linear layers of an nn.Sequential under PREFIX, in order (activations have no parameters)."""
    idx = sorted(
        {int(m.group(1)) for k in sd if (m := re.fullmatch(re.escape(prefix) + r"(\d+)\.weight", k))}
    )
    layers = []
    for i in idx:
        w, b = f"{prefix}{i}.weight", f"{prefix}{i}.bias"
        if b not in sd or sd[w].ndim != 2:
            raise PolicyImportError(f"{w}: not a Linear layer (no bias or not 2-D); unsupported network")
        used.update((w, b))
        layers.append((sd[w], sd[b]))
    return layers


def _one(sd: dict, prefix: str, used: set) -> tuple[np.ndarray, np.ndarray]:
    w, b = f"{prefix}weight", f"{prefix}bias"
    if w not in sd or b not in sd:
        raise PolicyImportError(f"policy.pth has no {w}/{b}; not an SB3 MlpPolicy state dict")
    used.update((w, b))
    return sd[w], sd[b]
