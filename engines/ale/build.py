"""Build the Atari engine: the Arcade Learning Environment's C++ from ale-py's PyPI sources (the version the
venv runs, pinned by hash) with engines/ale/api.cpp, compiled to one wasm32-wasi reactor by zig, then
binaryen's wasm-opt. The emulator's code is ALE's, unpatched: engines/ale/include/ stands in for the two
headers WASI lacks (file streams, zlib), and api.cpp for the three library functions (gzopen's family,
fs::exists, path's stem) that read the page's in-memory ROM instead of a file.

    python engines/ale/build.py [--out build/engines/ale.wasm] [--jobs N]

The sources are fetched once (pip download, so the machine's index settings apply) into build/engines/ale/;
objects are rebuilt only when their source, the shim headers or this file change.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "build" / "engines" / "ale"
VERSION = "0.12.1"  # the venv's ale-py (pyproject.toml): the page's frames are checked against it
SDIST = f"ale_py-{VERSION}.tar.gz"
SDIST_SHA256 = "c503d574c5983e1063b451201ccb779d935919c0f6bf116fb0f4f8aa4c86d249"
# ALE's library sources (src/ale/CMakeLists.txt's `ale` target plus ale_interface.cpp), less what a page has
# no use for: SDL display and sound, PNG/WAV exporters (ALE builds those only when asked for a folder)
DIRS = ("", "common", "emucore", "environment", "games", "games/supported")
LEFT_OUT = {
    "common/SDL2.cpp",
    "common/DynamicLoad.cpp",
    "common/ScreenSDL.cpp",
    "common/SoundSDL.cxx",
    "common/ScreenExporter.cpp",
    "common/SoundExporter.cpp",
}
CXX = ["-target", "wasm32-wasi", "-O2", "-std=c++17", "-ffp-contract=off", "-DNDEBUG"]
WASM_OPT_FEATURES = [
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-multivalue",
    "--enable-reference-types",
]


class BuildError(RuntimeError):
    """A step that failed; str(e) names it and the fix."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_sources() -> Path:
    """src/ale of ale-py's sdist, downloaded and checked against SDIST_SHA256 once; its folder."""
    src = WORK / f"ale_py-{VERSION}" / "src"
    if (src / "ale" / "ale_interface.cpp").exists():
        return src
    WORK.mkdir(parents=True, exist_ok=True)
    tgz = WORK / SDIST
    if not tgz.exists() or sha256(tgz) != SDIST_SHA256:
        print(f"ale: fetching ale-py {VERSION}'s sources (pip download, the sdist)", flush=True)
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"ale-py=={VERSION}",
                "--no-binary",
                "ale-py",
                "--no-deps",
            ]
            + ["--quiet", "-d", str(WORK)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or not tgz.exists():
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BuildError(
                f"pip download of ale-py=={VERSION}'s sdist failed ({tail[0]}): check the network"
            )
    if sha256(tgz) != SDIST_SHA256:
        tgz.unlink()
        raise BuildError(f"{SDIST} does not have the pinned sha256 {SDIST_SHA256}: refused (deleted); retry")
    with tarfile.open(tgz) as tar:
        members = [
            m for m in tar.getmembers() if m.name.startswith(f"ale_py-{VERSION}/src/ale/") and m.isfile()
        ]
        tar.extractall(WORK, members=members, filter="data")
    return src


def version_header(src: Path) -> Path:
    """CMake's configure step for version.hpp (ale_interface.hpp includes it)."""
    inc = WORK / "include"
    inc.mkdir(parents=True, exist_ok=True)
    text = (src / "ale" / "version.hpp.in").read_text()
    major, minor, patch = VERSION.split(".")
    for k, v in {"": VERSION, "_MAJOR": major, "_MINOR": minor, "_PATCH": patch, "_GIT_SHA": ""}.items():
        text = text.replace(f"@ALE_VERSION{k}@", v)
    out = inc / "version.hpp"
    if not out.exists() or out.read_text() != text:
        out.write_text(text)
    return inc


def sources(src: Path) -> list[Path]:
    ale = src / "ale"
    found = []
    for d in DIRS:
        for f in sorted((ale / d).glob("*")):
            rel = f.relative_to(ale).as_posix()
            if f.suffix in (".cpp", ".cxx") and rel not in LEFT_OUT:
                found.append(f)
    return found


def zig() -> list[str]:
    return ["nice", sys.executable, "-m", "ziglang"]


def compile_all(src: Path, inc: Path, jobs: int) -> list[Path]:
    """One object per source (ALE's, then api.cpp), rebuilt when older than its inputs; the objects."""
    obj_dir = WORK / "obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    shims = sorted((HERE / "include").iterdir())
    base = max(p.stat().st_mtime for p in [Path(__file__), *shims])
    flags = CXX + [f"-I{src}", f"-I{HERE / 'include'}", f"-I{inc}"]
    jobs_list = []
    for f in sources(src):
        rel = f.relative_to(src / "ale").as_posix()
        o = obj_dir / (rel.replace("/", "_") + ".o")
        extra = ["-include", str(HERE / "include" / "wasi_fs.h")] if rel == "ale_interface.cpp" else []
        jobs_list.append((f, o, extra))
    jobs_list.append((HERE / "api.cpp", obj_dir / "api.o", []))
    todo = [
        (f, o, x)
        for f, o, x in jobs_list
        if not o.exists() or o.stat().st_mtime < max(base, f.stat().st_mtime)
    ]

    def one(job: tuple[Path, Path, list[str]]) -> str | None:
        f, o, extra = job
        r = subprocess.run(
            [*zig(), "c++", *flags, *extra, "-c", str(f), "-o", f"{o}.tmp"], capture_output=True
        )
        if r.returncode != 0:
            return f"{f.name}: {r.stderr.decode(errors='replace').strip()[-600:]}"
        os.replace(f"{o}.tmp", o)
        return None

    if todo:
        print(f"ale: compiling {len(todo)} of {len(jobs_list)} sources ({jobs} at a time)", flush=True)
        t0, done = time.monotonic(), 0
        with ThreadPoolExecutor(jobs) as ex:
            for err in ex.map(one, todo):
                if err:
                    raise BuildError(f"zig c++ failed on {err}")
                done += 1
                if done % 25 == 0 or done == len(todo):
                    print(f"ale: {done}/{len(todo)} compiled, {time.monotonic() - t0:.0f} s", flush=True)
    return [o for _, o, _ in jobs_list]


def link(objs: list[Path], out: Path) -> None:
    """A reactor (no main; exports api.cpp's export_name functions), stripped, then wasm-opt -O3 (IEEE float
    semantics kept); written whole or not at all."""
    linked = out.with_suffix(".linked.wasm")
    r = subprocess.run(
        [*zig(), "c++", "-target", "wasm32-wasi", "-O2", "-mexec-model=reactor", "-s", *map(str, objs)]
        + ["-o", str(linked)],
        capture_output=True,
    )
    if r.returncode != 0:
        raise BuildError(f"linking the ALE engine failed: {r.stderr.decode(errors='replace').strip()[-600:]}")
    wasm_opt = ROOT / "node_modules" / ".bin" / "wasm-opt"
    if not wasm_opt.exists():
        raise BuildError(f"{wasm_opt} is missing: run `make setup` (binaryen comes from npm)")
    tmp = out.with_suffix(".tmp")
    r = subprocess.run(
        ["nice", str(wasm_opt), "-O3", *WASM_OPT_FEATURES, str(linked), "-o", str(tmp)], capture_output=True
    )
    if r.returncode != 0:
        raise BuildError(
            f"wasm-opt failed on the ALE engine: {r.stderr.decode(errors='replace').strip()[-300:]}"
        )
    linked.unlink()
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "engines" / "ale.wasm")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel compiles")
    args = ap.parse_args(argv)
    try:
        src = fetch_sources()
        objs = compile_all(src, version_header(src), max(1, args.jobs))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        link(objs, args.out)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"ale: {args.out} ({args.out.stat().st_size:,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
