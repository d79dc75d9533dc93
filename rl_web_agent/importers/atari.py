"""Convolutional policies for Atari, what the SB3 (sb3_cnn.py) and CleanRL (cleanrl.py) importers share.

Both libraries train Atari policies with the Nature DQN network (NatureCNN): three convolutions (32 8x8
stride 4, 64 4x4 stride 2, 64 3x3 stride 1, ReLU), flattened (channels, height, width), a linear layer of
512 (ReLU), then the heads; the frames are 4 gray 84x84 screens stacked oldest first, uint8, divided by 255
in the network. The checkpoint format's convolutional policy (policy.json `image`, `conv`, `trunk`) is that
network; policy.json `frames` (checkpoint.FRAMES) records which library's preprocessing made the frames.

The kernel reads its frames channels first ([4, 84, 84]); a policy whose library read them channels last
([84, 84, 4]) is imported with the weights unchanged (the first convolution reads channels whichever way
the array was laid out) and its source records that layout.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rl_web_agent.importers.imported import PolicyImportError, head_sizes
from rl_web_agent.policy.checkpoint import FORMAT, layer_tensors
from rl_web_agent.policy.env_spaces import EnvError, atari_actions
from rl_web_agent.policy.envid import is_atari_id

NATURE_KERNELS = (
    8,
    4,
    3,
)  # NatureCNN's convolutions: kernel sizes, and the strides the weights do not record
NATURE_STRIDES = (4, 2, 1)
ATARI_SIDE = 84
ATARI_IDS = "an Atari id such as PongNoFrameskip-v4 or ALE/Pong-v5"


def _fail(path: Path, msg: str) -> PolicyImportError:
    return PolicyImportError(f"{path}: {msg}")


def atari_action(path: Path, env_id: str, n_act: int) -> tuple[dict, list[str]]:
    """(the checkpoint format's discrete action, notes) for an image policy of N_ACT outputs on ENV_ID: an
    Atari id (checked by its form; ale-py need not make it), whose action count ale-py confirms when it is
    installed."""
    if not is_atari_id(env_id):
        raise _fail(
            path,
            f"image policies are imported for Atari envs; {env_id!r} is not one: pass --env with {ATARI_IDS}",
        )
    try:
        n = atari_actions(env_id)
    except EnvError as e:
        raise _fail(path, str(e)) from None
    if n is None:
        return {"type": "discrete", "n": n_act}, [
            f"ale-py is not installed: {env_id}'s action count ({n_act} in the weights) is not checked"
        ]
    if n != n_act:
        raise _fail(
            path,
            f"the policy has {n_act} actions, {env_id} has {n}; pass --env with the game it was trained on",
        )
    return {"type": "discrete", "n": n_act}, []


def image_of(path: Path, shape: list[int], in_channels: int) -> tuple[tuple[int, int, int], bool]:
    """(the kernel's image [C, H, W], whether the library's observations are channels last) from the library's
    observation shape and the channels its first convolution reads."""
    if len(shape) != 3:
        raise _fail(path, f"observations of shape {shape} are not images [C, H, W] or [H, W, C]")
    if shape[0] == in_channels:
        image, last = (shape[0], shape[1], shape[2]), False
    elif shape[2] == in_channels:
        image, last = (shape[2], shape[0], shape[1]), True
    else:
        raise _fail(
            path,
            f"the first convolution reads {in_channels} channels, the observations have shape {shape}; the "
            "weights and the observation space do not belong together",
        )
    if image[1:] != (ATARI_SIDE, ATARI_SIDE):
        raise _fail(
            path,
            f"observations of shape {shape}: only Atari frame stacks of 84x84 screens are imported (SB3's "
            "AtariWrapper, CleanRL's *_atari.py)",
        )
    return image, last


def nature_convs(path: Path, convs: list[tuple[np.ndarray, np.ndarray]], what: str) -> list[dict]:
    """policy.json's `conv` for NatureCNN's three convolutions (their strides are not in the weights), or a
    one-line refusal for any other stack."""
    kernels = tuple(int(w.shape[-1]) for w, _ in convs)
    square = all(w.ndim == 4 and w.shape[-1] == w.shape[-2] and b.shape == (w.shape[0],) for w, b in convs)
    chained = all(convs[i + 1][0].shape[1] == convs[i][0].shape[0] for i in range(len(convs) - 1))
    if not (square and chained and kernels == NATURE_KERNELS):
        raise _fail(
            path,
            f"{what} has convolutions with kernels {list(kernels)}, not NatureCNN's {list(NATURE_KERNELS)} "
            "(a custom features extractor?); only NatureCNN is supported",
        )
    return [
        {"out": int(w.shape[0]), "kernel": k, "stride": s}
        for (w, _), k, s in zip(convs, NATURE_KERNELS, NATURE_STRIDES, strict=True)
    ]


def cnn_policy(
    env_id: str,
    image: tuple[int, int, int],
    convs: list[tuple[np.ndarray, np.ndarray]],
    conv: list[dict],
    trunk: list[tuple[np.ndarray, np.ndarray]],
    actor: list[tuple[np.ndarray, np.ndarray]],
    critic: list[tuple[np.ndarray, np.ndarray]] | None,
    action: dict,
    activation: str,
    frames: str,
) -> tuple[dict, dict[str, np.ndarray]]:
    """(policy.json without "source", tensors) of a convolutional policy: a q-network when CRITIC is None."""
    hidden, critic_hidden = head_sizes(actor, critic)
    tensors = layer_tensors("conv", convs) | layer_tensors("trunk", trunk) | layer_tensors("actor", actor)
    if critic is not None:
        tensors |= layer_tensors("critic", critic)
    meta: dict = {
        "format": FORMAT,
        "env_id": env_id,
        "obs_dim": math.prod(image),
        "image": list(image),
        "conv": conv,
        "trunk": [int(w.shape[0]) for w, _ in trunk],
        "frames": frames,
        "action": action,
        "hidden": hidden,
        "activation": activation,
        "obs_norm": None,
    }
    if critic is None:
        meta.update(head="q", value=False)
    elif critic_hidden is not None:
        meta["critic_hidden"] = critic_hidden
    return meta, tensors
