"""Section `page`: the built site served gzipped on loopback, driven by headless Chromium; for every env page:

- bytes fetched until the first agent action: the navigation and every resource whose responseEnd comes
  before status().firstActionMs (Resource Timing, same clock), counted as encodedBodySize (the gzipped body
  on the wire) and as transferSize (plus headers);
- time to the first agent action, empty cache, DevTools' "Regular 3G" via CDP
  Network.emulateNetworkConditions (100 ms latency, 750 kbit/s down, 250 kbit/s up; kbit = 1024 bit as in
  DevTools), median of several fresh browser contexts; also unthrottled for scale;
- script time per animation frame at 1x speed: from a Chrome trace (devtools.timeline), the union of the
  renderer main thread's script events (FunctionCall, FireAnimationFrame, TimerFire, EventDispatch,
  EvaluateScript, RunMicrotasks, v8.*) between one FireAnimationFrame and the next, median over frames; next
  to it the mean from CDP Performance.getMetrics (ScriptDuration delta / frames).
"""
from __future__ import annotations

import json
import time

from bench.common import CHROMIUM_ARGS, Row, chromium_path, median, skipped
from bench.context import Context
from bench.serve import serve

S = "page"
REGULAR_3G = {"offline": False, "latency": 100, "downloadThroughput": 750 * 1024 / 8,
              "uploadThroughput": 250 * 1024 / 8}
FIRST_ACTION = "() => { try { return window.app.status().firstActionMs != null } catch (e) { return false } }"
SCRIPT_EVENTS = {"FunctionCall", "FireAnimationFrame", "TimerFire", "EventDispatch", "EvaluateScript",
                 "RunMicrotasks", "v8.compile", "v8.compileModule", "v8.evaluateModule", "V8.Execute",
                 "v8.run", "FireIdleCallback", "HandlePostMessage"}
BYTES_JS = """fa => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const before = [nav, ...res].filter(e => e.responseEnd <= fa);
  const sum = (xs, k) => xs.reduce((a, e) => a + (e[k] || 0), 0);
  return {body: sum(before, 'encodedBodySize'), transfer: sum(before, 'transferSize'),
          decoded: sum(before, 'decodedBodySize'), n: before.length,
          files: before.map(e => [e.name.split('/').pop() || 'index.html', e.encodedBodySize]),
          all_body: sum([nav, ...res], 'encodedBodySize'), all_n: res.length + 1};
}"""


def load_once(browser, url: str, throttle: bool | dict) -> dict:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttle:  # True: Regular 3G; a dict: those conditions (bench/mujoco.py's 10 Mbit/s link)
            cdp.send("Network.emulateNetworkConditions",
                     throttle if isinstance(throttle, dict) else REGULAR_3G)
        page.goto(url, wait_until="commit")
        page.wait_for_function(FIRST_ACTION, timeout=60_000, polling=20)
        status = page.evaluate("() => window.app.status()")
        fa = status["firstActionMs"]
        got = page.evaluate(BYTES_JS, fa)
        return {"first_action_ms": fa, "bytes": got, "backend": status.get("backend"), "errors": errors[:3]}
    finally:
        ctx.close()


