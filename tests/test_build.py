"""web/build/build.mjs: the multi-env site (gallery + a page per env, served from a subpath), rebuilds that
are byte-identical and keep a user's files, and the bundler's refusals of a kernel folder it must not trust.

The kernel is build/kernels/CartPole-v1 when it is a current compile (wasm_sha256 in its manifest, and
policy.weights.json beside it; RL_WEB_KERNEL=/path picks another), else compiled fresh into a temporary
folder. The bundler reads only that folder: a copy of it bundles with nothing but `node` on PATH. Every bad
input must give a one-line error naming the problem and the fix, exit 1, and write nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.pages import node

pytestmark = pytest.mark.compile

ENV_ID = "CartPole-v1"
SUB = "demo/site"  # served from a subpath: every URL in the site must be relative
RECORD = ".rl-web-build.json"


def build(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    cmd = [node(), str(ROOT / "web" / "build" / "build.mjs"), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180)


def loads(html: str) -> list[str]:
    """The URLs an HTML document's elements load (src, stylesheet and icon links), data: URLs aside."""
    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            url = a.get("src") or (a.get("href") if tag == "link" else None)
            if url and not url.startswith("data:"):
                found.append(url)

    Parser().feed(html)
    return found


def files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Path:
    """A folder of kernel folders holding one good CartPole kernel (a copy: tests alter copies of it)."""
    tmp = tmp_path_factory.mktemp("kernels")
    src = Path(os.environ.get("RL_WEB_KERNEL", ROOT / "build" / "kernels" / ENV_ID))
    mf = src / "manifest.json"
    if not (
        mf.is_file()
        and "wasm_sha256" in json.loads(mf.read_text())
        and (src / "policy.weights.json").is_file()
        and (src / "policy.lazy.wasm").is_file()  # compiled since the kernel is two modules
    ):
        src = tmp / "compiled"
        cmd = [sys.executable, "-m", "rl_web_agent", "compile", "--env", ENV_ID, "--out", str(src)]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"compiling a kernel failed:\n{r.stderr[-2000:]}"
    shutil.copytree(src, tmp / "all" / ENV_ID, symlinks=True)
    return tmp / "all"


