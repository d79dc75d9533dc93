"""Snapshots of the policy along a training run, for the page's timeline ("agent after N steps"). The
training snapshots: the compiler's, which compiles them, is rl_web_agent/compiler/snapshots.py.

While training, `SnapshotLog` keeps the policy's weights (observation normaliser included) at evenly spaced
iterations, starting with the untrained policy: at most KEEP of them, thinned to every other one when full, so
a run of any length keeps an even spread in bounded memory (they are part of the resumable state). At the
end, `pick` chooses the untrained policy, SHIPPED - 2 points evenly spread in between, and the final policy;
`write_snapshots` evaluates each greedily and writes it as a folder of its own in the checkpoint format,
<models>/<env-id>/snapshots/<env-steps>/, the whole snapshots/ folder swapped in at once.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from rl_web_agent.policy.checkpoint import SNAPSHOTS_DIR
from rl_web_agent.policy.files import staged_dir

from .checkpoint import check_policy_target, write_policy
from .evaluate import greedy_eval

KEEP = 32  # snapshots held while training (each a state dict of the small policy: kilobytes)
KEEP_CNN = 8  # a NatureCNN's state dict is 6.7 MB, and the snapshots are part of every state.pt written
SHIPPED = 5  # written: the untrained policy, three in between, the final one


class SnapshotLog:
    """The policy every `stride` iterations (iteration 0 = untrained), at most `keep` of them."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.stride = 1
        self.items: list[tuple[int, int, float, dict]] = []  # (iteration, env steps, wall s, model state)

    def record(self, iteration: int, step: int, wall_s: float, model: torch.nn.Module) -> None:
        """Keep the model's state at this iteration if it falls on the stride (the caller synced obs_norm)."""
        if iteration % self.stride:
            return
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.items.append((iteration, step, wall_s, state))
        if len(self.items) > self.keep:  # thin to every other recorded iteration: the spread stays even
            self.stride *= 2
            self.items = [it for it in self.items if it[0] % self.stride == 0]

    def state_dict(self) -> dict:
        return {"stride": self.stride, "items": [list(it) for it in self.items]}

    def load_state_dict(self, st: dict | None) -> None:
        """Restore from a run state; None (a state written before snapshots existed) starts an empty log."""
        if st is None:
            return
        items = st["items"]
        if not (
            isinstance(st["stride"], int)
            and st["stride"] >= 1
            and isinstance(items, list)
            and all(
                isinstance(it, list)
                and len(it) == 4
                and isinstance(it[0], int)
                and isinstance(it[1], int)
                and isinstance(it[3], dict)
                for it in items
            )
        ):
            raise ValueError("the state's policy snapshots are malformed")
        self.stride = st["stride"]
        self.items = [(int(i), int(s), float(w), dict(m)) for i, s, w, m in items]


def pick(items: list[tuple[int, int, float, dict]], final_step: int) -> list[tuple[int, float, dict]]:
    """(env steps, wall s, state) of the untrained policy and SHIPPED - 2 recorded points nearest to even
    fractions of final_step, strictly before it, in order (fewer when the run recorded fewer)."""
    before = [it for it in items if it[1] < final_step]
    chosen: dict[int, tuple[int, float, dict]] = {}
    if before and before[0][0] == 0:
        chosen[0] = before[0][1:]
    inner = [it for it in before if it[0] > 0]
    for k in range(1, SHIPPED - 1):
        target = final_step * k / (SHIPPED - 1)
        free = [it for it in inner if it[1] not in chosen]
        if free:
            best = min(free, key=lambda it: abs(it[1] - target))
            chosen[best[1]] = best[1:]
    return [chosen[s] for s in sorted(chosen)]


def evaluate_state(
    model: torch.nn.Module, state: dict, env_id: str, episodes: int, seed: int
) -> tuple[float, float]:
    """Greedy (mean, std) return of the model with `state` loaded, on Gymnasium's env (the trainer's eval)."""
    m = copy.deepcopy(model)
    m.load_state_dict(state)
    return greedy_eval(m.greedy_policy(), env_id, episodes, seed)


def collect(trainer, final, record: dict) -> list[tuple[int, dict, dict]]:
    """The snapshots to write for a finished run: [(env steps, model state, train record)], each picked one
    evaluated greedily as the final policy was (same episodes and seeds), the final policy last."""
    cfg, out = trainer.cfg, []
    for step, wall_s, state in pick(trainer.snapshots.items, final.step):
        mean, std = evaluate_state(trainer.model, state, cfg.env_id, cfg.eval_episodes, cfg.eval_seed)
        rec = {k: v for k, v in record.items() if k != "train_s"}
        rec.update(
            env_steps=step,
            wall_s=round(wall_s, 3),
            eval={
                "episodes": cfg.eval_episodes,
                "mean": mean,
                "std": std,
                "seed": cfg.eval_seed,
                "step": step,
            },
        )
        out.append((step, state, rec))
    final_state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    out.append((final.step, final_state, {**record, "env_steps": final.step}))
    return out


def write_snapshots(
    folder: Path, model: torch.nn.Module, cfg, obs_dim: int, snaps: list[tuple[int, dict, dict]]
) -> Path:
    """Write snaps [(env steps, model state, train record)] as folder/snapshots/<env-steps>/, folders in the
    checkpoint format: built in a temp folder beside it, then swapped in whole (readers see the old or the new
    set)."""
    dest = Path(folder) / SNAPSHOTS_DIR
    with staged_dir(dest) as tmp:
        m = copy.deepcopy(model)
        for step, state, record in snaps:
            m.load_state_dict(state)
            write_policy(tmp / str(step), m, cfg, obs_dim, record)
        check_policy_target(folder)
    return dest