def frame_script_times(trace: dict) -> tuple[list[float], int]:
    """Per-frame script milliseconds on the renderer main thread, from a Chrome trace."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"
             and e["args"].get("name") == "CrRendererMain"}
    frames: dict[tuple, list[float]] = {}
    spans: dict[tuple, list[tuple[float, float]]] = {}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if key not in mains or e.get("ph") != "X" or e.get("name") not in SCRIPT_EVENTS:
            continue
        spans.setdefault(key, []).append((e["ts"], e["ts"] + e.get("dur", 0)))
        if e["name"] == "FireAnimationFrame":
            frames.setdefault(key, []).append(e["ts"])
    if not frames:
        return [], 0
    key = max(frames, key=lambda k: len(frames[k]))  # the page's renderer (about:blank has none)
    starts = sorted(frames[key])
    merged: list[list[float]] = []
    for a, b in sorted(spans[key]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    per = [0.0] * (len(starts) - 1)
    j = 0
    for a, b in merged:
        while j + 1 < len(starts) and starts[j + 1] <= a:
            j += 1
        if j + 1 >= len(starts) or a < starts[0]:
            continue
        per[j] += (min(b, starts[j + 1]) - a) / 1000.0
    return per, len(starts)


def script_per_frame(browser, url: str, seconds: float) -> dict:
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function(FIRST_ACTION, timeout=60_000)
        page.wait_for_timeout(1000)  # past start-up: steady state at the default 1x speed
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        m0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        s0 = page.evaluate("() => window.app.status().step")
        browser.start_tracing(page=page, categories=["devtools.timeline", "v8.execute", "v8"])
        t0 = time.perf_counter()
        page.wait_for_timeout(seconds * 1000)
        trace = json.loads(browser.stop_tracing())
        wall = time.perf_counter() - t0
        m1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        s1 = page.evaluate("() => window.app.status()")
        per, n_frames = frame_script_times(trace)
        frames_metric = (m1.get("Frames", 0) - m0.get("Frames", 0)) or max(n_frames - 1, 1)
        return {"median_ms": median(per) if per else None,
                "p90_ms": sorted(per)[int(0.9 * len(per))] if per else None,
                "frames": len(per), "fps": len(per) / wall if per else None,
                "mean_metrics_ms": (m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000 / frames_metric,
                "steps_per_s": (s1["step"] - s0) / wall if isinstance(s1.get("step"), int) else None,
                "backend": s1.get("backend")}
    finally:
        page.close()


def measure(ctx: Context) -> list[Row]:
    if chromium_path() is None:
        return [skipped(S, "all", "no Chromium found: apt-get install chromium (or set CHROME=/path)")]
    try:
        site, pages = ctx.site, ctx.site_pages
    except Exception as e:  # noqa: BLE001
        return [skipped(S, "all", f"no page: {e}")]
    from playwright.sync_api import sync_playwright

    rows: list[Row] = [skipped(S, env_id, f"not built: {why}")
                       for env_id, why in ctx.facts.get("site_left_out", {}).items()]
    runs = 2 if ctx.quick else 5
    with serve({"/": site}, use_gzip=True) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            from bench.mujoco import ENV_IDS as MUJOCO_IDS  # (bench.mujoco imports this module)
            for env_id, folder in pages.items():
                if env_id in MUJOCO_IDS:
                    continue  # engine pages: section mujoco, against their own targets
                rows += measure_page(browser, f"{base}/{folder}", env_id, runs, 2.0 if ctx.quick else 5.0)
        finally:
            browser.close()
    return rows


def measure_page(browser, url: str, env_id: str, runs: int, trace_s: float) -> list[Row]:
    """The three page numbers of one env's page against their targets (32 KB, 1 s, 1 ms)."""
    load_once(browser, url, throttle=False)  # discarded: first start of a renderer, server caches
    fast = [load_once(browser, url, throttle=False) for _ in range(runs)]
    slow = [load_once(browser, url, throttle=True) for _ in range(runs)]
    spf = script_per_frame(browser, url, trace_s)

    rows: list[Row] = []
    b = slow[0]["bytes"]
    files = ", ".join(f"{n} {s}" for n, s in b["files"])
    rows.append(Row(S, f"{env_id}: bytes fetched until first action (gzip bodies)", b["body"], "B",
                    ratio=b["body"] / 32768,
                    ratio_to="32 KB", target="<= 32768 B", ok=b["body"] <= 32768,
                    extra={"transfer": b["transfer"], "decoded": b["decoded"], "files": b["files"],
                           "all_fetched_body": b["all_body"]},
                    note=f"{b['n']} requests: {files}; {b['transfer']} B with headers, "
                         f"{b['decoded']} B decoded"))
    fa = median([r["first_action_ms"] for r in slow])
    fa0 = median([r["first_action_ms"] for r in fast])
    rows.append(Row(S, f"{env_id}: first agent action, Regular 3G, empty cache", fa, "ms", ratio=fa / 1000,
                    ratio_to="1 s", target="<= 1000 ms", ok=fa <= 1000,
                    extra={"runs_ms": [r["first_action_ms"] for r in slow], "backend": slow[0]["backend"]},
                    note=f"median of {runs}; backend {slow[0]['backend']}"))
    rows.append(Row(S, f"{env_id}: first agent action, loopback unthrottled", fa0, "ms",
                    ratio=fa0 / fa if fa else None, ratio_to="Regular 3G",
                    extra={"runs_ms": [r["first_action_ms"] for r in fast]}))
    errs = slow[0]["errors"] or fast[0]["errors"]
    if errs:
        rows.append(Row(S, f"{env_id}: console errors during load", len(errs), "", ok=False,
                        note=" | ".join(errs)[:300]))
    if spf["median_ms"] is None:
        rows.append(skipped(S, f"{env_id}: script time per frame",
                            "no FireAnimationFrame events in the trace"))
    else:
        rows.append(Row(S, f"{env_id}: script time per frame at 1x (median, trace)", spf["median_ms"], "ms",
                        ratio=spf["median_ms"] / (1000 / 60), ratio_to="16.7 ms frame", target="<= 1 ms",
                        ok=spf["median_ms"] <= 1.0, extra=spf,
                        note=f"{spf['frames']} frames, p90 {spf['p90_ms']:.3f} ms, {spf['fps']:.0f} fps; "
                             f"CDP ScriptDuration mean {spf['mean_metrics_ms']:.3f} ms/frame"))
    return rows
