"""Section `cnn`: a convolutional policy's decision (preprocessing + forward pass) on real Atari frames,
against the issue's 3 ms target, PyTorch on one thread and onnxruntime-web on the same CNN.

The policy is ALE/Pong-v5's (the newest-model rule), else a NatureCNN with random orthogonal weights (as
CleanRL initialises one: speed and size are the same). It is compiled twice with `rl_web_agent compile`,
`--weights f32` and `--weights int8`. The inputs are Pong's own: ale-py plays it with random actions, a
'gymnasium-atari' step at a time (AtariPreprocessing: 4 frames, the gray screens of the last two max-pooled
and area-resized to 84x84 by cv2, then a stack of 4), so the bench has the two gray screens of each step, the
frame Gymnasium makes of them and the stacks the policy reads. bench/js/cnn.mjs checks our preprocessing
(web/page/envs/atari/preprocess.js) against those frames and every runtime's outputs against PyTorch's
before it times anything.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.browser import run_harness
from bench.common import BENCH, NO_CHROMIUM, ROOT, Row, chromium_path, gz_size, model_dir, run, skipped
from bench.context import Context
from bench.deps import ensure_node, ensure_sb3
from bench.kernel import NM, PEER_FILES, fetch_bytes

S = "cnn"
ENV = "ALE/Pong-v5"
ROM = "pong"
TARGET_MS = 3.0  # the target: a decision (preprocess + forward) <= 3 ms in wasm
SCREEN = (210, 160)
FRAME_SKIP = 4
WARM_STEPS = 60  # random-action steps before the frames kept: the ball is in play by then
PARITY_SAMPLES = 64  # the compile's parity certificate: enough for a bench (the default is 10,000)
NATURE_CNN = (
    {"out": 32, "kernel": 8, "stride": 4},
    {"out": 64, "kernel": 4, "stride": 2},
    {"out": 64, "kernel": 3, "stride": 1},
)
PREPROCESS_JS = ROOT / "web" / "page" / "envs" / "atari" / "preprocess.js"
LABEL = {
    "ours_f32": "ours wasm f32",
    "ours_int8": "ours wasm int8",
    "ort": "onnxruntime-web (wasm, 1 thread)",
    "ours_webgpu": "ours WebGPU int8 (SwiftShader: WebGPU on the CPU)",
}


def random_cnn(out: Path, seed: int = 0) -> Path:
    """A NatureCNN checkpoint for Pong (4x84x84 frames, 6 actions, a critic) with orthogonal weights (gain
    sqrt(2), the actor's 0.01, the critic's 1, as CleanRL initialises them) and small random biases."""
    import torch

    from rl_web_agent.policy.checkpoint import expected_shapes, write_checkpoint

    image, n_act = (4, 84, 84), 6
    meta = {
        "format": 1,
        "env_id": ENV,
        "obs_dim": int(np.prod(image)),
        "image": list(image),
        "conv": list(NATURE_CNN),
        "trunk": [512],
        "action": {"type": "discrete", "n": n_act},
        "hidden": [],
        "activation": "relu",
        "head": "policy",
        "value": True,
        "obs_norm": None,
        "frames": "gymnasium-atari",
    }
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, shape in expected_shapes(
        meta["obs_dim"], (), n_act, False, False, True, None, image, NATURE_CNN, (512,)
    ).items():
        t = torch.empty(shape)
        if name.endswith(".weight"):
            gain = 0.01 if name.startswith("actor.") else 1.0 if name.startswith("critic.") else 2**0.5
            torch.nn.init.orthogonal_(t, gain, generator=g)
        else:
            t = torch.randn(shape, generator=g) * 0.01
        tensors[name] = t.contiguous().numpy()
    write_checkpoint(out, tensors, meta)
    return out


def pong_policy(ctx: Context) -> tuple[Path, str]:
    """(checkpoint folder, what it is): Pong's trained policy when there is one, else a random NatureCNN."""
    d = model_dir(ENV)
    if d is not None:
        return d, f"trained: {d.relative_to(ROOT)}"
    out = random_cnn(ctx.tmp / "cnn" / "model")
    return out, f"random orthogonal NatureCNN (no build/models/{ENV} or models/{ENV})"


