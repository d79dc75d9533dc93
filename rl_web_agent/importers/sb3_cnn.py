"""SB3 CnnPolicy zips (PPO, A2C, DQN on Atari): sb3.import_sb3 hands them here once the zip is read.

Read as sb3.py reads any zip (data as JSON, the pickled classes by name only, policy.pth as tensors): the
policy class is ActorCriticCnnPolicy (PPO, A2C) or DQN's CnnPolicy, the features extractor SB3's NatureCNN
(`features_extractor.cnn.{0,2,4}`, `features_extractor.linear.0`; DQN's under `q_net.`), then the heads:
`mlp_extractor` (empty with CnnPolicy's default net_arch) and `action_net` / `value_net`, or DQN's
`q_net.q_net`. The observations are the uint8 frames SB3's AtariWrapper and a 4-frame stack make,
[4, 84, 84] after VecTransposeImage (or [84, 84, 4] as SB3 would transpose it), divided by 255 in the
network (`normalize_images`, refused when off). The kernel gives logits (PPO, A2C) or q-values (DQN): the
greedy action is their argmax, as SB3's predict(deterministic=True).

The library's own pass (parity) is SB3's policy class built from these facts and loaded with the weights
(strict): obs_to_tensor (which transposes channels-last frames), its features extractor, mlp_extractor and
heads, and predict.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from rl_web_agent.importers.atari import ATARI_IDS, atari_action, cnn_policy, image_of, nature_convs
from rl_web_agent.importers.env_choice import choose_env
from rl_web_agent.importers.imported import Imported, PolicyImportError
from rl_web_agent.importers.model_folder import read_model_folder
from rl_web_agent.policy.env_spaces import register_atari
from rl_web_agent.policy.errors import first_line

SUPPORTED_CNN = "PPO, A2C and DQN with CnnPolicy (NatureCNN) on Atari frames"


def _fail(path: Path, msg: str) -> PolicyImportError:
    return PolicyImportError(f"{path}: {msg}")


def _check_cnn_kwargs(path: Path, data: dict) -> None:
    from rl_web_agent.importers.sb3_zip import _pickled_globals

    pk = data.get("policy_kwargs") or {}
    plain = pk if isinstance(pk, dict) else {}
    if plain.get("normalize_images") is False:
        raise _fail(
            path,
            "was trained with normalize_images=False (frames not divided by 255); the kernel divides them: "
            "retrain with SB3's default normalize_images=True",
        )
    if plain.get("share_features_extractor") is False:
        raise _fail(
            path,
            "was trained with share_features_extractor=False (an actor and a critic CNN); the checkpoint "
            "format has one trunk: retrain with the default share_features_extractor=True",
        )
    for m, n in _pickled_globals(pk):
        if m.startswith("stable_baselines3") and n.endswith(("Extractor", "CNN")) and n != "NatureCNN":
            raise _fail(path, f"features extractor {n} is not supported; supported: {SUPPORTED_CNN}")
    if data.get("use_sde") or plain.get("use_sde"):
        raise _fail(path, "gSDE (use_sde=True) policies are not supported; retrain with use_sde=False")


def _obs_shape(path: Path, data: dict) -> list[int]:
    """The observation space's shape; a uint8 Box (its bounds, summarised in the zip, are not read)."""
    sp = data.get("observation_space")
    if not isinstance(sp, dict) or "_shape" not in sp:
        raise _fail(path, "no observation_space in the model's data; not a Stable-Baselines3 model zip")
    typ = str(sp.get(":type:", ""))
    if not typ.endswith("box.Box'>"):
        raise _fail(path, f"a CnnPolicy over a {typ or '?'} observation space; supported: {SUPPORTED_CNN}")
    if str(sp.get("dtype")) != "uint8":
        raise _fail(path, f"observations are {sp.get('dtype')}, not uint8 frames; supported: {SUPPORTED_CNN}")
    try:
        return [int(s) for s in re.findall(r"-?\d+", str(sp["_shape"]))]
    except ValueError:
        raise _fail(path, f"observation shape {sp['_shape']!r} is not a list of sizes") from None