@pytest.fixture(scope="module")
def site(kernels, tmp_path_factory) -> Path:
    """The site of two envs, CartPole (the trained policy) and Pendulum (random weights, compiled here),
    under a subpath of the served folder."""
    from tests.checkpoints import make_random_checkpoint

    tmp = tmp_path_factory.mktemp("two")
    shutil.copytree(kernels, tmp / "kernels", symlinks=True)
    model = make_random_checkpoint(
        tmp / "model",
        obs_dim=3,
        hidden=(16, 16),
        env_id="Pendulum-v1",
        action={"type": "box", "shape": [1], "low": [-2.0], "high": [2.0]},
    )
    kernel = tmp / "kernels" / "Pendulum-v1"
    cmd = [sys.executable, "-m", "rl_web_agent", "compile", str(model), "--out", str(kernel)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"rl_web_agent compile failed:\n{r.stderr[-2000:]}"
    www = tmp / "www"
    r = build("--out", www / SUB, "--kernels", tmp / "kernels")  # every kernel folder there
    assert r.returncode == 0, r.stderr
    for env_id in (ENV_ID, "Pendulum-v1"):
        assert f"{env_id}: bytes until the first agent action" in r.stdout, r.stdout
    return www


def bad_kernel(kernels: Path, tmp: Path) -> Path:
    """A private copy of the good kernel, as a folder of kernel folders, to break."""
    shutil.copytree(kernels, tmp / "k", symlinks=True)
    return tmp / "k"


def edit_manifest(kdir: Path, **changes) -> None:
    mf = kdir / "manifest.json"
    m = json.loads(mf.read_text())
    for key, value in changes.items():
        if value is None:
            m.pop(key, None)
        else:
            m[key] = value
    mf.write_text(json.dumps(m))


def assert_refused(r: subprocess.CompletedProcess, out: Path, *words: str) -> None:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("build.mjs: ") and r.stderr.count("\n") == 1, f"not one line: {r.stderr!r}"
    for w in words:
        assert w in r.stderr, f"{w!r} not in {r.stderr!r}"
    assert not out.exists(), "a refused build must not write anything"


# ---- the bundler does not trust the kernel folder (hardened against a tampered or foreign one) ----


def _weights_outside(k: Path) -> None:
    edit_manifest(
        k,
        webgpu={
            "module": "policy.webgpu.js",
            "data": "policy.webgpu.data.js",
            "weights": "../../../.git/config",
        },
    )


def _webgpu_entry_without_data(k: Path) -> None:
    edit_manifest(k, webgpu={"module": "policy.webgpu.js", "weights": "policy.weights.bin"})


def _weights_symlink_out(k: Path) -> None:
    secret = k.parent.parent / "secret.bin"
    secret.write_bytes(b"not the kernel's")
    (k / "policy.weights.bin").unlink()
    (k / "policy.weights.bin").symlink_to(secret)


def _html_in_hidden(k: Path) -> None:
    edit_manifest(k, hidden=["<img src=x onerror=alert(1)>", 32])


def _markup_in_text(k: Path) -> None:  # would end the single file's inline script early
    edit_manifest(k, tinygrad_version="</script><!--<script>")


def _garbage_wasm(k: Path) -> None:
    (k / "policy.wasm").write_bytes(b"\0asm garbage" * 100)


def _altered_wasm(k: Path) -> None:  # same size, one byte of the weights changed
    b = bytearray((k / "policy.wasm").read_bytes())
    b[len(b) // 2] ^= 0x55
    (k / "policy.wasm").write_bytes(bytes(b))


def _garbage_wasm_matching_sha(k: Path) -> None:  # a manifest edited to match: still no wasm module
    data = b"\0asm garbage" * 100
    (k / "policy.wasm").write_bytes(data)
    edit_manifest(k, wasm_sha256=hashlib.sha256(data).hexdigest())


def _no_wasm_sha(k: Path) -> None:
    edit_manifest(k, wasm_sha256=None)


def _altered_lazy_wasm(k: Path) -> None:  # another compile's lazy half reads weights at other addresses
    b = bytearray((k / "policy.lazy.wasm").read_bytes())
    b[len(b) // 2] ^= 0x55
    (k / "policy.lazy.wasm").write_bytes(bytes(b))


def _lazy_wasm_standalone(k: Path) -> None:  # a module of its own (policy.wasm's copy), sha edited to match
    data = (k / "policy.wasm").read_bytes()
    (k / "policy.lazy.wasm").write_bytes(data)
    edit_manifest(k, lazy_wasm_sha256=hashlib.sha256(data).hexdigest())


def _webgpu_module_imports(k: Path) -> None:  # an import could pull any file outside the folder into the JS
    js = k / "policy.webgpu.js"
    js.write_text('import "../../../tests/conftest.py";\n' + js.read_text())


def _webgpu_data_imports(k: Path) -> None:  # the data module is data only: JSON after `export default`
    data = k / "policy.webgpu.data.js"
    data.write_text('import "../../../tests/conftest.py";\n' + data.read_text())


def _webgpu_weights_short(k: Path) -> None:  # the weights of another compile: the loader would refuse them
    w = k / "policy.weights.bin"
    w.write_bytes(w.read_bytes()[:-4])


def _env_id_path(k: Path) -> None:
    edit_manifest(k, env_id="../../escape")


def _bad_eval(k: Path) -> None:
    edit_manifest(k, eval={"mean": "500", "episodes": 100})


def _other_python_weights(k: Path) -> None:  # another kernel's policy.weights.json copied in
    w = k / "policy.weights.json"
    w.write_text(json.dumps({**json.loads(w.read_text()), "env_id": "Acrobot-v1", "obs_dim": 6}))


def _python_weights_garbage(k: Path) -> None:
    (k / "policy.weights.json").write_text("<html>not the weights</html>")


BAD = {
    "weights outside the folder": (_weights_outside, ["outside the kernel folder", "recompile"]),
    "webgpu entry without its data module": (
        _webgpu_entry_without_data,
        ["webgpu.data must name a file", "recompile"],
    ),
    "weights symlinked out": (_weights_symlink_out, ["leads outside the kernel folder", "refusing"]),
    "html in hidden": (_html_in_hidden, ["hidden must be a list of layer widths", "recompile"]),
    "markup in manifest text": (_markup_in_text, ["'tinygrad_version' holds markup", "recompile"]),
    "garbage wasm": (_garbage_wasm, ["policy.wasm", "recompile the kernel"]),
    "altered wasm": (_altered_wasm, ["is not the kernel its manifest describes", "recompile the kernel"]),
    "garbage wasm, sha edited": (_garbage_wasm_matching_sha, ["not a WebAssembly module", "recompile"]),
    "env id with a path": (_env_id_path, ["is not a Gymnasium id", "recompile"]),
    "webgpu module importing": (_webgpu_module_imports, ["a kernel module imports nothing", "recompile"]),
    "webgpu data module importing": (_webgpu_data_imports, ["is not a WebGPU data module", "recompile"]),
    "webgpu weights of another size": (_webgpu_weights_short, ["weights.bin is", "expects", "recompile"]),
    "manifest without wasm_sha256": (_no_wasm_sha, ["no wasm_sha256", "recompile the kernel"]),
    "altered lazy wasm": (_altered_lazy_wasm, ["policy.lazy.wasm is not the kernel", "lazy_wasm_sha256"]),
    "lazy wasm of its own": (_lazy_wasm_standalone, ["policy.lazy.wasm lacks the exports", "recompile"]),
    "eval not a number": (_bad_eval, ["eval must be null or {mean, episodes}", "recompile"]),
    "other python weights": (_other_python_weights, ["holds another policy's weights", "recompile"]),
    "python weights not JSON": (_python_weights_garbage, ["weights.json is not valid JSON", "recompile"]),
}


def test_weigh_says_where_the_first_action_bytes_are(kernels, site):
    """web/build/weigh.mjs: the page's first-action total as the build records it, the files, the eager
    script's modules and policy.wasm's functions (forward() among them; the saliency: the lazy module's)."""
    weigh = ROOT / "web" / "build" / "weigh.mjs"
    r = subprocess.run(
        [node(), str(weigh), "--kernels", str(kernels), ENV_ID], capture_output=True, text=True, timeout=180
    )
    assert r.returncode == 0, r.stderr
    info = json.loads((site / SUB / RECORD).read_text())["pages"][f"{ENV_ID}/index.html"]["info"]
    assert f"{info['first_action_gz']} B gzipped until the first action" in r.stdout, r.stdout
    eager, lazy = r.stdout.split("policy.lazy.wasm (on first use) sections:")
    assert "core/loop.js" in eager and "policy.wasm sections:" in eager and "forward " in eager
    assert "saliency" not in eager.split("policy.wasm sections:")[1] and "saliency " in lazy, r.stdout


@pytest.mark.parametrize("single", [False, True], ids=["multi-file", "single"])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_kernel_is_refused_and_nothing_written(kernels, tmp_path, case, single):
    breaker, words = BAD[case]
    k = bad_kernel(kernels, tmp_path)
    breaker(k / ENV_ID)
    out = tmp_path / "out"
    r = build("--out", out, "--kernels", k, "--env", ENV_ID, *(["--single"] if single else []))
    assert_refused(r, out, *words)
    # the one-page form reads the kernel the same way
    r = build("--kernel", k / ENV_ID, "--out", out, *(["--single"] if single else []))
    assert_refused(r, out, *words)


def test_out_that_is_a_file_is_a_one_line_error(kernels, tmp_path):
    f = tmp_path / "public"
    f.write_text("a user's file")
    r = build("--out", f, "--kernels", kernels, "--env", ENV_ID)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "is a file, not a folder" in r.stderr, r.stderr
    assert f.read_text() == "a user's file"
    r = build("--out", f / "sub", "--kernels", kernels, "--env", ENV_ID)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "is a file, not a folder" in r.stderr, r.stderr


def test_unknown_env_and_missing_kernel_are_one_line_errors(kernels, tmp_path):
    out = tmp_path / "out"
    assert_refused(
        build("--out", out, "--kernels", kernels, "--env", "Acrobot-v1"),
        out,
        "no kernel for Acrobot-v1",
        "make compile-kernel ENV=Acrobot-v1",
    )
    k = bad_kernel(kernels, tmp_path)
    shutil.copytree(k / ENV_ID, k / "Pendulum-v1")
    assert_refused(
        build("--out", out, "--kernels", k, "--env", "Pendulum-v1"),
        out,
        "is a kernel for CartPole-v1, not Pendulum-v1",
    )


# ---- the bundler reads the kernel folder and nothing else ----


def test_a_copied_kernel_folder_bundles_with_node_alone(kernels, tmp_path):
    """A kernel folder away from the project (no models/ beside it) bundles with only `node` on PATH: every
    backend on the page, the python one's weights and the gallery's eval read from the folder. Without
    policy.weights.json the page is built without the python backend, and the build says so in one line."""
    kernel = tmp_path / "elsewhere" / ENV_ID
    shutil.copytree(kernels / ENV_ID, kernel, symlinks=True)
    # the kernel folder: eval copied from the checkpoint by compile (a value no policy.json holds: read from
    # here), no `model` path back to the checkpoint
    edit_manifest(kernel, model=None, eval={"mean": 499.5, "episodes": 7})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(node())

    def build_alone(out: Path) -> subprocess.CompletedProcess:
        cmd = ["node", str(ROOT / "web" / "build" / "build.mjs"), "--kernel", str(kernel), "--out", str(out)]
        return subprocess.run(
            cmd, cwd=tmp_path, env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=180
        )

    r = build_alone(tmp_path / "out")
    assert r.returncode == 0 and r.stderr == "", (r.stdout, r.stderr)
    for word in (".venv", "export-json", "python3", "rl_web_agent"):
        assert word not in r.stdout, f"{word!r} in the build's output:\n{r.stdout}"
    html = (tmp_path / "out" / "index.html").read_text()
    assert all(f'<option value="{b}">' in html for b in ("wasm", "webgpu", "python")), html
    [weights] = (tmp_path / "out" / "assets").glob("policy.weights-*.json")
    assert weights.read_bytes() == (kernel / "policy.weights.json").read_bytes()
    record = json.loads((tmp_path / "out" / RECORD).read_text())
    assert record["pages"]["index.html"]["info"]["eval"] == {"mean": 499.5, "episodes": 7}
    # the bundler starts no other program (esbuild's own binary aside, from node_modules)
    spawns = [p.name for p in (ROOT / "web" / "build").rglob("*.mjs") if "child_process" in p.read_text()]
    assert spawns == [], f"web/build/{spawns} can run programs: the bundler needs only node"

    (kernel / "policy.weights.json").unlink()
    r = build_alone(tmp_path / "out2")
    assert r.returncode == 0 and r.stderr == "", (r.stdout, r.stderr)
    notes = [line for line in r.stdout.splitlines() if "no python backend" in line]
    assert len(notes) == 1, r.stdout
    assert "has no policy.weights.json" in notes[0] and "make compile-kernel" in notes[0], notes
    html = (tmp_path / "out2" / "index.html").read_text()
    assert '<option value="python">' not in html and '<option value="wasm">' in html


# ---- rebuilds ----


def test_rebuild_is_byte_identical_and_keeps_a_users_files(kernels, tmp_path):
    out = tmp_path / "public"
    # an earlier one-page build into the same folder: its root page and assets/manifest.json are the
    # bundler's own files, which the site build replaces (gallery) or no longer needs (removed)
    r = build("--kernel", kernels / ENV_ID, "--out", out)
    assert r.returncode == 0, r.stderr
    assert (out / "assets" / "manifest.json").is_file()
    (out / "assets" / "user-notes.txt").write_text("mine")
    (out / "robots.txt").write_text("User-agent: *\n")
    r = build("--out", out, "--kernels", kernels, "--env", ENV_ID)
    assert r.returncode == 0, r.stderr
    first = files(out)
    assert not (out / "assets" / "manifest.json").exists(), "the earlier build's unreferenced file stays"
    assert (out / "assets" / "user-notes.txt").read_text() == "mine", "a user's file in assets/ was removed"
    assert (out / "robots.txt").is_file()
    record = json.loads((out / RECORD).read_text())
    written = {f for p in record["pages"].values() for f in p["files"]} | set(record["extra"])
    assert written | {RECORD, "assets/user-notes.txt", "robots.txt"} == set(first), (
        "every file in the folder is either recorded as the build's or the user's"
    )
    r = build("--out", out, "--kernels", kernels, "--env", ENV_ID)
    assert r.returncode == 0, r.stderr
    assert files(out) == first, "a rebuild of the same inputs must be byte-identical"
    fresh, moved = tmp_path / "fresh", tmp_path / "elsewhere" / "kernels"
    shutil.copytree(kernels, moved, symlinks=True)
    assert build("--out", fresh, "--kernels", moved, "--env", ENV_ID, cwd=tmp_path).returncode == 0
    mine = {"assets/user-notes.txt", "robots.txt"}
    assert files(fresh) == {k: v for k, v in first.items() if k not in mine}, (
        "the same inputs, from another folder, into another folder, must give the same bytes"
    )
    # --single adds <env-id>.html next to the site and leaves the site's files as they are
    r = build("--out", out, "--kernels", kernels, "--env", ENV_ID, "--single")
    assert r.returncode == 0, r.stderr
    now = files(out)
    single = now.pop(f"{ENV_ID}.html")
    assert loads(single.decode()) == [], "the single file must load nothing else"
    assert {k: v for k, v in now.items() if k != RECORD} == {k: v for k, v in first.items() if k != RECORD}
    assert f"{ENV_ID}.html" in json.loads(now[RECORD])["pages"]


# ---- the site in Chromium ----


def test_gallery_links_to_each_env_page_from_a_subpath(browser, serve, site):
    base = serve(site)
    record = json.loads((site / SUB / RECORD).read_text())
    assert sorted(p["env"] for p in record["pages"].values()) == [ENV_ID, "Pendulum-v1"]
    page = browser.new_page(viewport={"width": 900, "height": 800})
    errors: list[str] = []
    urls: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status}: {r.url}"))
    page.on("request", lambda r: urls.append(r.url))
    for env_id in (ENV_ID, "Pendulum-v1"):
        page.goto(f"{base}/{SUB}/")
        assert page.locator(".card").count() == 2
        card = page.locator(".card", has=page.locator(f'canvas[data-env="{env_id}"]'))
        assert env_id in card.inner_text() and "solved" in card.inner_text(), card.inner_text()
        budget = record["pages"][f"{env_id}/index.html"]["info"]["budget_gz"]  # the page's, by its engine
        assert f"(budget {budget / 1024:.1f} KB)" in card.inner_text(), card.inner_text()
        # the preview is drawn by the env's renderer: the canvas is not blank
        page.wait_for_function(
            """id => { const c = document.querySelector(`canvas[data-env="${id}"]`);
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4) if (d[i + 1] < 160) return true; return false; }""",
            arg=env_id,
            timeout=10_000,
        )
        assert errors == [], errors
        urls.clear()
        card.locator("a").click()
        page.wait_for_url(f"{base}/{SUB}/{env_id}/")
        page.wait_for_function(
            "() => window.app && window.app.status().firstActionMs != null", timeout=30_000
        )
        assert page.evaluate("window.app.status().error") is None
        assert errors == [], errors
        # the env page fetches only its own files (as recorded by the build: its env module and kernel, no
        # other env's) and the site's favicon
        own = {f"{base}/{SUB}/{f}" for f in record["pages"][f"{env_id}/index.html"]["files"]}
        own |= {f"{base}/{SUB}/favicon.svg", f"{base}/{SUB}/{env_id}/"}
        assert urls and set(urls) <= own, set(urls) - own
    page.close()
