"""Every flag of every CLI has help text, and `python -m rl_web_agent train --help` shows the chosen env's
preset values.

The Python CLIs are checked through their argparse parsers (build_parser), the Node ones through --help.
Nothing here trains or compiles.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections.abc import Iterator
from dataclasses import fields

import pytest

from bench.__main__ import build_parser as bench_parser
from rl_web_agent.__main__ import build_parser as project_parser
from rl_web_agent.__main__ import main as project_main
from rl_web_agent.train.cli import build_parser as train_parser
from rl_web_agent.train.cli import main as train_main
from rl_web_agent.train.config import PRESETS, PPOConfig, overrides, preset
from tests.conftest import ROOT
from tests.pages import node

PYTHON_CLIS = {
    "python -m rl_web_agent train": train_parser,
    "python -m rl_web_agent train --env Pendulum-v1": lambda: train_parser("Pendulum-v1"),
    "python -m rl_web_agent train --env Foo-v0": lambda: train_parser(
        "Foo-v0"
    ),  # no preset: the generic defaults
    "python -m rl_web_agent": project_parser,
    "python -m bench": bench_parser,
}


def commands(ap: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """ap and every subcommand's parser below it, each with its command line."""
    yield name, ap
    for action in ap._actions:
        if isinstance(action, argparse._SubParsersAction):
            for cmd, sub in action.choices.items():
                yield from commands(sub, f"{name} {cmd}")


def undocumented(ap: argparse.ArgumentParser, name: str) -> list[str]:
    """The arguments and subcommands (as 'command flag') whose help is missing or blank."""
    missing = []
    for cmd, p in commands(ap, name):
        for action in p._actions:
            choices = action._choices_actions if isinstance(action, argparse._SubParsersAction) else []
            for a in [action, *choices]:
                if not isinstance(a.help, str) or not a.help.strip() or a.help == argparse.SUPPRESS:
                    missing.append(f"{cmd} {'/'.join(a.option_strings) or a.metavar or a.dest}")
    return missing


@pytest.mark.parametrize("name", PYTHON_CLIS)
def test_every_python_flag_has_help(name):
    ap = PYTHON_CLIS[name]()
    assert undocumented(ap, name) == []
    for cmd, p in commands(ap, name):
        assert "(default: None)" not in p.format_help(), cmd


def test_undocumented_finds_a_flag_without_help():
    ap = argparse.ArgumentParser()
    ap.add_argument("--documented", help="a flag")
    ap.add_argument("--bare")
    assert undocumented(ap, "cli") == ["cli --bare"]


def test_every_hyperparameter_has_its_meaning_once():
    for f in fields(PPOConfig):
        assert f.metadata.get("help", "").strip(), f"PPOConfig.{f.name} has no help"
        assert "(default" not in f.metadata["help"], f"PPOConfig.{f.name}: the flag's help adds the default"


def help_of(ap: argparse.ArgumentParser, flag: str) -> str:
    return next(a.help for a in ap._actions if flag in a.option_strings)


@pytest.mark.parametrize("env_id", sorted(PRESETS))
def test_train_help_shows_the_env_preset(env_id):
    ap, cfg = train_parser(env_id), preset(env_id)
    assert help_of(ap, "--lr").endswith(f"(default: {cfg.lr})")
    assert help_of(ap, "--total-timesteps").endswith(f"(default: {cfg.total_timesteps})")
    assert help_of(ap, "--hidden").endswith(f"(default: {','.join(map(str, cfg.hidden))})")
    assert help_of(ap, "--env").endswith(f"(default: {PPOConfig.env_id})")  # the env when none is given
    # the parsed defaults stay None: an unset flag means "the preset" (and a resumed run's own value)
    args = ap.parse_args([])
    assert (args.env, args.seed, overrides(args)) == (None, None, {})


def test_train_help_for_pendulum_shows_pendulum_values(capsys):
    lr = preset("Pendulum-v1").lr
    assert lr != preset("CartPole-v1").lr
    shown = f"(default: {lr})"
    for argv, has in (
        (["--env", "Pendulum-v1", "--help"], True),
        (["--help"], False),
        (["--env=CartPole-v1", "-h"], False),
    ):
        with pytest.raises(SystemExit) as e:
            train_main(argv)
        assert e.value.code == 0
        out = " ".join(capsys.readouterr().out.split())  # (wrapped to the terminal's width)
        assert (f"Adam's learning rate {shown}" in out) is has, argv
        assert ("Pendulum-v1 preset" in out) is has, argv


def test_the_project_cli_hands_train_its_own_flags(capsys):
    """`python -m rl_web_agent train ...` is `rl_web_agent/train/cli.py`'s command line, flags and help."""
    with pytest.raises(SystemExit) as e:
        project_main(["train", "--env", "Pendulum-v1", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: python -m rl_web_agent train") and "Pendulum-v1 preset" in out
    with pytest.raises(SystemExit):
        project_main(["--help"])
    out = capsys.readouterr().out
    assert all(f"\n    {cmd}" in out for cmd in ("train", "compile", "export-json", "import")), out


@pytest.mark.parametrize("script", ["build/build.mjs", "serve.mjs"])
def test_every_node_flag_has_help(script):
    r = subprocess.run(
        [node(), str(ROOT / "web" / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    usage, _, described = r.stdout.partition("\n\n")
    names = re.findall(r"--[a-z-]+", usage) + re.findall(r"\[([A-Z]+)\]", usage)  # flags, positionals
    assert names, usage
    for name in names:
        line = rf"^ +(-\w, )?{re.escape(name)}( \S+)? {{2,}}\S"  # the name, its value, its help
        assert re.search(line, described, re.M), f"{script}: {name} has no help line"
