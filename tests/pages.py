"""Built pages for the browser tests: the site of every env page (web/build/build.mjs on compiled kernels),
and the Playwright helpers that open a page and read its window.app.status().

The site: a page for every env that has both a JS port (web/page/envs/index.js) and a policy
(build/models/<env>, else models/<env>), its kernel with the policy's training snapshots from
build/kernels/<env> (compiled into a temporary folder when missing or older than the policy;
RL_WEB_KERNEL=/path gives CartPole-v1's), served from the subpath SITE. One site per test run (conftest's
`site`), whatever module opens it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from bench.common import BEFORE_FIRST_ACTION_JS
from rl_web_agent.compiler.kernel_dir import FILES, compiled_from
from rl_web_agent.compiler.snapshots import INDEX, snapshot_dirs
from rl_web_agent.policy.checkpoint import CheckpointError, resolve_model_dir
from tests.conftest import ROOT

SITE = "demo"  # the site's subpath: every URL in it must be relative
SUB = f"{SITE}/CartPole-v1"  # the page the core is tested on


def node() -> str:
    """The node executable; skips the test when there is none."""
    exe = shutil.which("node")
    if exe is None:
        pytest.skip("node not found on PATH: install Node 20")
    return exe


def node_json(runner: Path, req: dict, timeout: float = 600) -> dict:
    """A Node runner's JSON answer to one JSON request on its stdin (the engine tests' JS side,
    tests/*_runner.mjs); its stderr's tail when it fails."""
    r = subprocess.run(
        [node(), str(runner)],
        input=json.dumps(req),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def built_engine(engine: Path) -> None:
    """The engines, built by make when missing or stale (incremental: one object per source); ENGINE must be
    among them."""
    r = subprocess.run(["make", "-s", "engines"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0 and engine.exists(), f"`make engines` failed: {r.stderr[-2000:]}"


def registry() -> dict:
    """Env id -> spec, from web/page/envs/index.js."""
    index = ROOT / "web" / "page" / "envs" / "index.js"
    code = (
        "const {ENVS} = await import(process.argv[1]); console.log(JSON.stringify("
        "Object.fromEntries(Object.entries(ENVS).map(([id, e]) => [id, e.spec]))))"
    )
    r = subprocess.run(
        [node(), "--input-type=module", "-e", code, index.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def policy_dir(env_id: str) -> Path | None:
    """The env's checkpoint folder by the newest-model rule, or None when there is no policy."""
    try:
        return resolve_model_dir(env_id, ROOT)
    except CheckpointError:
        return None


# a CartPole page opened at ?seed=1 plays episode 1 from it, and the policy keeps the pole up all 500 steps
BALANCE_SEED = 1


@cache
def greedy_return(env_id: str, seed: int) -> float:
    """The return of the env's policy (policy_dir; the oracle's greedy action) in Gymnasium's episode from
    reset(seed=seed) (train.evaluate.greedy_eval, one episode): what the page's agent scores from that seed.
    A page test that waits for one episode compares with this, at a fixed seed: the shipped CartPole policy
    drops the pole from a few seeds (215 of 0..299; a random one failed a fresh-clone run at 497 steps)."""
    from rl_web_agent.policy.checkpoint import load_checkpoint
    from rl_web_agent.train.evaluate import greedy_eval
    from tests.checkpoints import load_oracle

    model = policy_dir(env_id)
    forward, n = load_oracle(model), load_checkpoint(model).n_act
    return greedy_eval(lambda obs: forward(obs)[:, :n].argmax(1), env_id, 1, seed)[0]


def kernel_dir(env_id: str, policy: Path, tmp: Path) -> Path | str:
    """build/kernels/<env> if a current compile (newer than the policy, every file compile writes today, its
    training snapshots too) of that policy (its policy.weights.json), else a fresh one; or why compiling
    failed."""
    if env_id == "CartPole-v1" and os.environ.get("RL_WEB_KERNEL"):
        return Path(os.environ["RL_WEB_KERNEL"])
    kernel = ROOT / "build" / "kernels" / env_id
    manifest, index = kernel / "manifest.json", kernel / "snapshots" / INDEX
    snapshots = [steps for steps, _ in snapshot_dirs(policy)]
    if (
        manifest.exists()
        and manifest.stat().st_mtime >= (policy / "policy.safetensors").stat().st_mtime
        and all((kernel / f).is_file() for f in FILES)
        and compiled_from(kernel, policy)
        and (
            not snapshots
            or index.is_file()
            and [s["steps"] for s in json.loads(index.read_text())] == snapshots
        )
    ):
        return kernel
    out = tmp / "compiled" / env_id
    cmd = [sys.executable, "-m", "rl_web_agent", "compile", str(policy), "--out", str(out), "--snapshots"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return out if r.returncode == 0 else f"compiling {policy} failed:\n{r.stderr[-2000:]}"


def build(args: list) -> subprocess.CompletedProcess:
    """node web/build/build.mjs ARGS, from the project root."""
    return subprocess.run(
        [node(), str(ROOT / "web" / "build" / "build.mjs"), *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@cache
def site_env_ids() -> list[str]:
    """Every env page this tree makes: a JS port and a policy (the site has a page for each)."""
    try:
        envs = registry()
    except pytest.skip.Exception:
        return ["CartPole-v1"]
    return sorted(e for e in envs if policy_dir(e)) or ["CartPole-v1"]


@cache
def env_ids() -> list[str]:
    """The env pages without an engine (test_page parametrises over them; tests/test_mujoco.py has the
    MuJoCo pages' own tests)."""
    try:
        envs = registry()
    except pytest.skip.Exception:
        return ["CartPole-v1"]
    return [e for e in site_env_ids() if not (envs.get(e) or {}).get("engine")] or ["CartPole-v1"]


def build_site(tmp: Path) -> dict:
    """The site of every env page with its training snapshots under tmp/www/SITE (`failed`: env id -> why its
    kernel did not compile; `report`: what the bundler printed) and CartPole's single-file page: built once
    per test run, for every test that opens a built page."""
    kernels, failed = tmp / "kernels", {}
    for env_id in site_env_ids():
        kernel = kernel_dir(env_id, policy_dir(env_id), tmp)
        if isinstance(kernel, str):
            failed[env_id] = kernel
        else:
            shutil.copytree(kernel, kernels / env_id)
    if "CartPole-v1" in failed:
        pytest.fail(failed["CartPole-v1"])
    r = build(["--out", tmp / "www" / SITE, "--kernels", kernels])
    assert r.returncode == 0, r.stderr
    r2 = build(["--kernel", kernels / "CartPole-v1", "--out", tmp / "single", "--single"])
    assert r2.returncode == 0, r2.stderr
    return {
        "root": tmp / "www",
        "site": tmp / "www" / SITE,
        "dir": tmp / "www" / SUB,
        "assets": tmp / "www" / SITE / "assets",
        "single": tmp / "single" / "CartPole-v1.html",
        "kernels": kernels,
        "tmp": tmp,
        "failed": failed,
        "report": r.stdout,
    }


class Watch:
    """Console errors, page errors, failed requests and CSP violations of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        # a request cut short by the next navigation (net::ERR_ABORTED) is not an error a user sees
        page.on(
            "requestfailed",
            lambda r: (
                r.failure != "net::ERR_ABORTED"
                and self.errors.append(f"request failed: {r.url} ({r.failure})")
            ),
        )
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        page.on("request", lambda r: self.urls.append(r.url))
        page.add_init_script(
            "addEventListener('securitypolicyviolation', e => "
            "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
        )


def first_action_urls(page) -> list[str]:
    """The URLs the page requested on the way to its first agent action (the document included), from
    Resource Timing at the time status().firstActionMs reports: what lazy chunks load after that action, or
    how long the test waited, does not change it. Fails if the agent has not acted yet."""
    entries = page.evaluate(BEFORE_FIRST_ACTION_JS)
    assert entries is not None, "the agent has not acted yet: wait_ready(page) first"
    return [e["name"] for e in entries]


def budget_gz(site: dict, env_id: str) -> int:
    """What ENV_ID's page may fetch until its first agent action, gzipped: the budget the build recorded for
    it (web/build/report.mjs budgetGz, the one place it is written) in the site's .rl-web-build.json."""
    record = json.loads((site["site"] / ".rl-web-build.json").read_text())
    return record["pages"][f"{env_id}/index.html"]["info"]["budget_gz"]


def fetched_gz(urls: list[str], base: str, root: Path) -> dict[str, int]:
    """Each file of the site in ROOT (served at BASE) that the page requested (URLS): its gzip -9 size."""
    paths = {u[len(base) + 1 :].split("?")[0] for u in urls if u.startswith(base)}
    paths = {p + "index.html" if p.endswith("/") else p for p in paths}
    return {p: len(gzip.compress((root / p).read_bytes(), 9)) for p in paths}


def open_page(browser, url: str, **ctx) -> tuple:
    """A new page at URL (860x1000; CTX: more new_page options) and its Watch."""
    page = browser.new_page(viewport={"width": 860, "height": 1000}, **ctx)
    watch = Watch(page)
    page.goto(url)
    return page, watch


def status(page) -> dict:
    """The page's window.app.status()."""
    return page.evaluate("window.app.status()")


# the page's parts that load after the first action (lazy/panel.js, lazy/input.js, window.app: lazy/api.js): a
# test drives the controls and reads the panel once they are there, as a user can a moment after the agent's
# first step
READY_JS = """() => window.app && window.app.status().backend && window.app.status().step > 0
  && ['panel', 'input'].every((p) => window.app.status().mounted.includes(p))"""


def wait_ready(page, backend: str | None = None, timeout: float = 15_000) -> dict:
    """Wait for the agent's first step and the UI that loads after it, check there is no error (and the
    backend), return the status."""
    page.wait_for_function(READY_JS, timeout=timeout)
    s = status(page)
    assert s["error"] is None, s["error"]
    if backend:
        assert s["backend"] == backend, s
    return s
