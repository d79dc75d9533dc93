"""python -m rl_web_agent import of convolutional (Atari) policies: SB3 CnnPolicy zips (PPO, A2C, DQN) and
CleanRL ppo_atari / dqn_atari state dicts become convolutional checkpoints (policy.json image, conv, trunk,
frames) whose compiled policy.wasm matches the library's own forward pass on real Atari frames (ale-py's
emulator, rl_web_agent/compiler/parity.py ale_frames); bad input is refused in one line, nothing written.

Every checkpoint is made by the library here: SB3 models on a tiny env with Atari's spaces after SB3's
AtariWrapper and a 4-frame stack (Box(0, 255, (84, 84, 4), uint8), Discrete(6): opencv, which a real
AtariWrapper needs, is not installed), a few steps of training, model.save(); CleanRL's Agent and QNetwork
declared as ppo_atari.py and dqn_atari.py declare them, torch.save of the state dict.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")
pytest.importorskip("ale_py")

from stable_baselines3 import A2C, DQN, PPO  # noqa: E402

from rl_web_agent.__main__ import main  # noqa: E402
from rl_web_agent.compiler import cnn  # noqa: E402
from rl_web_agent.compiler.model import torch_cnn_forward  # noqa: E402
from rl_web_agent.compiler.parity import SOURCE_PARITY_FILE, ale_frames, check_parity  # noqa: E402
from rl_web_agent.policy.checkpoint import CheckpointError, check_checkpoint, load_checkpoint  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.compile]

IMPORT_SAMPLES = "24"  # frame stacks the import checks (half of them ale-py's Pong and Breakout screens)
N_FRAMES = 16  # real frame stacks the tests check the kernel on, against the library run here


class AtariShaped(gym.Env):
    """What SB3's AtariWrapper and VecFrameStack(4) give a policy: 4 gray 84x84 screens, channels last."""

    observation_space = gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
    action_space = gym.spaces.Discrete(6)  # Pong's minimal action set

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, self.np_random.random() < 0.1, {}


def run_import(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["import", *[str(a) for a in argv]])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sb3cnn")
    fast = dict(seed=0, device="cpu")
    out = {}
    m = PPO("CnnPolicy", AtariShaped(), n_steps=16, batch_size=16, n_epochs=1, **fast)
    m.learn(16)
    m.save(out.setdefault("ppo", d / "ppo-PongNoFrameskip-v4.zip"))  # the RL Zoo's name: the env id in it
    m = A2C("CnnPolicy", AtariShaped(), n_steps=4, **fast)
    m.learn(8)
    m.save(out.setdefault("a2c", d / "a2c.zip"))
    m = DQN("CnnPolicy", AtariShaped(), buffer_size=64, learning_starts=4, train_freq=1, batch_size=4, **fast)
    m.learn(8)
    m.save(out.setdefault("dqn", d / "dqn.zip"))
    return out


def real_frames(n: int = N_FRAMES, seed: int = 3) -> np.ndarray:
    """N uint8 [4, 84, 84] stacks of ale-py's Pong and Breakout screens (not the import's own frames)."""
    return np.concatenate(list(ale_frames(n, 4, seed).values()))


