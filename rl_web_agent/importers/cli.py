"""`python -m rl_web_agent import sb3|cleanrl MODEL ... [--out DIR]`: the importers' command line.

`add_import_parser` adds the `import` subcommand to the project's parser (rl_web_agent/__main__.py); `main`
runs it: the importer for the library named (sb3.py, cleanrl.py), then imported.write_imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rl_web_agent.compiler.parity import PARITY_SAMPLES
from rl_web_agent.importers.cleanrl import import_cleanrl
from rl_web_agent.importers.imported import PolicyImportError, write_imported
from rl_web_agent.importers.sb3 import import_sb3


def add_import_parser(sub) -> None:
    """The `import` subcommand: `import sb3 ...` and `import cleanrl ...`."""
    imp = sub.add_parser(
        "import", help="import a Stable-Baselines3 or CleanRL policy as a folder in the checkpoint format"
    )
    lib = imp.add_subparsers(dest="library", required=True, metavar="LIBRARY", help="the policy's trainer")
    out = "output folder (the checkpoint format; default build/models/ENV, where make finds it)"
    samples = (
        "observations (image policies: frame stacks) the import checks against the library (default: "
        "%(default)s)"
    )
    s = lib.add_parser(
        "sb3",
        help="a Stable-Baselines3 model zip (PPO, A2C, DQN, SAC, TD3 with MlpPolicy; PPO, A2C, DQN with "
        "CnnPolicy on Atari)",
    )
    s.add_argument(
        "model",
        metavar="MODEL",
        help="the .zip that model.save() wrote, or a folder holding one (a Hugging Face hub download, an RL "
        "Zoo run)",
    )
    s.add_argument(
        "--vecnormalize",
        metavar="PKL",
        help="VecNormalize statistics, if trained with it (default: the model folder's vecnormalize.pkl or "
        "vec_normalize.pkl)",
    )
    s.add_argument(
        "--env",
        help="Gymnasium id (default: the one the model's folder records in results.json, args.yml or "
        "README.md, else one in the file name, e.g. ppo-CartPole-v1.zip; LunarLander-v2 is imported as "
        "LunarLander-v3)",
    )
    s.add_argument("--out", metavar="DIR", help=out)
    s.add_argument("--parity-samples", type=int, default=PARITY_SAMPLES, metavar="N", help=samples)
    c = lib.add_parser(
        "cleanrl",
        help="a CleanRL .cleanrl_model (ppo.py, ppo_continuous_action.py, ppo_atari.py, dqn_atari.py)",
    )
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
    c.add_argument("--parity-samples", type=int, default=PARITY_SAMPLES, metavar="N", help=samples)


def main(args) -> int:
    """Import args.model into args.out; one-line error and exit 1 on bad input."""
    try:
        if args.library == "sb3":
            vn = Path(args.vecnormalize) if args.vecnormalize else None
            imp = import_sb3(Path(args.model), args.env, vn)
        else:
            imp = import_cleanrl(
                Path(args.model), args.env, Path(args.obs_norm) if args.obs_norm else None, args.activation
            )
        out = Path(args.out) if args.out else Path("build") / "models" / imp.meta["env_id"]
        if not args.out and (out / "policy.json").is_file():
            print(f"import: replacing the policy in {out} (pass --out DIR to keep it)")
        write_imported(imp, out, samples=args.parity_samples)
    except PolicyImportError as e:
        print(f"import: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = e.filename or args.out or "the output folder"
        print(f"import: error: {where}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0
