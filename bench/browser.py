"""Headless Chromium for the browser sections: folders served on loopback to one browser; the site's pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import CHROMIUM_ARGS, NO_CHROMIUM, Row, chromium_path, skipped
from bench.context import Context
from bench.serve import serve


@contextmanager
def chromium(mounts: dict[str, Path], use_gzip: bool = False) -> Iterator[tuple[Any, str]]:
    """(browser, base URL): mounts served on loopback (bench.serve) to a headless Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with serve(mounts, use_gzip=use_gzip) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser, base
        finally:
            browser.close()


def run_harness(mounts: dict[str, Path], path: str, ready: str, fn: str, cfg: dict) -> dict:
    """window[fn](cfg)'s result on the page at path (once window[ready] is true) in a headless Chromium
    serving mounts, with the browser's version and the page's first three errors (page_errors) if any."""
    with chromium(mounts) as (browser, base):
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + path)
        page.wait_for_function(f"window.{ready} === true", timeout=60_000)
        out = page.evaluate(f"cfg => window.{fn}(cfg)", cfg)
        out["version"] = browser.version
        if errors:
            out["page_errors"] = errors[:3]
        return out


def for_each_page(
    ctx: Context,
    section: str,
    fn: Callable[[Any, str, str], list[Row]],
    keep: Callable[[str], bool] = lambda env_id: True,
    none: str | None = None,
) -> list[Row]:
    """fn(browser, page URL, env id)'s rows for each env page of the run's site that keep() accepts, the site
    served gzipped (as a static host would) to one headless Chromium. A skip row instead when there is no
    Chromium or no site, and `none` as one when no page is kept (no row at all when none is None)."""
    if chromium_path() is None:
        return [skipped(section, "all", NO_CHROMIUM)]
    try:
        site, pages = ctx.site, {e: p for e, p in ctx.site_pages.items() if keep(e)}
    except Exception as e:  # noqa: BLE001 - a failed build becomes a readable skip row
        return [skipped(section, "all", f"no page: {e}")]
    if not pages:
        return [skipped(section, "all", none)] if none else []
    rows: list[Row] = []
    with chromium({"/": site}, use_gzip=True) as (browser, base):
        for env_id, folder in pages.items():
            rows += fn(browser, f"{base}/{folder}", env_id)
    return rows
