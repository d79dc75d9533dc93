"""Our PPO (train/) in the training race: the env's preset, the one `python -m rl_web_agent train --env ID`
uses, evaluated greedily on the env's grid (bench/race_eval.py's RACES) through the trainer's callback hook
(rl_web_agent/train/ppo.py's docstring), so the preset's own eval_every and stop_return are replaced by the
race's.

Runs in the project's venv:  .venv/bin/python bench/race_ours.py SEED [--env ID]
Prints one JSON line with the same fields as bench/race_sb3.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from race_eval import RACES, RaceClock  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int, help="training seed (one race entry per seed)")
    ap.add_argument(
        "--env", default="CartPole-v1", choices=sorted(RACES), help="env to race on (default %(default)s)"
    )
    ap.add_argument("--full", action="store_true", help="train the whole budget, not stop when solved")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as `python -m rl_web_agent train` does

    from rl_web_agent.train.config import preset, to_dict
    from rl_web_agent.train.ppo import Trainer

    eval_every = RACES[args.env][1]
    cfg = dataclasses.replace(preset(args.env), seed=args.seed, eval_every=eval_every, stop_return=0.0)
    trainer = Trainer(cfg, device="cpu")
    clock = RaceClock(args.env)  # (as for SB3: building the model and envs is not training time)

    def judge(steps: int, act) -> bool:
        return clock.evaluate(steps, act) >= clock.threshold and not args.full

    trainer.run(callback=judge)
    out = clock.result(
        args.seed,
        trainer="ours",
        env_steps=int(trainer.s.global_step),
        trainer_train_s=round(trainer.s.train_s, 3),
        hyperparams=to_dict(cfg),
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
