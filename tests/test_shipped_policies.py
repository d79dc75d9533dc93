"""models/<env-id>/: the shipped classic-control and Box2D policies reach their solved thresholds from
their own weights, were trained with the preset as committed, and stay small enough for the page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.race_eval import EVAL_EPISODES, EVAL_EPISODES_OF, RACES
from rl_web_agent.compiler.model import torch_forward
from rl_web_agent.policy.checkpoint import load_checkpoint
from rl_web_agent.train.config import PRESETS, from_dict, to_dict
from rl_web_agent.train.evaluate import greedy_eval

ROOT = Path(__file__).resolve().parent.parent
ENVS = ["Acrobot-v1", "Pendulum-v1", "MountainCar-v0", "MountainCarContinuous-v0"]
# Box2D: widest hidden layer each may ship (the discrete lander needs 64x64; see its preset)
BOX2D = {"LunarLander-v3": 64, "LunarLanderContinuous-v3": 32, "BipedalWalker-v3": 64}
# how far the replay may land from the recorded eval: torch_forward computes in float64, the trainer's eval in
# float32, and a continuous lander's trajectories (Box2D contacts) drift apart on such differences (measured:
# 261.92583 replayed vs 261.92604 recorded; BipedalWalker 309.80 vs 310.24); everywhere else the replay is
# exact to 1e-6
REPLAY_TOL = {"LunarLanderContinuous-v3": 1.0, "BipedalWalker-v3": 1.0}


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)  # 100-row forward passes: with the second core busy, 2 threads cost 50x more


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENVS + sorted(BOX2D))
def test_shipped_policy_reaches_the_threshold(env_id):
    """The greedy eval (100 episodes, BipedalWalker's 10; seeds 10000+, never trained on) replayed from
    policy.safetensors through a plain PyTorch forward pass scores what policy.json records, and that is at
    least the threshold."""
    model_dir = ROOT / "models" / env_id
    meta = json.loads((model_dir / "policy.json").read_text())
    ev = meta["train"]["eval"]
    n_act = meta["action"]["n"] if meta["action"]["type"] == "discrete" else meta["action"]["shape"][0]
    # the checkpoint's function in float64 (the trainer evaluated in float32: see REPLAY_TOL)
    ckpt = load_checkpoint(model_dir)

    def act(obs: np.ndarray) -> np.ndarray:
        out = torch_forward(ckpt, obs)[:, :n_act]
        return out.argmax(1) if meta["action"]["type"] == "discrete" else out

    mean, _ = greedy_eval(act, env_id, ev["episodes"], ev["seed"])
    assert ev["episodes"] == EVAL_EPISODES_OF.get(env_id, EVAL_EPISODES) and ev["seed"] >= 10_000
    assert mean == pytest.approx(ev["mean"], abs=REPLAY_TOL.get(env_id, 1e-6))
    # a preset may stop past the threshold (Pendulum: a margin over a noisy 100-episode eval), never before it
    assert mean >= RACES[env_id][0] and PRESETS[env_id].stop_return >= RACES[env_id][0]


# The shipped Pendulum-v1 policy (greedy -149.9, stopped at -150) predates the gSDE preset, which wins the
# training race but plateaus at greedy -170..-185 with gamma 0.9 (seed 1: best -169.5 in 200k steps), so it
# was not re-published: re-publishing it or keeping the older policy is a decision still open
PRESET_PENDING = {
    "Pendulum-v1": "shipped policy predates the gSDE preset (not re-published: it scores lower)"
}


def trained_config(meta: dict) -> dict:
    """The config policy.json says the policy was trained with, seed aside (from_dict: a policy trained before
    a field existed was trained with that field's default)."""
    return {k: v for k, v in to_dict(from_dict(meta["train"]["config"])).items() if k != "seed"}


def preset_config(env_id: str) -> dict:
    """The committed preset for env_id, seed aside."""
    return {k: v for k, v in to_dict(PRESETS[env_id]).items() if k != "seed"}


@pytest.mark.parametrize(
    "env_id",
    [
        pytest.param(e, marks=pytest.mark.xfail(reason=PRESET_PENDING[e], strict=True))
        if e in PRESET_PENDING
        else e
        for e in ENVS + sorted(BOX2D)
    ],
)
def test_shipped_policy_matches_its_preset_and_page_budget(env_id):
    """Trained with the committed preset (seed aside), hidden layers at most 32 wide (the 32 KB page; the
    landers' own budget in BOX2D)."""
    meta = json.loads((ROOT / "models" / env_id / "policy.json").read_text())
    assert trained_config(meta) == preset_config(env_id)
    assert max(meta["hidden"]) <= BOX2D.get(env_id, 32)


# ---- Atari: the shipped Pong and Breakout policies ----

PONG, BREAKOUT = "ALE/Pong-v5", "ALE/Breakout-v5"
# each one's bar, greedy over 10 episodes: Pong's is its preset's stop (a game's score runs from -21 to +21);
# Breakout has no agreed threshold (Gymnasium gives Atari games none): its bar is its shipped policy's eval
ATARI_BAR = {PONG: PRESETS[PONG].stop_return, BREAKOUT: 76.0}
# how far under the bar the page's int8 kernel may play those 10 episodes: one action changed on a near-tie
# sends a Breakout episode elsewhere (per-episode std 36); measured 65.5 +- 16.8 against float32's 76.3
KERNEL_MARGIN = {BREAKOUT: 15.0}
# the env steps a policy was trained for where not its preset's budget: Breakout's run was cut from the
# preset's 10M to end within one more working session on this CPU (README, "Atari")
TRAINED_FOR = {BREAKOUT: 4_718_592}


@pytest.mark.parametrize("env_id", sorted(ATARI_BAR))
def test_shipped_atari_policy_was_trained_with_its_preset_and_reached_its_bar(env_id):
    meta = json.loads((ROOT / "models" / env_id / "policy.json").read_text())
    preset = preset_config(env_id) | {
        "total_timesteps": TRAINED_FOR.get(env_id, PRESETS[env_id].total_timesteps)
    }
    assert trained_config(meta) == preset
    ev = meta["train"]["eval"]
    assert ev["episodes"] == 10 and ev["seed"] >= 10_000 and ev["mean"] >= ATARI_BAR[env_id]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(ATARI_BAR))
def test_shipped_atari_kernel_plays_as_trained_on_the_page(env_id, tmp_path):
    """policy.wasm as the page fetches it (int8 weights, `make compile-kernel`'s default) plays the policy's
    10 greedy eval episodes (Gymnasium's v5 env on the frames it was trained on, the eval's seeds) to its bar
    (less KERNEL_MARGIN)."""
    from rl_web_agent.compiler import cnn
    from tests.pages import kernel_dir, policy_dir

    kernel = kernel_dir(env_id, policy_dir(env_id), tmp_path)
    assert not isinstance(kernel, str), kernel
    manifest = json.loads((kernel / "manifest.json").read_text())
    assert manifest["weights"]["dtype"] == "int8"
    ckpt = load_checkpoint(ROOT / "models" / env_id)
    wasm = cnn.WasmCNN(kernel / "policy.wasm", ckpt.n_out)
    ev = ckpt.meta["train"]["eval"]
    mean, std = greedy_eval(lambda frames: cnn.greedy(ckpt, wasm.forward(frames)), env_id, 10, ev["seed"])
    print(
        f"\n{env_id}: policy.wasm (int8) greedy over 10 episodes {mean:.1f} +- {std:.1f}; "
        f"trained: {ev['mean']}"
    )
    assert mean >= ATARI_BAR[env_id] - KERNEL_MARGIN.get(env_id, 0.0)
