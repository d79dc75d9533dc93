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

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rl_web_agent.importers.env_choice import choose_env, no_env_error
from rl_web_agent.importers.imported import Imported, PolicyImportError, check_env_matches, head_sizes
from rl_web_agent.importers.model_folder import find_model_zip, read_model_folder
from rl_web_agent.importers.safe_pickle import UnsafePickleError, load_vecnormalize
from rl_web_agent.importers.sb3_zip import (
    SUPPORTED,
    _activation,
    _check_kwargs,
    _fail,
    _one,
    _policy_kind,
    _read_zip,
    _seq,
    _space,
)
from rl_web_agent.policy.checkpoint import FORMAT, layer_tensors
from rl_web_agent.policy.errors import first_line


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
