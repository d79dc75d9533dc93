"""Copy Gymnasium's MuJoCo model files into the page's env modules, unmodified.

`python web/build/mujoco_xml.py` writes web/page/envs/mujoco/assets/<file>.js, each `export default` the exact
text of gymnasium/envs/mujoco/assets/<file> as a JSON string: an ES module, so that Node (the tests, the
bundler's registry import) and esbuild (the pages) read the same bytes without a text loader.
tests/test_mujoco.py checks that every copy still equals the installed Gymnasium's file.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium

# XML file of each env, as Gymnasium's v5 classes name them (walker2d_v5.xml is Walker2d-v5's own)
FILES = ("hopper.xml", "half_cheetah.xml", "walker2d_v5.xml")
SRC = Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets"
OUT = Path(__file__).parent.parent / "page" / "envs" / "mujoco" / "assets"


def module_text(name: str) -> str:
    """The ES module holding Gymnasium's `name` verbatim."""
    text = (SRC / name).read_text(encoding="utf-8")
    return (
        f"// Gymnasium {gymnasium.__version__}'s gymnasium/envs/mujoco/assets/{name}, unmodified "
        f"(written by web/build/mujoco_xml.py).\nexport default {json.dumps(text)};\n"
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (OUT / f"{name}.js").write_text(module_text(name), encoding="utf-8")
        print(f"wrote {OUT / name}.js")


if __name__ == "__main__":
    main()
