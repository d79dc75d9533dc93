"""What the sections share within one run: the policy, a fresh kernel, the baseline wasm, test inputs."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cached_property, wraps
from pathlib import Path

import numpy as np

from bench.common import BENCH, ENV_ID, ROOT, run
from rl_web_agent.compiler.kernel_dir import compiled_from

BATCH = 256


def c_array(name: str, a: np.ndarray) -> str:
    a = np.asarray(a, dtype=np.float32)
    dims = "".join(f"[{d}]" for d in a.shape)
    vals = ", ".join(f"{float(v)!r}f" if np.isfinite(v) else "0.0f" for v in a.reshape(-1))
    return f"static const float {name}{dims} = {{{vals}}};\n"


def random_policy(out: Path) -> Path:
    """A checkpoint-format CartPole policy with train/'s initial (random) 32x32 weights, written as train/
    does."""
    import torch

    from rl_web_agent.policy.env_spaces import env_spaces
    from rl_web_agent.train.checkpoint import write_policy
    from rl_web_agent.train.config import PPOConfig
    from rl_web_agent.train.model import ActorCritic

    cfg = PPOConfig(env_id=ENV_ID, hidden=(32, 32))
    obs_dim, action = env_spaces(ENV_ID)
    torch.manual_seed(cfg.seed)
    model = ActorCritic(obs_dim, action, cfg.hidden, cfg.activation)
    write_policy(out, model, cfg, obs_dim, {"seed": cfg.seed, "env_steps": 0})
    return out


def built_once(fn: Callable) -> cached_property:
    """cached_property that also remembers a failure: a broken build is tried once a run, not per section."""

    @wraps(fn)
    def get(self):
        err = self.failed.get(fn.__name__)
        if err is not None:
            raise RuntimeError(err)
        try:
            return fn(self)
        except Exception as e:
            self.failed[fn.__name__] = str(e)
            raise

    return cached_property(get)


class Context:
    """Lazily built, once per run: each property raises RuntimeError with a readable reason if it cannot."""

    def __init__(self, quick: bool = False, keep: bool = False, kernel_dir: Path | None = None):
        self.quick = quick
        self.tmp = Path(tempfile.mkdtemp(prefix="rlweb-bench-"))
        self.keep = keep
        self.facts: dict = {}
        self.failed: dict[str, str] = {}
        self.seeds = 5
        self.kernel_dir = kernel_dir

    # --- the policy -------------------------------------------------------------------------------------
    @cached_property
    def model(self) -> Path:
        from bench.common import model_dir

        d = model_dir(ENV_ID)
        if self.kernel_dir is not None:
            # the peers must run the weights the given kernel was compiled from: the kernel folder names no
            # checkpoint, but its policy.weights.json is the checkpoint's export
            if d is None or not compiled_from(self.kernel_dir, d):
                raise RuntimeError(
                    f"--kernel {self.kernel_dir} was not compiled from the newest CartPole-v1 "
                    f"policy ({d}); compile that one, or bench without --kernel"
                )
        if d is None:
            # No trained or shipped policy yet: a random 32x32 policy still measures speed and size.
            d = random_policy(self.tmp / "model")
            self.facts["model"] = "random 32x32 tanh (no models/CartPole-v1 found)"
        else:
            self.facts["model"] = str(d.relative_to(ROOT))
        return d

    @cached_property
    def meta(self) -> dict:
        return json.loads((self.model / "policy.json").read_text())

    @cached_property
    def tensors(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        return load_file(str(self.model / "policy.safetensors"))

    @cached_property
    def obs(self) -> np.ndarray:
        """Inputs for latency and agreement checks: uniform over CartPole's plausible observation box."""
        rng = np.random.default_rng(0)
        hi = np.array([2.4, 3.0, 0.21, 3.0], dtype=np.float32)
        return (rng.uniform(-1, 1, size=(1024, 4)) * hi).astype(np.float32)

    @cached_property
    def reference(self) -> np.ndarray:
        """PyTorch's outputs for obs: the project's model (train.model.ActorCritic), the policy's weights."""
        import torch

        from rl_web_agent.train.model import ActorCritic

        model = ActorCritic.from_checkpoint(self.meta, self.tensors)
        return model(torch.from_numpy(self.obs)).numpy()

    @cached_property
    def weights_json(self) -> Path:
        """Weights as plain JSON (name -> {shape, data}) for the peers that build the net themselves."""
        out = self.tmp / "weights.json"
        # shortest decimal that round-trips each float32: what a careful hand-written export would ship
        doc = {
            "meta": self.meta,
            "tensors": {
                k: {"shape": list(v.shape), "data": [float(str(x)) for x in v.reshape(-1)]}
                for k, v in self.tensors.items()
            },
        }
        out.write_text(json.dumps(doc, separators=(",", ":")))
        return out

    @cached_property
    def io_json(self) -> Path:
        """Observations and PyTorch's outputs, for the harnesses to check they compute the same function."""
        out = self.tmp / "io.json"
        out.write_text(
            json.dumps({"obs": self.obs.astype(float).tolist(), "ref": self.reference.astype(float).tolist()})
        )
        return out

    # --- the kernels ------------------------------------------------------------------------------------
    @built_once
    def kernel(self) -> Path:
        """Our kernel, compiled fresh from the policy by rl_web_agent compile (timed: the 15 s compile
        target), or the one given with --kernel."""
        if self.kernel_dir is not None:
            if not (self.kernel_dir / "manifest.json").is_file():
                raise RuntimeError(f"--kernel {self.kernel_dir}: no manifest.json there")
            self.facts["kernel"] = str(self.kernel_dir)
            return self.kernel_dir
        if not (ROOT / "rl_web_agent" / "__main__.py").is_file():
            raise RuntimeError("rl_web_agent has no CLI yet (rl_web_agent/__main__.py missing)")
        out = self.tmp / "kernel"
        t0 = time.perf_counter()
        try:
            run(
                [sys.executable, "-m", "rl_web_agent", "compile", str(self.model), "--out", str(out)],
                timeout=300,
            )
        except RuntimeError as e:
            # fall back on the pipeline's last build of this policy, and say so
            built = ROOT / "build" / "kernels" / ENV_ID
            if compiled_from(built, self.model):
                self.facts["kernel"] = f"build/kernels/{ENV_ID} (fresh compile failed: {e})"
                return built
            raise
        self.facts["compile_s"] = time.perf_counter() - t0
        if not (out / "policy.wasm").is_file():
            raise RuntimeError(f"rl_web_agent compile wrote no policy.wasm in {out}")
        return out

    @cached_property
    def manifest(self) -> dict:
        return json.loads((self.kernel / "manifest.json").read_text())

    @built_once
    def baseline(self) -> Path:
        """bench/baseline/forward.c with this policy's weights, compiled the way policy.wasm is."""
        from rl_web_agent.compiler.wasm import zig_cc

        m, t = self.meta, self.tensors
        if len(m["hidden"]) != 2 or m["activation"] != "tanh" or m["action"]["type"] != "discrete":
            raise RuntimeError(
                f"the hand-written baseline covers 2 tanh hidden layers, discrete actions; "
                f"policy has {m['hidden']} {m['activation']} {m['action']['type']}"
            )
        d = self.tmp / "baseline"
        d.mkdir(exist_ok=True)
        h = [
            f"#define OBS_DIM {m['obs_dim']}\n#define H1 {m['hidden'][0]}\n#define H2 {m['hidden'][1]}\n"
            f"#define N_ACT {m['action']['n']}\n#define BATCH {BATCH}\n"
        ]
        for head, p in (("actor", "A"), ("critic", "C")):
            for i in range(3):
                h.append(c_array(f"{p}{i}WT", t[f"{head}.{i}.weight"].T))
                h.append(c_array(f"{p}{i}B", t[f"{head}.{i}.bias"]))
        if m.get("obs_norm"):
            n = m["obs_norm"]
            inv = 1.0 / np.sqrt(t["obs_norm.var"].astype(np.float64) + n["eps"])
            h.append("#define HAS_NORM 1\n" + f"#define NORM_CLIP {float(n['clip'])!r}f\n")
            h.append(c_array("NORM_MEAN", t["obs_norm.mean"]) + c_array("NORM_INVSTD", inv))
        (d / "weights.h").write_text("".join(h))
        wasm = d / "forward.wasm"
        src = BENCH / "baseline" / "forward.c"
        run(zig_cc([src], wasm, f"-I{d}"), timeout=120)
        return wasm

    @cached_property
    def policy_envs(self) -> list[str]:
        """Every env with a policy (the newest-model rule finds one), as `make bundle` builds them."""
        from rl_web_agent.policy.checkpoint import policy_envs

        return policy_envs(ROOT)

    @built_once
    def site(self) -> Path:
        """The site bundled into a temporary folder (public/ untouched): a page for every env with a policy,
        CartPole's from this run's kernel, the others' kernels compiled fresh (an env whose compile fails is
        left out; facts["site_left_out"] says why)."""
        if not (ROOT / "web" / "build" / "build.mjs").is_file():
            raise RuntimeError("web/build/build.mjs missing")
        if not (ROOT / "node_modules").is_dir():
            raise RuntimeError("node_modules missing: run `make setup`")
        kernels = self.tmp / "site-kernels"
        kernels.mkdir(exist_ok=True)
        (kernels / ENV_ID).symlink_to(self.kernel.resolve(), target_is_directory=True)
        for env_id in self.policy_envs:
            if env_id == ENV_ID:
                continue
            try:
                run(
                    [
                        sys.executable,
                        "-m",
                        "rl_web_agent",
                        "compile",
                        "--env",
                        env_id,
                        "--out",
                        str(kernels / env_id),
                    ],
                    timeout=600,
                )
            except RuntimeError as e:
                self.facts.setdefault("site_left_out", {})[env_id] = str(e)
        out = self.tmp / "site"
        t0 = time.perf_counter()
        run(
            ["node", str(ROOT / "web" / "build" / "build.mjs"), "--out", str(out), "--kernels", str(kernels)],
            timeout=600,
        )
        self.facts["bundle_s"] = time.perf_counter() - t0
        if not (out / "index.html").is_file():
            raise RuntimeError(f"web/build/build.mjs wrote no gallery index.html in {out}")
        return out

    @cached_property
    def site_pages(self) -> dict[str, str]:
        """Env id -> its page's folder in the site (e.g. "CartPole-v1/"), from the build's record."""
        record = json.loads((self.site / ".rl-web-build.json").read_text())
        return {p["env"]: html.removesuffix("index.html") for html, p in sorted(record["pages"].items())}

    @cached_property
    def site_budgets(self) -> dict[str, int]:
        """Env id -> what its page may fetch until the first agent action, gzipped: the budget the build
        recorded for it (web/build/report.mjs budgetGz, the one place it is written)."""
        record = json.loads((self.site / ".rl-web-build.json").read_text())
        return {p["env"]: p["info"]["budget_gz"] for p in record["pages"].values()}

    @cached_property
    def site_engines(self) -> dict[str, str | None]:
        """Env id -> the engine its page ships (spec.engine, as the build recorded it), None for plain JS."""
        record = json.loads((self.site / ".rl-web-build.json").read_text())
        return {p["env"]: p["info"].get("engine") for p in record["pages"].values()}

    def close(self) -> None:
        if not self.keep:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)
