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
            "observations of shape [1, 36, 36]: only Atari frame stacks of 84x84 screens are imported",
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
        (["sb3", sb3["dqn_cartpole"]], "pass --env CartPole-v1 (the only env whose spaces fit)"),
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


# --- model folders as users download them: the Hugging Face hub's and the RL Zoo's (rl_web_agent/importers/
# model_folder.py): the env id, its old v2 name and the VecNormalize statistics come from the folder

LANDER_V2 = "LunarLander-v2"  # what most hub models record; Gymnasium 1.4 has LunarLander-v3 only


@pytest.fixture(scope="module")
def lander(tmp_path_factory) -> dict:
    """A PPO trained briefly on LunarLander-v3 under VecNormalize, saved as the hub's ppo-LunarLander-v2.zip,
    with its statistics (VecNormalize.save)."""
    d = tmp_path_factory.mktemp("lander")
    venv = VecNormalize(make_vec_env("LunarLander-v3", n_envs=1, seed=0))
    m = PPO(
        "MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, policy_kwargs=dict(net_arch=[16]), **FAST
    )
    m.learn(128)
    m.save(d / f"ppo-{LANDER_V2}.zip")
    venv.save(d / "vecnormalize.pkl")
    return {"zip": d / f"ppo-{LANDER_V2}.zip", "stats": d / "vecnormalize.pkl"}


