"""Saliency (rl_web_agent/compiler/saliency.py): tinygrad's gradient kernels in policy.wasm and
policy.webgpu.js against PyTorch autograd (float64, written here independently of compile's own float32
reference), compile's check and budget, and the page's bars (web/page/lazy/saliency.js) in Chromium, on the
test run's one built site (conftest's `site`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rl_web_agent.compiler import saliency as sal
from rl_web_agent.compiler.compile import CompileConfig, CompileError, compile_policy
from rl_web_agent.compiler.parity import parity_observations
from rl_web_agent.compiler.wasm import LAZY_EXPORTS, WasmPolicy, zig_cc
from tests.checkpoints import make_random_checkpoint
from tests.kernels import SAMPLES

pytestmark = pytest.mark.compile

N_OBS = SAMPLES  # the shared kernels were compiled with this many parity and saliency observations
SALIENCY_KB_BUDGET = 4096  # bytes policy.lazy.wasm may grow by for saliency (policy.wasm: none)
# the shared test kernels (tests/kernels.MODELS) this module checks: CartPole's policy, and random ones
# discrete and box, with and without the observation normaliser (whose clip has a zero gradient outside its
# range)
CASES = ["cartpole", "discrete-norm", "box", "box-norm-relu"]


def autograd64(model_dir: Path, obs: np.ndarray, k: int) -> np.ndarray:
    """d decision_k / d obs in float64 PyTorch: log softmax (discrete) or the action mean (box)."""
    meta = json.loads((model_dir / "policy.json").read_text())
    t = {n: v.double() for n, v in load_file(str(model_dir / "policy.safetensors")).items()}
    x0 = torch.tensor(obs, dtype=torch.float64, requires_grad=True)
    x = x0
    if meta["obs_norm"]:
        std = torch.sqrt(t["obs_norm.var"] + meta["obs_norm"]["eps"])
        x = torch.clamp((x - t["obs_norm.mean"]) / std, -meta["obs_norm"]["clip"], meta["obs_norm"]["clip"])
    i = 0
    while f"actor.{i}.weight" in t:
        x = torch.nn.functional.linear(x, t[f"actor.{i}.weight"], t[f"actor.{i}.bias"])
        if f"actor.{i + 1}.weight" in t:
            x = torch.tanh(x) if meta["activation"] == "tanh" else torch.relu(x)
        i += 1
    if meta["action"]["type"] == "discrete":
        x = torch.log_softmax(x, dim=-1)
    x[:, k].sum().backward()
    return x0.grad.numpy()


def rel_err(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per observation: max_j |got - ref| / max(max_j |ref|, 1e-3) (the saliency bound is 1e-4)."""
    return np.abs(got - ref).max(axis=1) / np.maximum(np.abs(ref).max(axis=1), sal.FLOOR)


@pytest.mark.parametrize("name", CASES)
def test_wasm_saliency_matches_autograd(compiled, name):
    model, kdir = compiled[name]
    manifest = json.loads((kdir / "manifest.json").read_text())
    assert manifest["saliency"]["samples"] == N_OBS
    assert 0 <= manifest["saliency"]["max_rel_err"] <= sal.REL_TOL
    wasm = WasmPolicy(kdir / "policy.wasm")
    obs = parity_observations(manifest["obs_dim"], N_OBS, seed=7)
    n_act = manifest["outputs"][0]["size"]
    worst = 0.0
    for k in range(n_act):
        got = wasm.saliency(obs, np.full(len(obs), k))
        ref = autograd64(model, obs, k)
        err = rel_err(got.astype(np.float64), ref)
        worst = max(worst, float(err.max()))
        assert (err <= sal.REL_TOL).all(), (
            f"{name} k={k}: obs {obs[err.argmax()]}: {got[err.argmax()]} vs {ref[err.argmax()]}"
        )
        assert np.abs(ref).max(axis=1).mean() > 1e-3  # a gradient worth comparing, not a saturated net
    print(f"\n{name}: saliency vs float64 autograd, {N_OBS} observations x {n_act}: max rel err {worst:.2e}")


