"""Section `page`: the built site served gzipped on loopback, driven by headless Chromium; for every env page:

- bytes fetched until the first agent action: the navigation and every resource whose fetch started
  before status().firstActionMs (Resource Timing, same clock: bench.common.BEFORE_FIRST_ACTION_JS),
  counted as encodedBodySize (the gzipped body on the wire) and as transferSize (plus headers);
- time to the first agent action, empty cache, DevTools' "Regular 3G" via CDP
  Network.emulateNetworkConditions (100 ms latency, 750 kbit/s down, 250 kbit/s up; kbit = 1024 bit as in
  DevTools), median of several fresh browser contexts; also unthrottled for scale;
- script time per animation frame at 1x speed: from a Chrome trace (devtools.timeline), the union of the
  renderer main thread's script events (FunctionCall, FireAnimationFrame, TimerFire, EventDispatch,
  EvaluateScript, RunMicrotasks, v8.*) between one FireAnimationFrame and the next, median over frames; next
  to it the mean from CDP Performance.getMetrics (ScriptDuration delta / frames).

An Atari page (engine 'ale') has its own targets: the first action within 4 s on a 10 Mbit/s, 40 ms link,
and memory flat at max speed (memory_at_max_speed: the engine's memory and the JS heap after a forced
GC, sampled every minute for 10 minutes, 1 with --quick).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial

from bench.browser import for_each_page
from bench.common import BEFORE_FIRST_ACTION_JS, Row, median, skipped
from bench.context import Context

S = "page"
REGULAR_3G = {
    "offline": False,
    "latency": 100,
    "downloadThroughput": 750 * 1024 / 8,
    "uploadThroughput": 250 * 1024 / 8,
}
LINK_10M = {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 10e6 / 8}
FIRST_ACTION = "() => { try { return window.app.status().firstActionMs != null } catch (e) { return false } }"
SCRIPT_EVENTS = {
    "FunctionCall",
    "FireAnimationFrame",
    "TimerFire",
    "EventDispatch",
    "EvaluateScript",
    "RunMicrotasks",
    "v8.compile",
    "v8.compileModule",
    "v8.evaluateModule",
    "V8.Execute",
    "v8.run",
    "FireIdleCallback",
    "HandlePostMessage",
}
EVERY_BODY_JS = """() => [performance.getEntriesByType('navigation')[0],
  ...performance.getEntriesByType('resource')].map((e) => e.encodedBodySize)"""


def fetched_bytes(page) -> dict:
    """Bytes the page fetched before its first agent action (bench.common.BEFORE_FIRST_ACTION_JS): gzipped
    body, with headers, decoded; the files; and the gzipped bodies of every request so far."""
    before, every = page.evaluate(BEFORE_FIRST_ACTION_JS), page.evaluate(EVERY_BODY_JS)
    total = lambda k: sum(e.get(k) or 0 for e in before)
    return {
        "body": total("encodedBodySize"),
        "transfer": total("transferSize"),
        "decoded": total("decodedBodySize"),
        "n": len(before),
        "files": [[e["name"].split("/").pop() or "index.html", e["encodedBodySize"]] for e in before],
        "all_body": sum(every),
        "all_n": len(every),
    }


def load_once(browser, url: str, throttle: dict | None) -> dict:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttle:  # CDP network conditions (Regular 3G, bench/mujoco.py's 10 Mbit/s link)
            cdp.send("Network.emulateNetworkConditions", throttle)
        page.goto(url, wait_until="commit")
        page.wait_for_function(FIRST_ACTION, timeout=60_000, polling=20)
        status = page.evaluate("() => window.app.status()")
        fa = status["firstActionMs"]
        got = fetched_bytes(page)
        return {"first_action_ms": fa, "bytes": got, "backend": status.get("backend"), "errors": errors[:3]}
    finally:
        ctx.close()


def frame_script_times(trace: dict) -> tuple[list[float], int]:
    """Per-frame script milliseconds on the renderer main thread, from a Chrome trace."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    }
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
        return {
            "median_ms": median(per) if per else None,
            "p90_ms": sorted(per)[int(0.9 * len(per))] if per else None,
            "frames": len(per),
            "fps": len(per) / wall if per else None,
            "mean_metrics_ms": (m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000 / frames_metric,
            "steps_per_s": (s1["step"] - s0) / wall if isinstance(s1.get("step"), int) else None,
            "backend": s1.get("backend"),
        }
    finally:
        page.close()


def measure(ctx: Context) -> list[Row]:
    """Section page: every classic-control env page of the site (MuJoCo's are section mujoco's)."""
    from bench.mujoco import ENV_IDS as MUJOCO_IDS  # (bench.mujoco imports this module)

    runs, trace_s = (2, 2.0) if ctx.quick else (5, 5.0)
    rows = for_each_page(
        ctx,
        S,
        partial(
            measure_page,
            runs=runs,
            trace_s=trace_s,
            budget=lambda env_id: ctx.site_budgets[env_id],
            targets=lambda env_id: TARGETS[ctx.site_engines[env_id]],
        ),
        keep=lambda env_id: env_id not in MUJOCO_IDS,
    )
    minutes = 1.0 if ctx.quick else 10.0
    rows += for_each_page(
        ctx,
        S,
        lambda browser, url, env_id: memory_at_max_speed(browser, url, env_id, minutes),
        keep=lambda env_id: ctx.site_engines.get(env_id) == "ale",
    )
    left_out = ctx.facts.get("site_left_out", {})
    return [skipped(S, env_id, f"not built: {why}") for env_id, why in left_out.items()] + rows


@dataclass(frozen=True)
class Targets:
    """What one kind of page is held to: the link it loads over (CDP Network.emulateNetworkConditions) and the
    time to the first action on it, script time per frame. Its bytes until the first action are held to the
    budget the build recorded for the page (Context.site_budgets: web/build/report.mjs budgetGz)."""

    link: dict
    link_label: str
    first_ms: float
    frame_ms: float


CLASSIC = Targets(REGULAR_3G, "Regular 3G", 1000, 1.0)
# a Box2D page also fetches its engine (~42 KB gz) and steps it in wasm, hence its looser targets
BOX2D = Targets(REGULAR_3G, "Regular 3G", 1500, 2.0)
# an Atari page fetches a convolutional kernel (~1.5 MB gz int8), ALE (240 KB gz) and the ROM
ATARI = Targets(LINK_10M, "10 Mbit/s 40 ms", 4000, 3.0)
TARGETS = {
    None: CLASSIC,
    "box2d": BOX2D,
    "ale": ATARI,
}  # by the page's engine (Context.site_engines); MuJoCo: bench/mujoco.py


def kb_label(n: float) -> str:
    """A byte budget as the build prints it (KB = 1,024 bytes; MB above 1,024 KB)."""
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n / 1024:g} KB"


