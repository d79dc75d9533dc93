"""`python -m rl_web_agent import sb3 MODEL.zip [--vecnormalize vecnormalize.pkl] [--env ID] --out DIR`.

Reads a Stable-Baselines3 model zip without running code from it:
- `data` is JSON. Spaces, sizes and bounds are plain JSON fields beside the cloudpickled blobs; the classes
  SB3 only stores pickled (the policy class, the activation function) are read as names from the pickles'
  opcodes (rl_web_agent.importers.safe_pickle.globals_in), never unpickled.
- `policy.pth` is read with torch.load(weights_only=True), which admits tensors only.
- vecnormalize.pkl goes through a restricted unpickler (rl_web_agent.importers.safe_pickle.load_vecnormalize).

The library's own forward pass for the parity check is SB3's policy class, built here from those JSON fields
and loaded with the weights (load_state_dict, strict): the same modules, get_distribution, predict_values and
predict that SB3's model.predict runs.

CnnPolicy zips (PPO, A2C, DQN on Atari frames) are read by sb3_cnn.py.

Supported (SUPPORTED): PPO and A2C with MlpPolicy (discrete or Box actions, net_arch as a list or a dict with
pi/vf, Tanh or ReLU); DQN with MlpPolicy (q-values, greedy argmax); the deterministic actors of SAC and TD3
(DDPG) with MlpPolicy (the kernel outputs the action rescaled to the bounds, as SB3's predict does).
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rl_web_agent.importers.env_choice import choose_env, no_env_error
from rl_web_agent.importers.imported import Imported, PolicyImportError, check_env_matches, head_sizes
from rl_web_agent.importers.model_folder import find_model_zip, read_model_folder
from rl_web_agent.importers.safe_pickle import UnsafePickleError, globals_in, load_vecnormalize
from rl_web_agent.policy.checkpoint import FORMAT, layer_tensors
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


def _chain(path: Path, layers: list, obs_dim: int, what: str) -> None:
    prev = obs_dim
    for i, (w, b) in enumerate(layers):
        if w.shape[1] != prev or b.shape != (w.shape[0],):
            raise _fail(
                path,
                f"{what} layer {i} has weight {list(w.shape)} after {prev} inputs; the weights do "
                "not form an MLP",
            )
        prev = w.shape[0]


def _vecnormalize(vn_path: Path, obs_dim: int):
    """(mean, var, clip, eps) of SB3's VecNormalize file, or None when it does not normalise observations."""
    try:
        vn = load_vecnormalize(vn_path)
    except FileNotFoundError:
        raise PolicyImportError(
            f"{vn_path}: no such file; pass the vecnormalize.pkl saved with the model"
        ) from None
    except UnsafePickleError as e:
        raise PolicyImportError(f"{vn_path}: {e}") from None
    if not getattr(vn, "norm_obs", True):
        return None
    rms = getattr(vn, "obs_rms", None)
    mean, var = getattr(rms, "mean", None), getattr(rms, "var", None)
    if not (isinstance(mean, np.ndarray) and isinstance(var, np.ndarray)):
        raise PolicyImportError(
            f"{vn_path}: no obs_rms mean/var arrays (a dict observation space?); unsupported"
        )
    if mean.shape != (obs_dim,) or var.shape != (obs_dim,):
        raise PolicyImportError(
            f"{vn_path}: normalises observations of shape {list(mean.shape)}, the policy takes [{obs_dim}]; "
            "pass the vecnormalize.pkl saved with this model"
        )
    clip, eps = float(getattr(vn, "clip_obs", 10.0)), float(getattr(vn, "epsilon", 1e-8))
    if not (
        np.isfinite(mean).all() and np.isfinite(var).all() and (var >= 0).all() and clip > 0 and eps >= 0
    ):
        raise PolicyImportError(
            f"{vn_path}: the VecNormalize statistics are not finite/non-negative; corrupt file"
        )
    return mean.astype(np.float64), var.astype(np.float64), clip, eps


@dataclass
class _Network:
    """What one algorithm family's reader makes of policy.pth: the checkpoint format's tensors and sizes, and
    the net_arch that rebuilds SB3's policy class."""

    algo: str  # PPO, A2C, DQN, SAC, TD3 or DDPG
    activation: str
    tensors: dict[str, np.ndarray]
    hidden: list[int]
    critic_hidden: list[int] | None
    net_arch: list | dict
    meta: dict = field(default_factory=dict)  # policy.json's "head"/"value" when not an actor-critic


