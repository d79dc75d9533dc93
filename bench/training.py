"""Section `train`: the training race on CartPole-v1, ours against Stable-Baselines3 PPO with the RL Zoo's
tuned hyperparameters, same protocol, same machine, same run; and `make train` itself per seed.

Protocol (bench/race_eval.py): greedy evaluation over 100 episodes with fixed seeds every 2,048 env steps; a
seed's time to solve is its training seconds (evaluation time excluded) up to the first evaluation scoring
500.0; the median over seeds is compared. Seeds of the two trainers are interleaved so that load from other
processes hits both alike. Each trainer runs in its own process with one torch thread.
"""
from __future__ import annotations

import json
import shutil
import sys
import time

from bench.common import BENCH, ENV_ID, ROOT, Row, median, run, skipped
from bench.context import Context
from bench.deps import ensure_sb3

S = "train"


def race(cmd: list[str], timeout: float) -> dict:
    p = run(cmd, timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_train(ctx: Context, seed: int) -> dict:
    """`make train`'s command (python -m train --env CartPole-v1 --seed S) with its outputs sent to a scratch
    folder (--out, --runs), so the user's build/models and runs/ stay untouched; wall time and final eval."""
    work = ctx.tmp / f"make-train-{seed}"
    t0 = time.perf_counter()
    run([sys.executable, "-m", "train", "--env", ENV_ID, "--seed", str(seed), "--out", str(work / "models"),
         "--runs", str(work / "runs"), "--no-progress"], timeout=600)
    wall = time.perf_counter() - t0
    meta = json.loads((work / "models" / ENV_ID / "policy.json").read_text())
    ev = meta["train"]["eval"]
    out = {"seed": seed, "wall_s": wall, "eval_mean": ev["mean"], "eval_std": ev.get("std"),
           "env_steps": meta["train"].get("env_steps"), "train_wall_s": meta["train"].get("wall_s")}
    shutil.rmtree(work, ignore_errors=True)
    return out


def summarize(results: list[dict]) -> dict:
    solved = [r["solved"] for r in results if r.get("solved")]
    inf = float("inf")
    times = [r["solved"]["train_s"] if r.get("solved") else inf for r in results]
    steps = [r["solved"]["steps"] if r.get("solved") else inf for r in results]
    return {"n": len(results), "solved": len(solved), "median_s": median(times),
            "median_steps": median(steps), "per_seed_s": times, "per_seed_steps": steps}


def measure(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    seeds = list(range(1, ctx.seeds + 1))
    ours_cmd = [sys.executable, str(BENCH / "race_ours.py")]
    have_ours = (ROOT / "train" / "__main__.py").is_file()
    try:
        sb3_py = ensure_sb3()
    except Exception as e:  # noqa: BLE001
        sb3_py = None
        rows.append(skipped(S, "Stable-Baselines3", f"could not install bench/.venv-sb3: {e}"))
    if not have_ours:
        rows.append(skipped(S, "ours", "train/ has no CLI yet (train/__main__.py missing)"))

    ours, sb3, errors = [], [], []
    for seed in seeds:
        if have_ours:
            try:
                ours.append(race([*ours_cmd, str(seed)], timeout=900))
            except Exception as e:  # noqa: BLE001
                errors.append(f"ours seed {seed}: {e}")
        if sb3_py:
            try:
                sb3.append(race([str(sb3_py), str(BENCH / "race_sb3.py"), str(seed)], timeout=900))
                ctx.facts["sb3_version"] = sb3[-1].get("version")
            except Exception as e:  # noqa: BLE001
                errors.append(f"sb3 seed {seed}: {e}")
    for err in errors:
        rows.append(skipped(S, err.split(":")[0], err.split(":", 1)[1].strip()[:300]))

    o, b = (summarize(ours) if ours else None), (summarize(sb3) if sb3 else None)
    fmt_seeds = lambda s, f="{:.1f}": ", ".join("unsolved" if v == float("inf") else f.format(v) for v in s)
    for who, s, res in (("ours", o, ours), ("SB3 PPO (RL Zoo)", b, sb3)):
        if not s:
            continue
        t = Row(S, f"{who}: time to solve, median of {s['n']}", s["median_s"], "s",
                extra={"per_seed_s": s["per_seed_s"], "runs": res},
                note=f"training s, evals excluded; seeds {seeds[:s['n']]}: {fmt_seeds(s['per_seed_s'])} s; "
                     f"solved {s['solved']}/{s['n']}")
        st = Row(S, f"{who}: env steps to solve, median of {s['n']}", s["median_steps"], "steps",
                 extra={"per_seed_steps": s["per_seed_steps"]},
                 note=f"per seed: {fmt_seeds(s['per_seed_steps'], '{:,.0f}')}")
        if who == "ours" and b:
            t.ratio, t.ratio_to, t.target = s["median_s"] / b["median_s"], "SB3", "<= 0.5x SB3"
            t.ok = t.ratio <= 0.5
            st.ratio, st.ratio_to = s["median_steps"] / b["median_steps"], "SB3"
        rows += [t, st]

    if have_ours:
        mt = []
        for seed in seeds:
            try:
                mt.append(make_train(ctx, seed))
            except Exception as e:  # noqa: BLE001
                rows.append(skipped(S, f"make train seed {seed}", str(e)[:300]))
        if mt:
            walls = [r["wall_s"] for r in mt]
            means = [r["eval_mean"] for r in mt]
            rows.append(Row(S, f"make train wall time (max of {len(mt)} seeds)", max(walls), "s",
                            ratio=max(walls) / 20, ratio_to="20 s", target="<= 20 s", ok=max(walls) <= 20,
                            extra={"runs": mt},
                            note="per seed: " + ", ".join(f"{w:.1f}" for w in walls) + " s"))
            n500 = sum(m >= 500.0 for m in means)
            rows.append(Row(S, "make train final greedy eval (min over seeds)", min(means), "return",
                            target=f"500.0 for {len(mt)}/{len(mt)}", ok=n500 == len(mt),
                            note="per seed: " + ", ".join(f"{m:.1f}" for m in means)))
    return rows

