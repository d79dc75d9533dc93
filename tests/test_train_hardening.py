"""train/ refuses bad input in one line, before anything is written: crafted resume files (never unpickled),
non-finite or out-of-range hyperparameters, env ids that import code, impossible sizes, blocked outputs. It
stops a diverging run without writing NaN weights, and gives every run its own folder."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from rl_web_agent.train.checkpoint import from_plain, save_state, to_plain
from rl_web_agent.train.cli import create_run_dir, main
from rl_web_agent.train.config import preset, to_dict
from rl_web_agent.train.ppo import Trainer
from tests.training import SMALL, resumed_run, same_weights, train_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def tree(root: Path) -> dict[str, str]:
    """Every path under root with a hash of its bytes (folders: 'dir')."""
    return {
        str(p.relative_to(root)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def good_policy(tmp_path) -> Path:
    """A policy already in --out: no failed run may touch it."""
    d = tmp_path / "out" / "CartPole-v1"
    d.mkdir(parents=True)
    (d / "policy.json").write_text('{"good": true}\n')
    (d / "policy.safetensors").write_bytes(b"good weights")
    return d


def run_cli(tmp_path: Path, capsys, argv: list[str], code: int = 2) -> str:
    """Run `python -m rl_web_agent train` in process; assert the exit code, one stderr line, and an unchanged
    tmp_path."""
    before = tree(tmp_path)
    got = main([*argv, "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert got == code and len(err.splitlines()) == 1 and err.startswith("error: "), (got, err)
    assert tree(tmp_path) == before  # nothing written, created or removed
    return err


class Payload:
    """Unpickling this creates a file: what a crafted state.pt would do under weights_only=False."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def crafted(kind: str, marker: Path) -> bytes:
    if kind == "raw pickle":
        return pickle.dumps({"format": 2, "state": Payload(marker)})
    buf = io.BytesIO()
    if kind == "torch zip":
        torch.save({"format": 2, "state": Payload(marker)}, buf)
    else:  # the old format: a safe outer dict carrying pickled env bytes that the old loader unpickled
        cfg = to_dict(dataclasses.replace(preset("CartPole-v1"), n_envs=4, n_steps=64, minibatches=2))
        torch.save({"format": 1, "config": cfg, "envs": pickle.dumps(Payload(marker))}, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    "kind,words",
    [
        ("raw pickle", "refused unread"),
        ("torch zip", "refused unread"),
        ("format 1 with pickled envs", "old format 1"),
    ],
)
def test_crafted_state_file_is_never_unpickled(tmp_path, capsys, good_policy, kind, words):
    run = tmp_path / "runs" / "CartPole-v1" / "crafted"
    run.mkdir(parents=True)
    marker = tmp_path / "pwned"
    (run / "state.pt").write_bytes(crafted(kind, marker))
    err = run_cli(tmp_path, capsys, ["--resume", str(run), "--no-progress"])
    assert words in err and "state.pt" in err
    assert not marker.exists()


def test_state_holds_only_plain_data_and_round_trips_exactly():
    rng = np.random.default_rng(3)
    rng.random(5)
    x = {
        "a": np.float32(1.5),
        "b": np.arange(6, dtype=np.int16).reshape(2, 3),
        "c": (1, [2.5, None], "s"),
        "d": rng,
        "e": torch.ones(2),
        7: np.float64("nan"),
        "f": [np.bool_(True), 2**70],
    }
    buf = io.BytesIO()
    torch.save(to_plain(x), buf)
    buf.seek(0)
    y = from_plain(torch.load(buf, weights_only=True))
    assert type(y["a"]) is np.float32 and y["a"] == 1.5
    assert y["b"].dtype == np.int16 and (y["b"] == x["b"]).all()
    assert y["c"] == (1, [2.5, None], "s") and type(y["c"]) is tuple
    assert y["d"].random(4).tolist() == rng.random(4).tolist()  # the generator continues where it was
    assert torch.equal(y["e"], x["e"]) and np.isnan(y[7]) and type(y[7]) is np.float64
    assert type(y["f"][0]) is np.bool_ and y["f"][1] == 2**70
    with pytest.raises(TypeError):
        to_plain({"obj": Payload(Path("x"))})