def import_sb3(path: Path, env: str | None = None, vecnormalize: Path | None = None) -> Imported:
    """Read an SB3 model zip (or the model folder holding one: model_folder.py) and its VecNormalize file as
    an Imported policy; runs no code from them. The env id: --env ENV, else what the folder or the file name
    records (env_choice.py)."""
    path = Path(path)
    if path.is_dir():
        path = find_model_zip(path)
    data, sd, version = _read_zip(path)
    kind = _policy_kind(path, data)
    if kind.endswith(" cnn"):
        from rl_web_agent.importers.sb3_cnn import import_sb3_cnn

        return import_sb3_cnn(path, data, sd, version, kind.removesuffix(" cnn"), env, vecnormalize)
    _check_kwargs(path, data)
    obs_dim, action = _spaces(path, data)
    folder = read_model_folder(path)
    env_id, notes = choose_env(path, env, folder)
    if env_id is None:
        raise no_env_error(path, obs_dim, action)
    if vecnormalize is None:
        notes += folder.notes
    if vecnormalize is None and folder.vecnormalize is not None:
        vecnormalize = folder.vecnormalize
        notes.append(
            f"VecNormalize statistics from {vecnormalize} (found with the model; --vecnormalize overrides)"
        )
    elif vecnormalize is None and folder.normalize is not None:
        config, value, stats = folder.normalize
        raise _fail(
            path,
            f"{config} says normalize: {value!r}, but {stats} is missing: pass the statistics saved with the "
            "model with --vecnormalize PKL",
        )
    action = check_env_matches(env_id, obs_dim, action, f"{path.name}")

    used: set[str] = set()
    if kind == "actor-critic":
        net = _actor_critic(path, data, sd, used, obs_dim, action)
    elif kind == "DQN":
        net = _dqn(path, data, sd, used, obs_dim, action)
    else:  # SAC, TD3 (DDPG is TD3 with policy_delay 1 and no target noise)
        net = _deterministic_actor(path, data, sd, used, obs_dim, action, kind)
    extra = sorted(set(sd) - used)
    if extra:
        raise _fail(
            path,
            f"policy.pth has tensors {extra[:4]}{'...' if len(extra) > 4 else ''} that an "
            f"MlpPolicy does not (a custom network or features extractor?); supported: {SUPPORTED}",
        )
    n_act = action["n"] if action["type"] == "discrete" else int(np.prod(action["shape"]))
    last = net.tensors[f"actor.{len(net.hidden)}.weight"].shape[0]
    if last != n_act:
        raise _fail(
            path,
            f"the policy outputs {last} values for {n_act} actions; the weights do not match the "
            "action space",
        )

    norm, warnings = _obs_norm(path, data, net.algo, vecnormalize, obs_dim)
    tensors = net.tensors
    if norm is not None:
        mean, var, clip, eps = norm
        tensors["obs_norm.mean"] = mean.astype(np.float32)
        tensors["obs_norm.var"] = var.astype(np.float32)
    meta: dict = {"format": FORMAT, "env_id": env_id, "obs_dim": obs_dim, "action": action, **net.meta}
    meta.update(
        hidden=net.hidden,
        activation=net.activation,
        obs_norm=None if norm is None else {"clip": norm[2], "eps": norm[3]},
    )
    if net.critic_hidden is not None:
        meta["critic_hidden"] = net.critic_hidden

    forward, greedy = _library_pass(path, kind, sd, net, obs_dim, action, norm)
    source = {
        "library": "stable-baselines3",
        "version": version,
        "algo": net.algo,
        "policy": "MlpPolicy",
        "file": path.name,
    }
    if vecnormalize is not None:
        source["vecnormalize"] = Path(vecnormalize).name
    return Imported(
        meta=meta,
        tensors=tensors,
        source=source,
        forward=forward,
        greedy=greedy,
        warnings=warnings,
        notes=notes,
    )


