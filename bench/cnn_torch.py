"""The convolutional policy in PyTorch, for section `cnn`: one nn.Module built from the checkpoint's tensors
(the layout rl_web_agent/compiler/cnn.py compiles: convs, trunk, actor then critic), timed on one thread and
exported to ONNX for onnxruntime-web. A script of its own, so that torch runs in a fresh process (one thread,
nothing else loaded) and the export can run in bench/.venv-sb3, which has `onnx`:

    python bench/cnn_torch.py time MODEL.npz FRAMES.npy SCREENS.npy REPS OUT.json
    bench/.venv-sb3/bin/python bench/cnn_torch.py onnx MODEL.npz OUT.onnx

MODEL.npz: the checkpoint's tensors (checkpoint names) and `spec`, a JSON string: {strides, heads: {name:
number of linear layers}, activation}. The module takes uint8 frames [N, C, H, W] and returns float32 [N,
n_out]: the actor's outputs (logits), then the value; the kernel's output layout.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812


class CNN(torch.nn.Module):
    """uint8 frames -> [logits..., value]: frames / 255, ReLU convs, flatten, ReLU trunk, the heads."""

    def __init__(self, tensors: dict[str, np.ndarray], spec: dict):
        super().__init__()
        self.strides = list(spec["strides"])
        self.heads = dict(spec["heads"])
        self.tanh = spec["activation"] == "tanh"
        for k, v in tensors.items():
            self.register_buffer(k.replace(".", "_"), torch.from_numpy(np.ascontiguousarray(v, np.float32)))
        self.n_trunk = sum(1 for k in tensors if k.startswith("trunk.") and k.endswith(".weight"))

    def t(self, name: str) -> torch.Tensor:
        return getattr(self, name.replace(".", "_"))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.to(torch.float32) / 255.0
        for i, s in enumerate(self.strides):
            x = torch.relu(F.conv2d(x, self.t(f"conv.{i}.weight"), self.t(f"conv.{i}.bias"), stride=s))
        x = x.flatten(1)
        for i in range(self.n_trunk):
            x = torch.relu(F.linear(x, self.t(f"trunk.{i}.weight"), self.t(f"trunk.{i}.bias")))
        outs = []
        for head, n in self.heads.items():
            h = x
            for i in range(n):
                h = F.linear(h, self.t(f"{head}.{i}.weight"), self.t(f"{head}.{i}.bias"))
                if i < n - 1:
                    h = torch.tanh(h) if self.tanh else torch.relu(h)
            outs.append(h)
        return torch.cat(outs, dim=-1)


def load(npz: Path) -> CNN:
    z = np.load(npz)
    spec = json.loads(str(z["spec"]))
    return CNN({k: z[k] for k in z.files if k != "spec"}, spec).eval()


def time_forward(model: CNN, frames: np.ndarray, screens: np.ndarray, reps: int) -> dict:
    """One frame stack per call, one thread: every frame's outputs, then the median ms of REPS calls after
    a warm-up; and Gymnasium's own preprocessing ops (AtariPreprocessing: np.maximum of the last two gray
    screens, cv2.resize INTER_AREA to 84x84) per step, one thread, when cv2 is there."""
    torch.set_num_threads(1)
    x = [torch.from_numpy(np.ascontiguousarray(f[None])) for f in frames]
    with torch.inference_mode():
        out = np.concatenate([model(xi).numpy() for xi in x])
        for i in range(10):
            model(x[i % len(x)])
        times = []
        for i in range(reps):
            t0 = time.perf_counter()
            model(x[i % len(x)])
            times.append((time.perf_counter() - t0) * 1e3)
    res = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "median_ms": statistics.median(times),
        "p10_ms": float(np.percentile(times, 10)),
        "p90_ms": float(np.percentile(times, 90)),
        "reps": reps,
        "out": out.astype(float).tolist(),
    }
    try:
        import cv2
    except ImportError:
        return res
    cv2.setNumThreads(1)
    pooled = np.empty(screens.shape[2:], np.uint8)

    def step(i: int) -> np.ndarray:
        np.maximum(screens[i, 0], screens[i, 1], out=pooled)
        return cv2.resize(pooled, (84, 84), interpolation=cv2.INTER_AREA)

    for i in range(20):
        step(i % len(screens))
    pre = []
    for i in range(max(reps, 200)):
        t0 = time.perf_counter()
        step(i % len(screens))
        pre.append((time.perf_counter() - t0) * 1e3)
    res["cv2_preprocess_median_ms"] = statistics.median(pre)
    res["cv2"] = cv2.__version__
    return res


def export_onnx(model: CNN, image: tuple[int, ...], out: Path) -> None:
    """The module as an ONNX graph: input "frames" uint8 [N, C, H, W], output "out" [N, n_out] (opset 17,
    which onnxruntime-web runs)."""
    import onnx

    with warnings.catch_warnings():  # the TorchScript exporter (deprecated, still there), as make_onnx.py
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, *image, dtype=torch.uint8),),
            str(out),
            input_names=["frames"],
            output_names=["out"],
            dynamic_axes={"frames": {0: "N"}, "out": {0: "N"}},
            opset_version=17,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(out)))


def main(argv: list[str]) -> None:
    if len(argv) == 6 and argv[0] == "time":
        frames, screens = np.load(argv[2]), np.load(argv[3])
        res = time_forward(load(Path(argv[1])), frames, screens, int(argv[4]))
        Path(argv[5]).write_text(json.dumps(res))
    elif len(argv) == 3 and argv[0] == "onnx":
        spec = json.loads(str(np.load(argv[1])["spec"]))
        export_onnx(load(Path(argv[1])), tuple(spec["image"]), Path(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
