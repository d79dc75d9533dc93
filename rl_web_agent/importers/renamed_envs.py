"""Env ids that other libraries recorded and Gymnasium 1.4 no longer registers, and the id a policy trained on
one of them is imported under, with the reason (the one place these facts are written; README.md, "Bring
your own policy", repeats them for users).

Most LunarLander policies on the model hubs were trained on LunarLander-v2 (gym 0.21 to Gymnasium 0.29);
Gymnasium 1.0 replaced it by v3. Diffing Gymnasium 0.29.1's lunar_lander.py against 1.4's (and v3's "Version
History" in its docstring) leaves three changes, none of which changes what a policy sees or does with its
action in an episode without wind: (1) reset() builds a new Box2D world instead of reusing the old one, which
made reset(seed) non-deterministic (Gymnasium issue 728); (2) with enable_wind, the wind and turbulence
offsets are drawn from the env's seeded generator at every reset instead of once, unseeded, at construction
(issue 954); (3) the observation space's declared bounds are wider (x, y +-2.5 instead of +-1.5, velocities
+-10 instead of +-5, angle +-2 pi instead of +-pi; issue 752): the observations are the same numbers, nothing
clips them. Same shapes, same time limit (1000 steps) and threshold (200), same lander, engines and rewards;
the one other change in the code is the continuous action's cast after clipping (float64 in 1.4, float32 in
0.29.1: the last bits of the throttle).

BipedalWalker-v2 is not mapped: v3 changed its observation (each lidar ray reports the closest hit instead
of the furthest), so a v2 policy would see other inputs.

env_kwargs select another registered id where Gymnasium registers the variant under its own name: the RL Zoo
records LunarLander with continuous=True (env_kwargs.yml, args.yml) for what the pages call
LunarLanderContinuous-v3.
"""

from __future__ import annotations

_LANDER_V3 = (
    "Gymnasium 1.x has v3 only, the same lander, rewards and spaces' shapes; v3 makes reset(seed) "
    "deterministic (a new Box2D world per episode), re-draws the wind offsets at each reset (wind is off by "
    "default) and declares wider observation bounds (the observations themselves are unchanged)"
)
_WALKER_V2 = (
    "BipedalWalker-v3 changed the lidar observations (the closest hit instead of the furthest), so a v2 "
    "policy would see other inputs; pass --env BipedalWalker-v3 to import it anyway"
)

# recorded id -> (the id imported under, or None: not mapped, why)
RENAMED: dict[str, tuple[str | None, str]] = {
    "LunarLander-v2": ("LunarLander-v3", _LANDER_V3),
    "LunarLanderContinuous-v2": ("LunarLanderContinuous-v3", _LANDER_V3),
    "BipedalWalker-v2": (None, _WALKER_V2),
    "BipedalWalkerHardcore-v2": (None, _WALKER_V2.replace("BipedalWalker-v3", "BipedalWalkerHardcore-v3")),
}

# (id, env_kwargs key) -> the id Gymnasium registers for gym.make(id, key=True)
KWARG_IDS: dict[tuple[str, str], str] = {
    ("LunarLander-v3", "continuous"): "LunarLanderContinuous-v3",
    ("BipedalWalker-v3", "hardcore"): "BipedalWalkerHardcore-v3",
}
# env_kwargs that change nothing a policy sees (the RL Zoo's push_to_hub adds render_mode to env_kwargs.yml)
INERT_KWARGS = frozenset({"render_mode"})


class RenamedEnvError(ValueError):
    """A recorded env id that is not imported under any current id; str(e) says why and what to pass."""


def current_env_id(env_id: str, env_kwargs: dict | None = None) -> tuple[str, str | None]:
    """(the id a policy recorded as ENV_ID, trained with ENV_KWARGS, is imported under; a note saying why when
    that is another id, else None), or RenamedEnvError."""
    target, why = env_id, None
    if env_id in RENAMED:
        target, why = RENAMED[env_id]
        if target is None:
            raise RenamedEnvError(f"{env_id} is not in Gymnasium 1.4, and {why}")
    for key, value in (env_kwargs or {}).items():
        if value is True and (target, key) in KWARG_IDS:
            target = KWARG_IDS[(target, key)]
            why = f"{why}; " if why else ""
            why += f"env_kwargs {key}=True is Gymnasium's {target}"
    note = f"{env_id} -> {target}: {why}" if target != env_id else None
    return target, note


def unused_kwargs(env_id: str, env_kwargs: dict | None) -> dict:
    """The env_kwargs that current_env_id did not turn into an id and that change the env (not render_mode):
    what the policy was trained with and the page does not start from."""
    base = {k for (i, k), t in KWARG_IDS.items() if env_id in (i, t)}
    return {k: v for k, v in (env_kwargs or {}).items() if k not in INERT_KWARGS and k not in base}