def sb3_outputs(model, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(logits and value, or q-values; greedy actions) of a loaded SB3 model on channels-first frames."""
    with torch.no_grad():
        t = model.policy.obs_to_tensor(frames)[0]
        if isinstance(model, DQN):
            out = model.q_net(t).numpy()
        else:
            logits = model.policy.get_distribution(t).distribution.logits  # log-probabilities
            raw = model.policy.action_net(model.policy.mlp_extractor(model.policy.extract_features(t))[0])
            np.testing.assert_allclose(torch.log_softmax(raw, -1).numpy(), logits.numpy(), atol=1e-5)
            out = torch.cat([raw, model.policy.predict_values(t)], -1).numpy()
    return out, model.predict(frames, deterministic=True)[0]


def compile_cnn_kernel(model_dir: Path, out: Path, capsys, weights: str = "f32") -> dict:
    argv = ["compile", str(model_dir), "--out", str(out), "--parity-samples", "8", "--weights", weights]
    rc = main(argv)
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "(recorded at import) on 24 frame stacks" in cap.out, cap.out
    return json.loads((out / "manifest.json").read_text())


def test_sb3_ppo_kernel_matches_sb3(zips, tmp_path, capsys):
    """PPO CnnPolicy: imported with the env id from the file name, compiled; policy.wasm's logits and value
    equal SB3's on real frames, and the manifest's source parity (the kernel against the outputs recorded at
    import) is within the bound."""
    rc, out, err = run_import(
        capsys, "sb3", zips["ppo"], "--out", tmp_path / "m", "--parity-samples", IMPORT_SAMPLES
    )
    assert rc == 0, err
    assert "parity vs stable-baselines3 PPO on 24 frame stacks" in out and "ale:pong" in out
    meta = json.loads((tmp_path / "m" / "policy.json").read_text())
    assert meta["env_id"] == "PongNoFrameskip-v4" and meta["frames"] == "sb3-atari"
    assert meta["image"] == [4, 84, 84] and meta["trunk"] == [512] and meta["hidden"] == []
    assert [c["stride"] for c in meta["conv"]] == [4, 2, 1] and meta["action"] == {"type": "discrete", "n": 6}
    assert meta["source"]["policy"] == "CnnPolicy" and meta["source"]["parity"]["samples"] == 24
    assert (tmp_path / "m" / SOURCE_PARITY_FILE).is_file()

    manifest = compile_cnn_kernel(tmp_path / "m", tmp_path / "k", capsys)
    assert manifest["source"]["parity"]["greedy_equal"] == 24
    assert manifest["source"]["parity"]["max_abs_err"] < 1e-5
    model = PPO.load(zips["ppo"], device="cpu")
    frames = real_frames()
    lib, lib_greedy = sb3_outputs(model, frames)
    got = cnn.WasmCNN(tmp_path / "k" / "policy.wasm", 7).forward(frames)
    err = check_parity(got, lib, "policy.wasm vs SB3 PPO")
    assert (got[:, :6].argmax(-1) == lib_greedy).all()
    print(f"PPO CnnPolicy: policy.wasm vs SB3 on {len(frames)} real frame stacks, max abs err {err:.2e}")
    # SB3 given the same frames channels last (as VecFrameStack makes them) acts the same
    assert (model.predict(frames.transpose(0, 2, 3, 1), deterministic=True)[0] == lib_greedy).all()


@pytest.mark.parametrize("name, algo, outputs", [("a2c", A2C, ["logits", "value"]), ("dqn", DQN, ["q"])])
def test_sb3_import_matches_sb3(zips, tmp_path, capsys, name, algo, outputs):
    """A2C and DQN CnnPolicy: the imported checkpoint's forward pass (PyTorch, as compile's reference) equals
    SB3's on real frames; DQN's head is q-values, no critic (its target network set aside)."""
    rc, out, err = run_import(
        capsys,
        "sb3",
        zips[name],
        "--env",
        "ALE/Pong-v5",
        "--out",
        tmp_path / "m",
        "--parity-samples",
        IMPORT_SAMPLES,
    )
    assert rc == 0, err
    ckpt = load_checkpoint(tmp_path / "m")
    assert [o["name"] for o in ckpt.outputs] == outputs and ckpt.frames == "sb3-atari"
    assert ckpt.meta["source"]["algo"] == algo.__name__
    frames = real_frames(seed=4)
    lib, lib_greedy = sb3_outputs(algo.load(zips[name], device="cpu"), frames)
    err = check_parity(torch_cnn_forward(ckpt, frames), lib, f"checkpoint vs SB3 {algo.__name__}")
    assert (cnn.greedy(ckpt, lib) == lib_greedy).all()
    print(
        f"{algo.__name__} CnnPolicy: checkpoint vs SB3 on {len(frames)} real frame stacks, max abs err "
        f"{err:.2e}"
    )


def test_sb3_channels_last_zip(zips, tmp_path, capsys):
    """A zip whose observation space is channels last ([84, 84, 4]) is imported with the kernel's frames
    channels first: the same weights and outputs, the library handed the frames channels last."""
    src = zips["ppo"]
    with zipfile.ZipFile(src) as z:
        data = json.loads(z.read("data"))
    data["observation_space"]["_shape"] = "[84, 84, 4]"
    last = tmp_path / "last.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(last, "w") as zout:
        for n in zin.namelist():
            zout.writestr(n, json.dumps(data) if n == "data" else zin.read(n))
    for zp, out in ((src, "first"), (last, "last")):
        rc, _, err = run_import(
            capsys, "sb3", zp, "--env", "PongNoFrameskip-v4", "--out", tmp_path / out, "--parity-samples", "8"
        )
        assert rc == 0, err
    a, b = load_checkpoint(tmp_path / "first"), load_checkpoint(tmp_path / "last")
    assert b.image == (4, 84, 84) and "channels last" in b.meta["source"]["observation"]
    assert all(np.array_equal(a.tensors[k], b.tensors[k]) for k in a.tensors)


def layer_init(layer, std=2**0.5, bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class CleanRLAtariAgent(torch.nn.Module):  # ppo_atari.py
    def __init__(self, n: int):
        super().__init__()
        nn = torch.nn
        self.network = nn.Sequential(
            layer_init(nn.Conv2d(4, 32, 8, stride=4)),
            nn.ReLU(),
            layer_init(nn.Conv2d(32, 64, 4, stride=2)),
            nn.ReLU(),
            layer_init(nn.Conv2d(64, 64, 3, stride=1)),
            nn.ReLU(),
            nn.Flatten(),
            layer_init(nn.Linear(64 * 7 * 7, 512)),
            nn.ReLU(),
        )
        self.actor = layer_init(nn.Linear(512, n), std=0.01)
        self.critic = layer_init(nn.Linear(512, 1), std=1)

    def forward(self, x):  # logits and value, as get_action_and_value computes them
        hidden = self.network(x / 255.0)
        return torch.cat([self.actor(hidden), self.critic(hidden)], -1)


class CleanRLQNetwork(torch.nn.Module):  # dqn_atari.py
    def __init__(self, n: int):
        super().__init__()
        nn = torch.nn
        self.network = nn.Sequential(
            nn.Conv2d(4, 32, 8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(3136, 512),
            nn.ReLU(),
            nn.Linear(512, n),
        )

    def forward(self, x):
        return self.network(x / 255.0)


def test_cleanrl_dqn_atari_kernel_matches(tmp_path, capsys):
    """dqn_atari.py's QNetwork: imported, compiled; policy.wasm's q-values equal the QNetwork's on real
    frames (torch.Tensor(obs) as CleanRL feeds it)."""
    torch.manual_seed(0)
    q = CleanRLQNetwork(4).eval()
    torch.save(q.state_dict(), tmp_path / "dqn_atari.cleanrl_model")
    rc, out, err = run_import(
        capsys,
        "cleanrl",
        tmp_path / "dqn_atari.cleanrl_model",
        "--env",
        "BreakoutNoFrameskip-v4",
        "--out",
        tmp_path / "m",
        "--parity-samples",
        IMPORT_SAMPLES,
    )
    assert rc == 0, err
    meta = json.loads((tmp_path / "m" / "policy.json").read_text())
    assert meta["frames"] == "cleanrl-atari" and meta["head"] == "q" and meta["value"] is False
    assert meta["source"]["algo"] == "dqn_atari"
    manifest = compile_cnn_kernel(tmp_path / "m", tmp_path / "k", capsys)
    assert manifest["outputs"] == [{"name": "q", "size": 4}]
    frames = real_frames(seed=5)
    with torch.no_grad():
        lib = q(torch.Tensor(frames)).numpy()
    got = cnn.WasmCNN(tmp_path / "k" / "policy.wasm", 4).forward(frames)
    err = check_parity(got, lib, "policy.wasm vs CleanRL's QNetwork")
    assert (got.argmax(-1) == lib.argmax(-1)).all()
    print(f"dqn_atari: policy.wasm vs the QNetwork on {len(frames)} real frame stacks, max abs err {err:.2e}")


def test_cleanrl_ppo_atari_matches(tmp_path, capsys):
    """ppo_atari.py's Agent: the imported checkpoint's logits and value equal the Agent's on real frames."""
    torch.manual_seed(1)
    agent = CleanRLAtariAgent(6).eval()
    torch.save(agent.state_dict(), tmp_path / "ppo_atari.cleanrl_model")
    rc, out, err = run_import(
        capsys,
        "cleanrl",
        tmp_path / "ppo_atari.cleanrl_model",
        "--env",
        "ALE/Pong-v5",
        "--out",
        tmp_path / "m",
        "--parity-samples",
        IMPORT_SAMPLES,
    )
    assert rc == 0, err
    ckpt = load_checkpoint(tmp_path / "m")
    assert [o["name"] for o in ckpt.outputs] == ["logits", "value"] and ckpt.frames == "cleanrl-atari"
    frames = real_frames(seed=6)
    with torch.no_grad():
        lib = agent(torch.Tensor(frames)).numpy()
    err = check_parity(torch_cnn_forward(ckpt, frames), lib, "checkpoint vs CleanRL's Agent")
    print(f"ppo_atari: checkpoint vs the Agent on {len(frames)} real frame stacks, max abs err {err:.2e}")


