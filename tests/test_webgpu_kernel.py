"""policy.webgpu.js in headless Chromium (WebGPU on SwiftShader) against the numpy oracle."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from rl_web_agent.compiler.codegen import Buf, Call, Graph, Kernel
from rl_web_agent.compiler.webgpu import emit_data
from tests.checkpoints import oracle_forward
from tests.kernels import assert_parity

pytestmark = pytest.mark.compile

N_OBS = 10_000
HARNESS = """<!doctype html><meta charset="utf-8"><title>policy.webgpu.js harness</title>
<link rel="icon" href="data:,">
<script type="module">
window.runPolicy = async (obs, n) => {
  if (!navigator.gpu) throw new Error('navigator.gpu missing');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const { createPolicy } = await import('./k/policy.webgpu.js');
  const p = await createPolicy(device, './k/policy.weights.bin');
  const x = new Float32Array(obs), out = new Float32Array(n * p.nOut);
  for (let i = 0; i < n; i += p.batchSize) {
    const m = Math.min(p.batchSize, n - i);
    out.set(await p.forwardBatch(x.subarray(i * p.obsDim, (i + m) * p.obsDim), m), i * p.nOut);
  }
  const single = [];  // forward(), also several in flight at once
  const runs = [];
  for (let i = 0; i < 64; i++) runs.push(p.forward(x.subarray(i * p.obsDim, (i + 1) * p.obsDim)));
  for (const r of await Promise.all(runs)) single.push(...r);
  let bad = null;
  try { await p.forwardBatch(x, p.batchSize + 1); } catch (e) { bad = String(e); }
  p.destroy();
  return { batch: Array.from(out), single, bad, batchSize: p.batchSize, nOut: p.nOut };
};
window.ready = true;
</script>
"""


def run_harness(browser, serve, tmp_path, kdir, html: str, call: str, args: list):
    """The kernel folder KDIR served as k/ beside the harness page HTML; CALL (a JS function of ARGS)
    evaluated once the page is ready; its result, after checking that the page threw no error."""
    site = tmp_path / "site"
    shutil.copytree(kdir, site / "k")
    (site / "index.html").write_text(html)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(serve(site) + "/index.html")
        page.wait_for_function("window.ready === true", timeout=30_000)
        r = page.evaluate(call, args)
    finally:
        page.close()
    assert not errors, errors
    return r


@pytest.mark.parametrize("name", ["cartpole", "relu-box-norm", "box1"])
def test_webgpu_matches_the_oracle(compiled, name, browser, serve, tmp_path):
    model, kdir = compiled[name]
    manifest = json.loads((kdir / "manifest.json").read_text())
    rng = np.random.default_rng(7)
    obs = np.concatenate(
        [
            rng.normal(0, 3, (N_OBS // 2, manifest["obs_dim"])),
            rng.uniform(-10, 10, (N_OBS - N_OBS // 2, manifest["obs_dim"])),
        ]
    ).astype(np.float32)
    r = run_harness(
        browser,
        serve,
        tmp_path,
        kdir,
        HARNESS,
        "([o, n]) => window.runPolicy(o, n)",
        [obs.ravel().tolist(), len(obs)],
    )
    n_out = r["nOut"]
    assert n_out == sum(o["size"] for o in manifest["outputs"]) and r["batchSize"] == manifest["batch_size"]
    ref = oracle_forward(model, obs)
    assert_parity(np.asarray(r["batch"], np.float32).reshape(len(obs), n_out), ref, manifest)
    single = np.asarray(r["single"], np.float32).reshape(-1, n_out)
    assert_parity(single, ref[: len(single)], manifest)
    assert r["bad"] and "forwardBatch" in r["bad"]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_data_module_holds_any_text_as_data(tmp_path):
    """policy.webgpu.data.js is JSON after `export default`: WGSL and a header holding characters special to
    JS (template literals, line separators, `*/`, markup) come back from the module exactly."""
    src = "fn k() {} // ` \\ ${x} </script> \u2028 */ \" '\n@compute fn k0() {}"
    g = Graph(batch=1, symbolic=False)
    g.buffers = {"input": Buf("input", "input", 4), "output": Buf("output", "output", 3)}
    g.kernels = [Kernel("k0", src, (1, 1, 1), 2, False)]
    g.calls = [Call(0, ["output", "input"], [])]
    header = "policy.webgpu.data.js: from /m/*x*/\u2028`${evil}`"
    (tmp_path / "policy.webgpu.data.mjs").write_text(
        emit_data(
            g,
            g,
            {"w": {"offset": 0, "size": 4, "dtype": "f32"}},
            16,
            4,
            3,
            [{"name": "probs", "size": 3}],
            header,
        )
    )
    script = "import D from './policy.webgpu.data.mjs'; console.log(JSON.stringify(D));"
    node = ["node", "--input-type=module", "-e", script]
    r = subprocess.run(node, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["kernels"] == [{"name": "k0", "n_bufs": 2, "code": src}]
    assert data["graphs"]["single"]["calls"] == [[0, ["output", "input"], [1, 1, 1]]]
    assert (data["obs_dim"], data["n_out"], data["batch"], data["weights_bytes"], data["input"]) == (
        4,
        3,
        1,
        16,
        "float32",
    )


CNN_HARNESS = """<!doctype html><meta charset="utf-8"><title>policy.webgpu.js harness (frames)</title>
<link rel="icon" href="data:,">
<script type="module">
window.runFrames = async (b64, n) => {
  const adapter = navigator.gpu && await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const { createPolicy } = await import('./k/policy.webgpu.js');
  const p = await createPolicy(device, './k/policy.weights.bin');
  const bin = atob(b64), frames = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) frames[i] = bin.charCodeAt(i);
  const out = [];
  for (let i = 0; i < n; i++) out.push(...await p.forward(frames.subarray(i * p.obsDim, (i + 1) * p.obsDim)));
  p.destroy();
  return { out, nOut: p.nOut, inputType: p.inputType, batch: p.forwardBatch };
};
window.ready = true;
</script>
"""


@pytest.mark.parametrize(
    ("shape", "weights", "frames"), [("small", "f16", 64), ("small", "int8", 64), ("nature", "int8", 24)]
)
def test_cnn_webgpu_matches_the_oracle(shape, weights, frames, browser, serve, tmp_path):
    """A convolutional policy's WGSL kernel (uint8 frames in; the weights stored as policy.wasm stores them,
    widened by the loader) against the NumPy oracle run with those weights, on real ALE frames and synthetic
    ones: within the parity bound, greedy actions equal."""
    import base64

    from rl_web_agent.compiler.compile import CompileConfig, compile_policy
    from rl_web_agent.compiler.parity import certificate_frames
    from tests.checkpoints import make_cnn_checkpoint
    from tests.test_cnn import SMALL, oracle, stored_weights

    spec = SMALL if shape == "small" else {}
    model = make_cnn_checkpoint(tmp_path / "model", **spec)
    kdir = compile_policy(
        CompileConfig(model_dir=model, out=tmp_path / "k", weights=weights, image_parity_samples=16),
        log=lambda *_: None,
    )
    manifest = json.loads((kdir / "manifest.json").read_text())
    assert manifest["webgpu"]["weights"] == "policy.weights.bin"
    # the WebGPU download is the stored weights, not float32 ones
    assert (kdir / "policy.weights.bin").stat().st_size < 0.6 * manifest["weights"]["float32_bytes"]
    x, _ = certificate_frames(tuple(manifest["image"]), frames, 3)
    b64 = base64.b64encode(np.ascontiguousarray(x, np.uint8).tobytes()).decode()
    r = run_harness(
        browser, serve, tmp_path, kdir, CNN_HARNESS, "([b, n]) => window.runFrames(b, n)", [b64, len(x)]
    )
    assert r["inputType"] == "uint8" and r["batch"] is None
    meta = json.loads((model / "policy.json").read_text())
    from safetensors.numpy import load_file

    ref = oracle(meta, stored_weights(load_file(model / "policy.safetensors"), weights), x)
    got = np.asarray(r["out"], np.float32).reshape(len(x), r["nOut"])
    assert_parity(got, ref, manifest)
