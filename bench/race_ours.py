"""Our PPO (train/) in the training race: the CartPole-v1 preset that `make train` uses, evaluated greedily
every 2,048 env steps by bench/race_eval.py through the trainer's callback hook (train/ppo.py's docstring).

Runs in the project's venv:  .venv/bin/python bench/race_ours.py SEED
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
from race_eval import EVAL_EVERY, SOLVED, RaceClock  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("--full", action="store_true", help="train the whole budget, not stop when solved")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as `python -m train` does

    from train.config import preset, to_dict
    from train.ppo import Trainer

    cfg = dataclasses.replace(preset("CartPole-v1"), seed=args.seed, eval_every=EVAL_EVERY)
    trainer = Trainer(cfg, device="cpu")
    clock = RaceClock()

    def judge(steps: int, act) -> bool:
        return clock.evaluate(steps, act) >= SOLVED and not args.full

    trainer.run(callback=judge)
    out = clock.result(args.seed, trainer="ours", env_steps=int(trainer.s.global_step),
                       trainer_train_s=round(trainer.s.train_s, 3), hyperparams=to_dict(cfg))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