@pytest.mark.train
@pytest.mark.parametrize("env_id", ["MountainCarContinuous-v0", "Pendulum-v1"])
def test_resume_of_a_box_env_with_obs_norm_is_exact(tmp_path, env_id):
    """Box actions with an observation normaliser, in BatchedEnv's Python loop of unwrapped envs
    (MountainCarContinuous) and in VecPendulum with its preset's gSDE (noise weights redrawn mid-rollout):
    restoring the envs from plain data reproduces the uninterrupted run bit for bit, across episode ends."""
    cfg = dataclasses.replace(
        preset(env_id),
        n_envs=2,
        n_steps=128,
        epochs=1,
        minibatches=2,
        seed=3,
        total_timesteps=2560,  # MountainCarContinuous's episodes last up to 999 steps
        eval_every=0,
        stop_return=0.0,
        eval_episodes=2,
    )
    full, _, resumed = resumed_run(cfg, tmp_path, 2)
    assert resumed.env_lost == []  # set on loading, untouched by run()
    assert same_weights(full, resumed) and resumed.s.episodes == full.s.episodes > 0
    assert np.array_equal(full.rms.var, resumed.rms.var)


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--lr", "nan"], "--lr must be a finite number > 0"),
        (["--lr", "inf"], "--lr"),
        (["--lr", "-1"], "--lr"),
        (["--gamma", "nan"], "--gamma must be a finite number in [0.0, 1.0]"),
        (["--gamma", "2"], "--gamma"),
        (["--max-grad-norm", "nan"], "--max-grad-norm"),
        (["--clip-coef", "-1"], "--clip-coef"),
        (["--gae-lambda", "1.5"], "--gae-lambda"),
        (["--ent-coef", "inf"], "--ent-coef"),
        (["--eval-episodes", "0"], "--eval-episodes must be an integer in [1,"),
        (["--minibatches", "3"], "--minibatches 3 must divide the batch n_envs * n_steps = 256"),
        (["--n-envs", "0"], "--n-envs"),
        (["--n-envs", "100000", "--n-steps", "100000"], "--n-envs"),
        (["--n-envs", "4096", "--n-steps", "100000000"], "GiB of rollout buffers"),
        (["--seed", "-1"], "--seed"),
        (["--save-every", "nan"], "--save-every"),
    ],
)
def test_bad_hyperparameters_are_refused_before_anything_is_written(
    tmp_path, capsys, good_policy, flags, words
):
    err = run_cli(tmp_path, capsys, ["--env", "CartPole-v1", *SMALL, *flags])
    assert words in err


def test_resumed_config_is_validated(tmp_path, capsys):
    run = tmp_path / "runs" / "CartPole-v1" / "r"
    cfg = dataclasses.replace(preset("CartPole-v1"), n_envs=4, n_steps=64, minibatches=2)
    st = Trainer(cfg).state_dict()
    st["config"]["gamma"] = float("nan")
    save_state(run, st)
    assert "--gamma must be" in run_cli(tmp_path, capsys, ["--resume", str(run), "--no-progress"])


@pytest.mark.parametrize("tamper", ["obs shape", "rng type"])
def test_tampered_plain_state_is_refused_in_one_line(tmp_path, capsys, tamper):
    """A state file that loads (plain data) but does not fit the envs: refused before training, unchanged."""
    run = tmp_path / "runs" / "CartPole-v1" / "r"
    cfg = dataclasses.replace(preset("CartPole-v1"), n_envs=4, n_steps=64, minibatches=2)
    st = Trainer(cfg).state_dict()
    if tamper == "obs shape":
        st["env"]["obs"] = np.zeros((3, 4), np.float32)
    else:
        st["env"]["venv"]["_np_random"] = 7
    save_state(run, st)
    assert "does not match" in run_cli(tmp_path, capsys, ["--resume", str(run), "--no-progress"])


@pytest.mark.train
def test_diverging_training_stops_without_writing(tmp_path, capsys, good_policy):
    before = tree(good_policy)
    code = main(
        [
            "--env",
            "CartPole-v1",
            *SMALL,
            "--lr",
            "1e30",
            "--total-timesteps",
            "1024",
            "--out",
            str(tmp_path / "out"),
            "--runs",
            str(tmp_path / "runs"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "diverged" in err and "lower --lr" in err, err
    assert tree(good_policy) == before and not (tmp_path / "runs").exists()  # no NaN policy, no half-made run


@pytest.mark.parametrize(
    "env_id,words",
    [
        ("phys2d/CartPole-v1", "needs the Python module 'jax'"),
        ("module:Env-v0", "invalid environment id"),
        ("../../etc/CartPole-v1", "invalid environment id"),
    ],
)
def test_env_ids_that_import_code_or_leave_the_folder(tmp_path, capsys, env_id, words):
    err = run_cli(tmp_path, capsys, ["--env", env_id, *SMALL])
    assert words in err
    assert "module" not in sys.modules


def test_policy_json_that_is_a_folder_is_refused_up_front(tmp_path, capsys):
    (tmp_path / "out" / "CartPole-v1" / "policy.json").mkdir(parents=True)
    err = run_cli(tmp_path, capsys, ["--env", "CartPole-v1", *SMALL])
    assert "cannot write" in err and "policy.json" in err


def test_run_folders_are_exclusive_even_in_the_same_second(tmp_path):
    (tmp_path / "CartPole-v1" / "20260101-000000-s1").mkdir(parents=True)  # an earlier run
    got: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: got.append(create_run_dir(tmp_path, "CartPole-v1", 1, stamp="20260101-000000"))
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 8 and all(p.is_dir() and not any(p.iterdir()) for p in got)
    assert tmp_path / "CartPole-v1" / "20260101-000000-s1" not in got


@pytest.mark.slow
def test_impossible_sizes_from_the_command_line(tmp_path):
    """A MemoryError from impossible sizes: refused in one line with exit 2, no run folder made."""
    r = train_cli(tmp_path, "--n-envs", "100000", "--n-steps", "100000")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--n-envs" in r.stderr, r.stderr
    assert not list(tmp_path.iterdir())