def model_card(env_id: str, extra_tags: tuple[str, ...] = ()) -> str:
    """README.md as huggingface_sb3's package_to_hub writes it: huggingface_hub's metadata_eval_result and
    tags in YAML front matter (yaml.dump, sort_keys=False), after the template's blank line."""
    import yaml

    meta = {
        "library_name": "stable-baselines3",
        "tags": [
            env_id,
            *extra_tags,
            "deep-reinforcement-learning",
            "reinforcement-learning",
            "stable-baselines3",
        ],
        "model-index": [
            {
                "name": "PPO",
                "results": [
                    {
                        "task": {"type": "reinforcement-learning", "name": "reinforcement-learning"},
                        "dataset": {"name": env_id, "type": env_id},
                        "metrics": [
                            {
                                "type": "mean_reward",
                                "value": "-120.31 +/- 40.21",
                                "name": "mean_reward",
                                "verified": False,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    return (
        "\n---\n# For reference on model card metadata, see the spec\n"
        + yaml.dump(meta, sort_keys=False)
        + f"---\n\n# **PPO** Agent playing **{env_id}**\n"
    )


def hub_folder(lander: dict, d: Path, env_id: str = LANDER_V2, results: dict | None = None) -> Path:
    """The folder huggingface_sb3.package_to_hub uploads, as a download of it looks: the zip, the zip
    unpacked, config.json (the zip's data), results.json, README.md, vec_normalize.pkl."""
    import shutil

    d.mkdir(parents=True)
    z = Path(shutil.copy(lander["zip"], d))
    with zipfile.ZipFile(z) as zf:
        zf.extractall(d / z.stem)
        (d / "config.json").write_text(zf.read("data").decode())
    evaluation = {"mean_reward": -120.3, "std_reward": 40.2, "is_deterministic": True, "n_eval_episodes": 10}
    (d / "results.json").write_text(json.dumps({**evaluation, **(results or {})}))
    (d / "README.md").write_text(model_card(env_id))
    shutil.copy(lander["stats"], d / "vec_normalize.pkl")
    return d


def zoo_run(lander: dict, d: Path, args: dict | None = None, config: dict | None = None, stats=True) -> Path:
    """An RL Zoo run folder, logs/ppo/LunarLander-v2_1/: LunarLander-v2.zip and LunarLander-v2/ with args.yml
    and config.yml as exp_manager._save_config writes them (yaml.dump of an OrderedDict, keys sorted) and
    vecnormalize.pkl."""
    import shutil
    from collections import OrderedDict

    import yaml

    run = d / "ppo" / f"{LANDER_V2}_1"
    (run / LANDER_V2).mkdir(parents=True)
    shutil.copy(lander["zip"], run / f"{LANDER_V2}.zip")
    a = {
        "algo": "ppo",
        "env": LANDER_V2,
        "env_kwargs": None,
        "seed": 0,
        "n_timesteps": -1,
        "gym_packages": [],
    }
    a.update(args or {})
    c = {
        "n_envs": 1,
        "n_steps": 64,
        "normalize": True,
        "policy": "MlpPolicy",
        "policy_kwargs": "dict(net_arch=[16])",
    }
    c.update(config or {})
    for name, data in (("args.yml", a), ("config.yml", c)):
        with open(run / LANDER_V2 / name, "w") as f:
            yaml.dump(OrderedDict([(k, data[k]) for k in sorted(data)]), f)
    if stats:
        shutil.copy(lander["stats"], run / LANDER_V2 / "vecnormalize.pkl")
    return run


def check_lander_import(lander: dict, model_dir: Path) -> None:
    """The imported policy (PyTorch reference of the checkpoint) against SB3's own: the saved model fed the
    VecNormalize statistics' normalised observations, outputs and greedy actions on 10,000 observations."""
    from rl_web_agent.compiler.model import torch_forward
    from rl_web_agent.policy.checkpoint import load_checkpoint

    ckpt = load_checkpoint(model_dir)
    assert ckpt.meta["env_id"] == "LunarLander-v3" and ckpt.obs_norm
    vn = VecNormalize.load(str(lander["stats"]), make_vec_env("LunarLander-v3", n_envs=1))
    vn.training = False
    model = PPO.load(lander["zip"], device="cpu")
    obs = parity_observations(8, N_OBS, seed=11)
    lib_out, lib_greedy = library_outputs(model, obs, vn)
    got = torch_forward(ckpt, obs)
    check_parity(got, lib_out.astype(np.float32), "imported lander vs SB3 on normalised observations")
    assert (got[:, :4].argmax(-1) == lib_greedy).mean() > 0.999
    # without the statistics the outputs differ: the check above could fail
    raw, _ = library_outputs(model, obs)
    assert np.abs(raw - lib_out).max() > 1e-3


def test_hub_folder_env_id_and_stats_from_the_folder(lander, tmp_path, capsys):
    """`import sb3 FOLDER`: a Hugging Face download (its name names no env). The zip is the folder's one SB3
    zip, the env id is the model card's LunarLander-v2 imported as LunarLander-v3 (the import says why), and
    vec_normalize.pkl is used (the import says so)."""
    folder = hub_folder(lander, tmp_path / "downloaded")
    rc, out, err = run_import(capsys, "sb3", folder, "--out", tmp_path / "model")
    assert rc == 0, err
    assert "note: environment LunarLander-v2 from" in out and "README.md (model-index dataset)" in out
    assert "note: LunarLander-v2 -> LunarLander-v3: Gymnasium 1.x has v3 only" in out
    assert f"note: VecNormalize statistics from {folder / 'vec_normalize.pkl'}" in out
    meta = json.loads((tmp_path / "model" / "policy.json").read_text())
    assert (
        meta["source"]["file"] == f"ppo-{LANDER_V2}.zip"
        and meta["source"]["vecnormalize"] == "vec_normalize.pkl"
    )
    check_lander_import(lander, tmp_path / "model")

    # the Deep RL course's results.json records the env id; the zip's name need not
    other = hub_folder(lander, tmp_path / "course", results={"env_id": LANDER_V2})
    (other / f"ppo-{LANDER_V2}.zip").rename(other / "agent.zip")
    rc, out, err = run_import(capsys, "sb3", other / "agent.zip", "--out", tmp_path / "model2")
    assert rc == 0, err
    assert json.loads((tmp_path / "model2" / "policy.json").read_text())["env_id"] == "LunarLander-v3"


def test_zoo_run_folder(lander, tmp_path, capsys):
    """An RL Zoo run: the env id from args.yml (the yaml.dump of an OrderedDict, read as data), the
    statistics from the run's vecnormalize.pkl; env_kwargs continuous=True is LunarLanderContinuous-v3."""
    run = zoo_run(lander, tmp_path / "logs")
    assert (
        (run / LANDER_V2 / "args.yml").read_text().startswith("!!python/object/apply:collections.OrderedDict")
    )
    rc, out, err = run_import(capsys, "sb3", run / f"{LANDER_V2}.zip", "--out", tmp_path / "model")
    assert rc == 0, err
    assert str(run / LANDER_V2 / "args.yml") in out and "the file name" in out
    assert f"VecNormalize statistics from {run / LANDER_V2 / 'vecnormalize.pkl'}" in out
    check_lander_import(lander, tmp_path / "model")

    cont = zoo_run(lander, tmp_path / "cont", args={"env_kwargs": {"continuous": True}})
    rc, _, err = run_import(capsys, "sb3", cont, "--out", tmp_path / "c")  # the run folder: its one zip
    assert rc == 1 and "does not fit LunarLanderContinuous-v3" in err, err


def test_model_folder_errors(lander, sb3, tmp_path, capsys):
    """Sources that disagree, statistics config.yml promises but the folder lacks, an old id that is not
    mapped, a folder with no or several zips, and no record at all (the error suggests the env whose spaces
    fit): each one line on stderr, nothing written."""
    import shutil

    disagree = hub_folder(lander, tmp_path / "disagree", results={"env_id": "CartPole-v1"})
    no_stats = zoo_run(lander, tmp_path / "no_stats", stats=False)
    walker = hub_folder(lander, tmp_path / "walker", results={"env_id": "BipedalWalker-v2"})
    (tmp_path / "empty").mkdir()
    (tmp_path / "two").mkdir()
    for z in (lander["zip"], sb3["dqn_cartpole"]):
        shutil.copy(z, tmp_path / "two")
    (tmp_path / "bare").mkdir()
    shutil.copy(lander["zip"], tmp_path / "bare" / "agent.zip")
    cases = [
        (
            [disagree],
            (
                f"{disagree / 'results.json'} records CartPole-v1 but",
                "README.md (model-index dataset) records",
            ),
        ),
        (
            [no_stats / f"{LANDER_V2}.zip"],
            (f"config.yml says normalize: True, but {no_stats / LANDER_V2 / 'vecnormalize.pkl'} is missing",),
        ),
        ([walker], ("records BipedalWalker-v2 is not in Gymnasium 1.4", "lidar")),
        ([tmp_path / "empty"], ("no Stable-Baselines3 model zip in this folder",)),
        (
            [tmp_path / "two"],
            (f"several Stable-Baselines3 model zips (dqn_cartpole.zip, ppo-{LANDER_V2}.zip)",),
        ),
        (
            [tmp_path / "bare"],
            ("nothing records its environment", "pass --env LunarLander-v3 (the only env whose"),
        ),
    ]
    for argv, wants in cases:
        out = tmp_path / "out"
        rc, _, err = run_import(capsys, "sb3", *argv, "--out", out)
        assert rc == 1, (argv, err)
        assert all(w in err for w in wants) and err.count("\n") == 1, (argv, err)
        assert not out.exists(), argv
    # --env wins over the folder's records (the import says which it ignored)
    rc, out, err = run_import(capsys, "sb3", disagree, "--env", "LunarLander-v3", "--out", tmp_path / "m")
    assert rc == 0, err
    assert "--env LunarLander-v3 given; ignored:" in out and "records CartPole-v1" in out
    assert "records LunarLander-v2" not in out  # imported as LunarLander-v3: not a disagreement


def test_malicious_yaml_runs_nothing(lander, tmp_path, capsys):
    """An args.yml whose tag would call builtins.open under PyYAML's unsafe loader (as the RL Zoo's own
    enjoy.py loads it): refused with one line naming the tag, no file created, nothing written."""
    import yaml

    run = zoo_run(lander, tmp_path / "logs")
    target = tmp_path / "pwned"
    payload = f"!!python/object/apply:builtins.open [{str(target)!r}, w]\n"
    # the payload is real: the unsafe loader creates a file (another one)
    yaml.unsafe_load(payload.replace("pwned", "proof"))
    assert (tmp_path / "proof").exists()
    (run / LANDER_V2 / "args.yml").write_text(payload)
    rc, _, err = run_import(capsys, "sb3", run / f"{LANDER_V2}.zip", "--out", tmp_path / "out")
    assert rc == 1 and err.count("\n") == 1, err
    assert "YAML tag !!python/object/apply:builtins.open (line 1) is refused" in err
    assert not target.exists() and not (tmp_path / "out").exists()
