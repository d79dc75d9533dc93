"""The kernel folder (docs/design.md): what compile writes into build/kernels/<env-id>/ and the bundler reads.

Its files are FILES, no other (but the snapshots/ folder of a policy's training snapshots, snapshots.py):
policy.c, policy.wasm and policy.lazy.wasm (wasm.py), the WebGPU loader, its data module and the weights it
uploads (webgpu.py), the python backend's weights (rl_web_agent/runtime_py/export_json.py: the bundler needs
nothing but this folder) and manifest.json, which names them with their sizes and records what compile
checked.
The manifest names no path of this machine: the folder moves as it is. Which checkpoint a folder was compiled
from is not recorded either: `compiled_from` compares the python backend's weights with its export.
"""

from __future__ import annotations

import json
from pathlib import Path

from rl_web_agent.policy.checkpoint import SNAPSHOTS_DIR, load_checkpoint
from rl_web_agent.runtime_py.export_json import to_json

C_FILE = "policy.c"
WASM_FILE = "policy.wasm"  # what a page's first action needs: the weights and forward() (wasm.py)
LAZY_WASM_FILE = "policy.lazy.wasm"  # forward_batch and saliency, on policy.wasm's memory (wasm.py)
WEBGPU_MODULE_FILE = "policy.webgpu.js"  # the static loader, rl_web_agent/compiler/webgpu_loader.js verbatim
WEBGPU_DATA_FILE = "policy.webgpu.data.js"  # WGSL kernels, dispatch plan, weight layout
WEBGPU_WEIGHTS_FILE = "policy.weights.bin"  # float32 little-endian
PYTHON_WEIGHTS_FILE = "policy.weights.json"  # the python backend's weights (export-json's form)
MANIFEST_FILE = "manifest.json"
# a kernel folder's files, in the order the manifest lists them: compile never replaces a folder holding
# anything else (but SNAPSHOTS_DIR, is_kernel_dir)
FILES = (
    C_FILE,
    WASM_FILE,
    LAZY_WASM_FILE,
    WEBGPU_MODULE_FILE,
    WEBGPU_DATA_FILE,
    WEBGPU_WEIGHTS_FILE,
    PYTHON_WEIGHTS_FILE,
    MANIFEST_FILE,
)
# the manifest fields a folder must have to be taken for one compile wrote
REQUIRED_FIELDS = frozenset({"env_id", "files", "weights_sha256"})


def read_manifest(folder: Path) -> dict:
    """FOLDER's manifest.json; OSError, UnicodeDecodeError or json.JSONDecodeError if unreadable."""
    return json.loads((Path(folder) / MANIFEST_FILE).read_text())


def write_manifest(folder: Path, manifest: dict, files: tuple[str, ...] = FILES) -> dict:
    """MANIFEST into FOLDER/manifest.json, its "files" filled in first: the size of each of FILES (a
    convolutional policy's kernel: the few it has; the manifest's own included once written, in the
    returned dict only). Returns MANIFEST."""
    folder = Path(folder)
    manifest["files"] = {f: (folder / f).stat().st_size for f in files if f != MANIFEST_FILE}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    manifest["files"][MANIFEST_FILE] = (folder / MANIFEST_FILE).stat().st_size
    return manifest


def is_kernel_dir(d: Path) -> bool:
    """Whether folder D is a kernel folder compile wrote: a manifest.json of ours and only FILES (and
    the SNAPSHOTS_DIR folder that --snapshots writes, snapshots.py)."""
    try:
        entries = list(d.iterdir())
        manifest = read_manifest(d)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(manifest, dict)
        and REQUIRED_FIELDS <= manifest.keys()
        and all(
            (e.is_file() if e.name in FILES else e.name == SNAPSHOTS_DIR and e.is_dir())
            and not e.is_symlink()
            for e in entries
        )
    )


def compiled_from(kernel: Path, model_dir: Path) -> bool:
    """Whether the kernel folder was compiled from the checkpoint at MODEL_DIR: the kernel folder names no
    checkpoint, but its policy.weights.json is that checkpoint's export, byte for byte."""
    weights = Path(kernel) / PYTHON_WEIGHTS_FILE
    return weights.is_file() and weights.read_text() == to_json(load_checkpoint(model_dir))
