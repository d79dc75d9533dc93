"""A Gymnasium env as the checkpoint format sees it: made from a checked id, its spaces as (obs_dim, action
record), and whether a policy's (obs_dim, action) fits them.

train/ records an env's spaces in policy.json with `env_spaces`; compile and the importers check a policy
against its env with `misfit`. One rule for both, so a checkpoint that train writes always passes compile.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from rl_web_agent.policy.envid import EnvIdError, check_env_id
from rl_web_agent.policy.errors import first_line


class EnvError(ValueError):
    """An env id that cannot be used: malformed, unknown, missing a dependency, or with unsupported spaces."""


def make_env(env_id: str, **kwargs) -> gym.Env:
    """gym.make(env_id), or EnvError with a one-line reason: a malformed id (a `module:` prefix, which would
    make Gymnasium import that module, is refused unread), an unknown id, or an env that fails to build."""
    try:
        check_env_id(env_id)
    except EnvIdError as e:
        raise EnvError(f"{e}; `module:` ids are refused (they import code named by the id)") from None
    try:
        return gym.make(env_id, disable_env_checker=True, **kwargs)
    except gym.error.DependencyNotInstalled as e:
        raise EnvError(
            f"env {env_id!r} needs a missing dependency ({first_line(e)}); install it or pick another env"
        ) from e
    except gym.error.Error as e:
        raise EnvError(
            f"unknown env id {env_id!r}: use a registered Gymnasium id such as CartPole-v1 "
            f"(list them with `python -c 'import gymnasium; gymnasium.pprint_registry()'`)"
        ) from e
    except ImportError as e:  # e.g. phys2d/CartPole-v1 needs jax
        raise EnvError(
            f"env {env_id!r} needs the Python module {e.name or '?'!r}, which is not installed "
            f"({first_line(e)}); install it or pick another env"
        ) from e
    except Exception as e:  # an env's own constructor failing is the env's problem: say so in one line
        raise EnvError(
            f"env {env_id!r} failed to build ({type(e).__name__}: {first_line(e)}); pick another env"
        ) from e


def spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    """(observation space, action space) of env_id, as built by make_env."""
    env = make_env(env_id)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def register_atari() -> bool:
    """Register ale-py's Atari ids with Gymnasium (quietly); False when ale-py is not installed."""
    try:
        import ale_py
    except ImportError:
        return False
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr
    gym.register_envs(ale_py)
    return True


def atari_actions(env_id: str) -> int | None:
    """The number of actions of the Atari env ENV_ID (envid.is_atari_id), from ale-py (its minimal action
    set, as the id's registration says); None when ale-py is not installed. EnvError for an id that ale-py
    does not register."""
    if not register_atari():
        return None
    if env_id not in gym.registry:
        raise EnvError(
            f"ale-py has no env {env_id!r}; pass an Atari id such as ALE/Pong-v5 or PongNoFrameskip-v4"
        )
    env = make_env(env_id)
    try:
        space = env.action_space
    finally:
        env.close()
    if not isinstance(space, gym.spaces.Discrete):
        raise EnvError(f"env {env_id!r} has action space {space}; image policies take discrete actions")
    return int(space.n)


def action_spec(space: gym.Space) -> dict:
    """The checkpoint format's `action` record of an action space."""
    if isinstance(space, gym.spaces.Discrete) and space.start == 0:
        return {"type": "discrete", "n": int(space.n)}
    return {
        "type": "box",
        "shape": list(space.shape),
        "low": [float(x) for x in space.low.ravel()],
        "high": [float(x) for x in space.high.ravel()],
    }


def env_spaces(env_id: str) -> tuple[int, dict]:
    """(obs_dim, checkpoint-format action) of an env a policy can be trained for, or EnvError naming what is
    unsupported: flat Box observations, Discrete(n) or bounded 1-D Box actions."""
    obs, act = spaces(env_id)
    if not (isinstance(obs, gym.spaces.Box) and len(obs.shape) == 1):
        raise EnvError(
            f"env {env_id!r} has observation space {obs}; only flat Box observations are "
            f"supported (flatten it with a wrapper, or pick an env like CartPole-v1)"
        )
    ok_disc = isinstance(act, gym.spaces.Discrete) and act.start == 0
    ok_box = (
        isinstance(act, gym.spaces.Box)
        and len(act.shape) == 1
        and np.all(np.isfinite(act.low))
        and np.all(np.isfinite(act.high))
    )
    if not (ok_disc or ok_box):
        raise EnvError(
            f"env {env_id!r} has action space {act}; only Discrete(n) and bounded 1-D Box actions "
            f"are supported (pick an env like CartPole-v1 or Pendulum-v1)"
        )
    return int(obs.shape[0]), action_spec(act)


def _bound(v, shape: tuple[int, ...], sign: float) -> np.ndarray | None:
    """A box bound of policy.json (a list or one number; null = unbounded) as float64 of the action's shape;
    None when it is not one (a wrong count, or not numbers)."""
    try:
        values = v if isinstance(v, list) else [v]
        a = np.array([sign * np.inf if x is None else x for x in values], np.float64)
        return np.broadcast_to(a, shape) if a.size in (1, math.prod(shape)) else None
    except (TypeError, ValueError):
        return None


def misfit(obs_dim: int, action: dict, obs_space: gym.Space, act_space: gym.Space) -> str | None:
    """Why a policy reading obs_dim values with checkpoint-format ACTION does not fit an env of these spaces
    (the observation size, the action type and count or shape, the box bounds given), or None when it fits."""
    if not (isinstance(obs_space, gym.spaces.Box) and tuple(obs_space.shape) == (obs_dim,)):
        return f"its observation space is {obs_space}, the policy reads obs_dim={obs_dim}"
    if action["type"] == "discrete":
        if not (isinstance(act_space, gym.spaces.Discrete) and int(act_space.start) == 0):
            return f"its action space is {act_space}, the policy has discrete actions ({action['n']})"
        if int(act_space.n) != action["n"]:
            return f"it has {int(act_space.n)} actions, the policy {action['n']}"
        return None
    shape = tuple(action["shape"])
    if not (isinstance(act_space, gym.spaces.Box) and tuple(act_space.shape) == shape):
        return f"its action space is {act_space}, the policy's box actions have shape {list(shape)}"
    for key, env_bound, sign in (("low", act_space.low, -1.0), ("high", act_space.high, 1.0)):
        if key not in action:
            continue
        ours, theirs = _bound(action[key], shape, sign), np.asarray(env_bound, dtype=np.float64)
        if ours is None:
            return f"policy.json's action.{key} is {action[key]!r}, not {math.prod(shape)} numbers"
        if not np.allclose(ours, theirs, rtol=1e-6, atol=0):
            return f"its action {key} is {theirs.tolist()}, policy.json says {ours.tolist()}"
    return None
