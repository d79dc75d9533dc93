"""python -m rl_web_agent import: SB3 zips and CleanRL state dicts become folders in the checkpoint format
whose compiled kernels match the library's own forward pass; bad and malicious input is refused without
running its code.

Every checkpoint here is made by the library itself (a short SB3 training run, or CleanRL's Agent class as
its ppo.py / ppo_continuous_action.py define it, torch.save of its state_dict).
"""

from __future__ import annotations

import builtins
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from stable_baselines3 import A2C, DQN, PPO, SAC, TD3  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402

from rl_web_agent.__main__ import main  # noqa: E402
from rl_web_agent.compiler.compile import CompileConfig, compile_policy  # noqa: E402
from rl_web_agent.compiler.parity import SOURCE_PARITY_FILE, check_parity, parity_observations  # noqa: E402
from rl_web_agent.compiler.wasm import WasmPolicy  # noqa: E402
from rl_web_agent.importers.safe_pickle import UnsafePickleError, globals_in, load_vecnormalize  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.compile]

N_OBS = 10_000
FAST = dict(seed=0, device="cpu")


class Evil:
    """Unpickling this opens (creates) a file: the payload of a malicious checkpoint."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return builtins.open, (str(self.target), "w")


@pytest.fixture(scope="module")
def sb3(tmp_path_factory) -> dict[str, Path]:
    """SB3 models trained for a few hundred steps (small nets), saved as model.save() writes them."""
    d = tmp_path_factory.mktemp("sb3")
    out = {}
    # the RL Zoo's file name: the import finds the env id in it
    m = PPO(
        "MlpPolicy",
        "CartPole-v1",
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        policy_kwargs=dict(net_arch=[16, 16]),
        **FAST,
    )
    m.learn(128)
    m.save(out.setdefault("ppo_cartpole", d / "ppo-CartPole-v1.zip"))
    # actor and critic of different depths and widths (dict net_arch), ReLU, VecNormalize, Box actions
    venv = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=0))
    m = PPO(
        "MlpPolicy",
        venv,
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        policy_kwargs=dict(net_arch=dict(pi=[24, 16], vf=[8]), activation_fn=torch.nn.ReLU),
        **FAST,
    )
    m.learn(128)
    m.save(out.setdefault("ppo_pendulum", d / "ppo_pendulum.zip"))
    venv.save(out.setdefault("vecnormalize", d / "vecnormalize.pkl"))
    m = A2C("MlpPolicy", "Acrobot-v1", n_steps=8, policy_kwargs=dict(net_arch=[]), **FAST)  # no hidden layer
    m.learn(64)
    m.save(out.setdefault("a2c_acrobot", d / "a2c_acrobot.zip"))
    m = DQN("MlpPolicy", "CartPole-v1", learning_starts=32, policy_kwargs=dict(net_arch=[32]), **FAST)
    m.learn(128)
    m.save(out.setdefault("dqn_cartpole", d / "dqn_cartpole.zip"))
    m = SAC("MlpPolicy", "Pendulum-v1", learning_starts=16, policy_kwargs=dict(net_arch=[16, 16]), **FAST)
    m.learn(48)
    m.save(out.setdefault("sac_pendulum", d / "sac_pendulum.zip"))
    m = TD3(
        "MlpPolicy", "MountainCarContinuous-v0", learning_starts=16, policy_kwargs=dict(net_arch=[16]), **FAST
    )
    m.learn(48)
    m.save(out.setdefault("td3_mountaincar", d / "td3_mountaincar.zip"))
    return out


def run_import(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["import", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def library_outputs(model, obs: np.ndarray, vecnormalize: VecNormalize | None = None) -> tuple:
    """(outputs in the kernel's layout, greedy actions) from a loaded SB3 model, its own way."""
    x = vecnormalize.normalize_obs(obs) if vecnormalize is not None else obs
    with torch.no_grad():
        t = model.policy.obs_to_tensor(x)[0]
        if isinstance(model, DQN):
            out = model.q_net(t).numpy()
        elif isinstance(model, (SAC, TD3)):
            out = model.policy.unscale_action(model.policy._predict(t, deterministic=True).numpy())
        else:
            dist = model.policy.get_distribution(t).distribution
            a = dist.probs if hasattr(dist, "probs") else dist.mean
            out = torch.cat([a, model.policy.predict_values(t)], -1).numpy()
    return out, model.predict(x, deterministic=True)[0]


def compile_kernel(model_dir: Path, out: Path) -> tuple[WasmPolicy, dict]:
    compile_policy(CompileConfig(model_dir=model_dir, out=out, parity_samples=2_000), log=lambda *a: None)
    return WasmPolicy(out / "policy.wasm"), json.loads((out / "manifest.json").read_text())


def check_kernel_against(wasm: WasmPolicy, manifest: dict, lib_out: np.ndarray, lib_greedy, obs) -> None:
    n_out = sum(o["size"] for o in manifest["outputs"])
    got = wasm.forward_batch(obs, n_out)
    check_parity(got, lib_out.astype(np.float32), "kernel vs library")
    n = manifest["outputs"][0]["size"]
    if manifest["action"]["type"] == "discrete":
        assert (got[:, :n].argmax(-1) == lib_greedy).mean() > 0.999  # near-ties may round either way
    else:
        a = manifest["action"]
        mine = np.clip(got[:, :n], np.float32(a["low"]), np.float32(a["high"]))
        np.testing.assert_allclose(mine, lib_greedy.reshape(mine.shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name, algo, extra, outputs",
    [
        ("ppo_cartpole", PPO, [], ["probs", "value"]),
        ("ppo_pendulum", PPO, ["--env", "Pendulum-v1", "--vecnormalize", "vecnormalize"], ["mean", "value"]),
        ("dqn_cartpole", DQN, ["--env", "CartPole-v1"], ["q"]),
        ("sac_pendulum", SAC, ["--env", "Pendulum-v1"], ["mean"]),
    ],
)
def test_sb3_kernel_matches_sb3(sb3, tmp_path, capsys, name, algo, extra, outputs):
    """Import, compile, then policy.wasm against SB3's own forward pass (loaded with SB3's load()) and its
    model.predict(deterministic=True) on 10,000 observations; policy.json and the manifest name the source."""
    extra = [str(sb3[e]) if e in sb3 else e for e in extra]
    rc, out, err = run_import(capsys, "sb3", sb3[name], *extra, "--out", tmp_path / "model")
    assert rc == 0, err
    assert "parity vs stable-baselines3" in out
    meta = json.loads((tmp_path / "model" / "policy.json").read_text())
    assert meta["source"]["library"] == "stable-baselines3" and meta["source"]["version"] == "2.9.2"
    assert meta["source"]["algo"] == algo.__name__
    assert meta["source"]["parity"]["samples"] == N_OBS
    assert (tmp_path / "model" / SOURCE_PARITY_FILE).is_file()

    wasm, manifest = compile_kernel(tmp_path / "model", tmp_path / "kernel")
    assert [o["name"] for o in manifest["outputs"]] == outputs
    assert manifest["source"]["algo"] == algo.__name__ and manifest["source"]["parity"]["samples"] == N_OBS

    model = algo.load(sb3[name], device="cpu")  # our own file: unpickling it here is fine
    vn = None
    if "--vecnormalize" in extra:
        vn = VecNormalize.load(str(sb3["vecnormalize"]), make_vec_env("Pendulum-v1", n_envs=1))
        vn.training = False
        assert meta["obs_norm"] == {"clip": vn.clip_obs, "eps": vn.epsilon}
        assert meta["hidden"] == [24, 16] and meta["critic_hidden"] == [8]
    obs = parity_observations(meta["obs_dim"], N_OBS, seed=7)
    lib_out, lib_greedy = library_outputs(model, obs, vn)
    check_kernel_against(wasm, manifest, lib_out, lib_greedy, obs)

    # the page's python backend (export-json + rl_web_agent/runtime_py/mlp.py, float64) on the same policy
    from rl_web_agent.runtime_py.export_json import export_json
    from rl_web_agent.runtime_py.mlp import load

    py = load(export_json(tmp_path / "model", tmp_path / "weights.json"))
    got = np.array([py.forward(o) for o in obs[:200]])
    np.testing.assert_allclose(got, lib_out[:200], rtol=1e-5, atol=1e-5)
    acts = np.array([py.act(o) for o in obs[:200]])
    np.testing.assert_allclose(acts, np.asarray(lib_greedy[:200]).reshape(acts.shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name, env", [("a2c_acrobot", "Acrobot-v1"), ("td3_mountaincar", "MountainCarContinuous-v0")]
)
def test_sb3_import_matches_sb3(sb3, tmp_path, capsys, name, env):
    """A2C without hidden layers and TD3's actor: the imported policy (PyTorch reference) against SB3."""
    from rl_web_agent.compiler.model import torch_forward
    from rl_web_agent.policy.checkpoint import load_checkpoint

    rc, _, err = run_import(capsys, "sb3", sb3[name], "--env", env, "--out", tmp_path / "model")
    assert rc == 0, err
    ckpt = load_checkpoint(tmp_path / "model")
    model = (A2C if name.startswith("a2c") else TD3).load(sb3[name], device="cpu")
    obs = parity_observations(ckpt.obs_dim, N_OBS, seed=8)
    lib_out, lib_greedy = library_outputs(model, obs)
    got = torch_forward(ckpt, obs)
    check_parity(got, lib_out.astype(np.float32), "reference vs SB3")
    if ckpt.discrete:
        assert ckpt.hidden == () and (got[:, : ckpt.n_act].argmax(-1) == lib_greedy).mean() > 0.999
    else:
        assert ckpt.squash and not ckpt.value and ckpt.meta["source"]["algo"] == "TD3"
        np.testing.assert_allclose(got, lib_greedy, rtol=1e-5, atol=1e-5)


# CleanRL's networks, as its ppo.py and ppo_continuous_action.py define them (layer_init: orthogonal weights)
def layer_init(layer, std=2**0.5, bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class CleanRLAgent(torch.nn.Module):  # ppo.py
    def __init__(self, obs_dim: int, n: int):
        super().__init__()
        self.critic = torch.nn.Sequential(
            layer_init(torch.nn.Linear(obs_dim, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, 1), std=1.0),
        )
        self.actor = torch.nn.Sequential(
            layer_init(torch.nn.Linear(obs_dim, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, n), std=0.01),
        )

    def forward(self, x):
        return torch.cat([torch.distributions.Categorical(logits=self.actor(x)).probs, self.critic(x)], -1)


class CleanRLContinuousAgent(torch.nn.Module):  # ppo_continuous_action.py
    def __init__(self, obs_dim: int, n: int):
        super().__init__()
        self.critic = torch.nn.Sequential(
            layer_init(torch.nn.Linear(obs_dim, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, 1), std=1.0),
        )
        self.actor_mean = torch.nn.Sequential(
            layer_init(torch.nn.Linear(obs_dim, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, 64)),
            torch.nn.Tanh(),
            layer_init(torch.nn.Linear(64, n), std=0.01),
        )
        self.actor_logstd = torch.nn.Parameter(torch.zeros(1, n))

    def forward(self, x):
        return torch.cat([self.actor_mean(x), self.critic(x)], -1)


def test_cleanrl_continuous_with_obs_norm(tmp_path, capsys):
    """ppo_continuous_action.py's Agent under NormalizeObservation statistics: the compiled kernel against the
    Agent fed Gymnasium's normalisation (float64, then CleanRL's clip to [-10, 10])."""
    torch.manual_seed(0)
    agent = CleanRLContinuousAgent(3, 1)
    torch.save(agent.state_dict(), tmp_path / "ppo_continuous_action.cleanrl_model")
    rng = np.random.default_rng(0)
    mean, var = rng.normal(0, 2, 3), rng.uniform(0.1, 5, 3)
    np.savez(tmp_path / "stats.npz", mean=mean, var=var)
    rc, out, err = run_import(
        capsys,
        "cleanrl",
        tmp_path / "ppo_continuous_action.cleanrl_model",
        "--env",
        "Pendulum-v1",
        "--obs-norm",
        tmp_path / "stats.npz",
        "--out",
        tmp_path / "model",
    )
    assert rc == 0, err
    assert "warning" not in out
    wasm, manifest = compile_kernel(tmp_path / "model", tmp_path / "kernel")
    assert manifest["source"]["library"] == "cleanrl"
    obs = parity_observations(3, N_OBS, seed=9)
    x = np.clip((obs - mean) / np.sqrt(var + 1e-8), -10, 10)
    with torch.no_grad():
        lib = agent(torch.as_tensor(x, dtype=torch.float32)).numpy()
    check_kernel_against(wasm, manifest, lib, np.clip(lib[:, :1], -2, 2), obs)


def test_cleanrl_discrete_warns_without_obs_norm(tmp_path, capsys):
    """ppo.py's Agent: the imported policy matches it; the import says plainly what goes without
    normalisation statistics."""
    from rl_web_agent.compiler.model import torch_forward
    from rl_web_agent.policy.checkpoint import load_checkpoint

    torch.manual_seed(1)
    agent = CleanRLAgent(6, 3)
    torch.save(agent.state_dict(), tmp_path / "ppo.cleanrl_model")
    rc, out, err = run_import(
        capsys, "cleanrl", tmp_path / "ppo.cleanrl_model", "--env", "Acrobot-v1", "--out", tmp_path / "model"
    )
    assert rc == 0, err
    assert "warning: CleanRL does not save NormalizeObservation" in out
    ckpt = load_checkpoint(tmp_path / "model")
    obs = parity_observations(6, N_OBS, seed=10)
    with torch.no_grad():
        lib = agent(torch.as_tensor(obs)).numpy()
    check_parity(torch_forward(ckpt, obs), lib, "reference vs CleanRL's Agent")
    assert ckpt.meta["source"] == {**ckpt.meta["source"], "library": "cleanrl", "algo": "ppo"}


def _zip_with(src: Path, dst: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for n in zin.namelist():
            zout.writestr(n, replace.get(n, zin.read(n)))
    return dst


def _unsupported_policies(tmp: Path) -> dict[str, Path]:
    from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv

    cnn = PPO("CnnPolicy", FakeImageEnv(screen_height=36, screen_width=36, n_channels=1), n_steps=8, **FAST)
    cnn.save(tmp / "cnn.zip")
    multi = PPO("MultiInputPolicy", SimpleMultiObsEnv(), n_steps=8, **FAST)
    multi.save(tmp / "multi.zip")
    return {"cnn": tmp / "cnn.zip", "multi": tmp / "multi.zip"}


def test_bad_input_one_line_error_nothing_written(sb3, tmp_path, capsys):
    """Each bad input: exit 1, one line on stderr naming the problem, no output folder."""
    text = tmp_path / "notes.zip"
    text.write_text("not a zip")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("hello.txt", "hi")
    bad = _unsupported_policies(tmp_path)
    agent = CleanRLAgent(4, 2).state_dict()
    agent["rnd.weight"] = torch.zeros(1)
    torch.save(agent, tmp_path / "extra.cleanrl_model")
    cases = [
        (["sb3", text], "not a zip file"),
        (["sb3", other_zip, "--env", "CartPole-v1"], "not a Stable-Baselines3 model"),
        (
            ["sb3", bad["cnn"], "--env", "CartPole-v1"],
            "CnnPolicy (image observations) is not supported; supported:",
        ),
        (
            ["sb3", bad["multi"], "--env", "CartPole-v1"],
            "MultiInputPolicy (dict observations) is not supported",
        ),
        (
            ["sb3", sb3["ppo_cartpole"], "--env", "Acrobot-v1"],
            ("does not fit Acrobot-v1: its observation space is Box(", "(6,)", "obs_dim=4"),
        ),
        (
            ["sb3", sb3["ppo_cartpole"], "--env", "CartPole-v1", "--vecnormalize", sb3["vecnormalize"]],
            "normalises observations of shape [3], the policy takes [4]",
        ),
        (["sb3", sb3["ppo_pendulum"], "--env", "Pendulum-v1"], "was trained with VecNormalize: pass"),
        (
            ["sb3", sb3["sac_pendulum"], "--env", "MountainCarContinuous-v0"],
            ("does not fit MountainCarContinuous-v0: its observation space is Box(", "obs_dim=3"),
        ),
        (["sb3", sb3["dqn_cartpole"]], "pass --env ID"),
        (
            ["cleanrl", tmp_path / "extra.cleanrl_model", "--env", "CartPole-v1"],
            "unknown keys ['rnd.weight']",
        ),
    ]
    for argv, want in cases:
        out = tmp_path / "out"
        rc, _, err = run_import(capsys, *argv, "--out", out)
        assert rc == 1, (argv, err)
        wants = want if isinstance(want, tuple) else (want,)
        assert all(w in err for w in wants) and err.count("\n") == 1, (argv, err)
        assert not out.exists(), argv
    # an env id in Gymnasium's module:Name form would import a module: refused by the id grammar
    rc, _, err = run_import(
        capsys, "sb3", sb3["ppo_cartpole"], "--env", "os:Evil-v0", "--out", tmp_path / "o"
    )
    assert rc == 1 and "invalid environment id" in err


def test_malicious_pickles_run_nothing(sb3, tmp_path, capsys):
    """Pickles that would create a file when unpickled: a VecNormalize file with the payload inside the real
    statistics, and a policy.pth whose pickle carries it. Refused, no file created, no output written."""
    target = tmp_path / "pwned"
    vn = VecNormalize.load(str(sb3["vecnormalize"]), make_vec_env("Pendulum-v1", n_envs=1))
    vn.payload = Evil(target)  # pickled by VecNormalize.__getstate__ with the real statistics
    evil_vn = tmp_path / "vecnormalize_evil.pkl"
    evil_vn.write_bytes(pickle.dumps(vn))
    assert ("io", "open") in globals_in(evil_vn.read_bytes())  # (builtins.open is io.open) the payload
    with pytest.raises(UnsafePickleError, match="io.open"):
        load_vecnormalize(evil_vn)
    rc, _, err = run_import(
        capsys,
        "sb3",
        sb3["ppo_pendulum"],
        "--env",
        "Pendulum-v1",
        "--vecnormalize",
        evil_vn,
        "--out",
        tmp_path / "out",
    )
    assert rc == 1 and "refers to io.open" in err

    evil_zip = tmp_path / "evil.zip"
    payload = tmp_path / "payload.pth"
    torch.save({"log_std": torch.zeros(1), "x": Evil(target)}, payload)
    _zip_with(sb3["ppo_cartpole"], evil_zip, {"policy.pth": payload.read_bytes()})
    rc, _, err = run_import(capsys, "sb3", evil_zip, "--env", "CartPole-v1", "--out", tmp_path / "out")
    assert rc == 1 and "refusing to load it" in err
    torch.save({"x": Evil(target)}, tmp_path / "evil.cleanrl_model")
    rc, _, err = run_import(
        capsys, "cleanrl", tmp_path / "evil.cleanrl_model", "--env", "CartPole-v1", "--out", tmp_path / "out"
    )
    assert rc == 1 and "refusing to load it" in err
    assert not target.exists() and not (tmp_path / "out").exists()
