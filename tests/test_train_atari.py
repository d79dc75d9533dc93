"""rl_web_agent/train on Atari (network nature_cnn, ALE/Pong-v5): the frames the network is fed are the
`gymnasium-atari` ones (Gymnasium's own wrappers, replayed here from the seed and the actions), the exported
checkpoint is the format's convolutional policy, computes the torch model's logits and value and compiles,
and a run killed without warning resumes bit for bit.

Tiny runs (2 envs, a few iterations); about 45 s in all on the shared 2-core box."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl_web_agent.compiler.model import torch_cnn_forward
from rl_web_agent.policy.checkpoint import FRAMES, load_checkpoint
from rl_web_agent.train.atari import AtariEnvs
from rl_web_agent.train.checkpoint import load_state, save_state, write_policy
from rl_web_agent.train.cli import main
from rl_web_agent.train.config import ConfigError, preset, validate
from rl_web_agent.train.ppo import Trainer
from tests.conftest import ROOT
from tests.training import resumed_run, same_weights

ENV = "ALE/Pong-v5"
TINY = dict(n_envs=2, n_steps=32, epochs=1, minibatches=2, eval_every=0, stop_return=0.0, eval_episodes=1)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def tiny(**kw):
    return dataclasses.replace(preset(ENV), **{**TINY, **kw})


def reference_env() -> gym.Env:
    """The gymnasium-atari pipeline as docs/design.md defines it, built here from Gymnasium's wrappers (not
    the trainer's make_atari)."""
    import ale_py
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    gym.register_envs(ale_py)
    env = gym.make(ENV, frameskip=1)
    env = AtariPreprocessing(
        env,
        noop_max=30,
        frame_skip=4,
        screen_size=84,
        terminal_on_life_loss=False,
        grayscale_obs=True,
        scale_obs=False,
    )
    return FrameStackObservation(env, 4)


def test_the_pong_preset_is_cleanrl_ppo_atari():
    cfg = preset(ENV)
    assert (cfg.network, cfg.n_envs, cfg.n_steps, cfg.epochs, cfg.minibatches) == ("nature_cnn", 8, 128, 4, 4)
    assert (cfg.lr, cfg.anneal_lr, cfg.gamma, cfg.gae_lambda, cfg.clip_coef, cfg.clip_vloss) == (
        2.5e-4,
        True,
        0.99,
        0.95,
        0.1,
        True,
    )
    assert (cfg.ent_coef, cfg.vf_coef, cfg.max_grad_norm, cfg.total_timesteps) == (0.01, 0.5, 0.5, 20_000_000)
    assert (cfg.eval_episodes, cfg.stop_return, cfg.obs_norm, cfg.norm_reward) == (10, 18.0, False, False)
    assert 450_000 <= cfg.eval_every <= 550_000
    assert preset("ALE/SpaceInvaders-v5").network == "nature_cnn" and preset("CartPole-v1").network == "mlp"
    # Breakout's is Pong's but for its budget, its stop and scaled rewards (its raw rewards run 1 to 7)
    breakout = preset("ALE/Breakout-v5")
    assert (
        dataclasses.replace(
            breakout, env_id=ENV, total_timesteps=cfg.total_timesteps, stop_return=18.0, norm_reward=False
        )
        == cfg
    )
    assert (breakout.total_timesteps, breakout.norm_reward, breakout.stop_return) == (10_000_000, True, 300.0)
    assert "gymnasium-atari" in FRAMES
    for bad in (
        dict(network="mlp"),
        dict(hidden=(64,)),
        dict(obs_norm=True),
        dict(activation="tanh"),
        dict(env_id="ALE/Pong-v4"),
    ):
        with pytest.raises(ConfigError):
            validate(dataclasses.replace(cfg, **bad))
    with pytest.raises(ConfigError, match="nature_cnn"):
        validate(dataclasses.replace(preset("CartPole-v1"), network="nature_cnn"))