def test_wasm_saliency_is_zero_outside_the_clip(compiled):
    """The normaliser clips at +-clip: a feature beyond it moves nothing, exactly."""
    model, kdir = compiled["discrete-norm"]
    meta = json.loads((model / "policy.json").read_text())
    t = load_file(str(model / "policy.safetensors"))
    mean, std = t["obs_norm.mean"].numpy(), np.sqrt(t["obs_norm.var"].numpy() + meta["obs_norm"]["eps"])
    obs = np.random.default_rng(0).normal(mean, std, (64, len(mean))).astype(np.float32)
    obs[:, 2] = mean[2] + 50 * std[2] * np.sign(np.arange(64) - 31.5)  # 50 sigma: clipped at 10
    got = WasmPolicy(kdir / "policy.wasm").saliency(obs, np.arange(64) % 3)
    assert (got[:, 2] == 0).all() and (np.abs(got[:, [0, 1, 3, 4, 5]]).max(axis=1) > 0).all()


def test_check_saliency_names_the_first_violation():
    ref = np.array([[1.0, -2.0, 0.5], [1e-6, 0.0, 2e-6]], np.float32)
    assert sal.check_saliency(ref.copy(), ref, "k") == 0
    off = ref.copy()
    off[1, 2] += 2e-7  # 2e-4 of the 1e-3 floor: over the bound, though 1e-7 in absolute terms
    with pytest.raises(ValueError, match="sample 1 feature 2"):
        sal.check_saliency(off, ref, "k")
    off = ref.copy()
    off[0, 0] = np.nan
    with pytest.raises(ValueError, match="sample 0 feature 0"):
        sal.check_saliency(off, ref, "k")
    # where float32 autograd itself misses the bound (ref32), up to F32_FACTOR times its own error is allowed
    ref32 = ref.copy()
    ref32[0, 1] *= 1 + 3e-4
    off = ref.copy()
    off[0, 1] *= 1 + 2e-3
    assert sal.check_saliency(off, ref, "k", ref32) == pytest.approx(2e-3, rel=1e-3)
    off[0, 1] = ref[0, 1] * (1 + 3e-3)
    with pytest.raises(ValueError, match="sample 0 feature 1"):
        sal.check_saliency(off, ref, "k", ref32)
    # ... and up to F32_BATCH_FACTOR times float32's worst relative error on any row, on a row where float32
    # happened to be exact: 3e-4 of row 0's scale allows 6e-4 of row 2's, not 7e-4
    ref = np.array([[1.0, -2.0, 0.5], [1e-6, 0.0, 2e-6], [0.25, 0.5, -1.0]], np.float32)
    ref32 = ref.copy()
    ref32[0, 1] *= 1 + 3e-4  # 6e-4 absolute on row 0 (scale 2): 3e-4 relative
    off = ref.copy()
    off[2, 2] *= 1 + 5.9e-4
    assert sal.check_saliency(off, ref, "k", ref32) == pytest.approx(5.9e-4, rel=1e-3)
    off[2, 2] = ref[2, 2] * (1 + 7e-4)
    with pytest.raises(ValueError, match="sample 2 feature 2"):
        sal.check_saliency(off, ref, "k", ref32)
    # a NaN in float32's reference fails its own row and widens no other row's bound: row 2 fails too
    ref32 = ref.copy()
    ref32[1, 0] = np.nan
    off = ref.copy()
    off[2, 2] *= 1 + 2e-4
    with pytest.raises(ValueError, match=r"sample 1 feature 0: .* \(2 observations over"):
        sal.check_saliency(off, ref, "k", ref32)


def test_compile_fails_on_a_saliency_bound_violation(tmp_path, monkeypatch):
    """A reference the kernel misses by more than the bound (PyTorch's, off by a little) fails compile, and
    nothing is written."""
    model = make_random_checkpoint(tmp_path / "m", obs_dim=2, hidden=(8,), seed=2)
    # both references off by 0.1%, as if the kernel were (the float32 floor is float32 autograd's distance)
    for name in ("torch_saliency", "torch_saliency_float32"):
        real = getattr(sal, name)
        monkeypatch.setattr(sal, name, lambda ckpt, obs, k, real=real: real(ckpt, obs, k) * np.float32(1.001))
    out = tmp_path / "k"
    with pytest.raises(CompileError, match="saliency differs from PyTorch autograd"):
        compile_policy(
            CompileConfig(model_dir=model, out=out, parity_samples=200, saliency_samples=200),
            log=lambda *a: None,
        )
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["m"]


