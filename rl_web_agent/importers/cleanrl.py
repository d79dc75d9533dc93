"""`python -m rl_web_agent import cleanrl MODEL.cleanrl_model --env ID [--obs-norm STATS.npz] --out DIR`.

CleanRL's ppo.py and ppo_continuous_action.py save `torch.save(agent.state_dict(), path)`: the weights of
their `Agent`, and nothing else. Layouts (nn.Sequential, Linear layers at even indices, Tanh between):
- ppo.py (discrete):               critic.{0,2,4}, actor.{0,2,4} (logits)
- ppo_continuous_action.py (box):  critic.{0,2,4}, actor_mean.{0,2,4}, actor_logstd [1, n]

ppo_atari.py and dqn_atari.py (Atari frames, x / 255.0 in the network; import_cleanrl_atari):
- ppo_atari.py: network.{0,2,4} (conv), network.7 (Linear 512), actor (logits), critic (one Linear each)
- dqn_atari.py: network.{0,2,4} (conv), network.7 (Linear 512), network.9 (q-values)

The file is read with torch.load(weights_only=True): tensors only, no code. The state dict names neither the
environment nor the activation: --env gives the one (its spaces are checked against the weights), CleanRL's
Tanh is the default of --activation.

CleanRL does not save the statistics of Gymnasium's NormalizeObservation, which ppo_continuous_action.py
trains under (followed by a clip to [-10, 10]). A policy trained with it acts wrongly on raw observations:
pass the statistics with --obs-norm, an .npz with `mean` and `var` (optional `clip`, default 10, and
`epsilon`, default 1e-8), read with numpy's allow_pickle=False.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from rl_web_agent.importers.imported import Imported, PolicyImportError, check_env_matches, head_sizes
from rl_web_agent.policy.checkpoint import FORMAT, layer_tensors
from rl_web_agent.policy.errors import first_line

LAYOUTS = "ppo.py (actor.*, critic.*) or ppo_continuous_action.py (actor_mean.*, actor_logstd, critic.*)"
NORM_WARNING = (
    "CleanRL does not save NormalizeObservation's statistics: if this policy was trained with observation "
    "normalisation (ppo_continuous_action.py is), it acts wrongly without --obs-norm STATS.npz"
)


def _fail(path: Path, msg: str) -> PolicyImportError:
    return PolicyImportError(f"{path}: {msg}")


def _load(path: Path) -> dict[str, np.ndarray]:
    import torch

    if not path.is_file():
        raise _fail(path, "no such file; pass the .cleanrl_model that CleanRL's --save-model wrote")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # weights_only refuses anything but tensors and plain containers
        raise _fail(
            path, f"not a PyTorch state dict of tensors ({first_line(e)}); refusing to load it"
        ) from None
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise _fail(path, f"not a state dict of tensors; expected CleanRL's Agent: {LAYOUTS}")
    return {str(k): v.detach().float().numpy() for k, v in sd.items()}


def _seq(path: Path, sd: dict, head: str, used: set) -> list[tuple[np.ndarray, np.ndarray]]:
    idx = sorted({int(m.group(1)) for k in sd if (m := re.fullmatch(rf"{head}\.(\d+)\.weight", k))})
    layers = []
    for i in idx:
        w, b = f"{head}.{i}.weight", f"{head}.{i}.bias"
        if b not in sd or sd[w].ndim != 2:
            raise _fail(path, f"{w} is not a Linear layer; expected CleanRL's Agent: {LAYOUTS}")
        used.update((w, b))
        layers.append((sd[w], sd[b]))
    if not layers:
        raise _fail(path, f"no {head}.* layers; expected CleanRL's Agent: {LAYOUTS}")
    prev = layers[0][0].shape[1]
    for i, (w, b) in enumerate(layers):
        if w.shape[1] != prev or b.shape != (w.shape[0],):
            raise _fail(path, f"{head} layer {i} has weight {list(w.shape)} after {prev} inputs; not an MLP")
        prev = w.shape[0]
    return layers


def _obs_norm(path: Path, obs_dim: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    try:
        with np.load(path, allow_pickle=False) as z:
            stats = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise _fail(path, "no such file; pass an .npz with the NormalizeObservation mean and var") from None
    except (ValueError, OSError) as e:
        raise _fail(path, f"not a numeric .npz ({e}); save it with np.savez(path, mean=, var=)") from None
    if "mean" not in stats or "var" not in stats:
        raise _fail(path, f"has {sorted(stats)}; expected arrays 'mean' and 'var' (optional: clip, epsilon)")
    mean, var = np.asarray(stats["mean"], np.float64), np.asarray(stats["var"], np.float64)
    if mean.shape != (obs_dim,) or var.shape != (obs_dim,):
        raise _fail(
            path, f"mean/var have shapes {list(mean.shape)}/{list(var.shape)}, the policy takes [{obs_dim}]"
        )
    clip = float(stats.get("clip", 10.0))
    eps = float(stats.get("epsilon", 1e-8))
    if not (np.isfinite(mean).all() and np.isfinite(var).all() and (var >= 0).all()):
        raise _fail(path, "mean/var must be finite and var non-negative")
    if not (math.isfinite(clip) and clip > 0 and math.isfinite(eps) and eps >= 0):
        raise _fail(path, f"clip {clip} / epsilon {eps}: expected clip > 0 and epsilon >= 0")
    return mean, var, clip, eps


def import_cleanrl(path: Path, env: str, obs_norm: Path | None = None, activation: str = "tanh") -> Imported:
    """Read a CleanRL PPO state dict as an Imported policy (the Agent's forward pass rebuilt in PyTorch)."""
    import torch

    path = Path(path)
    if not env:
        raise _fail(path, "a CleanRL model does not record its environment: pass --env ID")
    sd = _load(path)
    if any(k.startswith("network.") for k in sd):
        if obs_norm is not None:
            raise _fail(
                path, "--obs-norm: ppo_atari/dqn_atari frames are divided by 255, not normalised; drop it"
            )
        return import_cleanrl_atari(path, env, sd)
    used: set[str] = set()
    box = "actor_logstd" in sd or any(k.startswith("actor_mean.") for k in sd)
    actor = _seq(path, sd, "actor_mean" if box else "actor", used)
    critic = _seq(path, sd, "critic", used)
    if box:
        if "actor_logstd" not in sd:
            raise _fail(path, f"actor_mean.* without actor_logstd; expected CleanRL's Agent: {LAYOUTS}")
        used.add("actor_logstd")
    extra = sorted(set(sd) - used)
    if extra:
        raise _fail(path, f"unknown keys {extra[:4]}{'...' if len(extra) > 4 else ''}; expected {LAYOUTS}")
    obs_dim, n_act = actor[0][0].shape[1], actor[-1][0].shape[0]
    if critic[0][0].shape[1] != obs_dim or critic[-1][0].shape[0] != 1:
        raise _fail(path, "the critic does not map the actor's inputs to one value; not CleanRL's Agent")
    if box and sd["actor_logstd"].size != n_act:
        raise _fail(path, f"actor_logstd has {sd['actor_logstd'].size} values for {n_act} actions")
    action = {"type": "box", "shape": [n_act]} if box else {"type": "discrete", "n": n_act}
    action = check_env_matches(env, obs_dim, action, path.name)

    hidden, critic_hidden = head_sizes(actor, critic)
    tensors = layer_tensors("actor", actor) | layer_tensors("critic", critic)
    if box:
        tensors["actor.log_std"] = sd["actor_logstd"].reshape(-1).astype(np.float32)
    norm = _obs_norm(Path(obs_norm), obs_dim) if obs_norm is not None else None
    if norm is not None:
        tensors["obs_norm.mean"] = norm[0].astype(np.float32)
        tensors["obs_norm.var"] = norm[1].astype(np.float32)
    meta = {
        "format": FORMAT,
        "env_id": env,
        "obs_dim": obs_dim,
        "action": action,
        "hidden": hidden,
        "activation": activation,
        "obs_norm": None if norm is None else {"clip": norm[2], "eps": norm[3]},
    }
    if critic_hidden is not None:
        meta["critic_hidden"] = critic_hidden

    # CleanRL's Agent: nn.Sequential(Linear, Tanh, Linear, Tanh, Linear) per head, the state dict loaded
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]

    def sequential(layers):
        mods: list[torch.nn.Module] = []
        for i, (w, _) in enumerate(layers):
            mods.append(torch.nn.Linear(w.shape[1], w.shape[0]))
            if i < len(layers) - 1:
                mods.append(act())
        return torch.nn.Sequential(*mods)

    agent = torch.nn.Module()
    agent.critic = sequential(critic)
    if box:
        agent.actor_mean = sequential(actor)
        agent.actor_logstd = torch.nn.Parameter(torch.zeros(1, n_act))
    else:
        agent.actor = sequential(actor)
    agent.load_state_dict({k: torch.from_numpy(v.reshape(v.shape)) for k, v in sd.items()}, strict=True)

    def normalise(obs: np.ndarray) -> np.ndarray:
        # Gymnasium's NormalizeObservation then CleanRL's TransformObservation clip, in float64 as they run
        if norm is None:
            return obs
        mean, var, clip, eps = norm
        return np.clip((obs - mean) / np.sqrt(var + eps), -clip, clip)

    def forward(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(normalise(obs), dtype=torch.float32)
            if box:
                a = agent.actor_mean(x)  # Normal(mean, std): the deterministic action is the mean
            else:
                a = torch.distributions.Categorical(logits=agent.actor(x)).probs
            return torch.cat([a, agent.critic(x)], -1).numpy()

    def greedy(obs: np.ndarray) -> np.ndarray:
        out = forward(obs)[:, :n_act]
        if not box:
            return out.argmax(-1)
        low, high = np.asarray(action["low"], np.float32), np.asarray(action["high"], np.float32)
        return np.clip(out, low, high)  # CleanRL's ClipAction wrapper

    warnings = [] if norm is not None else [NORM_WARNING]
    source = {
        "library": "cleanrl",
        "version": "unknown (state dict)",
        "algo": "ppo_continuous_action" if box else "ppo",
        "file": path.name,
    }
    if obs_norm is not None:
        source["obs_norm"] = Path(obs_norm).name
    return Imported(meta, tensors, source, forward, greedy, warnings)


ATARI_LAYOUTS = "ppo_atari.py (network.{0,2,4,7}, actor, critic) or dqn_atari.py (network.{0,2,4,7,9})"


def import_cleanrl_atari(path: Path, env: str, sd: dict[str, np.ndarray]) -> Imported:
    """A CleanRL ppo_atari.py Agent or dqn_atari.py QNetwork state dict as an Imported convolutional policy
    (the module rebuilt in PyTorch as those files declare it, the state dict loaded strictly)."""
    import torch

    from rl_web_agent.importers.atari import atari_action, cnn_policy, image_of, nature_convs

    def layer(name: str, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        w, b = sd.get(f"{name}.weight"), sd.get(f"{name}.bias")
        if w is None or b is None or w.ndim != ndim or b.shape != (w.shape[0],):
            raise _fail(
                path, f"no {'Conv2d' if ndim == 4 else 'Linear'} layer {name}; expected {ATARI_LAYOUTS}"
            )
        return w, b

    dqn = "network.9.weight" in sd
    convs = [layer(f"network.{i}", 4) for i in (0, 2, 4)]
    trunk = [layer("network.7", 2)]
    if dqn:
        actor, critic = [layer("network.9", 2)], None
        keys = {f"network.{i}.{p}" for i in (0, 2, 4, 7, 9) for p in ("weight", "bias")}
    else:
        actor, critic = [layer("actor", 2)], [layer("critic", 2)]
        keys = {
            f"{n}.{p}"
            for n in ("network.0", "network.2", "network.4", "network.7", "actor", "critic")
            for p in ("weight", "bias")
        }
    extra = sorted(set(sd) - keys)
    if extra:
        raise _fail(
            path, f"unknown keys {extra[:4]}{'...' if len(extra) > 4 else ''}; expected {ATARI_LAYOUTS}"
        )
    conv = nature_convs(path, convs, "the network")
    in_ch = int(convs[0][0].shape[1])
    image, _ = image_of(path, [in_ch, 84, 84], in_ch)  # CleanRL's FrameStack: channels first
    from rl_web_agent.policy.checkpoint import conv_flat_size

    flat = conv_flat_size(image, tuple(conv))
    n = trunk[0][0].shape[0]
    heads = [("network.7", trunk[0][0], flat)] + [
        (h, w, n) for h, (w, _) in (("head", actor[0]), ("critic", (critic or actor)[0]))
    ]
    for name, w, want in heads:
        if w.shape[1] != want:
            raise _fail(
                path,
                f"{name} reads {w.shape[1]} values, the layer before gives {want}; expected {ATARI_LAYOUTS}",
            )
    if critic is not None and critic[0][0].shape[0] != 1:
        raise _fail(
            path, f"the critic gives {critic[0][0].shape[0]} values, not one; expected {ATARI_LAYOUTS}"
        )
    n_act = int(actor[0][0].shape[0])
    action, notes = atari_action(path, env, n_act)
    meta, tensors = cnn_policy(env, image, convs, conv, trunk, actor, critic, action, "relu", "cleanrl-atari")

    # ppo_atari.py's Agent / dqn_atari.py's QNetwork, as they declare it
    nn = torch.nn
    network = [
        nn.Conv2d(in_ch, conv[0]["out"], 8, stride=4),
        nn.ReLU(),
        nn.Conv2d(conv[0]["out"], conv[1]["out"], 4, stride=2),
        nn.ReLU(),
        nn.Conv2d(conv[1]["out"], conv[2]["out"], 3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(flat, n),
        nn.ReLU(),
    ]
    agent = nn.Module()
    if dqn:
        agent.network = nn.Sequential(*network, nn.Linear(n, n_act))
    else:
        agent.network = nn.Sequential(*network)
        agent.actor, agent.critic = nn.Linear(n, n_act), nn.Linear(n, 1)
    agent.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    agent.eval()

    def forward(frames: np.ndarray) -> np.ndarray:
        outs = []
        with torch.no_grad():
            for s in range(0, len(frames), 256):
                x = torch.Tensor(frames[s : s + 256])  # as CleanRL: torch.Tensor(next_obs)
                hidden = agent.network(x / 255.0)
                outs.append(hidden if dqn else torch.cat([agent.actor(hidden), agent.critic(hidden)], -1))
        return torch.cat(outs).numpy()

    def greedy(frames: np.ndarray) -> np.ndarray:
        return forward(frames)[:, :n_act].argmax(-1)  # dqn_atari's torch.argmax(q_values); ppo's mode

    source = {
        "library": "cleanrl",
        "version": "unknown (state dict)",
        "algo": "dqn_atari" if dqn else "ppo_atari",
        "file": path.name,
    }
    return Imported(meta, tensors, source, forward, greedy, notes=notes)