def test_bad_input_one_line_error_nothing_written(zips, tmp_path, capsys):
    """Each bad input: exit 1, one line on stderr naming the problem and the fix, no output folder."""
    with zipfile.ZipFile(zips["ppo"]) as z:
        data = json.loads(z.read("data"))
    no_norm = tmp_path / "no_norm.zip"
    data["policy_kwargs"] = {"normalize_images": False}
    with zipfile.ZipFile(zips["ppo"]) as zin, zipfile.ZipFile(no_norm, "w") as zout:
        for n in zin.namelist():
            zout.writestr(n, json.dumps(data) if n == "data" else zin.read(n))
    own = PPO(
        "CnnPolicy", AtariShaped(), n_steps=8, policy_kwargs=dict(share_features_extractor=False), seed=0
    )
    own.save(tmp_path / "own.zip")
    torch.manual_seed(0)
    sd = CleanRLQNetwork(6).state_dict()
    sd["network.11.weight"] = torch.zeros(1)
    torch.save(sd, tmp_path / "extra.cleanrl_model")
    torch.save(CleanRLQNetwork(6).state_dict(), tmp_path / "q.cleanrl_model")
    stats = tmp_path / "stats.npz"
    np.savez(stats, mean=np.zeros(3), var=np.ones(3))
    cases = [
        (["sb3", zips["a2c"]], ("nothing records its environment", "pass --env with an Atari id")),
        (["sb3", zips["a2c"], "--env", "CartPole-v1"], "image policies are imported for Atari envs"),
        (["sb3", zips["a2c"], "--env", "BreakoutNoFrameskip-v4"], "the policy has 6 actions, Breakout"),
        (["sb3", zips["a2c"], "--env", "NopeNoFrameskip-v4"], "ale-py has no env 'NopeNoFrameskip-v4'"),
        (["sb3", zips["a2c"], "--env", "ALE/Pong-v5", "--vecnormalize", stats], "drop --vecnormalize"),
        (["sb3", no_norm, "--env", "ALE/Pong-v5"], "normalize_images=False"),
        (["sb3", tmp_path / "own.zip", "--env", "ALE/Pong-v5"], "share_features_extractor=False"),
        (["cleanrl", tmp_path / "extra.cleanrl_model", "--env", "ALE/Pong-v5"], "unknown keys ['network.11"),
        (["cleanrl", tmp_path / "q.cleanrl_model", "--env", "ALE/Pong-v5", "--obs-norm", stats], "drop it"),
        (["cleanrl", tmp_path / "q.cleanrl_model", "--env", "Acrobot-v1"], "imported for Atari envs"),
        (["sb3", zips["a2c"], "--env", "ALE/Pong-v5", "--parity-samples", "2"], "pass a number >= 3"),
    ]
    for argv, want in cases:
        out = tmp_path / "out"
        rc, _, err = run_import(capsys, *argv, "--out", out)
        assert rc == 1, (argv, err)
        wants = want if isinstance(want, tuple) else (want,)
        assert all(w in err for w in wants) and err.count("\n") == 1, (argv, err)
        assert not out.exists(), argv


def test_frames_field_rules(tmp_path):
    """policy.json "frames": one of the known preprocessings, for image policies only."""
    from tests.checkpoints import make_cnn_checkpoint, make_random_checkpoint

    ckpt = load_checkpoint(make_cnn_checkpoint(tmp_path / "c", image=(4, 36, 36), trunk=(32,)))
    assert ckpt.frames is None
    for bad in ("atari", 1):
        with pytest.raises(CheckpointError, match="frames is"):
            check_checkpoint(tmp_path, {**ckpt.meta, "frames": bad}, ckpt.tensors)
    assert check_checkpoint(tmp_path, {**ckpt.meta, "frames": "cleanrl-atari"}, ckpt.tensors).frames
    mlp = load_checkpoint(make_random_checkpoint(tmp_path / "m"))
    with pytest.raises(CheckpointError, match="for image observations"):
        check_checkpoint(tmp_path, {**mlp.meta, "frames": "sb3-atari"}, mlp.tensors)
