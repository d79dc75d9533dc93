"""rl_web_agent/runtime_py/mlp.py against the numpy oracle (tests/checkpoints.py): in CPython, and unchanged
in MicroPython and Pyodide (WebAssembly, run from Node by bench/python_runtimes/run.mjs), plus `export-json`
and its bad-input handling.

Bound (the parity bound every backend meets): every output within 1e-5 x max(1, |the oracle's value|), and the
same greedy action wherever the top two probabilities differ by more than 1e-5.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rl_web_agent.runtime_py import mlp
from rl_web_agent.runtime_py.export_json import export_json, main
from tests.checkpoints import make_random_checkpoint, oracle_forward

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "bench" / "python_runtimes" / "run.mjs"
PACKAGES = {"micropython": "@micropython/micropython-webassembly-pyscript", "pyodide": "pyodide"}
SHIPPED = ROOT / "models" / "CartPole-v1"
N_OBS = 1000

BOX2 = {"type": "box", "shape": [2], "low": [-1.0, -2.0], "high": [1.0, 2.0]}
CASES = {  # small networks: MicroPython's WebAssembly port takes ~1 us per multiply-add
    "discrete-tanh": dict(obs_dim=4, hidden=(16, 16), activation="tanh", action={"type": "discrete", "n": 2}),
    "discrete-relu-norm": dict(
        obs_dim=6, hidden=(12, 12), activation="relu", obs_norm=True, action={"type": "discrete", "n": 5}
    ),
    "box-tanh-norm": dict(obs_dim=3, hidden=(16, 16), activation="tanh", obs_norm=True, action=BOX2),
    "box-0-hidden": dict(obs_dim=8, hidden=(), activation="tanh", action=BOX2),
    "discrete-3-hidden-relu": dict(
        obs_dim=5, hidden=(16, 16, 16), activation="relu", action={"type": "discrete", "n": 3}
    ),
}
if (SHIPPED / "policy.json").is_file():
    CASES["shipped-CartPole-v1"] = {}


def observations(obs_dim: int, n: int, seed: int) -> np.ndarray:
    """Over a wide range: unit and wide normals, uniform up to +-10 (saturates tanh), zeros."""
    rng = np.random.default_rng(seed)
    k = n // 4
    obs = np.concatenate(
        [
            rng.normal(size=(k, obs_dim)),
            rng.normal(scale=4.0, size=(k, obs_dim)),
            rng.uniform(-10, 10, size=(k, obs_dim)),
            rng.normal(size=(n - 3 * k, obs_dim)),
        ]
    )
    obs[-8:] = 0.0
    return obs.astype(np.float32)


def cartpole_states(weights: dict, n: int, seed: int) -> np.ndarray:
    """States the shipped policy visits (greedy, with some random actions so that it also sees recoveries)."""
    import gymnasium as gym

    policy, env, rng = mlp.Policy(weights), gym.make("CartPole-v1"), np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    states = []
    while len(states) < n:
        states.append(obs)
        a = policy.act(obs.tolist()) if rng.random() > 0.2 else int(rng.integers(2))
        obs, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            obs, _ = env.reset()
    return np.asarray(states, dtype=np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, dict]:
    """name -> {model_dir, weights (export-json file), obs, ref (the oracle's outputs), meta}."""
    root = tmp_path_factory.mktemp("python_runtimes")
    out = {}
    for i, (name, spec) in enumerate(CASES.items()):
        if name.startswith("shipped-"):
            model_dir = SHIPPED
        else:
            model_dir = make_random_checkpoint(root / name, seed=i, **spec)
        weights = export_json(model_dir, root / f"{name}.json")
        meta = json.loads(weights.read_text())
        if name.startswith("shipped-"):
            obs = np.concatenate(
                [
                    cartpole_states(meta, N_OBS // 2, seed=i),
                    observations(meta["obs_dim"], N_OBS - N_OBS // 2, seed=i),
                ]
            )
        else:
            obs = observations(meta["obs_dim"], N_OBS, seed=i)
        out[name] = dict(
            model_dir=model_dir, weights=weights, obs=obs, ref=oracle_forward(model_dir, obs), meta=meta
        )
    return out


def check(name: str, meta: dict, obs: np.ndarray, ref: np.ndarray, outputs, actions) -> None:
    outputs = np.asarray(outputs, dtype=np.float64)
    assert outputs.shape == ref.shape, f"{name}: outputs {outputs.shape}, the oracle {ref.shape}"
    tol = 1e-5 * np.maximum(1.0, np.abs(ref[:, -1:]))
    err = np.abs(outputs - ref)
    bad = np.argwhere(~(err <= tol))
    if len(bad):
        r, c = bad[0]
        pytest.fail(
            f"{name}: {len(bad)} outputs off the oracle by more than 1e-5 x max(1, |value|), "
            f"e.g. obs {r} {obs[r].tolist()} output {c}: {outputs[r, c]!r} vs {ref[r, c]!r}"
        )
    if meta["action"]["type"] == "discrete":
        probs = np.sort(ref[:, :-1], axis=1)
        clear = probs[:, -1] - probs[:, -2] > 1e-5 if probs.shape[1] > 1 else np.ones(len(ref), bool)
        assert clear.sum() > len(ref) // 2, f"{name}: too few observations with a clear greedy action"
        want = ref[:, :-1].argmax(axis=1)
        got = np.asarray(actions)
        assert (got[clear] == want[clear]).all(), f"{name}: greedy actions differ from the oracle's argmax"
    else:
        low, high = (
            np.array([d if v is None else v for v in meta["action"][k]])
            for k, d in (("low", -np.inf), ("high", np.inf))
        )
        assert (np.abs(np.asarray(actions) - np.clip(ref[:, :-1], low, high)) <= tol).all(), (
            f"{name}: act() is not the action mean clipped to the bounds"
        )


@pytest.mark.parametrize("name", CASES)
def test_cpython_matches_the_oracle(exported, name):
    e = exported[name]
    policy = mlp.load(e["weights"])
    rows = [o.tolist() for o in e["obs"]]
    outs, acts = [policy.forward(o) for o in rows], [policy.act(o) for o in rows]
    check(name, e["meta"], e["obs"], e["ref"], outs, acts)


def test_cpython_largest_supported_network(tmp_path):
    """3 hidden layers of 256 units, 18 actions, obs_norm: the top of what the compiler supports."""
    d = make_random_checkpoint(
        tmp_path / "big",
        obs_dim=17,
        hidden=(256, 256, 256),
        activation="relu",
        action={"type": "discrete", "n": 18},
        obs_norm=True,
        seed=7,
    )
    policy = mlp.load(export_json(d, tmp_path / "big.json"))
    obs = observations(17, 8, seed=7)
    outs = [policy.forward(o.tolist()) for o in obs]
    check(
        "big",
        {"action": {"type": "discrete"}},
        obs,
        oracle_forward(d, obs),
        outs,
        [int(np.argmax(o[:-1])) for o in outs],
    )


@pytest.fixture(scope="module")
def node_results(exported, tmp_path_factory) -> dict:
    """Every case (and one bad weights file) through both WebAssembly interpreters, in one Node process."""
    missing = [p for p in PACKAGES.values() if not (ROOT / "node_modules" / p / "package.json").is_file()]
    if missing:
        pytest.skip(f"node_modules lacks {', '.join(missing)}: run `npm ci` (or `make setup`)")
    node = shutil.which("node")
    assert node, "node is not on PATH, but node_modules is there: install Node 20"
    root = tmp_path_factory.mktemp("node_job")
    bad = json.loads(next(iter(exported.values()))["weights"].read_text())
    bad["actor"][1]["weight"][3].pop()  # one short row
    (root / "bad.json").write_text(json.dumps(bad))
    cases = [
        {"name": n, "weights": str(e["weights"]), "obs": e["obs"].tolist(), "bench": 0}
        for n, e in exported.items()
    ]
    cases.append({"name": "bad", "weights": str(root / "bad.json"), "obs": [], "bench": 0})
    (root / "job.json").write_text(json.dumps({"cases": cases}))
    p = subprocess.run(
        [node, str(RUNNER), str(root / "job.json")], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, f"{RUNNER.name} failed: {p.stderr[-2000:]}"
    return json.loads(p.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("runtime", PACKAGES)
@pytest.mark.parametrize("name", CASES)
def test_wasm_interpreter_matches_the_oracle(exported, node_results, runtime, name):
    e, r = exported[name], node_results[runtime]["cases"][name]
    assert "error" not in r, f"{runtime}: {r.get('error')}"
    check(f"{runtime} {name}", e["meta"], e["obs"], e["ref"], r["outputs"], r["actions"])


@pytest.mark.slow
@pytest.mark.parametrize("runtime", PACKAGES)
def test_wasm_interpreter_rejects_bad_weights(node_results, runtime):
    r = node_results[runtime]["cases"]["bad"]
    assert "actor layer 1 weight row" in r.get("error", ""), r
    assert "export-json" in r["error"]


def mutations(w: dict):
    """(what, broken copy of the weights JSON, words the error must contain)."""

    def edit(fn):
        c = json.loads(json.dumps(w))
        fn(c)
        return c

    cases = [
        ("short row", lambda c: c["actor"][0]["weight"][1].pop(), "actor layer 0 weight row has 3 values"),
        ("missing row", lambda c: c["critic"][1]["weight"].pop(), "critic layer 1 weight has 15 rows"),
        ("bias length", lambda c: c["actor"][2]["bias"].append(0.0), "actor layer 2 bias has 3 values"),
        ("layer count", lambda c: c["critic"].pop(), "critic has 2 layers, expected 3"),
        ("hidden", lambda c: c.update(hidden=[16, 15]), "actor layer 1 weight has 16 rows, expected 15"),
        ("obs_dim", lambda c: c.update(obs_dim=5), "actor layer 0 weight row has 4 values, expected 5"),
        ("nan", lambda c: c["actor"][1]["bias"].__setitem__(0, float("nan")), "expected a finite number"),
        ("string", lambda c: c["actor"][1]["bias"].__setitem__(0, "0.5"), "expected a finite number"),
        ("activation", lambda c: c.update(activation="gelu"), "activation 'gelu'"),
        ("action n", lambda c: c["action"].update(n=3), "actor layer 2 weight has 2 rows, expected 3"),
        ("format", lambda c: c.update(format=2), "format 2"),
    ]
    for what, fn, words in cases:
        yield what, edit(fn), words
    yield "policy.json", {"format": 1, "obs_dim": 4, "hidden": [16, 16]}, "is this policy.json?"


def test_bad_weights_raise_clear_errors(exported):
    w = json.loads(exported["discrete-tanh"]["weights"].read_text())
    mlp.Policy(w)
    for what, broken, words in mutations(w):
        with pytest.raises(ValueError) as info:
            mlp.Policy(broken)
        assert words in str(info.value), f"{what}: {info.value}"
        assert "export-json" in str(info.value), f"{what}: no fix named in {info.value}"
    with pytest.raises(ValueError, match="observation has 3 values, the policy expects 4"):
        mlp.Policy(w).forward([0.0, 0.0, 0.0])


def test_export_json_is_exact_float32(exported):
    from safetensors.numpy import load_file

    e = exported["discrete-relu-norm"]
    t = load_file(str(e["model_dir"] / "policy.safetensors"))
    w = e["meta"]
    assert w["format"] == 1 and w["hidden"] == [12, 12] and w["obs_norm"]["clip"] == 10.0
    assert w["outputs"] == [{"name": "probs", "size": 5}, {"name": "value", "size": 1}]
    for head in ("actor", "critic"):
        for i, layer in enumerate(w[head]):
            assert np.array_equal(np.array(layer["weight"], np.float32), t[f"{head}.{i}.weight"])
            assert np.array_equal(np.array(layer["bias"], np.float32), t[f"{head}.{i}.bias"])
    assert np.array_equal(np.array(w["obs_norm"]["var"], np.float32), t["obs_norm.var"])


def test_export_json_cli_bad_input_writes_nothing(exported, tmp_path, capsys):
    src = exported["box-tanh-norm"]["model_dir"]
    out = tmp_path / "w.json"
    assert main(SimpleNamespace(model_dir=str(src), out=str(out))) == 0
    assert mlp.load(out).obs_dim == 3
    broken = tmp_path / "broken"
    shutil.copytree(src, broken)
    data = (broken / "policy.safetensors").read_bytes()
    (broken / "policy.safetensors").write_bytes(data[: len(data) // 2])
    for model_dir in (broken, tmp_path / "missing"):
        out2 = tmp_path / "never.json"
        assert main(SimpleNamespace(model_dir=str(model_dir), out=str(out2))) == 1
        assert not out2.exists() and not list(tmp_path.glob(".never.json*"))
        err = capsys.readouterr().err
        assert err.startswith("export-json: ") and err.count("\n") == 1, err
