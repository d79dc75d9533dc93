"""Export the policy as an ONNX graph (for onnxruntime-web) from the bench's weights JSON, through the
project's one PyTorch model (train.model.ActorCritic) and torch.onnx.export.

Runs in bench/.venv-sb3 (it has the `onnx` package; the project does not):
    bench/.venv-sb3/bin/python bench/make_onnx.py WEIGHTS_JSON OUT_ONNX
Input "obs" [N, obs_dim] float32; output "out" [N, n_actions + 1]: probabilities, then the value
(the kernel folder's layout).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rl_web_agent.train.model import ActorCritic  # noqa: E402


def export(doc: dict, out: Path) -> None:
    """Write the ONNX graph of the policy in doc (bench.context's weights JSON: meta and named tensors)."""
    tensors = {
        k: np.array(t["data"], dtype=np.float32).reshape(t["shape"]) for k, t in doc["tensors"].items()
    }
    model = ActorCritic.from_checkpoint(doc["meta"], tensors).eval()
    obs = torch.zeros(1, doc["meta"]["obs_dim"])
    # the TorchScript exporter (deprecated, still there): the dynamo one needs onnxscript, not installed here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (obs,),
            str(out),
            input_names=["obs"],
            output_names=["out"],
            dynamic_axes={"obs": {0: "N"}, "out": {0: "N"}},
            opset_version=17,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(out)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: make_onnx.py WEIGHTS_JSON OUT_ONNX")
    export(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
