"""The page's layout rule (docs/design.md): web/page/core/ is the eager code, on the path to the first agent
action; web/page/lazy/ holds the code-split chunks, loaded by a dynamic import() after it. A lazy module
imports nothing of the page (esbuild would move what both import into a chunk the entry fetches before the
first action): what it needs is passed in. A feature's halves share a name: core/X.js loads lazy/X.js.

Read from the sources (no build): static imports (import/export ... from, bare import) followed through
relative specifiers, and the string-literal import() calls."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "web" / "page"
CORE, LAZY = PAGE / "core", PAGE / "lazy"
# the build's virtual module of lazy backends (web/build/bundler.mjs) names them relative to web/page
BUNDLER = ROOT / "web" / "build" / "bundler.mjs"

COMMENTS = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.S | re.M)
STATIC = re.compile(
    r"^\s*(?:import|export)\b[^;'\"`]*?\bfrom\s*['\"]([^'\"]+)['\"]|^\s*import\s*['\"]([^'\"]+)['\"]", re.M
)
DYNAMIC = re.compile(r"\bimport\(\s*['\"]([^'\"]+)['\"]\s*\)")


def imports(path: Path) -> tuple[list[str], list[str]]:
    """(static specifiers, dynamic import() specifiers) of one module."""
    text = COMMENTS.sub("", path.read_text())
    return [a or b for a, b in STATIC.findall(text)], DYNAMIC.findall(text)


def resolve(path: Path, spec: str) -> Path | None:
    """The file a relative specifier names; None for a bare or virtual one (a package, virtual:env)."""
    if not spec.startswith("."):
        return None
    target = (path.parent / spec).resolve()
    assert target.is_file(), f"{path.relative_to(ROOT)}: {spec} names no file"
    return target


def static_closure(path: Path) -> dict[Path, Path]:
    """Every file reached from `path` by static imports: file -> the module that imports it."""
    seen, todo = {path: path}, [path]
    while todo:
        f = todo.pop()
        for spec in imports(f)[0]:
            target = resolve(f, spec)
            if target is not None and target not in seen:
                seen[target] = f
                todo.append(target)
    return seen


def modules(folder: Path) -> list[Path]:
    found = sorted(folder.rglob("*.js"))
    assert found, f"no modules in {folder}"
    return found


def rel(p: Path) -> str:
    return str(p.relative_to(PAGE))


def test_lazy_imports_nothing_from_the_page():
    """A lazy module reaches only lazy/ modules, and no virtual module of the page's (virtual:env, kernel)."""
    for mod in modules(LAZY):
        for f, by in static_closure(mod).items():
            assert f.is_relative_to(LAZY), f"{rel(mod)} imports {rel(f)} (in {rel(by)}): pass it in instead"
        static, dynamic = imports(mod)
        for spec in static + dynamic:
            assert not spec.startswith("virtual:"), f"{rel(mod)} imports {spec}, a module of the page's entry"
            target = resolve(mod, spec)
            assert target is None or target.is_relative_to(LAZY), f"{rel(mod)} imports {spec}"


def test_core_reaches_lazy_only_by_dynamic_import():
    """No static import chain from a core module ends in lazy/; core/X.js import()s only lazy/X.js."""
    for mod in modules(CORE):
        for f, by in static_closure(mod).items():
            assert not f.is_relative_to(LAZY), (
                f"{rel(mod)} statically reaches {rel(f)} (imported by {rel(by)})"
            )
        for spec in imports(mod)[1]:
            target = resolve(mod, spec)
            assert target is not None and target.is_relative_to(LAZY), f"{rel(mod)}: import({spec})"
            assert target.relative_to(LAZY) == mod.relative_to(CORE), (
                f"{rel(mod)} loads {rel(target)}: a feature's halves share a name (core/X.js loads lazy/X.js)"
            )


def test_every_lazy_module_is_loaded_lazily():
    """Each lazy module is import()ed by its core half or by the build's lazy backends, or is a static
    import of another lazy module (lazy/sweep.js of lazy/whatif.js): none is dead, none is eager."""
    reached = set()
    for mod in modules(CORE):
        reached |= {resolve(mod, s) for s in imports(mod)[1]}
    reached |= {(PAGE / s).resolve() for s in DYNAMIC.findall(BUNDLER.read_text())}
    for mod in list(reached):
        reached |= set(static_closure(mod))
    missing = [rel(m) for m in modules(LAZY) if m.resolve() not in reached]
    assert not missing, f"lazy modules nothing loads: {missing}"


def test_the_layout_checker_sees_imports():
    """The checker's own parse: multi-line, bare, re-export and dynamic imports; commented ones ignored."""
    probe = PAGE / "core" / "app.js"
    static, dynamic = imports(probe)
    assert "./loop.js" in static and "virtual:kernel" in static, static
    assert dynamic == [], dynamic  # app.js loads nothing lazily itself: its features' core halves do
    static, dynamic = imports(CORE / "share.js")
    assert dynamic == ["../lazy/share.js"], dynamic