def test_saliency_costs_the_first_action_nothing(compiled):
    """policy.wasm, what a page fetches before its first action, has no saliency code: the saliency is in
    policy.lazy.wasm, which it grows by at most 4 KB (the lazy module built from the same policy.c with and
    without the saliency's entry points: the linker drops its kernels and buffers, wasm-ld --gc-sections)."""
    _, kdir = compiled["cartpole"]
    assert not [e for e in WasmPolicy(kdir / "policy.wasm").exports_names if e.startswith("saliency")]
    c = (kdir / "policy.c").read_text()
    cut = c.index("/* the gradient of the decision")
    assert "EXPORT_LAZY(saliency)" in c[cut:]
    # the addresses of its weights and buffers in policy.wasm's memory (wasm.lazy_layout), all the same one
    # here: the two builds differ in the saliency alone
    at = [f"-DAT_{m.group(1)}=1048576" for m in re.finditer(r"\b(?:AT_)(\w+)\)", c)]
    sizes = {}
    for name, src, exports in (("with", c, LAZY_EXPORTS), ("without", c[:cut], LAZY_EXPORTS[:-2])):
        path = kdir.parent / f"lazy-{name}.c"
        path.write_text(src)
        flags = ["-DPOLICY_LAZY", "-Wl,--import-memory", *sorted(set(at))]
        flags += [f"-Wl,--export={e}" for e in exports]
        subprocess.run(zig_cc([path], path.with_suffix(".wasm"), *flags), check=True, capture_output=True)
        sizes[name] = path.with_suffix(".wasm").stat().st_size
    print(f"\npolicy.lazy.wasm {sizes['without']:,} B without saliency, {sizes['with']:,} B with it")
    assert 0 < sizes["with"] - sizes["without"] <= SALIENCY_KB_BUDGET


# ---- in Chromium: policy.webgpu.js's saliency, and the page's bars ----

HARNESS = """<!doctype html><meta charset="utf-8"><title>saliency</title><link rel="icon" href="data:,">
<script type="module">
window.saliency = async (kernel, obs, n, k) => {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter.requestDevice();
  const { createPolicy } = await import(`./${kernel}/policy.webgpu.js`);
  const p = await createPolicy(device, `./${kernel}/policy.weights.bin`);
  const x = new Float32Array(obs), out = [];
  for (let i = 0; i < n; i++) out.push(...await p.saliency(x.subarray(i * p.obsDim, (i + 1) * p.obsDim), k));
  let bad = null;
  try { await p.saliency(x.subarray(0, p.obsDim), 99); } catch (e) { bad = String(e); }
  p.destroy();
  return { out, bad };
};
</script>
"""
N_GPU = 128


@pytest.mark.parametrize("name", ["discrete-norm", "box"])
def test_webgpu_saliency_matches_autograd(compiled, browser, serve, tmp_path, name):
    model, kdir = compiled[name]
    (tmp_path / "index.html").write_text(HARNESS)
    shutil.copytree(kdir, tmp_path / name)
    page = browser.new_page()
    page.goto(f"{serve(tmp_path)}/index.html")
    if not page.evaluate("!!navigator.gpu && navigator.gpu.requestAdapter().then((a) => !!a)"):
        pytest.skip("this Chromium has no WebGPU adapter")
    manifest = json.loads((kdir / "manifest.json").read_text())
    obs = parity_observations(manifest["obs_dim"], N_GPU, seed=8)
    for k in range(manifest["outputs"][0]["size"]):
        args = [name, obs.ravel().tolist(), N_GPU, k]
        r = page.evaluate("([n, o, c, k]) => window.saliency(n, o, c, k)", args)
        got = np.array(r["out"], np.float64).reshape(N_GPU, -1)
        err = rel_err(got, autograd64(model, obs, k))
        print(f"\n{name} k={k}: WebGPU saliency vs float64 autograd, max rel err {err.max():.2e}")
        assert (err <= sal.REL_TOL).all(), obs[err.argmax()]
        assert "k must be in" in r["bad"]
    page.close()


