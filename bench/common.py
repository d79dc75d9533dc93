"""Shared bits of the bench: paths, the rows of the results table, timing helpers, machine facts."""

from __future__ import annotations

import gzip
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rl_web_agent.policy.checkpoint import CheckpointError, resolve_model_dir
from rl_web_agent.policy.files import atomic_write

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
ENV_ID = "CartPole-v1"
# Chromium as the bench and the tests launch it: no GPU, no background traffic, WebGPU on SwiftShader
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--enable-unsafe-webgpu",
]
# The page's requests on the way to its first agent action: the navigation entry and every Resource Timing
# entry whose fetch started before status().firstActionMs (same clock), as plain objects; null before that
# action. Lazy chunks are requested only after it, so this set is the same however long a caller waits and
# however loaded the machine is (the byte budgets in the tests and the bench's page rows both read it).
BEFORE_FIRST_ACTION_JS = """() => {
  const fa = window.app.status().firstActionMs;
  if (fa === null) return null;
  const all = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
  return all.filter((e) => e.startTime <= fa).map((e) => e.toJSON());
}"""


@dataclass
class Row:
    """One line of the results table: a measured value, or a skip with its reason."""

    section: str
    name: str
    value: float | None = None
    unit: str = ""
    ratio: float | None = None  # value / the reference named in ratio_to
    ratio_to: str = ""
    target: str = ""  # e.g. "<= 1.25x", "<= 32768 B"
    ok: bool | None = None  # target met? None when there is no target
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", {})}


def skipped(section: str, name: str, why: str) -> Row:
    return Row(section, name, note=f"skipped: {why}")


def gz_size(data: bytes) -> int:
    """Bytes after gzip -9 (what a static host serving precompressed files sends)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


NO_CHROMIUM = "no Chromium found: apt-get install chromium (or set CHROME=/path/to/chrome)"


def chromium_path() -> str | None:
    """The Chromium to drive, for the bench and the tests (tests/conftest.py): $CHROME, else Debian's or
    Google's binary on PATH; None when there is none (say NO_CHROMIUM)."""
    if os.environ.get("CHROME"):
        return os.environ["CHROME"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if p := shutil.which(name):
            return p
    return None


ERROR_LINE = re.compile(r"^([\w.]*(Error|Exception)\b|error\b)", re.I)


def run(
    cmd: list[str], timeout: float = 600, cwd: Path = ROOT, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a command, capture its output; on failure raise with the tail of stderr (one readable line)."""
    p = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and p.returncode != 0:
        lines = [ln.strip() for ln in (p.stderr or p.stdout).strip().splitlines() if ln.strip()]
        # the line that says what went wrong: a Python exception line or an "error:" line, else the last one
        said = next((ln for ln in reversed(lines) if ERROR_LINE.match(ln)), lines[-1] if lines else "")
        raise RuntimeError(f"`{' '.join(map(str, cmd[:4]))} ...` exited {p.returncode}: {said[:300]}")
    return p


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": mem,
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }


def node_version() -> str | None:
    try:
        return run(["node", "--version"], timeout=30).stdout.strip()
    except (OSError, RuntimeError):
        return None


def finite(obj: Any) -> Any:
    """JSON has no inf/nan: an unsolved race (inf seconds) or a missing value becomes null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def write_json_atomic(path: Path, obj: Any) -> None:
    """OBJ as indented JSON (inf/nan as null), written atomically (rl_web_agent/policy/files.py)."""
    atomic_write(path, (json.dumps(finite(obj), indent=1, allow_nan=False) + "\n").encode())


def model_dir(env_id: str = ENV_ID) -> Path | None:
    """The policy the pipeline would use (the newest-model rule,
    rl_web_agent/policy/checkpoint.resolve_model_dir), or None when there is none."""
    try:
        return resolve_model_dir(env_id, ROOT)
    except CheckpointError:
        return None