def _spaces(path: Path, data: dict) -> tuple[int, dict]:
    """obs_dim and the checkpoint format's action, from the zip's observation and action spaces; only a flat
    Box observation and 1-D Box or discrete actions are supported."""
    obs_sp, act_sp = _space(path, data, "observation_space"), _space(path, data, "action_space")
    if obs_sp["kind"] != "box" or len(obs_sp["shape"]) != 1:
        what = (
            f"{obs_sp['kind']} observations"
            if obs_sp["kind"] != "box"
            else f"{'image' if len(obs_sp['shape']) == 3 else 'box'} observations of shape {obs_sp['shape']}"
        )
        raise _fail(path, f"{what} are not supported; supported: {SUPPORTED}")
    obs_dim = obs_sp["shape"][0]
    if act_sp["kind"] == "box" and len(act_sp["shape"]) != 1:
        raise _fail(path, f"box actions of shape {act_sp['shape']} are not supported (1-D only)")
    action = (
        {"type": "discrete", "n": act_sp["n"]}
        if act_sp["kind"] == "discrete"
        else {
            "type": "box",
            "shape": act_sp["shape"],
            "low": act_sp["low"].tolist(),
            "high": act_sp["high"].tolist(),
        }
    )
    return obs_dim, action


def _actor_critic(path: Path, data: dict, sd: dict, used: set, obs_dim: int, action: dict) -> _Network:
    """PPO and A2C: the actor (policy_net + action_net, and log_std for Box actions) and the critic."""
    algo = "PPO" if "clip_range" in data else "A2C"
    activation = _activation(path, data, "tanh")
    pi = _seq(sd, "mlp_extractor.policy_net.", used) + [_one(sd, "action_net.", used)]
    vf = _seq(sd, "mlp_extractor.value_net.", used) + [_one(sd, "value_net.", used)]
    if action["type"] == "box":
        if "log_std" not in sd:
            raise _fail(path, "policy.pth has no log_std for its Box actions; not an SB3 MlpPolicy")
        used.add("log_std")
    _chain(path, pi, obs_dim, "the actor")
    _chain(path, vf, obs_dim, "the critic")
    hidden, critic_hidden = head_sizes(pi, vf)
    tensors = layer_tensors("actor", pi) | layer_tensors("critic", vf)
    if action["type"] == "box":
        tensors["actor.log_std"] = sd["log_std"].reshape(-1).astype(np.float32)
    net_arch = {"pi": [w.shape[0] for w, _ in pi[:-1]], "vf": [w.shape[0] for w, _ in vf[:-1]]}
    return _Network(algo, activation, tensors, hidden, critic_hidden, net_arch)


def _dqn(path: Path, data: dict, sd: dict, used: set, obs_dim: int, action: dict) -> _Network:
    """DQN: the q-network (its target network's tensors are read and set aside); greedy argmax, no value."""
    activation = _activation(path, data, "relu")
    q = _seq(sd, "q_net.q_net.", used)
    _seq(sd, "q_net_target.q_net.", used)
    if action["type"] != "discrete" or not q:
        raise _fail(path, "a DQN policy without a discrete q-network; not an SB3 DQN model")
    _chain(path, q, obs_dim, "the q-network")
    hidden, critic_hidden = head_sizes(q, None)
    net_arch = [w.shape[0] for w, _ in q[:-1]]
    return _Network(
        "DQN",
        activation,
        layer_tensors("actor", q),
        hidden,
        critic_hidden,
        net_arch,
        meta={"head": "q", "value": False},
    )


def _deterministic_actor(
    path: Path, data: dict, sd: dict, used: set, obs_dim: int, action: dict, kind: str
) -> _Network:
    """SAC, TD3 and DDPG: the deterministic actor, its action rescaled to the bounds (action["squash"] is
    set); the critics' tensors are read for their sizes only."""
    algo = kind
    activation = _activation(path, data, "relu")
    if action["type"] != "box":
        raise _fail(path, f"{kind} needs Box actions; this model has {action['type']}")
    if kind == "SAC":
        mu = _seq(sd, "actor.latent_pi.", used) + [_one(sd, "actor.mu.", used)]
        _one(sd, "actor.log_std.", used)
    else:
        mu = _seq(sd, "actor.mu.", used)
        _seq(sd, "actor_target.mu.", used)
        if (
            data.get("policy_delay") == 1
            and data.get("target_policy_noise") == 0.1
            and (data.get("target_noise_clip") == 0.0)
        ):
            algo = "DDPG"
    n_critics = len({k.split(".")[1] for k in sd if re.match(r"critic\.qf\d+\.", k)})
    qf = _seq(sd, "critic.qf0.", set())
    used.update(k for k in sd if k.startswith(("critic.", "critic_target.")))
    _chain(path, mu, obs_dim, "the actor")
    if not np.isfinite(action["low"]).all() or not np.isfinite(action["high"]).all():
        raise _fail(path, f"{kind} rescales its action to the bounds, which are infinite here")
    hidden, critic_hidden = head_sizes(mu, None)
    action["squash"] = "tanh"
    net_arch = {
        "pi": [w.shape[0] for w, _ in mu[:-1]],
        "qf": [w.shape[0] for w, _ in qf[:-1]],
        "n_critics": max(n_critics, 1),
    }
    return _Network(
        algo, activation, layer_tensors("actor", mu), hidden, critic_hidden, net_arch, meta={"value": False}
    )


