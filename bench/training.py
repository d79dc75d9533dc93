"""Section `train`: the training race on every env of bench/race_eval.py's RACES (the five classic-control
envs, the two LunarLanders and BipedalWalker), ours against Stable-Baselines3 PPO with the RL Zoo's tuned
hyperparameters, same protocol, same machine, same run; and `make train` itself per seed on CartPole-v1.

Protocol (bench/race_eval.py): greedy evaluation over 100 episodes with fixed seeds on the env's grid of env
steps (2,048 for CartPole); a seed's time to solve is its training seconds (evaluation time excluded) up to
the first evaluation reaching the env's threshold (CartPole 500, Acrobot -100, Pendulum -200, MountainCar
-110, MountainCarContinuous 90, both LunarLanders 200, BipedalWalker 300 over 10 episodes); the median over
seeds is compared, an unsolved seed counting as infinitely slow. Each trainer gets its own budget (ours: its
preset's; SB3: the Zoo's n_timesteps). Seeds of the two trainers are interleaved so that load from other
processes hits both alike. Each trainer runs in its own process with one torch thread.
BENCH_TRAIN_ENVS=Acrobot-v1,Pendulum-v1 races only those envs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time

from bench.common import BENCH, ENV_ID, ROOT, Row, median, run, skipped
from bench.context import Context
from bench.deps import ensure_sb3
from bench.race_eval import RACES

S = "train"
# seconds one seed may take: SB3's MountainCar-v0 budget is 1M env steps (16 x 16-step rollouts)
# and LunarLander's 1M (16 x 1024-step rollouts, 1,024 minibatches of 64 each: ~10 min on a quiet 2-core CPU)
TIMEOUT_S = {
    "MountainCar-v0": 2400,
    "Acrobot-v1": 1800,
    "LunarLander-v3": 3600,
    "LunarLanderContinuous-v3": 3600,
    # SB3's 5M env steps (32 x 2048-step rollouts): over an hour here; ours stops at the first greedy 300
    "BipedalWalker-v3": 3 * 3600,
}


def race_envs() -> list[str]:
    """The envs to race: BENCH_TRAIN_ENVS (comma-separated ids) or all of RACES."""
    want = [e.strip() for e in os.environ.get("BENCH_TRAIN_ENVS", "").split(",") if e.strip()]
    unknown = [e for e in want if e not in RACES]
    if unknown:
        raise SystemExit(f"BENCH_TRAIN_ENVS names {unknown}, not raced; pick from {', '.join(RACES)}")
    return want or list(RACES)


def race(cmd: list[str], timeout: float) -> dict:
    p = run(cmd, timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_train(ctx: Context, seed: int) -> dict:
    """`make train`'s command (python -m rl_web_agent train --env CartPole-v1 --seed S) with its outputs sent
    to a scratch folder (--out, --runs), so the user's build/models and runs/ stay untouched; wall time and
    final eval."""
    work = ctx.tmp / f"make-train-{seed}"
    t0 = time.perf_counter()
    run(
        [
            sys.executable,
            "-m",
            "rl_web_agent",
            "train",
            "--env",
            ENV_ID,
            "--seed",
            str(seed),
            "--out",
            str(work / "models"),
            "--runs",
            str(work / "runs"),
            "--no-progress",
        ],
        timeout=600,
    )
    wall = time.perf_counter() - t0
    meta = json.loads((work / "models" / ENV_ID / "policy.json").read_text())
    ev = meta["train"]["eval"]
    out = {
        "seed": seed,
        "wall_s": wall,
        "eval_mean": ev["mean"],
        "eval_std": ev.get("std"),
        "env_steps": meta["train"].get("env_steps"),
        "train_wall_s": meta["train"].get("wall_s"),
    }
    shutil.rmtree(work, ignore_errors=True)
    return out


def summarize(results: list[dict]) -> dict:
    solved = [r["solved"] for r in results if r.get("solved")]
    inf = float("inf")
    times = [r["solved"]["train_s"] if r.get("solved") else inf for r in results]
    steps = [r["solved"]["steps"] if r.get("solved") else inf for r in results]
    return {
        "n": len(results),
        "solved": len(solved),
        "median_s": median(times),
        "median_steps": median(steps),
        "per_seed_s": times,
        "per_seed_steps": steps,
    }


def race_rows(env_id: str, seeds: list[int], ours: list[dict], sb3: list[dict]) -> list[Row]:
    """Median time and env steps to solve of each trainer on env_id; ours carries the ratio to SB3."""
    rows: list[Row] = []
    o, b = (summarize(ours) if ours else None), (summarize(sb3) if sb3 else None)
    fmt_seeds = lambda s, f="{:.1f}": ", ".join("unsolved" if v == math.inf else f.format(v) for v in s)
    for who, s, res in (("ours", o, ours), ("SB3 PPO (RL Zoo)", b, sb3)):
        if not s:
            continue
        t = Row(
            S,
            f"{env_id} {who}: time to solve, median of {s['n']}",
            s["median_s"],
            "s",
            extra={"env": env_id, "per_seed_s": s["per_seed_s"], "runs": res},
            note=f"training s, evals excluded; seeds {seeds[: s['n']]}: {fmt_seeds(s['per_seed_s'])} s; "
            f"solved {s['solved']}/{s['n']}",
        )
        st = Row(
            S,
            f"{env_id} {who}: env steps to solve, median of {s['n']}",
            s["median_steps"],
            "steps",
            extra={"env": env_id, "per_seed_steps": s["per_seed_steps"]},
            note=f"per seed: {fmt_seeds(s['per_seed_steps'], '{:,.0f}')}",
        )
        if who == "ours" and b:
            # an unsolved median on SB3's side makes any solved median of ours a ratio of 0
            ratio = lambda x, y: x / y if math.isfinite(y) else (0.0 if math.isfinite(x) else math.inf)
            t.ratio, t.ratio_to, t.target = ratio(s["median_s"], b["median_s"]), "SB3", "<= 0.5x SB3"
            t.ok = t.ratio <= 0.5
            st.ratio, st.ratio_to = ratio(s["median_steps"], b["median_steps"]), "SB3"
        rows += [t, st]
    return rows


def measure(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    seeds = list(range(1, ctx.seeds + 1))
    have_ours = (ROOT / "rl_web_agent" / "train" / "__main__.py").is_file()
    try:
        sb3_py = ensure_sb3()
    except Exception as e:  # noqa: BLE001
        sb3_py = None
        rows.append(skipped(S, "Stable-Baselines3", f"could not install bench/.venv-sb3: {e}"))
    if not have_ours:
        rows.append(
            skipped(S, "ours", "rl_web_agent/train has no CLI yet (rl_web_agent/train/__main__.py missing)")
        )

    envs = race_envs()
    for env_id in envs:
        timeout = TIMEOUT_S.get(env_id, 900)
        ours_cmd = [sys.executable, str(BENCH / "race_ours.py")]
        ours, sb3, errors = [], [], []
        for seed in seeds:
            if have_ours:
                try:
                    ours.append(race([*ours_cmd, str(seed), "--env", env_id], timeout=timeout))
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{env_id} ours seed {seed}: {e}")
            if sb3_py:
                try:
                    sb3.append(
                        race(
                            [str(sb3_py), str(BENCH / "race_sb3.py"), str(seed), "--env", env_id],
                            timeout=timeout,
                        )
                    )
                    ctx.facts["sb3_version"] = sb3[-1].get("version")
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{env_id} sb3 seed {seed}: {e}")
        for err in errors:
            rows.append(skipped(S, err.split(":")[0], err.split(":", 1)[1].strip()[:300]))
        rows += race_rows(env_id, seeds, ours, sb3)

    if have_ours and ENV_ID in envs:
        mt = []
        for seed in seeds:
            try:
                mt.append(make_train(ctx, seed))
            except Exception as e:  # noqa: BLE001
                rows.append(skipped(S, f"make train seed {seed}", str(e)[:300]))
        if mt:
            walls = [r["wall_s"] for r in mt]
            means = [r["eval_mean"] for r in mt]
            rows.append(
                Row(
                    S,
                    f"make train wall time (max of {len(mt)} seeds)",
                    max(walls),
                    "s",
                    ratio=max(walls) / 20,
                    ratio_to="20 s",
                    target="<= 20 s",
                    ok=max(walls) <= 20,
                    extra={"runs": mt},
                    note="per seed: " + ", ".join(f"{w:.1f}" for w in walls) + " s",
                )
            )
            n500 = sum(m >= 500.0 for m in means)
            rows.append(
                Row(
                    S,
                    "make train final greedy eval (min over seeds)",
                    min(means),
                    "return",
                    target=f"500.0 for {len(mt)}/{len(mt)}",
                    ok=n500 == len(mt),
                    note="per seed: " + ", ".join(f"{m:.1f}" for m in means),
                )
            )
    return rows
