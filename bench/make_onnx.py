"""Build the policy as an ONNX graph (for onnxruntime-web) from the bench's weights JSON.

Runs in bench/.venv-sb3 (it has the `onnx` package; the project does not):
    bench/.venv-sb3/bin/python bench/make_onnx.py WEIGHTS_JSON OUT_ONNX
Input "obs" [N, obs_dim] float32; output "out" [N, n_actions + 1]: probabilities, then the value
(contract 2's layout).
"""
from __future__ import annotations

import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(doc: dict) -> onnx.ModelProto:
    meta, tensors = doc["meta"], doc["tensors"]
    if meta["action"]["type"] != "discrete":
        raise SystemExit("make_onnx: only discrete-action policies are benchmarked")
    act = {"tanh": "Tanh", "relu": "Relu"}[meta["activation"]]
    inits, nodes = [], []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    x = "obs"
    if meta.get("obs_norm"):
        n = meta["obs_norm"]
        mean = np.array(tensors["obs_norm.mean"]["data"], dtype=np.float32)
        var = np.array(tensors["obs_norm.var"]["data"], dtype=np.float32)
        nodes.append(helper.make_node("Sub", [x, const("norm_mean", mean)], ["norm_c"]))
        std = const("norm_std", np.sqrt(var + np.float32(n["eps"])))
        nodes.append(helper.make_node("Div", ["norm_c", std], ["norm_z"]))
        nodes.append(helper.make_node("Clip", ["norm_z", const("clip_lo", np.float32(-n["clip"])),
                                               const("clip_hi", np.float32(n["clip"]))], ["x"]))
        x = "x"
    heads = []
    for head in ("actor", "critic"):
        h, i = x, 0
        while f"{head}.{i}.weight" in tensors:
            w, b = tensors[f"{head}.{i}.weight"], tensors[f"{head}.{i}.bias"]
            wn = const(f"{head}_{i}_w", np.array(w["data"], dtype=np.float32).reshape(w["shape"]))
            bn = const(f"{head}_{i}_b", np.array(b["data"], dtype=np.float32))
            nodes.append(helper.make_node("Gemm", [h, wn, bn], [f"{head}_{i}"], transB=1))
            h = f"{head}_{i}"
            if f"{head}.{i + 1}.weight" in tensors:
                nodes.append(helper.make_node(act, [h], [f"{head}_{i}_a"]))
                h = f"{head}_{i}_a"
            i += 1
        heads.append(h)
    nodes.append(helper.make_node("Softmax", [heads[0]], ["probs"], axis=-1))
    nodes.append(helper.make_node("Concat", ["probs", heads[1]], ["out"], axis=1))
    n_out = meta["action"]["n"] + 1
    graph = helper.make_graph(nodes, "policy", [helper.make_tensor_value_info("obs", TensorProto.FLOAT,
                                                                              ["N", meta["obs_dim"]])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", n_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="rl-web-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: make_onnx.py WEIGHTS_JSON OUT_ONNX")
    with open(sys.argv[1]) as f:
        m = build(json.load(f))
    onnx.save(m, sys.argv[2])