def _extractor(path: Path, sd: dict, used: set, prefixes: list[str]):
    """(convolutions, trunk) of the NatureCNN under the first of PREFIXES present; every other prefix present
    must hold the same tensors (SB3 keeps the shared extractor under three names)."""
    present = [p for p in prefixes if f"{p}cnn.0.weight" in sd]
    if not present:
        raise _fail(path, f"policy.pth has no {prefixes[0]}cnn.0.weight; not an SB3 CnnPolicy (NatureCNN)")
    base = present[0]
    names = sorted(k[len(base) :] for k in sd if k.startswith(base))
    for p in present[1:]:
        other = sorted(k[len(p) :] for k in sd if k.startswith(p))
        if other != names or any(not np.array_equal(sd[base + n], sd[p + n]) for n in names):
            raise _fail(
                path,
                f"{base}* and {p}* differ (the actor and critic have their own CNNs); the checkpoint format "
                "has one trunk: retrain with share_features_extractor=True",
            )
        used.update(p + n for n in names)
    from rl_web_agent.importers.sb3_zip import _seq

    convs = []
    idx = sorted(
        {int(m.group(1)) for k in sd if (m := re.fullmatch(re.escape(base) + r"cnn\.(\d+)\.weight", k))}
    )
    for i in idx:
        w, b = f"{base}cnn.{i}.weight", f"{base}cnn.{i}.bias"
        if b not in sd:
            raise _fail(path, f"policy.pth has {w} without its bias; not an SB3 NatureCNN")
        used.update((w, b))
        convs.append((sd[w], sd[b]))
    trunk = _seq(sd, f"{base}linear.", used)
    return convs, trunk


def import_sb3_cnn(
    path: Path, data: dict, sd: dict, version: str, kind: str, env: str | None, vecnormalize
) -> Imported:
    """An SB3 CnnPolicy zip (KIND "actor-critic" or "DQN") as an Imported convolutional policy."""
    from rl_web_agent.importers.sb3_zip import _activation, _one, _seq, _space

    if vecnormalize is not None:
        raise _fail(
            path,
            "--vecnormalize: a CnnPolicy's frames are divided by 255, not normalised by VecNormalize; drop "
            "--vecnormalize",
        )
    _check_cnn_kwargs(path, data)
    shape = _obs_shape(path, data)
    act_sp = _space(path, data, "action_space")
    if act_sp["kind"] != "discrete":
        raise _fail(path, f"a CnnPolicy with {act_sp['kind']} actions; supported: {SUPPORTED_CNN}")

    used: set[str] = set()
    if kind == "DQN":
        convs, trunk = _extractor(path, sd, used, ["q_net.features_extractor."])
        actor = _seq(sd, "q_net.q_net.", used)
        used.update(k for k in sd if k.startswith("q_net_target."))  # the target network: set aside
        critic, algo, activation = None, "DQN", _activation(path, data, "relu")
        if not actor:
            raise _fail(path, "policy.pth has no q_net.q_net.* layers; not an SB3 DQN CnnPolicy")
    else:
        prefixes = ["pi_features_extractor.", "features_extractor.", "vf_features_extractor."]
        convs, trunk = _extractor(path, sd, used, prefixes)
        actor = _seq(sd, "mlp_extractor.policy_net.", used) + [_one(sd, "action_net.", used)]
        critic = _seq(sd, "mlp_extractor.value_net.", used) + [_one(sd, "value_net.", used)]
        algo, activation = ("PPO" if "clip_range" in data else "A2C"), _activation(path, data, "tanh")
    extra = sorted(set(sd) - used)
    if extra:
        raise _fail(
            path,
            f"policy.pth has tensors {extra[:4]}{'...' if len(extra) > 4 else ''} that a CnnPolicy does not "
            f"(a custom network?); supported: {SUPPORTED_CNN}",
        )
    conv = nature_convs(path, convs, "the features extractor")
    image, channels_last = image_of(path, shape, int(convs[0][0].shape[1]))
    if len(trunk) != 1:
        raise _fail(path, f"NatureCNN has one linear layer after its convolutions, this one {len(trunk)}")
    from rl_web_agent.policy.checkpoint import conv_flat_size

    flat = conv_flat_size(image, tuple(conv))
    prev = flat
    for what, layers in (("the trunk", trunk), ("the actor", actor), ("the critic", critic or [])):
        if what == "the critic":
            prev = trunk[-1][0].shape[0]
        for i, (w, b) in enumerate(layers):
            if w.ndim != 2 or w.shape[1] != prev or b.shape != (w.shape[0],):
                raise _fail(
                    path,
                    f"{what} layer {i} has weight {list(w.shape)} after {prev} inputs; the weights do not "
                    "form a NatureCNN policy",
                )
            prev = w.shape[0]
    n_act = int(actor[-1][0].shape[0])
    if n_act != act_sp["n"]:
        raise _fail(path, f"the policy outputs {n_act} values for {act_sp['n']} actions; not a matching zip")
    if critic is not None and critic[-1][0].shape[0] != 1:
        raise _fail(path, "the value head does not give one value; not an SB3 CnnPolicy")

    folder = read_model_folder(path)
    register_atari()  # ale-py's ids, for the one in the file name (ppo-PongNoFrameskip-v4.zip)
    env_id, notes = choose_env(path, env, folder)
    if env_id is None:
        raise _fail(
            path,
            "nothing records its environment (no --env, results.json, args.yml or model card, no id in the "
            f"file name): pass --env with {ATARI_IDS}",
        )
    notes += folder.notes
    action, more = atari_action(path, env_id, n_act)
    notes += more
    notes.append(
        "frames: assumed SB3's AtariWrapper and a 4-frame stack (the RL Zoo's Atari setup; a zip does not "
        'record its wrappers): policy.json "frames": "sb3-atari"'
    )
    if channels_last:
        notes.append(f"SB3 saw [84, 84, {image[0]}] frames (channels last); the kernel reads {list(image)}")
    meta, tensors = cnn_policy(
        env_id, image, convs, conv, trunk, actor, critic, action, activation, "sb3-atari"
    )
    forward, greedy = _library_pass(path, kind, sd, meta, image, channels_last, activation)
    source = {
        "library": "stable-baselines3",
        "version": version,
        "algo": algo,
        "policy": "CnnPolicy",
        "file": path.name,
        "observation": f"{shape} uint8, {'channels last' if channels_last else 'channels first'}",
    }
    return Imported(meta=meta, tensors=tensors, source=source, forward=forward, greedy=greedy, notes=notes)


