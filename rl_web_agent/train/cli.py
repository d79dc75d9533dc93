"""`python -m rl_web_agent train --env CartPole-v1 --seed 1`: train PPO, evaluate greedily, write the policy.

Writes build/models/<env-id>/policy.{safetensors,json} (and models/<env-id>/ with --publish) only after the
run finished and was evaluated; runs/<env-id>/<run>/ holds config.json, metrics.csv, curve.png and the
resumable state.pt (Ctrl-C finishes the current iteration, saves, and tells how to resume).
Bad input exits with status 2 and a one-line message, before anything is written. A run that diverges (NaN
or infinite loss or weights) stops with status 1 and writes no policy; a new run's folder is removed on any
error unless the run finished (or, after a second Ctrl-C, stays resumable).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import torch

from rl_web_agent.policy.env_spaces import EnvError
from rl_web_agent.policy.errors import first_line

from .checkpoint import (
    STATE_FILE,
    ResumeError,
    check_policy_target,
    check_writable,
    load_state,
    save_state,
    versions,
    write_policy,
)
from .config import ConfigError, PPOConfig, add_config_args, from_dict, overrides, preset, to_dict, validate
from .envs import train_spaces
from .logger import MetricsCSV, plot_curve
from .ppo import DivergedError, Trainer
from .snapshots import collect as collect_snapshots
from .snapshots import write_snapshots


class UsageError(Exception):
    pass


def build_parser(env_id: str = PPOConfig.env_id) -> argparse.ArgumentParser:
    """The CLI's parser; the hyperparameters' help shows env_id's preset values as their defaults."""
    ap = argparse.ArgumentParser(prog="python -m rl_web_agent train", description=__doc__.split("\n")[0])
    add_config_args(ap, env_id)
    ap.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="auto = CUDA when present (for these small nets the CPU is as fast or faster) "
        "(default: %(default)s)",
    )
    ap.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue runs/<env-id>/<run>/ (its env, seed and hyperparameters; only "
        "--total-timesteps may change)",
    )
    ap.add_argument("--publish", action="store_true", help="also write the shipped policy models/<env-id>/")
    ap.add_argument(
        "--out", type=Path, default=Path("build/models"), help="policy output root (default: %(default)s)"
    )
    ap.add_argument(
        "--models",
        type=Path,
        default=Path("models"),
        help="shipped policies root, with --publish (default: %(default)s)",
    )
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="run folders root (default: %(default)s)")
    ap.add_argument("--no-plot", action="store_true", help="skip curve.png")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument(
        "--save-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="write the resumable state (atomically) at most this often, 0 = every iteration (default: "
        f"{SAVE_EVERY['mlp']:g}; {SAVE_EVERY['nature_cnn']:g} for nature_cnn, whose state is ~70 MB)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="PyTorch CPU threads for the updates (default: 1 for mlp; for nature_cnn 2, or 1 on a "
        "1-core machine, its rollouts keeping 1). Measured on the shared 2-core box: with the other core "
        "busy a second thread made the small MLP updates 15-60x slower, and NatureCNN's updates 2.7x; "
        "with other work using part of a core, 2 threads took Pong from 202-228 to 318-337 env steps/s (pass "
        "--threads 1 when other jobs keep both cores busy: 2 threads then fell to 81-118)",
    )
    return ap


# --save-every's default per network: a NatureCNN run state (model, Adam, best and up to 8 snapshots) is
# 55-70 MB and takes 0.2-0.3 s to write
SAVE_EVERY = {"mlp": 10.0, "nature_cnn": 60.0}


def default_threads(network: str) -> int:
    """--threads' default: 1 for an MLP; 2 for NatureCNN (its updates gain 1.4x), 1 on a 1-core machine."""
    return 1 if network == "mlp" else min(2, len(os.sched_getaffinity(0)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line (argv, else sys.argv[1:]); unset hyperparameters are None."""
    # --env first: --help shows that env's preset as the hyperparameters' defaults
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    pre.add_argument("--env", default=PPOConfig.env_id)
    try:
        env_id = pre.parse_known_args(argv)[0].env
    except argparse.ArgumentError:  # (--env without a value: the full parser says so)
        env_id = PPOConfig.env_id
    return build_parser(env_id).parse_args(argv)


def human(n: int) -> str:
    return f"{n:,} B" if n < 10_000 else f"{n / 1024:.1f} KiB"


def create_run_dir(root: Path, env_id: str, seed: int, stamp: str | None = None) -> Path:
    """Create a new, empty run folder root/<env-id>/<stamp>-s<seed>[-k] and return it. The mkdir is
    exclusive, so two trainings started in the same second with the same seed each get their own folder."""
    parent = root / env_id
    parent.mkdir(parents=True, exist_ok=True)
    base = f"{stamp or time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
    for k in range(1, 10_000):
        run = parent / (base if k == 1 else f"{base}-{k}")
        try:
            run.mkdir()
        except FileExistsError:
            continue
        return run
    raise UsageError(f"{parent} already holds 10,000 runs named {base}: clean it up or pass another --runs")


def missing_ancestors(path: Path) -> list[Path]:
    """path and its ancestors that do not exist yet, deepest first (what creating path would create)."""
    out = []
    for p in [path, *path.absolute().parents]:
        if p.exists():
            break
        out.append(p)
    return out


def remove_run(run_dir: Path, created: list[Path]) -> None:
    """Remove a run folder this process created, and the parents it created if they are empty now."""
    shutil.rmtree(run_dir, ignore_errors=True)
    for p in created:
        try:
            p.rmdir()  # fails (and stays) if another run put something in it meanwhile
        except OSError:
            break


def policy_folders(args: argparse.Namespace, env_id: str) -> list[Path]:
    """Where the policy is written: --out/<env-id>, and --models/<env-id> with --publish."""
    return [args.out / env_id] + ([args.models / env_id] if args.publish else [])


def setup(args: argparse.Namespace):
    """Validate everything that can be validated before training: config, env, resume file, output dirs.
    Creates nothing."""
    given = overrides(args)
    state = None
    if args.save_every is not None and not (math.isfinite(args.save_every) and args.save_every >= 0):
        raise UsageError(f"--save-every must be a finite number of seconds >= 0, got {args.save_every}")
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise UsageError(f"--threads must be an integer from 1 to 1024, got {args.threads}")
    if args.resume is not None:
        state = load_state(args.resume)
        try:
            cfg = validate(from_dict(state["config"]))
        except (TypeError, ValueError) as e:
            raise ResumeError(
                f"corrupt resume file {args.resume}/state.pt (config: {e}); start a new run"
            ) from e
        if args.env is not None and args.env != cfg.env_id:
            raise ResumeError(
                f"resume file {args.resume} is for {cfg.env_id}, not {args.env}: pass the "
                f"matching --env or a run folder of {args.env}"
            )
        if args.seed is not None and args.seed != cfg.seed:
            raise ResumeError(
                f"resume file {args.resume} was trained with seed {cfg.seed}, not "
                f"{args.seed}: drop --seed or pass --seed {cfg.seed}"
            )
        changed = {k: v for k, v in given.items() if k != "total_timesteps" and getattr(cfg, k) != v}
        if changed:
            raise UsageError(
                f"cannot change {', '.join(sorted(changed))} when resuming {args.resume} (only "
                f"--total-timesteps); start a new run instead"
            )
        if "total_timesteps" in given:
            cfg = validate(dataclasses.replace(cfg, total_timesteps=given["total_timesteps"]))
        run_dir = args.resume
    else:
        env_id = args.env or PPOConfig.env_id
        seed = PPOConfig.seed if args.seed is None else args.seed
        cfg = validate(dataclasses.replace(preset(env_id), seed=seed, **given))
        run_dir = None  # made exclusively once training starts (create_run_dir)
    obs_dim, action = train_spaces(cfg)
    validate(cfg, obs_dim, action["n"] if action["type"] == "discrete" else math.prod(action["shape"]))
    policies = policy_folders(args, cfg.env_id)
    for d in [*policies, run_dir or args.runs / cfg.env_id]:
        try:
            check_writable(d)
            if d in policies:
                check_policy_target(d)
        except OSError as e:
            raise UsageError(
                f"cannot write to {d} ({e.strerror or e} at {e.filename or d}): pick a writable "
                f"folder (--out, --runs, --models) or remove what is in the way"
            ) from e
    return cfg, state, run_dir


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg, state, run_dir = setup(args)
    except (UsageError, EnvError, ResumeError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads or default_threads(cfg.network))  # see --threads
    if args.save_every is None:
        args.save_every = SAVE_EVERY[cfg.network]

    try:
        if state is not None and state["config"]["total_timesteps"] != cfg.total_timesteps:
            state["trainer"]["finished"] = False
        trainer = Trainer(cfg, device=args.device, state=state)
    except MemoryError:
        print(
            f"error: out of memory building {cfg.n_envs} envs and the model: lower --n-envs or --hidden",
            file=sys.stderr,
        )
        return 2
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as e:
        if state is None:
            print(f"error: {first_line(e)}", file=sys.stderr)
        else:
            print(
                f"error: resume file {run_dir}/state.pt does not match {cfg.env_id} with this config "
                f"({type(e).__name__}: {first_line(e, 100)}); start a new run",
                file=sys.stderr,
            )
        return 2
    if trainer.env_lost:
        print(
            f"note: {cfg.env_id} keeps state in {', '.join(trainer.env_lost)}, which the run state cannot "
            f"hold as plain data: the resumed envs continue from fresh copies, not bit for bit",
            file=sys.stderr,
        )

    created: list[Path] = []
    if run_dir is None:
        created = missing_ancestors(args.runs / cfg.env_id)
        try:
            run_dir = create_run_dir(args.runs, cfg.env_id, cfg.seed)
        except OSError as e:
            print(
                f"error: cannot create a run folder in {args.runs / cfg.env_id} ({e.strerror or e}): "
                f"pick a writable --runs",
                file=sys.stderr,
            )
            return 2
    complete: list[bool] = []  # set once the run's final state is saved: from then on the folder is whole

    def fresh_and_partial() -> bool:
        return state is None and not complete

    try:
        return train_and_write(args, cfg, trainer, run_dir, resumed=state is not None, complete=complete)
    except (DivergedError, MemoryError) as e:
        oom = "out of memory while training: lower --n-envs or --n-steps"
        msg = str(e) if isinstance(e, DivergedError) else oom
        print(f"error: {msg}", file=sys.stderr)
        if fresh_and_partial():
            remove_run(run_dir, created)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C: keep the run only if it is resumable
        if fresh_and_partial() and not (run_dir / STATE_FILE).exists():
            remove_run(run_dir, created)
        raise
    except BaseException:  # a bug: no half-made run folder, and the traceback
        if fresh_and_partial():
            remove_run(run_dir, created)
        raise


def train_and_write(
    args: argparse.Namespace, cfg, trainer, run_dir: Path, resumed: bool, complete: list[bool]
) -> int:
    """Train in run_dir (config.json, metrics.csv, state.pt), then evaluate and write the policy; appends to
    complete once the final state is saved."""
    if not train_run(args, cfg, trainer, run_dir, resumed):
        save_state(run_dir, trainer.state_dict())
        print(
            f"interrupted at step {trainer.s.global_step:,}; state saved. Resume with: "
            f"python -m rl_web_agent train --resume {run_dir}",
            file=sys.stderr,
        )
        return 130
    final = trainer.finalize()
    save_state(run_dir, trainer.state_dict())
    complete.append(True)
    record = train_record(cfg, trainer, final, run_dir)
    t_snap = time.perf_counter()
    snaps = collect_snapshots(trainer, final, record)  # the page's timeline: untrained ... final
    t_snap = time.perf_counter() - t_snap
    try:
        written = write_policies(args, cfg, trainer, snaps, record)
    except (OSError, ValueError) as e:  # the run itself is complete and kept: its policy can be re-written
        why = f"{e.strerror} at {e.filename}" if isinstance(e, OSError) and e.strerror else str(e)
        print(
            f"error: cannot write the policy ({why}); the finished run is kept: write it elsewhere with "
            f"python -m rl_web_agent train --resume {run_dir} --out DIR",
            file=sys.stderr,
        )
        return 1
    if not args.no_plot:
        plot_curve(run_dir / "metrics.csv", run_dir / "curve.png", f"PPO {cfg.env_id} seed {cfg.seed}")
    report(cfg, trainer, final, snaps, t_snap, written, run_dir)
    return 0


def train_run(args: argparse.Namespace, cfg, trainer, run_dir: Path, resumed: bool) -> bool:
    """Train until the run finishes or a first Ctrl-C asks to stop (a second one aborts at once), writing
    run_dir's config.json and metrics.csv, and state.pt every --save-every seconds; whether it finished."""
    from tqdm import tqdm  # only when training: it takes a while to import

    (run_dir / "config.json").write_text(json.dumps(to_dict(cfg), indent=1) + "\n")
    if resumed:  # a run killed while it wrote its state (SIGKILL) leaves atomic_write's temp file behind
        for tmp in run_dir.glob(f".{STATE_FILE}.*.tmp"):
            tmp.unlink(missing_ok=True)
    metrics = MetricsCSV(run_dir / "metrics.csv", resume_step=trainer.s.global_step if resumed else None)
    stop = {"requested": False}

    def on_sigint(signum, frame):  # first Ctrl-C: stop after this iteration and save; second: abort now
        stop["requested"] = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    prev_handler = signal.signal(signal.SIGINT, on_sigint)
    net = (
        "NatureCNN on gymnasium-atari frames"
        if cfg.network == "nature_cnn"
        else f"hidden {list(cfg.hidden)} {cfg.activation}"
    )
    print(
        f"training {cfg.env_id} seed {cfg.seed} on {trainer.device}: {cfg.total_timesteps:,} steps max, "
        f"{cfg.n_envs} envs x {cfg.n_steps} steps, {net}; run {run_dir}",
        flush=True,
    )
    bar = tqdm(
        total=cfg.total_timesteps,
        initial=trainer.s.global_step,
        unit="step",
        unit_scale=True,
        disable=args.no_progress,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    last_save = [time.monotonic()]

    def on_iteration(p) -> None:
        metrics.write(p)
        bar.update(p.step - bar.n)
        post = {"return": f"{p.ep_return:.1f}"}
        if trainer.s.evals:
            post["eval"] = f"{trainer.s.evals[-1].mean:.1f}"
        bar.set_postfix(post, refresh=False)
        if time.monotonic() - last_save[0] >= args.save_every:
            save_state(run_dir, trainer.state_dict())
            last_save[0] = time.monotonic()

    try:
        trainer.run(on_iteration=on_iteration, should_stop=lambda: stop["requested"])
    finally:
        bar.close()
        metrics.close()
        signal.signal(signal.SIGINT, prev_handler)
    return not (stop["requested"] and not trainer.s.finished)


def train_record(cfg, trainer, final, run_dir: Path) -> dict:
    """policy.json's "train": how the policy was trained and its final greedy evaluation."""
    s = trainer.s
    return {
        "seed": cfg.seed,
        "env_steps": s.global_step,
        "wall_s": round(s.train_s + s.eval_s, 3),
        "train_s": round(s.train_s, 3),
        "eval": {
            "episodes": cfg.eval_episodes,
            "mean": final.mean,
            "std": final.std,
            "seed": cfg.eval_seed,
            "step": final.step,
        },
        "config": to_dict(cfg),
        "device": str(trainer.device),
        "run": str(run_dir),
        "versions": versions(),
    }


def write_policies(args: argparse.Namespace, cfg, trainer, snaps, record: dict) -> list[Path]:
    """The policy and its snapshots into each of policy_folders; the paths written. OSError or ValueError
    (a policy the checkpoint format refuses) when one cannot be written."""
    written: list[Path] = []
    for folder in policy_folders(args, cfg.env_id):
        written.append(write_snapshots(folder, trainer.model, cfg, trainer.obs_dim, snaps))
        written += write_policy(folder, trainer.model, cfg, trainer.obs_dim, record)
    return written


def report(cfg, trainer, final, snaps, t_snap: float, written: list[Path], run_dir: Path) -> None:
    """What the finished run measured and wrote."""
    s = trainer.s
    print(
        f"done: {s.global_step:,} env steps in {s.train_s:.1f} s training + {s.eval_s:.1f} s eval; "
        f"greedy eval over {cfg.eval_episodes} episodes: {final.mean:.1f} +- {final.std:.1f}"
    )
    steps = ", ".join(f"{st:,}" for st, _, _ in snaps)
    evals = ", ".join(f"{rec['eval']['mean']:.1f}" for _, _, rec in snaps)
    print(f"snapshots at env steps {steps}: greedy eval {evals} ({t_snap:.1f} s)")
    records = [run_dir / n for n in (STATE_FILE, "metrics.csv", "curve.png") if (run_dir / n).exists()]
    for p in written + records:
        size = f"{len(list(p.iterdir()))} policies" if p.is_dir() else human(p.stat().st_size)
        print(f"wrote {p} ({size})")
