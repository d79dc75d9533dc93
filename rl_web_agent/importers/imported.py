"""What every importer shares: the imported policy, its parity against the library it came from, and the
contract-1 folder it becomes.

An importer (tiny_infer/import_sb3.py, tiny_infer/import_cleanrl.py) reads a checkpoint without running
code from it and returns an `Imported`: contract-1 metadata and tensors, plus the library's own forward pass
rebuilt from the weights. `write_imported` checks the contract-1 policy against that forward pass on
PARITY_SAMPLES observations, then writes the folder atomically: policy.json and policy.safetensors (through
tiny_infer/checkpoint.py, which defines contract 1), and source_parity.safetensors (the library's outputs and
greedy actions, which `compile` checks the kernel against, see `check_source_parity`). Nothing is written when
any check fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PARITY_SAMPLES = 10_000
PARITY_SEED = 12345
SOURCE_PARITY_FILE = "source_parity.safetensors"


class PolicyImportError(ValueError):
    """A checkpoint that cannot be imported; str(e) is one line naming the problem and the fix."""


@dataclass
class Imported:
    """A policy read from another library, as contract 1 describes it.

    meta:      policy.json without "source" (format, env_id, obs_dim, action, hidden, activation, obs_norm,
               and "head"/"value" for policies without a value head).
    tensors:   contract-1 tensors (float32).
    source:    policy.json's "source": library, version, algo, file, ...
    forward:   the library's own forward pass: raw observations [N, obs_dim] -> [N, outputs] in the kernel's
               layout (probabilities, mean or action, or q-values; then the value when there is one).
    greedy:    the library's deterministic action for raw observations: [N] ints or [N, action dims].
    warnings:  lines the CLI prints after a successful import.
    """

    meta: dict
    tensors: dict[str, np.ndarray]
    source: dict
    forward: Callable[[np.ndarray], np.ndarray]
    greedy: Callable[[np.ndarray], np.ndarray]
    warnings: list[str] = field(default_factory=list)


def check_env_matches(env_id: str, obs_dim: int, action: dict, what: str) -> dict:
    """The env's contract-1 action (exact bounds) if its spaces are those of the checkpoint WHAT
    (env_spaces.misfit, the rule compile applies too); PolicyImportError if unknown or unfit."""
    from tiny_infer.env_spaces import EnvError, action_spec, misfit, spaces

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


def greedy_from_outputs(action: dict, out: np.ndarray) -> np.ndarray:
    """The greedy action from kernel outputs, as tiny_infer/reference.py's act(): argmax (first on ties) of
    the probabilities or q-values, or the box action clipped to its bounds."""
    if action["type"] == "discrete":
        return out[:, : action["n"]].argmax(-1)
    n = math.prod(action["shape"])
    return np.clip(out[:, :n], np.asarray(action["low"], np.float32), np.asarray(action["high"], np.float32))


def compare_greedy(action: dict, got_out: np.ndarray, lib_out: np.ndarray, lib_greedy: np.ndarray, what: str):
    """Greedy actions from GOT_OUT against the library's: (equal, near_ties). Discrete: a differing argmax
    is tolerated only where the library's own top two outputs are within the parity bound (a tie that float
    rounding may break either way). Box: within the parity bound."""
    from tiny_infer.model import parity_bound

    mine = greedy_from_outputs(action, got_out)
    if action["type"] == "discrete":
        lib_greedy = np.asarray(lib_greedy).reshape(-1)
        diff = np.flatnonzero(mine != lib_greedy)
        top = np.sort(lib_out[:, : action["n"]], axis=-1)
        near = (top[:, -1] - top[:, -2]) <= 2 * parity_bound(top[:, -1])
        bad = diff[~near[diff]]
        if bad.size:
            i = int(bad[0])
            raise PolicyImportError(
                f"{what}: greedy action {int(mine[i])} where the library picks {int(lib_greedy[i])} "
                f"(sample {i}, {bad.size} such samples); please report this with the checkpoint"
            )
        return int(len(mine) - diff.size), int(diff.size)
    lib_greedy = np.asarray(lib_greedy, np.float32).reshape(mine.shape)
    err = np.abs(mine.astype(np.float64) - lib_greedy)
    bad = ~(err <= parity_bound(lib_greedy))
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise PolicyImportError(
            f"{what}: greedy action {mine[i].tolist()} where the library gives {lib_greedy[i].tolist()} "
            f"(sample {i}); please report this with the checkpoint"
        )
    return int(len(mine)), 0


def write_imported(imp: Imported, out: Path, log=print) -> Path:
    """Check IMP against its library and write it to OUT (a contract-1 folder) atomically; returns OUT."""
    from safetensors.numpy import save_file

    from tiny_infer.checkpoint import META_FILE, CheckpointError, check_checkpoint, write_checkpoint
    from tiny_infer.compile import parity_observations
    from tiny_infer.files import staged_dir
    from tiny_infer.model import check_parity, torch_forward

    out = Path(out)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / META_FILE).is_file())):
        raise PolicyImportError(f"--out {out} exists and is not a policy folder; pick a new or empty folder")
    meta = {**imp.meta, "source": imp.source}
    try:
        ckpt = check_checkpoint(out, meta, imp.tensors)  # compile's own rules: never write what it refuses
    except CheckpointError as e:
        raise PolicyImportError(f"the imported policy is not a valid contract-1 policy ({e})") from None
    obs = parity_observations(meta["obs_dim"], PARITY_SAMPLES, PARITY_SEED)
    lib_out = np.asarray(imp.forward(obs), dtype=np.float32)
    lib_greedy = np.asarray(imp.greedy(obs))
    what = f"{imp.source['library']} {imp.source['algo']}"
    ours = torch_forward(ckpt, obs)
    try:
        err = check_parity(ours, lib_out, f"the imported policy vs {what}")
    except ValueError as e:
        raise PolicyImportError(f"{e}; please report this with the checkpoint") from None
    equal, ties = compare_greedy(ckpt.action, ours, lib_out, lib_greedy, what)
    meta["source"]["parity"] = {
        "file": SOURCE_PARITY_FILE,
        "samples": PARITY_SAMPLES,
        "seed": PARITY_SEED,
        "max_abs_err": err,
        "greedy_equal": equal,
        "greedy_near_ties": ties,
    }
    with staged_dir(out) as tmp:
        greedy = lib_greedy.astype(np.int64 if ckpt.discrete else np.float32)
        save_file({"out": lib_out, "greedy": greedy}, str(tmp / SOURCE_PARITY_FILE))
        write_checkpoint(tmp, imp.tensors, meta)
    log(
        f"import: {what} {meta['env_id']} -> {out} (obs {meta['obs_dim']}, hidden {meta['hidden']} "
        f"{meta['activation']}, {ckpt.action['type']} {ckpt.n_act}{', obs_norm' if ckpt.obs_norm else ''})"
    )
    log(
        f"  parity vs {what} on {PARITY_SAMPLES:,} observations: max abs err {err:.2e}; greedy action equal "
        f"on {equal:,}{f' ({ties} near-ties)' if ties else ''}"
    )
    for w in imp.warnings:
        log(f"  warning: {w}")
    return out


def check_source_parity(ckpt, forward_batch: Callable[[np.ndarray], np.ndarray]) -> dict | None:
    """For an imported policy (its folder has SOURCE_PARITY_FILE): FORWARD_BATCH (the compiled kernel) against
    the library's outputs and greedy actions recorded at import; the manifest's "source" record. None for a
    policy of our own. Raises ValueError naming the first output over the parity bound."""
    path = Path(ckpt.model_dir) / SOURCE_PARITY_FILE
    source = ckpt.meta.get("source")
    if not path.is_file() or not isinstance(source, dict):
        return None
    from safetensors.numpy import load_file

    from tiny_infer.compile import parity_observations
    from tiny_infer.model import check_parity

    try:
        rec = load_file(str(path))
        lib_out, lib_greedy = rec["out"], rec["greedy"]
    except Exception as e:  # safetensors' own error types, or a missing tensor
        raise ValueError(f"{path}: unreadable ({type(e).__name__}: {e}); re-run the import") from None
    parity = source.get("parity") or {}
    obs = parity_observations(ckpt.obs_dim, len(lib_out), int(parity.get("seed", PARITY_SEED)))
    got = forward_batch(obs)
    what = f"{source.get('library')} {source.get('algo')}"
    err = check_parity(got, lib_out, f"the kernel vs {what}")
    try:
        equal, ties = compare_greedy(ckpt.action, got, lib_out, lib_greedy, f"the kernel vs {what}")
    except PolicyImportError as e:
        raise ValueError(str(e)) from None
    rest = {k: v for k, v in source.items() if k != "parity"}
    return {
        **rest,
        "parity": {
            "samples": int(len(lib_out)),
            "max_abs_err": err,
            "greedy_equal": equal,
            "greedy_near_ties": ties,
        },
    }


def add_import_parser(sub) -> None:
    """The `import` subcommand (tiny_infer/__main__.py): `import sb3 ...` and `import cleanrl ...`."""
    imp = sub.add_parser("import", help="import a Stable-Baselines3 or CleanRL policy as a contract-1 folder")
    lib = imp.add_subparsers(dest="library", required=True, metavar="LIBRARY", help="the policy's trainer")
    out = "output folder (contract 1; default build/models/ENV, where make finds it)"
    s = lib.add_parser("sb3", help="a Stable-Baselines3 model zip (PPO, A2C, DQN, SAC, TD3; MlpPolicy)")
    s.add_argument("model", metavar="MODEL", help="the .zip that model.save() wrote")
    s.add_argument(
        "--vecnormalize", metavar="PKL", help="VecNormalize statistics (vecnormalize.pkl), if trained with it"
    )
    s.add_argument("--env", help="Gymnasium id (default: one in the file name, e.g. ppo-CartPole-v1.zip)")
    s.add_argument("--out", metavar="DIR", help=out)
    c = lib.add_parser("cleanrl", help="a CleanRL ppo.py / ppo_continuous_action.py .cleanrl_model")
    c.add_argument("model", metavar="MODEL", help="the .cleanrl_model (torch.save of the Agent's state_dict)")
    c.add_argument("--env", required=True, help="Gymnasium id the policy was trained on")
    c.add_argument(
        "--obs-norm",
        metavar="NPZ",
        help="NormalizeObservation statistics: .npz of mean, var [, clip, epsilon]",
    )
    c.add_argument(
        "--activation",
        choices=("tanh", "relu"),
        default="tanh",
        help="hidden activation (default: %(default)s)",
    )
    c.add_argument("--out", metavar="DIR", help=out)


def main(args) -> int:
    """CLI entry point: import args.model into args.out; one-line error and exit 1 on bad input."""
    import sys

    try:
        if args.library == "sb3":
            from tiny_infer.import_sb3 import import_sb3

            vn = Path(args.vecnormalize) if args.vecnormalize else None
            imp = import_sb3(Path(args.model), args.env, vn)
        else:
            from tiny_infer.import_cleanrl import import_cleanrl

            imp = import_cleanrl(
                Path(args.model), args.env, Path(args.obs_norm) if args.obs_norm else None, args.activation
            )
        out = Path(args.out) if args.out else Path("build") / "models" / imp.meta["env_id"]
        if not args.out and (out / "policy.json").is_file():
            print(f"import: replacing the policy in {out} (pass --out DIR to keep it)")
        write_imported(imp, out)
    except PolicyImportError as e:
        print(f"import: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = e.filename or args.out or "the output folder"
        print(f"import: error: {where}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0