def quant_note(parity: dict) -> str:
    """A quantized kernel's error against the float32 policy, from its manifest's parity record."""
    f = parity.get("float32_policy")
    if not f or "greedy_agree" not in f:
        return ""
    return (
        f", vs the float32 policy {f['max_abs_err']:.1e}, greedy action equal on "
        f"{f['greedy_agree']} of {f['greedy_samples']}"
    )


def pong_steps(steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(screens uint8 [steps, 2, 210, 160], frames uint8 [steps, 84, 84]): ale-py playing Pong with random
    actions (v5's sticky actions), each step 4 frames of one action as Gymnasium's AtariPreprocessing takes
    them: the gray screens of its last two frames (the newest first), and the frame it makes of them
    (np.maximum, then cv2.resize INTER_AREA to 84x84)."""
    import cv2
    from ale_py import ALEInterface, LoggerMode, roms

    ALEInterface.setLoggerMode(LoggerMode.Error)
    rng = np.random.default_rng(seed)
    ale = ALEInterface()
    ale.setInt("random_seed", int(rng.integers(1 << 30)))
    ale.setFloat("repeat_action_probability", 0.25)
    ale.loadROM(roms.get_rom_path(ROM))
    actions = ale.getMinimalActionSet()
    screens = np.zeros((steps, 2, *SCREEN), np.uint8)
    cur = np.zeros((2, *SCREEN), np.uint8)
    for i in range(WARM_STEPS + steps):
        a = actions[int(rng.integers(len(actions)))]
        for t in range(FRAME_SKIP):
            ale.act(a)
            if ale.game_over():
                ale.reset_game()
            if t >= FRAME_SKIP - 2:
                ale.getScreenGrayscale(cur[FRAME_SKIP - 1 - t])
        if i >= WARM_STEPS:
            screens[i - WARM_STEPS] = cur
    frames = np.stack(
        [cv2.resize(np.maximum(s[0], s[1]), (84, 84), interpolation=cv2.INTER_AREA) for s in screens]
    )
    return screens, frames


def compile_cnn(model: Path, out: Path, weights: str) -> tuple[float, dict]:
    """policy.wasm with WEIGHTS storage: (seconds, parity check included; its manifest)."""
    t0 = time.perf_counter()
    run(
        [
            sys.executable,
            "-m",
            "rl_web_agent",
            "compile",
            str(model),
            "--out",
            str(out),
            "--weights",
            weights,
            "--parity-samples",
            str(PARITY_SAMPLES),
        ],
        timeout=600,
    )
    return time.perf_counter() - t0, json.loads((out / "manifest.json").read_text())


def run_chromium(d: Path, cfg: dict) -> dict:
    mounts = {"/js/": BENCH / "js", "/nm/": NM, "/t/": d, "/page/": ROOT / "web" / "page"}

    def url(p: str | None) -> str | None:
        return None if p is None else "/t/" + str(Path(p).relative_to(d))

    bcfg = {
        **{k: url(cfg[k]) for k in ("io", "frames", "screens", "preRef", "onnx")},
        "wasm": {k: url(v) for k, v in cfg["wasm"].items()},
        # the int8 kernel's WGSL: policy.webgpu.js imports its data module from beside it
        "webgpu": {
            "module": url(str(Path(cfg["wasm"]["int8"]).with_name("policy.webgpu.js"))),
            "weights": url(str(Path(cfg["wasm"]["int8"]).with_name("policy.weights.bin"))),
        }
        if "int8" in cfg["wasm"]
        else None,
        "preprocess": "/page/" + str(PREPROCESS_JS.relative_to(ROOT / "web" / "page")),
        "quick": cfg["quick"],
    }
    return run_harness(mounts, "/js/cnn_harness.html", "cnnReady", "runCnn", bcfg)


def measure(ctx: Context) -> list[Row]:
    from rl_web_agent.compiler.cnn import quantized_tensors
    from rl_web_agent.compiler.model import torch_cnn_forward
    from rl_web_agent.policy.checkpoint import load_checkpoint

    d = ctx.tmp / "cnn"
    d.mkdir(exist_ok=True)
    rows: list[Row] = []
    try:
        ensure_node()
    except Exception as e:  # noqa: BLE001 - any install failure becomes a readable skip row
        return [skipped(S, "all", f"npm ci --prefix bench failed: {e}")]
    model, what = pong_policy(ctx)
    ckpt = load_checkpoint(model)
    if ckpt.image is None or ckpt.image[1:] != (84, 84):
        return [skipped(S, "all", f"{model}: not a convolutional policy over 84x84 frames ({ckpt.image})")]
    ctx.facts["cnn_model"] = what
    stack, n = ckpt.image[0], 32 if ctx.quick else 64

    # --- the two kernels ------------------------------------------------------------------------------
    kernels, manifests = {}, {}
    for w in ("f32", "int8"):
        try:
            secs, manifests[w] = compile_cnn(model, d / f"kernel-{w}", w)
        except Exception as e:  # noqa: BLE001
            rows.append(skipped(S, f"rl_web_agent compile --weights {w}", str(e)))
            continue
        kernels[w] = d / f"kernel-{w}" / "policy.wasm"
        par = manifests[w]["parity"]
        rows.append(
            Row(
                S,
                f"rl_web_agent compile --weights {w} (parity on {par['samples']} frame stacks)",
                secs,
                "s",
                note=f"{what}; parity max abs err {par['max_abs_err']:.1e}"
                + (quant_note(par) if w != "f32" else ""),
                extra={"model": what, "macs": manifests[w]["macs"], "parity": par},
            )
        )
    if len(kernels) < 2:
        return rows

    # --- real frames, PyTorch's outputs -----------------------------------------------------------------
    try:
        screens, pre = pong_steps(n + stack - 1)
    except ImportError as e:
        return [*rows, skipped(S, "all", f"needs ale-py and opencv (Gymnasium's AtariPreprocessing): {e}")]
    frames = np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(pre, stack, axis=0).transpose(0, 3, 1, 2)
    )
    ref = {
        "f32": torch_cnn_forward(ckpt, frames),
        "int8": torch_cnn_forward(ckpt, frames, quantized_tensors(ckpt, "int8")[1]),
    }
    for name, a in (("frames", frames), ("screens", screens), ("pre", pre)):
        (d / f"{name}.bin").write_bytes(a.tobytes())
        np.save(d / f"{name}.npy", a)
    io = {
        "n": n,
        "image": list(ckpt.image),
        "screen": list(SCREEN),
        "nAct": ckpt.n_act,
        "nOut": ckpt.n_out,
        "ref": {k: v.astype(float).tolist() for k, v in ref.items()},
    }
    (d / "io.json").write_text(json.dumps(io))
    spec = {
        "strides": [c["stride"] for c in ckpt.conv],
        "heads": {h: len(ckpt.layers(h)) for h in ckpt.heads},
        "activation": ckpt.activation,
        "image": list(ckpt.image),
    }
    np.savez(d / "model.npz", spec=json.dumps(spec), **ckpt.tensors)

    # --- PyTorch on one thread, in a process of its own --------------------------------------------------
    torch_res = None
    try:
        cmd = [sys.executable, str(BENCH / "cnn_torch.py"), "time", str(d / "model.npz")]
        reps = "100" if ctx.quick else "300"
        run([*cmd, str(d / "frames.npy"), str(d / "screens.npy"), reps, str(d / "torch.json")], timeout=600)
        torch_res = json.loads((d / "torch.json").read_text())
        diff = float(np.abs(np.array(torch_res["out"]) - ref["f32"]).max())
        rows.append(
            Row(
                S,
                "PyTorch forward (float32, 1 thread, same weights and frames)",
                torch_res["median_ms"],
                "ms",
                note=f"torch {torch_res['torch']}, torch.set_num_threads(1), batch 1; p90 "
                f"{torch_res['p90_ms']:.2f} ms; max abs diff vs PyTorch float64 {diff:.1e}",
                extra={"max_abs_diff": diff, "p90_ms": torch_res["p90_ms"], "reps": torch_res["reps"]},
            )
        )
        if "cv2_preprocess_median_ms" in torch_res:
            rows.append(
                Row(
                    S,
                    "Python preprocessing (Gymnasium's: np.maximum + cv2.resize INTER_AREA, 1 thread)",
                    torch_res["cv2_preprocess_median_ms"],
                    "ms",
                    note=f"opencv {torch_res['cv2']}, cv2.setNumThreads(1); one step's two gray screens "
                    "-> the 84x84 frame",
                )
            )
    except Exception as e:  # noqa: BLE001
        rows.append(skipped(S, "PyTorch forward", str(e)))

    # --- the same CNN as ONNX, for onnxruntime-web ------------------------------------------------------
    onnx = d / "policy.onnx"
    try:
        run(
            [str(ensure_sb3()), str(BENCH / "cnn_torch.py"), "onnx", str(d / "model.npz"), str(onnx)],
            timeout=600,
        )
    except Exception as e:  # noqa: BLE001
        rows.append(skipped(S, "onnxruntime-web", f"could not export the ONNX model: {e}"))
        onnx = None

    cfg = {
        "io": str(d / "io.json"),
        "frames": str(d / "frames.bin"),
        "screens": str(d / "screens.bin"),
        "preRef": str(d / "pre.bin"),
        "wasm": {k: str(v) for k, v in kernels.items()},
        "onnx": str(onnx) if onnx else None,
        "preprocess": PREPROCESS_JS.as_uri(),
        "quick": ctx.quick,
    }
    results: dict[str, dict] = {}
    try:
        (d / "node.json").write_text(json.dumps(cfg))
        p = run(["node", str(BENCH / "js" / "cnn_bench_node.mjs"), str(d / "node.json")], timeout=900)
        results["node"] = json.loads(p.stdout.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001
        rows.append(skipped(S, "node", str(e)))
    if chromium_path() is None:
        rows.append(skipped(S, "chromium", NO_CHROMIUM))
    else:
        try:
            results["chromium"] = run_chromium(d, cfg)
            ctx.facts["chromium"] = results["chromium"].get("version")
        except Exception as e:  # noqa: BLE001
            rows.append(skipped(S, "chromium", str(e).splitlines()[0]))

    load = os.getloadavg()[0]
    for where, res in results.items():
        rows += runtime_rows(where, res, torch_res, load)
    rows += size_rows(kernels, onnx)
    return rows


def runtime_rows(where: str, res: dict, torch_res: dict | None, load: float) -> list[Row]:
    """One runtime's rows (Node or Chromium): each forward pass, our preprocessing, each decision."""
    rows = []
    peers, paired = res["peers"], res.get("paired", {})
    torch_ms = torch_res["median_ms"] if torch_res else None
    for key, m in peers.items():
        label = f"{where}: {LABEL[key]} forward"
        if "error" in m:
            rows.append(skipped(S, label, m["error"]))
            continue
        against = (
            "PyTorch float64 on the dequantized int8 weights" if key == "ours_int8" else "PyTorch float64"
        )
        note = f"max abs diff vs {against} {m['max_abs_diff']:.1e} on {m['checked']} Pong frame stacks"
        if key == "ours_int8":
            note += (
                f"; vs the float32 policy {m['max_abs_diff_f32']:.1e}, greedy action equal on "
                f"{m['greedy_agree_f32']} of {m['checked']}"
            )
        if key == "ours_webgpu":
            note += f"; adapter {m.get('adapter') or 'unknown'}; createPolicy {m['instantiate_ms']:.0f} ms"
        elif key.startswith("ours"):
            note += f"; instantiate {m['instantiate_ms']:.0f} ms, first forward() {m['first_ms']:.1f} ms"
            if key == "ours_int8":
                note += " (widens the int8 weights)"
        else:
            note += f"; session create {m['instantiate_ms']:.0f} ms"
        note += timing_note(m)
        row = Row(S, label, m["ms"], "ms", note=note, extra={k: v for k, v in m.items() if k != "checked"})
        if key == "ours_f32" and torch_ms:
            row.ratio, row.ratio_to = m["ms"] / torch_ms, "PyTorch 1 thread"
        elif key == "ours_int8" and "int8_over_f32" in paired:
            row.ratio, row.ratio_to = paired["int8_over_f32"], "ours f32, paired"
        elif key == "ours_webgpu" and "webgpu_over_int8" in paired:
            row.ratio, row.ratio_to = paired["webgpu_over_int8"], "ours wasm int8, paired"
        elif key == "ort" and "int8_over_ort" in paired:
            row.ratio, row.ratio_to = 1 / paired["int8_over_ort"], "ours int8, paired"
            if "f32_over_ort" in paired:
                row.note += f"; ours f32 / onnxruntime-web {paired['f32_over_ort']:.2f}x (paired)"
        rows.append(row)

    pre = res["preprocess"]
    nf = pre["frames_checked"]
    rows.append(
        Row(
            S,
            f"{where}: ours preprocessing (one gymnasium-atari step: max-pool, area resize, stack)",
            pre["ms"],
            "ms",
            note="web/page/envs/atari/preprocess.js on two gray 210x160 screens: "
            + (
                f"{nf} of {nf} frames bit-identical to Gymnasium's (cv2)"
                if pre["pixels_differing"] == 0
                else f"{pre['pixels_differing']} pixels differ from Gymnasium's in {nf} frames"
            )
            + f", {pre['stacks_checked'] - pre['stacks_differing']} of {pre['stacks_checked']} stacks equal"
            + timing_note(pre),
            extra=pre,
        )
    )
    for key, m in res["decision"].items():
        ok_input = pre["pixels_differing"] == 0 and pre["stacks_differing"] == 0
        r = Row(
            S,
            f"{where}: decision = preprocess + forward, {LABEL[key]}",
            m["ms"],
            "ms",
            note=f"one step's two screens -> greedy action{timing_note(m)}; load average {load:.1f}",
            extra=m,
        )
        if key == "ours_webgpu":  # SwiftShader's time is the CPU's: the 3 ms target is wasm's
            r.note += "; WebGPU on SwiftShader (the CPU): not a GPU's time"
        elif key.startswith("ours"):
            r.target, r.ok = f"<= {TARGET_MS:g} ms", m["ms"] <= TARGET_MS and ok_input
            if not ok_input:
                r.note += "; FAILS: the preprocessing's frames differ from Gymnasium's"
        rows.append(r)
    return rows


def timing_note(m: dict) -> str:
    """The spread and, in Node, the CPU time of a timed function (bench/js/cnn.mjs timeRoundRobin)."""
    cpu = f", CPU {m['cpu_ms']:.2f} ms" if m.get("cpu_ms") is not None else ""
    return f"; p90 {m['p90_ms']:.2f} ms{cpu} ({m['reps']} reps of {m['inner']})"


def size_rows(kernels: dict[str, Path], onnx: Path | None) -> list[Row]:
    """What a browser fetches to run each (gzip -9): our policy.wasm (weights inside), onnxruntime-web's
    runtime and the ONNX model."""
    rows, ours_gz = [], {}
    for w in ("int8", "f32"):
        raw = kernels[w].read_bytes()
        ours_gz[w] = gz_size(raw)
        rows.append(
            Row(
                S,
                f"size: ours wasm {w} (policy.wasm, weights inside)",
                ours_gz[w],
                "B gz",
                ratio=ours_gz[w] / ours_gz["int8"] if w != "int8" else None,
                ratio_to="ours int8" if w != "int8" else "",
                note=f"{len(raw)} B raw",
                extra={"raw": len(raw)},
            )
        )
    if onnx is not None:
        files = [NM / f for f in PEER_FILES["ort"]] + [onnx]
        raw, gz = fetch_bytes(files)
        rows.append(
            Row(
                S,
                "size: onnxruntime-web (wasm) + policy.onnx (float32)",
                gz,
                "B gz",
                ratio=gz / ours_gz["int8"],
                ratio_to="ours int8",
                note=f"{raw} B raw; " + ", ".join(f"{f.name} {gz_size(f.read_bytes())} B gz" for f in files),
                extra={"raw": raw, "files": [f.name for f in files]},
            )
        )
    return rows
