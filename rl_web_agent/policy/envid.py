"""Gymnasium environment ids, checked against the id grammar before one reaches a path, a file or code.

Gymnasium's own grammar also admits `module:Name-v0`, which makes gym.make import `module`: we never import
code named by an id, so ':' is refused here.
"""

from __future__ import annotations

import re

# Gymnasium's ENV_ID_RE (gymnasium/envs/registration.py) without ':'
ENV_ID_RE = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<name>[\w.-]+?)(?:-v(?P<version>\d+))?$")


# the Atari ids image policies are trained on: ale-py's ALE/Name-vN, and the NoFrameskip-v4 ids the RL Zoo,
# SB3's AtariWrapper and CleanRL's *_atari.py scripts use (frame skip 1: the wrappers skip 4)
ATARI_ID_RE = re.compile(r"^(?:ALE/[A-Za-z0-9]+-v\d+|[A-Za-z0-9]+NoFrameskip-v[04])$")


class EnvIdError(ValueError):
    pass


def check_env_id(env_id: str) -> str:
    """env_id if it follows Gymnasium's id grammar (letters, digits, _ . -; one optional namespace/)."""
    ok = isinstance(env_id, str) and len(env_id) <= 128 and env_id.isascii()
    if not ok or not ENV_ID_RE.fullmatch(env_id):
        raise EnvIdError(
            f"invalid environment id {env_id!r}: expected Gymnasium's form [namespace/]Name-vN "
            "(letters, digits, '_', '.', '-')"
        )
    return env_id


def is_registered(env_id: str) -> bool:
    """Whether Gymnasium knows env_id (without importing any module the id might name)."""
    import gymnasium as gym

    return env_id in gym.registry


def is_atari_id(env_id: str) -> bool:
    """Whether env_id has the form of an Atari id (ALE/Pong-v5, PongNoFrameskip-v4), whether or not ale-py is
    installed to make it."""
    return isinstance(env_id, str) and ATARI_ID_RE.fullmatch(env_id) is not None