def load_rows(
    section: str, env_id: str, slow: list[dict], errors: list[str], spf: dict, t: Targets, budget: int
) -> list[Row]:
    """The rows of one env page against t and its byte budget (gzipped, until the first action): bytes and
    time until the first action (load_once on t.link, empty cache), console errors during load, script time
    per frame (script_per_frame)."""
    b = slow[0]["bytes"]
    files = ", ".join(f"{n} {s}" for n, s in b["files"])
    fa = median([r["first_action_ms"] for r in slow])
    rows = [
        Row(
            section,
            f"{env_id}: bytes fetched until first action (gzip bodies)",
            b["body"],
            "B",
            ratio=b["body"] / budget,
            ratio_to=kb_label(budget),
            target=f"<= {kb_label(budget)}",
            ok=b["body"] <= budget,
            extra={
                "transfer": b["transfer"],
                "decoded": b["decoded"],
                "files": b["files"],
                "all_fetched_body": b["all_body"],
            },
            note=f"{b['n']} requests: {files}; {b['transfer']} B with headers, {b['decoded']} B decoded",
        ),
        Row(
            section,
            f"{env_id}: first agent action, {t.link_label}, empty cache",
            fa,
            "ms",
            ratio=fa / t.first_ms,
            ratio_to=f"{t.first_ms / 1000:g} s",
            target=f"<= {t.first_ms:g} ms",
            ok=fa <= t.first_ms,
            extra={"runs_ms": [r["first_action_ms"] for r in slow], "backend": slow[0]["backend"]},
            note=f"median of {len(slow)}; backend {slow[0]['backend']}",
        ),
    ]
    if errors:
        rows.append(
            Row(
                section,
                f"{env_id}: console errors during load",
                len(errors),
                "",
                ok=False,
                note=" | ".join(errors)[:300],
            )
        )
    if spf["median_ms"] is None:
        rows.append(
            skipped(section, f"{env_id}: script time per frame", "no FireAnimationFrame events in the trace")
        )
    else:
        ms = spf["median_ms"]
        rows.append(
            Row(
                section,
                f"{env_id}: script time per frame at 1x (median, trace)",
                ms,
                "ms",
                ratio=ms / t.frame_ms,
                ratio_to=f"{t.frame_ms:g} ms",
                target=f"<= {t.frame_ms:g} ms",
                ok=ms <= t.frame_ms,
                extra=spf,
                note=f"{spf['frames']} frames, p90 {spf['p90_ms']:.3f} ms, {spf['fps']:.0f} fps, "
                f"{spf['steps_per_s'] or 0:.0f} env steps/s at 1x; CDP ScriptDuration mean "
                f"{spf['mean_metrics_ms']:.3f} ms/frame",
            )
        )
    return rows