def page_obs(env_id: str, state: list[float]) -> np.ndarray:
    """The observation of the page's env state (CartPole: the state; Pendulum: cos, sin, angular velocity)."""
    if env_id == "Pendulum-v1":
        return np.array([[np.cos(state[0]), np.sin(state[0]), state[1]]], np.float32)
    return np.array([state], np.float32)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_page_shows_saliency_bars(browser, serve, site, env_id):
    """Bars labelled with spec.obsNames; status().saliency finite, changing over the episode, and the kernel's
    gradient for the observation on screen and the greedy action (discrete) or dimension 0 (box)."""
    page = browser.new_page(viewport={"width": 860, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{serve(site['site'])}/{env_id}/?seed=3")
    page.wait_for_function("() => window.app && window.app.status().saliency", timeout=30_000)
    spec = page.evaluate("window.app.spec")
    labels = page.locator("#saliency > span:not(.meter)").all_inner_texts()
    assert labels == spec["obsNames"] and page.locator("#saliency .meter").count() == len(labels)
    seen = []
    for _ in range(6):  # over about 2 s of the episode (at 1x)
        s = page.evaluate("window.app.status()")
        assert s["error"] is None and len(s["saliency"]) == len(spec["obsNames"])
        assert all(np.isfinite(s["saliency"])) and max(map(abs, s["saliency"])) > 0
        seen.append(tuple(s["saliency"]))
        page.wait_for_timeout(350)
    assert len(set(seen)) >= 3, seen
    # paused: the bars are the kernel's gradient at the observation on screen
    page.evaluate("window.app.pause()")
    page.wait_for_timeout(400)
    s = page.evaluate("window.app.status()")
    wasm = WasmPolicy(site["kernels"] / env_id / "policy.wasm")
    obs = page_obs(env_id, s["state"])
    k = int(np.argmax(wasm.forward(obs[0], 3 if env_id == "CartPole-v1" else 2)[:2])) if s["probs"] else 0
    want = wasm.saliency(obs, [k])[0]
    assert rel_err(np.array([s["saliency"]]), want[None].astype(np.float64)).max() <= sal.REL_TOL
    title = page.locator("#saliency-title").inner_text()
    assert spec["actionNames"][k] in title, title
    assert page.locator("#saliency-note").inner_text() == "" and errors == []
    page.close()


def test_page_budget_with_saliency(site):
    """The kernel with its saliency stays within the page's budget to the first action (the one the build
    records: web/build/report.mjs budgetGz); the bars' module is fetched only after it (dynamic import)."""
    record = json.loads((site["site"] / ".rl-web-build.json").read_text())
    info = record["pages"]["CartPole-v1/index.html"]["info"]
    print(f"\nCartPole-v1: {info['first_action_gz']:,} B gzipped to the first action")
    assert info["first_action_gz"] <= info["budget_gz"]
    chunk = next(p.name for p in site["assets"].glob("saliency-*.js"))
    entry = next(p for p in site["assets"].glob("app-*.js") if chunk in p.read_text())
    assert f'import("./{chunk}")' in entry.read_text()


def test_page_without_saliency_says_so(browser, serve, site):
    """The python backend (runtime_py/mlp.py) has no saliency: status().saliency is null, the bars are hidden
    and a note says why; back on wasm, the bars return."""
    page = browser.new_page()
    page.goto(f"{serve(site['site'])}/CartPole-v1/?backend=python")
    page.wait_for_function(
        "() => window.app && window.app.status().backend === 'python' && "
        "document.getElementById('saliency-note')?.textContent",
        timeout=60_000,
    )
    assert page.evaluate("window.app.status().saliency") is None
    assert not page.locator("#saliency").is_visible()
    assert "No saliency on the python backend" in page.locator("#saliency-note").inner_text()
    page.evaluate("window.app.setBackend('wasm')")
    page.wait_for_function(
        "() => window.app.status().backend === 'wasm' && window.app.status().saliency", timeout=30_000
    )
    assert page.locator("#saliency").is_visible() and page.locator("#saliency-note").inner_text() == ""
    assert page.evaluate("window.app.status().error") is None
    page.close()
