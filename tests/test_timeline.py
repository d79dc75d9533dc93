"""The training timeline: training snapshots (rl_web_agent/train/snapshots.py), their kernels
(rl_web_agent/compiler/snapshots.py), and the page's training timeline and side by side
(web/page/lazy/timeline.js), in a real Chromium."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from rl_web_agent.compiler.snapshots import INDEX, snapshot_dirs
from rl_web_agent.policy.checkpoint import CheckpointError, load_checkpoint
from rl_web_agent.runtime_py.export_json import to_json
from rl_web_agent.train.checkpoint import load_state, save_state
from rl_web_agent.train.cli import main as train_main
from rl_web_agent.train.config import preset
from rl_web_agent.train.ppo import Trainer
from rl_web_agent.train.snapshots import KEEP, SnapshotLog, pick
from tests.conftest import ARTIFACTS
from tests.pages import Watch, build, policy_dir
from tests.training import SMALL

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


# ---- training ---------------------------------------------------------------------------------------------


def test_snapshot_log_keeps_an_even_spread_in_bounded_memory():
    log, model = SnapshotLog(), torch.nn.Linear(2, 1)
    for it in range(1000):
        log.record(it, it * 256, 0.0, model)
    its = [it for it, *_ in log.items]
    assert len(its) <= KEEP and its[0] == 0
    gaps = {b - a for a, b in zip(its, its[1:], strict=False)}
    assert gaps == {log.stride}, gaps  # evenly spaced: every stride-th iteration, from the untrained one
    chosen = [s for s, _, _ in pick(log.items, 1000 * 256)]
    assert chosen[0] == 0 and len(chosen) == 4 and chosen == sorted(chosen) and chosen[-1] < 1000 * 256
    for k, s in zip(range(1, 4), chosen[1:], strict=True):  # nearest to a quarter, half, three quarters
        assert abs(s - k * 1000 * 256 / 4) <= log.stride * 256, (k, s)


def test_trainer_snapshots_survive_a_resume(tmp_path):
    cfg = dataclasses.replace(
        preset("CartPole-v1"),
        n_envs=4,
        n_steps=64,
        epochs=2,
        minibatches=2,
        eval_every=0,
        stop_return=0.0,
        eval_episodes=5,
        seed=5,
        total_timesteps=2048,
    )
    untrained = Trainer(cfg).model.state_dict()
    part = Trainer(cfg)
    part.run(should_stop=lambda: part.s.iteration >= 3)
    save_state(tmp_path, part.state_dict())
    resumed = Trainer(cfg, state=load_state(tmp_path))
    assert [it[:2] for it in resumed.snapshots.items] == [(i, i * 256) for i in range(4)]
    resumed.run()
    first = resumed.snapshots.items[0][3]
    assert first.keys() == untrained.keys() and all(torch.equal(first[k], v) for k, v in untrained.items())
    # a state written before snapshots existed resumes with none before it; a malformed list is refused
    old = load_state(tmp_path)
    del old["snapshots"]
    assert Trainer(cfg, state=old).snapshots.items == []
    bad = load_state(tmp_path)
    bad["snapshots"]["items"][0][0] = "zero"
    with pytest.raises(ValueError, match="snapshots are malformed"):
        Trainer(cfg, state=bad)


def test_train_writes_snapshots_as_contract_1_folders(tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "--env",
        "CartPole-v1",
        "--seed",
        "3",
        "--total-timesteps",
        "6400",
        *SMALL,
        "--out",
        str(out),
        "--runs",
        str(tmp_path / "runs"),
    ]
    assert train_main(args) == 0
    folder = out / "CartPole-v1"
    snaps = snapshot_dirs(folder)
    steps = [s for s, _ in snaps]
    assert len(steps) == 5 and steps[0] == 0 and steps == sorted(steps), steps
    final = json.loads((folder / "policy.json").read_text())
    assert steps[-1] == final["train"]["eval"]["step"]
    assert (snaps[-1][1] / "policy.safetensors").read_bytes() == (folder / "policy.safetensors").read_bytes()
    for s, d in snaps:  # each a policy of its own in the checkpoint format, evaluated as the final one was
        ck = load_checkpoint(d)
        ev = ck.meta["train"]["eval"]
        assert ck.env_id == "CartPole-v1" and ck.meta["train"]["env_steps"] == s and ev["step"] == s
        assert ev["episodes"] == 5 and math.isfinite(ev["mean"])
    assert "snapshots at env steps 0, " in capsys.readouterr().out
    # a second run swaps the whole set in: no folder of the first run and no temp folder is left
    assert train_main([*args[:3], "4", *args[4:]]) == 0
    left = sorted(p.name for p in (folder / "snapshots").iterdir())
    assert left == sorted(str(s) for s, _ in snapshot_dirs(folder))
    assert not any(n.startswith(".") for n in left)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_file_in_the_way_of_snapshots_is_refused_before_training(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "CartPole-v1").mkdir(parents=True)
    (out / "CartPole-v1" / "snapshots").write_text("not a folder")
    args = [
        "--env",
        "CartPole-v1",
        "--total-timesteps",
        "256",
        *SMALL,
        "--out",
        str(out),
        "--runs",
        str(tmp_path / "runs"),
    ]
    assert train_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write to") and "snapshots" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("state.pt"))


def test_a_stray_entry_in_snapshots_is_named(tmp_path):
    shutil.copytree(ROOT / "models" / "CartPole-v1", tmp_path / "m")
    (tmp_path / "m" / "snapshots" / "latest").mkdir()
    with pytest.raises(CheckpointError, match=r"snapshots/latest is not a snapshot .*retrain"):
        snapshot_dirs(tmp_path / "m")


# ---- compile and bundle ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(site, tmp_path_factory):
    """The test run's site (its CartPole and Pendulum pages with their snapshots), and CartPole's page without
    any under bare/."""
    tmp = tmp_path_factory.mktemp("timeline")
    bare = tmp / "bare"
    shutil.copytree(site["kernels"] / "CartPole-v1", bare, ignore=shutil.ignore_patterns("snapshots"))
    r = build(["--kernel", bare, "--out", tmp / "www" / "bare"])
    assert r.returncode == 0, r.stderr
    return {**site, "bare": tmp / "www"}


def _open(browser, serve, site, path: str):
    page = browser.new_page(viewport={"width": 860, "height": 1400})
    watch = Watch(page)
    page.goto(f"{serve(site['bare'] if path.startswith('bare/') else site['site'])}/{path}")
    page.wait_for_function("() => window.app && window.app.status().firstActionMs !== null", timeout=30_000)
    return page, watch


def _returns(page, n: int) -> list[float]:
    """The next n agent returns from now (a new episode started with the snapshot)."""
    k = page.evaluate("window.app.status().returns.length")
    page.wait_for_function(f"() => window.app.status().returns.length >= {k + n}", timeout=120_000)
    return page.evaluate("window.app.status().returns")[k : k + n]


def test_compiled_snapshots_are_listed_in_order_and_lazy(site):
    kernel = site["kernels"] / "CartPole-v1"
    index = json.loads((kernel / "snapshots" / "snapshots.json").read_text())
    model_steps = [s for s, _ in snapshot_dirs(policy_dir("CartPole-v1"))]
    assert [s["steps"] for s in index] == model_steps and index[-1].get("final") is True
    for s in index[:-1]:  # the others each a full kernel of their own snapshot, with its parity
        m = json.loads((kernel / "snapshots" / s["dir"] / "manifest.json").read_text())
        # the kernel of that snapshot: its weights (policy.weights.json, from the checkpoint) and its eval
        snap = load_checkpoint(policy_dir("CartPole-v1") / "snapshots" / str(s["steps"]))
        assert (kernel / "snapshots" / s["dir"] / "policy.weights.json").read_text() == to_json(snap)
        assert (m["eval"] or {}).get("mean") == s["eval"] and m["parity"]["max_abs_err"] < 1e-4
        assert str(ROOT) not in json.dumps(m) and str(ROOT) not in (kernel / "snapshots" / INDEX).read_text()
    budget = [ln for ln in site["report"].splitlines() if "CartPole-v1: bytes until the first agent" in ln]
    assert budget and "OVER BUDGET" not in budget[0], site["report"]


def test_timeline_untrained_is_far_below_final_and_fetches_only_the_chosen_kernel(browser, serve, site):
    page, watch = _open(browser, serve, site, "CartPole-v1/?speed=max&seed=7")
    snaps = page.evaluate("window.app.snapshots()")
    assert [s["steps"] for s in snaps] == [s for s, _ in snapshot_dirs(policy_dir("CartPole-v1"))]
    assert [s["id"] for s in snaps] == [str(s["steps"]) for s in snaps]
    final = snaps[-1]["id"]
    assert page.evaluate("window.app.status().snapshot") == final
    assert not [u for u in watch.urls if "/snapshot-" in u]  # the first action used the final kernel only
    assert page.evaluate("window.app.useSnapshot('0')") == {"id": "0", "steps": 0}
    assert page.evaluate("window.app.status().snapshot") == "0"
    untrained = _returns(page, 20)
    fetched = [u for u in watch.urls if "/snapshot-" in u]
    eager = [u for u in fetched if not u.endswith(".lazy.wasm")]
    # the chosen snapshot's kernel, no other (and its lazy half, once the saliency bars ask for it)
    assert len(eager) == 1 and len(fetched) - len(eager) <= 1, fetched
    page.evaluate(f"window.app.useSnapshot('{final}')")
    trained = _returns(page, 3)
    assert page.evaluate("window.app.status().snapshot") == final
    mean_u, mean_f = sum(untrained) / len(untrained), sum(trained) / len(trained)
    assert mean_f == 500 and mean_u < 0.3 * mean_f, (untrained, trained)
    assert page.locator("section.timeline input[type=range]").count() == 1
    with pytest.raises(Exception, match="no snapshot 'nope'"):
        page.evaluate("window.app.useSnapshot('nope')")
    assert watch.errors == [], watch.errors
    page.close()


def test_side_by_side_starts_both_from_the_same_state_and_pushes_both(browser, serve, site):
    page, watch = _open(browser, serve, site, "CartPole-v1/?speed=max&seed=3")
    final = page.evaluate("window.app.snapshots()")[-1]["id"]
    page.evaluate("window.app.pause()")  # side by side follows play/pause: both stay at their start
    c = page.evaluate(f"window.app.compare('0', '{final}')")
    a, b = c["sides"]
    assert (a["id"], b["id"]) == ("0", final) and a["step"] == b["step"] == 0
    assert a["start"] == b["start"] == a["state"] == b["state"]
    pole = page.evaluate("window.app.status().compare.sides[0].state")
    x = 300 + pole[0] * 600 / 4.8  # the pole's middle in world pixels (Gymnasium's 600x400 frame, y down)
    assert page.evaluate(f"window.app.compareDrag(0, [{x}, 200], [{x + 40}, 200])") is True
    a, b = page.evaluate("window.app.status().compare")["sides"]
    assert a["pushed"] and b["pushed"] and a["state"] == b["state"] != a["start"]
    page.evaluate("window.app.play()")
    page.wait_for_function("() => window.app.status().compare.round >= 4", timeout=120_000)
    s = page.evaluate("window.app.status().compare")
    a, b = s["sides"]
    assert a["start"] == b["start"]  # every round: the same start for both
    n = min(len(a["returns"]), len(b["returns"]))
    assert n >= 3 and sum(a["returns"][1:n]) < 0.3 * sum(b["returns"][1:n]), s
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the picture of the timeline and side by side (README)
    page.locator("section.timeline").screenshot(path=str(ARTIFACTS / "timeline.png"))
    assert watch.errors == [], watch.errors
    page.close()


def test_box_env_timeline_and_side_by_side(browser, serve, site):
    page, watch = _open(browser, serve, site, "Pendulum-v1/?speed=max&seed=5")
    snaps = page.evaluate("window.app.snapshots()")
    assert len(snaps) == 5 and snaps[0]["steps"] == 0
    page.evaluate("window.app.useSnapshot('0')")
    untrained = _returns(page, 3)
    page.evaluate(f"window.app.useSnapshot('{snaps[-1]['id']}')")
    trained = _returns(page, 3)
    assert sum(trained) / 3 > sum(untrained) / 3 + 300, (untrained, trained)  # Pendulum: -1200ish vs -200ish
    page.evaluate("window.app.pause()")
    a, b = page.evaluate(f"window.app.compare('{snaps[1]['id']}', '{snaps[-1]['id']}')")["sides"]
    assert a["start"] == b["start"] == a["state"] == b["state"]
    assert watch.errors == [], watch.errors
    page.close()


def test_a_page_without_snapshots_hides_the_timeline(browser, serve, site):
    page, watch = _open(browser, serve, site, "bare/index.html")
    page.wait_for_timeout(500)
    assert page.evaluate("window.app.snapshots()") == []
    assert page.evaluate("window.app.status().snapshot") is None
    assert page.locator("section.timeline").count() == 0
    with pytest.raises(Exception, match="no training snapshots"):
        page.evaluate("window.app.useSnapshot('0')")
    assert not [u for u in watch.urls if "/timeline-" in u or "/snapshot-" in u]
    assert watch.errors == [], watch.errors
    page.close()