def _obs_norm(path: Path, data: dict, algo: str, vecnormalize: Path | None, obs_dim: int):
    """(VecNormalize statistics (mean, var, clip, eps) or None, warnings for the CLI): refuses an on-policy
    zip trained under VecNormalize without its statistics."""
    warnings = []
    norm = None
    if vecnormalize is not None:
        norm = _vecnormalize(Path(vecnormalize), obs_dim)
        if norm is None:
            warnings.append(f"{vecnormalize}: norm_obs is False, observations are not normalised")
    elif algo in ("PPO", "A2C") and data.get("_last_original_obs") is not None:
        # on-policy algorithms keep the unnormalised observation only when trained under VecNormalize
        raise _fail(
            path,
            "was trained with VecNormalize: pass its statistics with --vecnormalize "
            "vecnormalize.pkl (without them the policy sees raw observations and acts wrongly)",
        )
    elif algo not in ("PPO", "A2C"):  # off-policy zips keep the unnormalised observation either way
        warnings.append(
            f"SB3 {algo} zips do not record whether VecNormalize was used: if it was, the policy acts "
            "wrongly without --vecnormalize vecnormalize.pkl"
        )
    return norm, warnings


def _library_pass(path: Path, kind: str, sd: dict, net: _Network, obs_dim: int, action: dict, norm):
    """The library's own forward pass and greedy action (Imported.forward, Imported.greedy): SB3's policy
    class with these weights."""
    import gymnasium as gym
    import torch

    act_cls = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[net.activation]
    obs_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
    if action["type"] == "discrete":
        act_space = gym.spaces.Discrete(action["n"])
    else:
        act_space = gym.spaces.Box(
            np.array(action["low"], np.float32), np.array(action["high"], np.float32), dtype=np.float32
        )
    policy = _sb3_policy(kind, obs_space, act_space, net.net_arch, act_cls)
    try:
        policy.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    except RuntimeError as e:
        raise _fail(path, f"SB3's {kind} policy does not take these weights ({first_line(e)})") from None
    policy.eval()

    def normalise(obs: np.ndarray) -> np.ndarray:
        if norm is None:
            return obs
        from types import SimpleNamespace

        from stable_baselines3.common.vec_env import VecNormalize

        mean, var, clip, eps = norm
        return VecNormalize._normalize_obs(
            SimpleNamespace(epsilon=eps, clip_obs=clip), obs, SimpleNamespace(mean=mean, var=var)
        )

    def forward(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = policy.obs_to_tensor(normalise(obs))[0]
            if kind == "actor-critic":
                dist = policy.get_distribution(t).distribution
                a = dist.probs if action["type"] == "discrete" else dist.mean
                return torch.cat([a, policy.predict_values(t)], -1).numpy()
            if kind == "DQN":
                return policy.q_net(t).numpy()
            return policy.unscale_action(policy._predict(t, deterministic=True).numpy())

    def greedy(obs: np.ndarray) -> np.ndarray:
        return policy.predict(normalise(obs), deterministic=True)[0]

    return forward, greedy


def _sb3_policy(kind: str, obs_space, act_space, net_arch, act_cls):
    def lr(_):
        return 0.0

    if kind == "actor-critic":
        from stable_baselines3.common.policies import ActorCriticPolicy

        return ActorCriticPolicy(obs_space, act_space, lr, net_arch=net_arch, activation_fn=act_cls)
    if kind == "DQN":
        from stable_baselines3.dqn.policies import DQNPolicy

        return DQNPolicy(obs_space, act_space, lr, net_arch=net_arch, activation_fn=act_cls)
    arch = {"pi": net_arch["pi"], "qf": net_arch["qf"]}
    if kind == "SAC":
        from stable_baselines3.sac.policies import SACPolicy

        return SACPolicy(
            obs_space, act_space, lr, net_arch=arch, activation_fn=act_cls, n_critics=net_arch["n_critics"]
        )
    from stable_baselines3.td3.policies import TD3Policy

    return TD3Policy(
        obs_space, act_space, lr, net_arch=arch, activation_fn=act_cls, n_critics=net_arch["n_critics"]
    )