@pytest.mark.train
def test_frames_are_gymnasium_atari_and_the_export_computes_the_model(tmp_path):
    """Every frame stack the network read in a rollout (one episode end included, so an autoreset too) is the
    reference pipeline's, replayed from the trainer's seeds and actions; the written checkpoint loads as the
    format's convolutional policy and gives the torch model's logits and value on those frames."""
    cfg = tiny(n_steps=768, total_timesteps=3072, seed=2)
    tr = Trainer(cfg)
    fed, actions = [], []
    logits_value, step = tr.model.logits_value, tr.env.step

    def spy(x):  # the rollout's calls (n_envs rows), not the update's (minibatches of 768)
        if len(x) == cfg.n_envs:
            fed.append(x.cpu().numpy().copy())
        return logits_value(x)

    tr.model.logits_value = spy
    tr.env.step = lambda a: (actions.append(np.array(a)), step(a))[1]
    tr.run()
    assert len(fed) == len(actions) == 1536 and fed[0].shape == (2, 4, 84, 84) and fed[0].dtype == np.uint8

    resets = 0
    for i in range(cfg.n_envs):
        env = reference_env()
        obs, _ = env.reset(seed=cfg.seed + i)
        for t in range(len(actions)):
            assert np.array_equal(fed[t][i], obs), f"env {i}, step {t}: the frames differ"
            obs, _, term, trunc, _ = env.step(int(actions[t][i]))
            if term or trunc:
                obs, _ = env.reset()
                resets += 1
        env.close()
    assert resets >= 1  # the episode boundary (same-step autoreset, reset without a seed) was checked

    write_policy(tmp_path, tr.model, tr.cfg, tr.obs_dim, {"seed": cfg.seed})
    ckpt = load_checkpoint(tmp_path)
    meta = json.loads((tmp_path / "policy.json").read_text())
    assert meta["frames"] == "gymnasium-atari" and meta["image"] == [4, 84, 84] and meta["trunk"] == [512]
    assert [(c["out"], c["kernel"], c["stride"]) for c in meta["conv"]] == [
        (32, 8, 4),
        (64, 4, 2),
        (64, 3, 1),
    ]
    assert [o["name"] for o in ckpt.outputs] == ["logits", "value"] and ckpt.n_act == 6
    frames = np.concatenate(fed[::64])
    ours = tr.model(torch.from_numpy(frames)).numpy()
    ref = torch_cnn_forward(ckpt, frames)
    assert ours.shape == ref.shape == (len(frames), 7)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    assert np.ptp(ref[:, :6]) > 1e-3 and np.ptp(ref[:, 6]) > 1e-3  # real outputs, not constants
    act = tr.model.greedy_policy()(frames)
    top2 = np.sort(ref[:, :6], axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5
    assert clear.mean() > 0.9 and np.array_equal(act[clear], ref[clear, :6].argmax(1))


@pytest.mark.train
def test_env_state_round_trips_through_plain_data(tmp_path):
    """AtariEnvs' state (each copy's episode start: ALE's bytes with its RNG, the noop generator, the
    wrappers' buffers; and the episode's actions) restored on envs made from other seeds continues exactly,
    sticky actions and noop resets included; a state whose replay does not reach the saved ALE state is
    refused."""
    envs = AtariEnvs(ENV, 2, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(800):  # one copy's first episode ends at step 764: the two replay 36 and 800 actions
        envs.step(rng.integers(0, 6, 2))
    assert len(envs.drain()) == 1
    save_state(tmp_path, {"config": {}, "env": envs.get_state()[0]})
    other = AtariEnvs(ENV, 2, seed=50)
    other.set_state(load_state(tmp_path)["env"])
    assert np.array_equal(other.obs, envs.obs)
    for _ in range(1000):  # past more episode ends
        a = rng.integers(0, 6, 2)
        want, got = envs.step(a), other.step(a)
        assert all(np.array_equal(x, y) for x, y in zip(want[:4], got[:4], strict=True))
    assert len(envs.drain()) == len(other.drain()) >= 2
    bad = load_state(tmp_path)["env"]
    acts = max((e["actions"] for e in bad["envs"]), key=len)
    acts[100] = (acts[100] + 2) % 6
    with pytest.raises(ValueError, match="did not reproduce"):
        AtariEnvs(ENV, 2, seed=50).set_state(bad)


@pytest.mark.train
def test_resume_in_process_matches_uninterrupted(tmp_path):
    full, part, resumed = resumed_run(tiny(total_timesteps=256, seed=5), tmp_path, 2)
    assert part.s.global_step == 128
    assert same_weights(full, resumed) and resumed.s.global_step == 256
    assert np.array_equal(full.env.obs, resumed.env.obs)


@pytest.mark.train
def test_killed_run_resumes_to_the_uninterrupted_policy(tmp_path):
    """A CLI run killed with SIGKILL after a periodic save (--save-every 0: every iteration) resumes with
    --resume to the same policy as an uninterrupted run, and writes the gymnasium-atari checkpoint."""
    flags = [
        *(a for k, v in TINY.items() for a in (f"--{k.replace('_', '-')}", str(v))),
        "--total-timesteps",
        "640",
        "--seed",
        "4",
        "--threads",
        "1",
        "--no-plot",
        "--no-progress",
    ]
    runs, out = tmp_path / "runs", tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rl_web_agent", "train", "--env", ENV, *flags, "--save-every", "0"]
        + ["--out", str(out), "--runs", str(runs)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not list(runs.glob("*/*/*/state.pt")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == -signal.SIGKILL, err
    run_dir = next(runs.glob("ALE/Pong-v5/*"))
    stopped_at = load_state(run_dir)["trainer"]["global_step"]
    assert 0 < stopped_at < 640 and not out.exists()

    resume = ["--resume", str(run_dir), "--out", str(out), "--threads", "1", "--no-plot", "--no-progress"]
    assert main(resume) == 0
    ckpt = load_checkpoint(out / ENV)
    assert ckpt.frames == "gymnasium-atari" and ckpt.meta["train"]["env_steps"] == 640
    assert ckpt.meta["train"]["config"]["network"] == "nature_cnn"
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == 1 + 640 // 64
    full = Trainer(dataclasses.replace(tiny(total_timesteps=640, seed=4)))
    full.run()
    for k, v in full.model.checkpoint_tensors().items():
        assert np.array_equal(ckpt.tensors[k], v.numpy()), k
    snaps = sorted(int(p.name) for p in (out / ENV / "snapshots").iterdir())
    assert snaps[0] == 0 and snaps[-1] == 640


@pytest.mark.train
@pytest.mark.compile
def test_python_m_compile_turns_the_trained_policy_into_a_kernel(tmp_path):
    """`python -m rl_web_agent compile` takes the trained checkpoint as it is: its kernel's outputs (logits,
    value) match PyTorch's on real and synthetic frames (parity.certificate_frames)."""
    from rl_web_agent.__main__ import main as project_main

    tr = Trainer(tiny(total_timesteps=64, seed=6))
    tr.run()
    write_policy(tmp_path / "m", tr.model, tr.cfg, tr.obs_dim, {"seed": 6})
    assert (
        project_main(["compile", str(tmp_path / "m"), "--out", str(tmp_path / "k"), "--parity-samples", "24"])
        == 0
    )
    m = json.loads((tmp_path / "k" / "manifest.json").read_text())
    assert [o["name"] for o in m["outputs"]] == ["logits", "value"] and m["image"] == [4, 84, 84]
    assert m["parity"]["samples"] == 24 and m["parity"]["max_abs_err"] < 1e-4
    assert m["parity"]["float32_policy"]["greedy_agree"] == 24
