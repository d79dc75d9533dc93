"""What every importer shares: the imported policy, its check against the library it came from, and the
folder in the checkpoint format it becomes.

An importer (rl_web_agent/importers/sb3.py, rl_web_agent/importers/cleanrl.py) reads a checkpoint without
running code from it and returns an `Imported`: the checkpoint format's metadata and tensors, plus the
library's own forward pass rebuilt from the weights. `write_imported` checks the policy against that forward
pass on PARITY_SAMPLES observations (rl_web_agent/compiler/parity.py, the rules compile applies too), then
writes the folder atomically: policy.json and policy.safetensors (through rl_web_agent/policy/checkpoint.py,
which defines the checkpoint format), and source_parity.safetensors (the library's outputs and greedy actions,
which `compile` checks the kernel against, see parity.check_source_parity). Nothing is written when any check
fails. The command line is rl_web_agent/importers/cli.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from rl_web_agent.compiler.model import torch_forward
from rl_web_agent.compiler.parity import (
    PARITY_SAMPLES,
    PARITY_SEED,
    SOURCE_PARITY_FILE,
    check_parity,
    compare_greedy,
    parity_observations,
)
from rl_web_agent.policy.checkpoint import META_FILE, CheckpointError, check_checkpoint, write_checkpoint
from rl_web_agent.policy.env_spaces import EnvError, action_spec, misfit, spaces
from rl_web_agent.policy.files import staged_dir


class PolicyImportError(ValueError):
    """A checkpoint that cannot be imported; str(e) is one line naming the problem and the fix."""


@dataclass
class Imported:
    """A policy read from another library, as the checkpoint format describes it.

    meta:      policy.json without "source" (format, env_id, obs_dim, action, hidden, activation, obs_norm,
               and "head"/"value" for policies without a value head; image, conv, trunk and frames for a
               convolutional policy).
    tensors:   checkpoint-format tensors (float32).
    source:    policy.json's "source": library, version, algo, file, ...
    forward:   the library's own forward pass: raw observations [N, obs_dim] (a convolutional policy: uint8
               frames [N, C, H, W]) -> [N, outputs] in the kernel's layout (probabilities, mean or action,
               or q-values; a convolutional policy's logits or q-values; then the value when there is one).
    greedy:    the library's deterministic action for raw observations: [N] ints or [N, action dims].
    warnings:  lines the CLI prints after a successful import.
    notes:     what the import found out and did on its own (the env id's source, an old id mapped, statistics
               found beside the model), printed with the import's result.
    """

    meta: dict
    tensors: dict[str, np.ndarray]
    source: dict
    forward: Callable[[np.ndarray], np.ndarray]
    greedy: Callable[[np.ndarray], np.ndarray]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_env_matches(env_id: str, obs_dim: int, action: dict, what: str) -> dict:
    """The env's checkpoint-format action (exact bounds) if its spaces are those of the checkpoint WHAT
    (env_spaces.misfit, the rule compile applies too); PolicyImportError if unknown or unfit."""
    try:
        obs_space, act_space = spaces(env_id)
    except EnvError as e:
        raise PolicyImportError(str(e)) from None
    problem = misfit(obs_dim, action, obs_space, act_space)
    if problem:
        raise PolicyImportError(
            f"{what} does not fit {env_id}: {problem}; pass the id of the environment the policy was trained "
            "on with --env"
        )
    env_action = action_spec(act_space)
    if action["type"] == "box":
        env_action = {**env_action, **{k: v for k, v in action.items() if k not in env_action}}
    return env_action


def head_sizes(
    actor: list[tuple[np.ndarray, np.ndarray]], critic: list[tuple[np.ndarray, np.ndarray]] | None
) -> tuple[list[int], list[int] | None]:
    """policy.json's "hidden" (the actor's hidden sizes) and "critic_hidden" (the critic's, only when they
    differ: SB3's net_arch=dict(pi=..., vf=...))."""
    hidden = [w.shape[0] for w, _ in actor[:-1]]
    if critic is None:
        return hidden, None
    critic_hidden = [w.shape[0] for w, _ in critic[:-1]]
    return hidden, (None if critic_hidden == hidden else critic_hidden)


def write_imported(imp: Imported, out: Path, log=print, samples: int = PARITY_SAMPLES) -> Path:
    """Check IMP against its library on SAMPLES observations (a convolutional policy: frame stacks,
    parity.certificate_frames) and write it to OUT (a folder in the checkpoint format) atomically; returns
    OUT."""
    out = Path(out)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / META_FILE).is_file())):
        raise PolicyImportError(f"--out {out} exists and is not a policy folder; pick a new or empty folder")
    meta = {**imp.meta, "source": imp.source}
    try:
        ckpt = check_checkpoint(out, meta, imp.tensors)  # compile's own rules: never write what it refuses
    except CheckpointError as e:
        raise PolicyImportError(
            f"the imported policy is not a valid checkpoint-format policy ({e})"
        ) from None
    if samples < 3:
        raise PolicyImportError(f"--parity-samples {samples}: pass a number >= 3")
    frames = None
    if ckpt.image is not None:
        from rl_web_agent.compiler.model import torch_cnn_forward
        from rl_web_agent.compiler.parity import certificate_frames

        obs, frames = certificate_frames(ckpt.image, samples, PARITY_SEED, ckpt.env_id)
    else:
        obs = parity_observations(meta["obs_dim"], samples, PARITY_SEED)
    lib_out = np.asarray(imp.forward(obs), dtype=np.float32)
    lib_greedy = np.asarray(imp.greedy(obs))
    what = f"{imp.source['library']} {imp.source['algo']}"
    ours, terms = (
        (torch_forward(ckpt, obs), None) if frames is None else torch_cnn_forward(ckpt, obs, terms=True)
    )
    try:
        err = check_parity(ours, lib_out, f"the imported policy vs {what}", terms)
    except ValueError as e:
        raise PolicyImportError(f"{e}; please report this with the checkpoint") from None
    try:
        equal, ties = compare_greedy(ckpt.action, ours, lib_out, lib_greedy, what, terms)
    except ValueError as e:
        raise PolicyImportError(str(e)) from None
    meta["source"]["parity"] = {
        "file": SOURCE_PARITY_FILE,
        "samples": samples,
        "seed": PARITY_SEED,
        **({} if frames is None else {"frames": frames}),
        "max_abs_err": err,
        "greedy_equal": equal,
        "greedy_near_ties": ties,
    }
    with staged_dir(out) as tmp:
        greedy = lib_greedy.astype(np.int64 if ckpt.discrete else np.float32)
        save_file({"out": lib_out, "greedy": greedy}, str(tmp / SOURCE_PARITY_FILE))
        write_checkpoint(tmp, imp.tensors, meta)
    if frames is None:
        arch = f"obs {meta['obs_dim']}, hidden {meta['hidden']} {meta['activation']}"
    else:
        convs = ", ".join(f"{c['out']}x{c['kernel']}x{c['kernel']}/{c['stride']}" for c in ckpt.conv)
        arch = f"uint8{list(ckpt.image)} frames {ckpt.frames}, conv [{convs}], trunk {list(ckpt.trunk)}"
    log(
        f"import: {what} {meta['env_id']} -> {out} ({arch}, {ckpt.action['type']} {ckpt.n_act}"
        f"{', obs_norm' if ckpt.obs_norm else ''})"
    )
    seen = "observations" if frames is None else f"frame stacks ({frames})"
    log(
        f"  parity vs {what} on {samples:,} {seen}: max abs err {err:.2e}; greedy action equal "
        f"on {equal:,}{f' ({ties} near-ties)' if ties else ''}"
    )
    for n in imp.notes:
        log(f"  note: {n}")
    for w in imp.warnings:
        log(f"  warning: {w}")
    return out
