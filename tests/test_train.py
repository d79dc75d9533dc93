"""rl_web_agent/train: PPO learns, writes the checkpoint format exactly, is deterministic and resumable, and
rejects bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl_web_agent.train.checkpoint import load_state, save_state, write_policy
from rl_web_agent.train.cli import main
from rl_web_agent.train.config import preset
from rl_web_agent.train.ppo import Trainer
from tests.checkpoints import load_oracle, oracle_forward
from tests.training import SMALL, resumed_run, same_weights, small, train_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.mark.train
def test_short_run_improves_the_return():
    cfg = dataclasses.replace(
        preset("CartPole-v1"), seed=3, total_timesteps=8192, eval_every=0, stop_return=0.0
    )
    tr = Trainer(cfg)
    rows = []
    tr.run(on_iteration=rows.append)
    assert len(rows) == 8192 // cfg.batch_size and rows[-1].step == 8192
    # random play scores ~22 on CartPole; the return of recent training episodes must have grown well past it
    assert rows[0].ep_return < 40 and rows[-1].ep_return > 2 * rows[0].ep_return, (rows[0], rows[-1])


@pytest.mark.train
def test_bench_hook_calls_back_every_eval_every_steps_and_stops():
    cfg = dataclasses.replace(small(), seed=2, total_timesteps=20_000, eval_every=512)
    seen = []

    def judge(steps, act):
        obs = np.zeros((3, 4), dtype=np.float32)
        assert np.asarray(act(obs)).shape == (3,)
        seen.append(steps)
        return steps >= 1536

    st = Trainer(cfg).run(callback=judge)
    assert seen == [512, 1024, 1536] and st.global_step == 1536


@pytest.mark.train
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_checkpoint_round_trip_through_contract_1(tmp_path, env_id):
    tr = Trainer(dataclasses.replace(small(env_id), total_timesteps=512, obs_norm=True))
    tr.run()
    tr.finalize()
    write_policy(tmp_path, tr.model, tr.cfg, tr.obs_dim, {"seed": 1})
    meta = json.loads((tmp_path / "policy.json").read_text())
    assert meta["format"] == 1 and meta["env_id"] == env_id
    assert meta["obs_norm"] == {"clip": 10.0, "eps": 1e-8}
    assert meta["hidden"] == list(tr.cfg.hidden) and meta["obs_dim"] == tr.obs_dim
    env = gym.make(env_id)
    obs = np.stack([env.observation_space.sample() for _ in range(64)]).astype(np.float32)
    ref = oracle_forward(tmp_path, obs)
    ours = tr.model(torch.from_numpy(obs)).numpy()
    assert ref.shape == ours.shape == (64, (2 if env_id == "CartPole-v1" else 1) + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
    assert not np.allclose(tr.model.obs_mean.numpy(), 0)  # the normaliser really was exported


@pytest.mark.train
def test_cpu_determinism():
    def weights():
        tr = Trainer(dataclasses.replace(small(), seed=7, total_timesteps=1024))
        tr.run()
        return tr.model.checkpoint_tensors()

    a, b = weights(), weights()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.train
def test_resume_in_process_matches_uninterrupted(tmp_path):
    full, part, resumed = resumed_run(dataclasses.replace(small(), seed=5, total_timesteps=2048), tmp_path, 3)
    assert part.s.global_step == 768
    assert same_weights(full, resumed) and resumed.s.global_step == 2048


@pytest.mark.train
def test_ctrl_c_then_resume_matches_uninterrupted_run(tmp_path):
    args = ["--env", "CartPole-v1", "--seed", "4", "--total-timesteps", "6400", "--save-every", "0", *SMALL]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rl_web_agent",
            "train",
            *args,
            "--out",
            str(tmp_path / "a"),
            "--runs",
            str(tmp_path / "runs"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "runs").glob("*/*/state.pt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and not (tmp_path / "a").exists()  # nothing published by an unfinished run
    run_dir = next((tmp_path / "runs").glob("*/*"))
    stopped_at = load_state(run_dir)["trainer"]["global_step"]
    assert 0 < stopped_at < 6400
    assert main(["--resume", str(run_dir), "--out", str(tmp_path / "a"), "--no-plot", "--no-progress"]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--runs", str(tmp_path / "runs2")]) == 0
    pa, pb = (tmp_path / d / "CartPole-v1" / "policy.safetensors" for d in "ab")
    assert pa.read_bytes() == pb.read_bytes()
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 6400 // 256  # no duplicated iterations after the resume
    meta = json.loads(pa.with_name("policy.json").read_text())
    assert meta["train"]["env_steps"] == 6400 and meta["train"]["seed"] == 4


class TinyDictEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (3,))
    action_space = gym.spaces.Dict({"a": gym.spaces.Discrete(2)})


gym.register("TinyDictAction-v0", entry_point=TinyDictEnv, max_episode_steps=10)


def run_bad(tmp_path, capsys, argv) -> str:
    out, runs = tmp_path / "out", tmp_path / "runs"
    before = sorted(p for p in tmp_path.rglob("*"))
    code = main([*argv, "--out", str(out), "--runs", str(runs), *SMALL])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written or created
    return err


@pytest.mark.parametrize(
    "env_id,words",
    [
        ("NoSuchEnv-v0", "unknown env id"),
        ("Blackjack-v1", "observation space"),
        ("TinyDictAction-v0", "action space"),
    ],
)
def test_bad_env(tmp_path, capsys, env_id, words):
    err = run_bad(tmp_path, capsys, ["--env", env_id])
    assert words in err and env_id in err


def test_unwritable_output_is_rejected_before_training(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a file, not a folder")
    err = run_bad(
        tmp_path,
        capsys,
        [
            "--env",
            "CartPole-v1",
            "--total-timesteps",
            "256",
            "--models",
            str(tmp_path / "blocker" / "models"),
            "--publish",
        ],
    )
    assert "cannot write" in err and "blocker" in err


def test_corrupt_and_mismatched_resume(tmp_path, capsys):
    good = tmp_path / "runs" / "CartPole-v1" / "good"
    save_state(good, Trainer(small()).state_dict())
    bad = tmp_path / "runs" / "CartPole-v1" / "bad"
    bad.mkdir()
    (bad / "state.pt").write_bytes(b"\x80garbage")
    assert "corrupt resume file" in run_bad(tmp_path, capsys, ["--resume", str(bad)])
    assert "no resume file" in run_bad(tmp_path, capsys, ["--resume", str(tmp_path / "nope")])
    assert "is for CartPole-v1, not Acrobot-v1" in run_bad(
        tmp_path, capsys, ["--resume", str(good), "--env", "Acrobot-v1"]
    )
    st = load_state(good)  # a state whose tensors do not fit its config
    st["config"]["hidden"] = [8]
    save_state(good, st)
    assert "does not match" in run_bad(tmp_path, capsys, ["--resume", str(good)])


def test_bad_input_exit_code_from_the_command_line(tmp_path):
    r = train_cli(tmp_path, "--env", "NoSuchEnv-v0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown env id 'NoSuchEnv-v0'" in r.stderr
    assert not list(tmp_path.iterdir())


def test_shipped_cartpole_policy_plays_perfectly():
    model_dir = ROOT / "models" / "CartPole-v1"
    meta = json.loads((model_dir / "policy.json").read_text())
    assert meta["hidden"] == [32, 32] and meta["train"]["eval"]["mean"] == 500.0
    envs = [gym.make("CartPole-v1") for _ in range(5)]
    obs = np.stack([e.reset(seed=100 + i)[0] for i, e in enumerate(envs)])
    returns, alive, oracle = np.zeros(5), np.ones(5, bool), load_oracle(model_dir)
    while alive.any():
        actions = oracle(obs)[:, :2].argmax(1)
        for i in np.flatnonzero(alive):
            obs[i], r, term, trunc, _ = envs[i].step(int(actions[i]))
            returns[i] += r
            alive[i] = not (term or trunc)
    assert returns.tolist() == [500.0] * 5


@pytest.mark.parametrize(
    "action,obs_norm,activation",
    [
        ({"type": "discrete", "n": 3}, False, "tanh"),
        ({"type": "discrete", "n": 2}, True, "relu"),
        ({"type": "box", "shape": [2], "low": [-1.0, -1.0], "high": [1.0, 1.0]}, True, "tanh"),
    ],
)
def test_numpy_fast_path_is_the_torch_model(action, obs_norm, activation):
    """Rollouts and evals act through ActorCritic.greedy_policy (numpy on a snapshot of the weights, for
    speed):
    it must be the PyTorch model's own forward pass, normaliser included."""
    from rl_web_agent.train.model import ActorCritic

    torch.manual_seed(0)
    m = ActorCritic(5, action, (16, 16), activation, obs_norm=obs_norm)
    with torch.no_grad():
        for layer in (*m.actor, *m.critic):  # larger than the init's 0.01 output gain: a real argmax test
            layer.weight.normal_(0, 1.0)
            layer.bias.normal_(0, 0.5)
        m.obs_mean.normal_(0, 2.0)
        m.obs_var.uniform_(0.1, 9.0)
    obs = np.random.default_rng(0).normal(0, 3, (4096, 5)).astype(np.float32)
    out = m(torch.from_numpy(obs)).numpy()
    got = m.greedy_policy()(obs)
    if action["type"] == "discrete":
        top2 = np.sort(out[:, :-1], axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 1e-5  # ties within float32 noise may go either way
        assert clear.mean() > 0.95
        np.testing.assert_array_equal(got[clear], out[clear, :-1].argmax(1))
    else:
        np.testing.assert_allclose(got, out[:, :-1], rtol=1e-5, atol=1e-5)


def test_sde_samples_with_the_std_its_log_prob_uses_and_exports_a_plain_gaussian():
    """gSDE (--sde): the rollout's noise phi(s) @ W, W ~ N(0, exp(sde_log_std)^2) as the trainer draws it, has
    per state the std that logprob_entropy scores actions with; the greedy policy stays the MLP mean, and
    the checkpoint format gets a plain actor with a state-independent log std of the action's size."""
    from rl_web_agent.train.model import ActorCritic

    torch.manual_seed(0)
    box = {"type": "box", "shape": [2], "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    m = ActorCritic(3, box, (16, 8), "tanh", init_log_std=-1.0, sde=True)
    with torch.no_grad():
        m.sde_log_std.uniform_(-2.0, 0.0)
    x = torch.from_numpy(np.random.default_rng(0).normal(0, 1, (5, 3)).astype(np.float32))
    phi, mean = m.actor_numpy(features=True)(x.numpy())
    with torch.no_grad():
        h = torch.tanh(m.actor[1](torch.tanh(m.actor[0](x))))
        std = m.sde_std(h)
    np.testing.assert_allclose(phi, h.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean, m.actor_out(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.greedy_policy()(x.numpy()), mean, rtol=1e-6, atol=1e-6)
    rng = np.random.default_rng(1)
    w_std = np.exp(m.sde_log_std.detach().numpy())
    noise = np.stack(
        [np.einsum("nh,ha->na", phi, w_std * rng.standard_normal(w_std.shape)) for _ in range(20000)]
    )
    np.testing.assert_allclose(noise.std(0), std.numpy(), rtol=0.03)
    a = torch.from_numpy(mean + noise[0]).float()
    lp, ent = m.logprob_entropy(x, a)
    ref = torch.distributions.Normal(m.actor_out(x), std)
    torch.testing.assert_close(lp, ref.log_prob(a).sum(-1))
    torch.testing.assert_close(ent, ref.entropy().sum(-1))
    t = m.checkpoint_tensors()
    assert t["actor.log_std"].shape == (2,) and not any("sde" in k for k in t)
