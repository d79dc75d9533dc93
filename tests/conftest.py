"""Shared fixtures: a headless Chromium (mandatory when RL_WEB_REQUIRE_BROWSER=1), a static file server, a
renderer page and the built site."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from bench.common import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


# A test's marker follows from the fixtures it uses, wherever it is defined: `browser` drives Chromium, the
# session's `site` compiles every env's kernel when the build has none current, `compiled` the test kernels
FIXTURE_MARKS = {"browser": "browser", "site": "compile", "compiled": "compile"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, mark in FIXTURE_MARKS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)


def browser_required() -> bool:
    return os.environ.get("RL_WEB_REQUIRE_BROWSER", "") not in ("", "0")


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright; skips (or fails in CI) when none is found."""
    exe = chromium_path()
    if exe is None:
        msg = "no Chromium found: apt-get install chromium (or set CHROME=/path/to/chrome)"
        if browser_required():
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _close_pages(request):
    """Close the pages a browser test opened, also when it failed before its own page.close(): a page left
    open keeps playing at full speed for the rest of the session and slows every later test."""
    if "browser" not in request.fixturenames:
        yield
        return
    b = request.getfixturevalue("browser")
    before = set(b.contexts)
    yield
    for ctx in b.contexts:
        if ctx not in before:
            ctx.close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".svg": "image/svg+xml",
    }

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def serve():
    """serve(directory) -> base URL of a loopback HTTP server for that directory (stopped after the test)."""
    servers = []

    def start(directory: str | Path, handler: type[http.server.BaseHTTPRequestHandler] = _Handler) -> str:
        h = functools.partial(handler, directory=str(directory))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


RENDER_PAGE = "<!doctype html><html><body style='margin:0'><canvas id=c></canvas></body></html>"


@pytest.fixture
def render_page(browser, serve):
    """A Chromium page with web/page served (its modules import as the page's would) and a blank canvas:
    the renderer tests draw on it."""
    base = serve(ROOT / "web" / "page")
    p = browser.new_page(device_scale_factor=1)
    p.route(f"{base}/render-test.html", lambda r: r.fulfill(body=RENDER_PAGE, content_type="text/html"))
    p.goto(f"{base}/render-test.html")
    yield p
    p.close()


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    """tests/kernels.MODELS compiled, each once per test run: compiled[name] -> (model_dir, kernel_dir)."""
    from tests.kernels import Compiled  # imports this module: at use, not at collection

    return Compiled(tmp_path_factory.mktemp("compiled"))


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> dict:
    """The multi-env site (every env page whose kernel compiles, served from pages.SITE/; `failed`: env id ->
    why not) and CartPole's single-file page, built once (tests/test_page.py, tests/test_python_page.py)."""
    from tests.pages import build_site  # imports this module: at use, not at collection

    return build_site(tmp_path_factory.mktemp("site"))
