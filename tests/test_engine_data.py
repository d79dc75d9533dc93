"""Engine data (web/build/engines.mjs engineData): an engine env's page ships its engine as engine.wasm and,
where the engine takes one file per env, that env's file as engine.data: an Atari page ('ale') ships ALE and
the ROM spec.rom names, read at build time from the ale-py installed in .venv. Both are hashed assets fetched
with their SRI integrity (preloaded with it), counted until the first action, inlined in the single-file build
and loaded by the gallery's preview from the page's own files; a missing or wrong engine or ROM is a one-line
error naming the fix.

The page is built from a random NatureCNN policy for ALE/Pong-v5 (int8, as the issue's budget assumes),
compiled here with few parity frames (about 7 s).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.pages import node

ENV_ID = "ALE/Pong-v5"
ENGINE = ROOT / "build" / "engines" / "ale.wasm"
BUILD = ROOT / "web" / "build"


def rom_bytes(name: str) -> bytes:
    """The venv's ale-py ROM, as ale-py finds it."""
    from ale_py import roms

    return Path(roms.get_rom_path(name)).read_bytes()


def sri(b: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(b).digest()).decode()


def run_node(code: str, *args) -> dict:
    """Run ES module CODE (argv[1:] = ARGS) from the root; it prints one JSON line."""
    r = subprocess.run(
        [node(), "--input-type=module", "-e", code, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def build(*args) -> subprocess.CompletedProcess:
    cmd = [node(), str(BUILD / "build.mjs"), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Path:
    """A folder of kernel folders holding ALE/Pong-v5's: a random NatureCNN policy, int8 weights."""
    from rl_web_agent.compiler.compile import CompileConfig, compile_policy
    from tests.checkpoints import make_cnn_checkpoint

    assert ENGINE.exists(), f"{ENGINE} is missing: run `make engines`"
    tmp = tmp_path_factory.mktemp("atari")
    model = make_cnn_checkpoint(tmp / "model", env_id=ENV_ID, n_act=6, frames="gymnasium-atari", seed=7)
    cfg = CompileConfig(
        model_dir=model, out=tmp / "kernels" / ENV_ID, weights="int8", image_parity_samples=32
    )
    compile_policy(cfg, log=lambda *_: None)
    return tmp / "kernels"


@pytest.mark.compile
def test_atari_page_ships_engine_and_rom(kernels, tmp_path):
    """The site's Pong page: engine.wasm and engine.data (the venv's ROM, byte for byte) as hashed assets,
    preloaded with their integrity, which the inlined manifest also holds, with the kernel's uint8 input and
    frames; both on the first action's bill, within the 2.5 MB budget; the gallery's preview loads the same
    two files with the same integrity."""
    out = tmp_path / "site"
    r = build("--out", out, "--kernels", kernels)  # every kernel folder there: ALE/Pong-v5 is two deep
    assert r.returncode == 0, r.stderr
    rom, wasm = rom_bytes("pong"), ENGINE.read_bytes()
    rec = json.loads((out / ".rl-web-build.json").read_text())
    page = rec["pages"][f"{ENV_ID}/index.html"]
    files = {f: (out / f).read_bytes() for f in page["files"]}
    data = [f for f in files if re.fullmatch(r"assets/engine-[0-9a-f]{10}\.data", f)]
    eng = [f for f in files if re.fullmatch(r"assets/engine-[0-9a-f]{10}\.wasm", f)]
    assert len(data) == 1 and len(eng) == 1, sorted(files)
    assert files[data[0]] == rom, "engine.data is not the venv's ale-py ROM"
    assert files[eng[0]] == wasm
    assert not any("policy.lazy" in f for f in files), "a CNN kernel has no lazy half to ship"

    html = files[f"{ENV_ID}/index.html"].decode()
    for f, b in ((eng[0], wasm), (data[0], rom)):
        link = re.search(rf'<link rel="preload" href="\.\./\.\./{re.escape(f)}"[^>]*>', html)
        assert link, f"no preload of {f}:\n{html}"
        assert f'integrity="{sri(b)}"' in link[0] and "crossorigin" in link[0], link[0]
    app = next(
        files[f] for f in files if re.fullmatch(r"assets/app-\w+\.js", f) and b"env_id:" in files[f]
    ).decode()
    assert f'"engine.wasm":"{sri(wasm)}","engine.data":"{sri(rom)}"' in app
    assert f'"engine.data":"{Path(data[0]).name}"' in app
    assert 'input:{dtype:"uint8",shape:[4,84,84]' in app and 'frames:"gymnasium-atari"' in app

    # the first action's bytes: the files the build lists for it (buildPage's firstAction), gzipped as the
    # build gzips (Node's zlib: Python's may differ by a few bytes a file)
    code = """
const [dir, id, out] = process.argv.slice(1);
const { readKernel } = await import('./web/build/kernel.mjs');
const { buildPage, envFiles, loadEnvs } = await import('./web/build/page.mjs');
const { gz } = await import('./web/build/report.mjs');
const fs = await import('node:fs');
const p = await buildPage(readKernel(dir), envFiles(await loadEnvs(), id), { single: false, dir: `${id}/` });
const sizes = Object.fromEntries(p.firstAction.map((f) => [f, gz(fs.readFileSync(`${out}/${f}`))]));
console.log(JSON.stringify({ sizes, info: p.info }));
"""
    built = run_node(code, kernels / ENV_ID, ENV_ID, out)
    sizes = built["sizes"]
    assert data[0] in sizes and eng[0] in sizes, sizes
    assert page["info"]["first_action_gz"] == built["info"]["first_action_gz"] == sum(sizes.values())
    assert sizes[data[0]] > len(rom) // 2  # a ROM barely compresses: its bytes are on the bill
    assert page["info"]["budget_gz"] == 2500 * 1024 >= page["info"]["first_action_gz"]
    print(f"\n{ENV_ID}: {page['info']['first_action_gz']:,} B gzipped until the first action")

    gallery = "".join(
        (out / f).read_text() for f in rec["extra"] if re.fullmatch(r"assets/gallery-\w+\.js", f)
    )
    # the page's two files, with the page's integrity (esbuild writes the object's keys unquoted)
    want = (
        f'engine:{{url:"{eng[0]}",integrity:"{sri(wasm)}",data:{{url:"{data[0]}",integrity:"{sri(rom)}"}}}}'
    )
    assert want in gallery, gallery[:600]


@pytest.mark.compile
def test_single_file_inlines_rom(kernels, tmp_path):
    """The single-file build inlines the ROM (base64) beside the engine; nothing is fetched."""
    out = tmp_path / "single"
    r = build("--out", out, "--kernel", kernels / ENV_ID, "--single")
    assert r.returncode == 0, r.stderr
    html = (out / f"{ENV_ID}.html").read_text()
    assert f'"engine.data":"{base64.b64encode(rom_bytes("pong")).decode()}"' in html
    assert "assets/" not in html


ROM_CODE = """
const [venv, rom, id] = process.argv.slice(1);
const { aleRom, engineData } = await import('./web/build/engines.mjs');
const { BuildError } = await import('./web/build/kernel.mjs');
try {
  const bytes = venv === '-' ? engineData('ale', { id, rom }).bytes : aleRom({ id, rom }, venv);
  console.log(JSON.stringify({ bytes: Buffer.from(bytes).toString('base64') }));
} catch (e) {
  if (!(e instanceof BuildError)) throw e;
  console.log(JSON.stringify({ error: e.message }));
}
"""


def test_rom_from_venv_and_its_errors(tmp_path):
    """engineData('ale', spec) is the venv's ROM of spec.rom; no ale-py, no such ROM, a missing or altered ROM
    file and a bad spec.rom each give a one-line error naming the fix."""
    got = run_node(ROM_CODE, "-", "pong", ENV_ID)
    assert base64.b64decode(got["bytes"]) == rom_bytes("pong")
    assert (
        run_node(
            "const { engineData } = await import('./web/build/engines.mjs');"
            "console.log(JSON.stringify(engineData('box2d', {id: 'LunarLander-v3'})));"
        )
        is None
    )

    def err(venv, rom="pong") -> str:
        e = run_node(ROM_CODE, venv, rom, ENV_ID)["error"]
        assert "\n" not in e
        return e

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "ale-py is not installed" in err(empty) and "make setup" in err(empty)
    roms = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "ale_py" / "roms"
    roms.mkdir(parents=True)
    (roms.parents[1] / "ale_py-0.12.1.dist-info").mkdir()
    good = rom_bytes("pong")
    (roms / "md5.json").write_text(json.dumps({"pong.bin": hashlib.md5(good).hexdigest()}))
    venv = tmp_path / "venv"
    e = err(venv)
    assert "pong.bin is missing" in e and "pip install --force-reinstall --no-deps ale-py==0.12.1" in e, e
    (roms / "pong.bin").write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    assert "is not the ROM ale-py expects" in err(venv)
    (roms / "pong.bin").write_bytes(good)
    assert base64.b64decode(run_node(ROM_CODE, venv, "pong", ENV_ID)["bytes"]) == good
    assert "is no ROM of the installed ale-py" in err(venv, "tetris")
    assert "spec.rom must name an ale-py ROM" in err(venv, "../pong")


def test_engine_errors(tmp_path):
    """A missing, broken or older build of an engine `make engines` makes is a one-line error naming it."""
    code = """
const [file] = process.argv.slice(1);
const { BUILT_ENGINES, builtWasm } = await import('./web/build/engines.mjs');
const { BuildError } = await import('./web/build/kernel.mjs');
try {
  const bytes = builtWasm({ ...BUILT_ENGINES.ale, file: file || BUILT_ENGINES.ale.file });
  console.log(JSON.stringify({ bytes: bytes.length }));
} catch (e) {
  if (!(e instanceof BuildError)) throw e;
  console.log(JSON.stringify({ error: e.message }));
}
"""
    assert run_node(code, "")["bytes"] == ENGINE.stat().st_size
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"not wasm")
    older = tmp_path / "older.wasm"  # a module without ALE's API (an empty one)
    older.write_bytes(b"\0asm\1\0\0\0")
    for file, says in (
        (tmp_path / "none.wasm", "is missing: run `make engines`"),
        (junk, "is not a WebAssembly module"),
        (older, "lacks memory, _initialize, mem_alloc"),
    ):
        e = run_node(code, file)["error"]
        assert says in e and "make engines" in e and "\n" not in e, e
