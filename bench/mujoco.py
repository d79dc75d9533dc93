"""Section `mujoco`: every MuJoCo env page of the site (Hopper-v5, HalfCheetah-v5, Walker2d-v5; issue 15's
targets, not the classic-control pages' 32 KB / 1 s), served gzipped on loopback to headless Chromium:

- bytes fetched until the first agent action (gzipped bodies; the stripped MuJoCo engine is most of them),
  target <= 1.5 MB;
- time to the first agent action, empty cache, on an emulated 10 Mbit/s link with 40 ms latency (CDP
  Network.emulateNetworkConditions), median of several fresh contexts, target <= 3 s;
- script time per animation frame at 1x (bench.page's trace method), target <= 4 ms;
- physics in Chromium: env steps per second at max speed (each one policy forward pass and frame_skip
  mj_step calls of the wasm engine), and the mj_step rate that makes.
"""
from __future__ import annotations

import time

from bench.common import CHROMIUM_ARGS, Row, chromium_path, median, skipped
from bench.context import Context
from bench.page import load_once, script_per_frame
from bench.serve import serve

S = "mujoco"
ENV_IDS = {"Hopper-v5": 4, "HalfCheetah-v5": 5, "Walker2d-v5": 4}  # env id -> frame_skip
LINK_10M = {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 10e6 / 8}
BUDGET_B, FIRST_MS, FRAME_MS = 1.5 * 2**20, 3000, 4.0
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
    if chromium_path() is None:
        return [skipped(S, "all", "no Chromium found: apt-get install chromium (or set CHROME=/path)")]
    try:
        site, pages = ctx.site, {e: p for e, p in ctx.site_pages.items() if e in ENV_IDS}
    except Exception as e:  # noqa: BLE001
        return [skipped(S, "all", f"no page: {e}")]
    if not pages:
        return [skipped(S, "all", "no MuJoCo env has a policy (models/Hopper-v5, ...): nothing to measure")]
    from playwright.sync_api import sync_playwright

    rows: list[Row] = []
    runs = 2 if ctx.quick else 5
    with serve({"/": site}, use_gzip=True) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            for env_id, folder in pages.items():
                rows += measure_page(browser, f"{base}/{folder}", env_id, runs, 2.0 if ctx.quick else 5.0)
        finally:
            browser.close()
    return rows


def measure_page(browser, url: str, env_id: str, runs: int, seconds: float) -> list[Row]:
    load_once(browser, url, throttle=False)  # discarded: first start of a renderer, server caches
    slow = [load_once(browser, url, throttle=LINK_10M) for _ in range(runs)]
    spf = script_per_frame(browser, url, seconds)
    sps = steps_per_second(browser, url, seconds)

    b = slow[0]["bytes"]
    files = ", ".join(f"{n} {s}" for n, s in b["files"])
    fa = median([r["first_action_ms"] for r in slow])
    rows = [
        Row(S, f"{env_id}: bytes fetched until first action (gzip bodies)", b["body"], "B",
            ratio=b["body"] / BUDGET_B, ratio_to="1.5 MB", target="<= 1.5 MB", ok=b["body"] <= BUDGET_B,
            extra={"transfer": b["transfer"], "decoded": b["decoded"], "files": b["files"]},
            note=f"{b['n']} requests: {files}"),
        Row(S, f"{env_id}: first agent action, 10 Mbit/s 40 ms, empty cache", fa, "ms", ratio=fa / FIRST_MS,
            ratio_to="3 s", target="<= 3000 ms", ok=fa <= FIRST_MS,
            extra={"runs_ms": [r["first_action_ms"] for r in slow], "backend": slow[0]["backend"]},
            note=f"median of {runs}; backend {slow[0]['backend']}"),
    ]
    errs = slow[0]["errors"]
    if errs:
        rows.append(Row(S, f"{env_id}: console errors during load", len(errs), "", ok=False,
                        note=" | ".join(errs)[:300]))
    if spf["median_ms"] is None:
        rows.append(skipped(S, f"{env_id}: script time per frame", "no FireAnimationFrame in the trace"))
    else:
        rows.append(Row(S, f"{env_id}: script time per frame at 1x (median, trace)", spf["median_ms"], "ms",
                        ratio=spf["median_ms"] / FRAME_MS, ratio_to="4 ms", target="<= 4 ms",
                        ok=spf["median_ms"] <= FRAME_MS, extra=spf,
                        note=f"{spf['frames']} frames, p90 {spf['p90_ms']:.3f} ms, {spf['fps']:.0f} fps, "
                             f"{spf['steps_per_s'] or 0:.0f} env steps/s at 1x"))
    skip = ENV_IDS[env_id]
    rows.append(Row(S, f"{env_id}: env steps per second in Chromium (max speed)", sps, "steps/s",
                    extra={"mj_step_per_s": sps * skip, "frame_skip": skip},
                    note=f"each step: one policy forward pass and {skip} mj_step calls: {sps * skip:,.0f} "
                         f"mj_step/s"))
    return rows
