"""Atomic writes: a reader (the page's server, compile, the bundler, a rerun) sees the old file or folder or
the new one, never half of one.

`atomic_write` replaces one file; `staged_dir` builds a folder beside its destination and swaps it in whole
(`replace_dir`). Everything the pipeline writes for another stage goes through these two.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write a temp file in the same folder, fsync, rename it over PATH (creating PATH's folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600 files; what we write is served and read by others
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(tmp: Path, dest: Path) -> None:
    """Swap the folder TMP into DEST's place with two renames: DEST is always the old or the new folder.

    A DEST that exists and is not a folder raises NotADirectoryError and is left alone."""
    tmp, dest = Path(tmp), Path(dest)
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(20, "exists and is not a folder", str(dest))
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old-{os.getpid()}"
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_dir(dest: Path) -> Iterator[Path]:
    """A new empty folder beside DEST to fill; when the block ends it replaces DEST whole (`replace_dir`),
    when the block raises it is removed and DEST is untouched."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the folders we stage are served and compiled as they are
        yield tmp
        replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