def _library_pass(path: Path, kind: str, sd: dict, meta: dict, image, channels_last: bool, activation: str):
    """SB3's policy class with these weights: forward (logits and value, or q-values) and greedy (predict) on
    uint8 frames [N, C, H, W], handed to SB3 in the layout it was trained on."""
    import gymnasium as gym
    import torch

    act_cls = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    obs_space = gym.spaces.Box(0, 255, tuple(image), np.uint8)
    act_space = gym.spaces.Discrete(meta["action"]["n"])
    extractor = {"features_dim": meta["trunk"][0]}

    def lr(_):
        return 0.0

    if kind == "DQN":
        from stable_baselines3.dqn.policies import CnnPolicy

        net_arch = list(meta["hidden"])
        policy = CnnPolicy(
            obs_space,
            act_space,
            lr,
            net_arch=net_arch,
            activation_fn=act_cls,
            features_extractor_kwargs=extractor,
        )
    else:
        from stable_baselines3.common.policies import ActorCriticCnnPolicy

        vf = meta.get("critic_hidden", meta["hidden"])
        policy = ActorCriticCnnPolicy(
            obs_space,
            act_space,
            lr,
            net_arch={"pi": list(meta["hidden"]), "vf": list(vf)},
            activation_fn=act_cls,
            features_extractor_kwargs=extractor,
        )
    try:
        policy.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    except RuntimeError as e:
        raise _fail(path, f"SB3's {kind} CnnPolicy does not take these weights ({first_line(e)})") from None
    policy.eval()

    def library_frames(frames: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frames.transpose(0, 2, 3, 1)) if channels_last else frames

    def forward(frames: np.ndarray) -> np.ndarray:
        outs = []
        with torch.no_grad():
            for s in range(0, len(frames), 256):
                t = policy.obs_to_tensor(library_frames(frames[s : s + 256]))[0]
                if kind == "DQN":
                    outs.append(policy.q_net(t).numpy())
                    continue
                latent_pi, latent_vf = policy.mlp_extractor(policy.extract_features(t))
                outs.append(
                    torch.cat([policy.action_net(latent_pi), policy.value_net(latent_vf)], -1).numpy()
                )
        return np.concatenate(outs) if outs else np.zeros((0, math.prod([meta["action"]["n"]])), np.float32)

    def greedy(frames: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                policy.predict(library_frames(frames[s : s + 256]), deterministic=True)[0]
                for s in range(0, len(frames), 256)
            ]
        )

    return forward, greedy
