"""The import graph of rl_web_agent, read with `ast` (every import: at module level and inside functions),
follows the project's layers, so the tree shows the architecture:

    policy       the checkpoint format (policy.json + policy.safetensors), atomic writes, env ids and spaces:
                 imports nothing else of ours.
    runtime_py   the pure-Python forward pass (mlp.py, which the page runs under MicroPython or Pyodide:
                 the standard library only) and export-json, which writes its weights from a checkpoint:
                 uses policy.
    train        PPO and what it writes: uses policy.
    compiler     checkpoint -> kernel folder (wasm, WebGPU, the python backend's weights): uses policy and
                 runtime_py.
    importers    Stable-Baselines3 and CleanRL policies -> the checkpoint format, checked with the compiler's
                 parity rules and PyTorch forward pass (compiler.parity, compiler.model only): uses policy.
    __main__     the command line: dispatches to each of them.

So policy <- runtime_py <- compiler <- importers, and policy <- train; no package imports one above it, and
no module imports itself back through others (no cycle, with function-level imports counted too).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = "rl_web_agent"
# layer -> the layers (and, for a restricted use, the modules) of ours it may import
ALLOWED = {
    "policy": {"policy"},
    "runtime_py": {"policy", "runtime_py"},
    "train": {"policy", "train"},
    "compiler": {"policy", "runtime_py", "compiler"},
    "importers": {"policy", "importers", "compiler.parity", "compiler.model"},
}
PURE_PYTHON = f"{PACKAGE}.runtime_py.mlp"  # runs under MicroPython and Pyodide: the standard library only


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module PATH imports, absolute (relative imports resolved), at any depth of its code; for `from
    X import Y`, X.Y when that is one of our modules, else X."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in MODULES else base)
    return found


MODULES = {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}
GRAPH = {m: {i for i in imports_of(p) if i in MODULES and i != m} for m, p in MODULES.items()}


def layer(module: str) -> str | None:
    """The sub-package of rl_web_agent that MODULE is in (None: rl_web_agent's own modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_the_graph_is_read():
    # a sanity check of the reader itself: relative, function-level and `from package import module` imports
    assert f"{PACKAGE}.train.ppo" in GRAPH[f"{PACKAGE}.train.cli"]  # `from .ppo import ...`
    assert f"{PACKAGE}.train.cli" in GRAPH[f"{PACKAGE}.__main__"]  # inside main()
    assert (
        f"{PACKAGE}.compiler.saliency" in GRAPH[f"{PACKAGE}.compiler.compile"]
    )  # from ...compiler import saliency
    assert set(ALLOWED) == {layer(m) for m in MODULES} - {None}


def test_no_import_cycle():
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            cycle = path[path.index(m) :] + [m]
            pytest.fail(f"import cycle: {' -> '.join(cycle)}")
        if m in done:
            return
        for n in sorted(GRAPH[m]):
            visit(n, [*path, m])
        done.add(m)

    for m in sorted(GRAPH):
        visit(m, [])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m)))
def test_layers(module):
    allowed = ALLOWED[layer(module)]
    for target in sorted(GRAPH[module]):
        rest = target.split(".", 1)[1]  # compiler.parity, policy.checkpoint, ...
        ok = layer(target) in allowed or any(rest == a or rest.startswith(a + ".") for a in allowed)
        assert ok, (
            f"{module} imports {target}: {layer(module)} may use only {sorted(allowed)} (see the docstring)"
        )


def test_policy_imports_nothing_else_of_ours():
    for m in MODULES:
        if layer(m) == "policy":
            assert {layer(t) for t in GRAPH[m]} <= {"policy"}, m


def test_the_pure_python_forward_pass_imports_only_the_standard_library():
    imported = {i.split(".")[0] for i in imports_of(MODULES[PURE_PYTHON])}
    assert imported and imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_no_old_top_level_packages():
    # (a folder left holding only __pycache__ after a checkout is not a package)
    assert not [*ROOT.glob("tiny_infer/*.py"), *ROOT.glob("train/*.py")]