def measure_page(
    browser, url: str, env_id: str, runs: int, trace_s: float, budget, targets=lambda env_id: CLASSIC
) -> list[Row]:
    """The three page numbers of one env's page against their targets (budget(env_id) bytes; targets(env_id):
    time to the first action on its link, script time per frame)."""
    t = targets(env_id)
    load_once(browser, url, throttle=None)  # discarded: first start of a renderer, server caches
    fast = [load_once(browser, url, throttle=None) for _ in range(runs)]
    slow = [load_once(browser, url, throttle=t.link) for _ in range(runs)]
    spf = script_per_frame(browser, url, trace_s)
    rows = load_rows(S, env_id, slow, slow[0]["errors"] or fast[0]["errors"], spf, t, budget(env_id))
    fa, fa0 = rows[1].value, median([r["first_action_ms"] for r in fast])
    rows.insert(
        2,
        Row(
            S,
            f"{env_id}: first agent action, loopback unthrottled",
            fa0,
            "ms",
            ratio=fa0 / fa if fa else None,
            ratio_to=t.link_label,
            extra={"runs_ms": [r["first_action_ms"] for r in fast]},
        ),
    )
    return rows


def memory_at_max_speed(browser, url: str, env_id: str, minutes: float) -> list[Row]:
    """The page at max speed for `minutes`: the engine's memory (status().engineBytes) and the JS heap after a
    forced GC (--js-flags=--expose-gc is not needed: CDP HeapProfiler.collectGarbage), sampled every minute;
    flat means the engine never grew and the heap's last sample is within 2x of its first."""
    page = browser.new_page()
    try:
        cdp = page.context.new_cdp_session(page)
        page.goto(url)
        page.wait_for_function(FIRST_ACTION, timeout=60_000)
        page.evaluate("window.app.setSpeed('max')")
        samples, t0 = [], time.monotonic()
        while True:
            cdp.send("HeapProfiler.collectGarbage")
            heap = cdp.send("Runtime.getHeapUsage")["usedSize"]
            s = page.evaluate(
                "(() => { const s = window.app.status(); return [s.step, s.episode, s.engineBytes]; })()"
            )
            samples.append(
                {
                    "s": round(time.monotonic() - t0),
                    "step": s[0],
                    "episode": s[1],
                    "engine": s[2],
                    "heap": heap,
                }
            )
            if time.monotonic() - t0 >= minutes * 60:
                break
            time.sleep(min(60.0, minutes * 60 - (time.monotonic() - t0)) + 0.01)
    finally:
        page.close()
    engine = [x["engine"] for x in samples]
    heap = [x["heap"] for x in samples]
    last = samples[-1]
    note = f"{len(samples)} samples over {minutes:g} min, {last['episode']} episodes, step {last['step']}"
    return [
        Row(
            S,
            f"{env_id}: engine memory growth at max speed, {minutes:g} min",
            max(engine) - engine[0],
            "B",
            target="0 B",
            ok=max(engine) == engine[0],
            extra={"samples": samples},
            note=f"{engine[0]:,} B at the start; {note}",
        ),
        Row(
            S,
            f"{env_id}: JS heap after GC, last / first sample, {minutes:g} min at max speed",
            heap[-1] / heap[0],
            "x",
            target="<= 2x",
            ok=heap[-1] <= 2 * heap[0],
            note=f"{heap[0] / 1e6:.2f} MB -> {heap[-1] / 1e6:.2f} MB, max {max(heap) / 1e6:.2f} MB; {note}",
        ),
    ]
