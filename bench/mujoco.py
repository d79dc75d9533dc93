"""Section `mujoco`: every MuJoCo env page of the site (Hopper-v5, HalfCheetah-v5, Walker2d-v5; their own
targets, not the classic-control pages' 32 KB / 1 s), served gzipped on loopback to headless Chromium:

- bytes fetched until the first agent action (gzipped bodies; the stripped MuJoCo engine is most of them),
  target: the budget the build records, 1.6 MB;
- time to the first agent action, empty cache, on an emulated 10 Mbit/s link with 40 ms latency (CDP
  Network.emulateNetworkConditions), median of several fresh contexts, target <= 3 s;
- script time per animation frame at 1x (bench.page's trace method), target <= 4 ms;
- physics in Chromium: env steps per second at max speed (each one policy forward pass and frame_skip
  mj_step calls of the wasm engine), and the mj_step rate that makes.
"""

from __future__ import annotations

import time
from functools import partial

from bench.browser import for_each_page
from bench.common import Row
from bench.context import Context
from bench.page import LINK_10M, Targets, load_once, load_rows, script_per_frame

S = "mujoco"
ENV_IDS = {"Hopper-v5": 4, "HalfCheetah-v5": 5, "Walker2d-v5": 4}  # env id -> frame_skip
MUJOCO = Targets(LINK_10M, "10 Mbit/s 40 ms", 3000, 4.0)
STEPPING = "() => { try { return window.app.status().step > 0 } catch (e) { return false } }"


def steps_per_second(browser, url: str, seconds: float) -> float:
    """Env steps per second at max speed: steps counted per episode (status polled every 50 ms)."""
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function(STEPPING, timeout=60_000)
        page.evaluate("window.app.setSpeed('max')")
        page.wait_for_timeout(500)
        s = page.evaluate("window.app.status()")
        first, seen = (s["episode"], s["step"]), {}
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            page.wait_for_timeout(50)
            s = page.evaluate("window.app.status()")
            seen[s["episode"]] = max(seen.get(s["episode"], 0), s["step"])
        wall = time.perf_counter() - t0
        seen[first[0]] = seen.get(first[0], first[1]) - first[1]  # only what ran after the clock started
        return sum(seen.values()) / wall
    finally:
        page.close()


def measure(ctx: Context) -> list[Row]:
    """Section mujoco: every MuJoCo env page of the site."""
    runs, seconds = (2, 2.0) if ctx.quick else (5, 5.0)
    return for_each_page(
        ctx,
        S,
        partial(measure_page, runs=runs, seconds=seconds, budget=lambda env_id: ctx.site_budgets[env_id]),
        keep=lambda env_id: env_id in ENV_IDS,
        none="no MuJoCo env has a policy (models/Hopper-v5, ...): nothing to measure",
    )


def measure_page(browser, url: str, env_id: str, runs: int, seconds: float, budget) -> list[Row]:
    """One MuJoCo page against its targets (budget(env_id) bytes, 3 s, 4 ms), and its env steps per second."""
    load_once(browser, url, throttle=None)  # discarded: first start of a renderer, server caches
    slow = [load_once(browser, url, throttle=MUJOCO.link) for _ in range(runs)]
    spf = script_per_frame(browser, url, seconds)
    sps = steps_per_second(browser, url, seconds)
    rows = load_rows(S, env_id, slow, slow[0]["errors"], spf, MUJOCO, budget(env_id))
    skip = ENV_IDS[env_id]
    rows.append(
        Row(
            S,
            f"{env_id}: env steps per second in Chromium (max speed)",
            sps,
            "steps/s",
            extra={"mj_step_per_s": sps * skip, "frame_skip": skip},
            note=f"each step: one policy forward pass and {skip} mj_step calls: {sps * skip:,.0f} mj_step/s",
        )
    )
    return rows
