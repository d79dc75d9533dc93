"""rl_web_agent/train/envs.py's VecPendulum makes exactly Gymnasium's steps: against n copies of
gym.make(env_id) (time limit included, copy i reset with seed + i once, then reset
without a seed when its episode ends), row for row and bit for bit, under random actions that include
out-of-range torques, over several episode ends; and a snapshot of their state continues bit for bit."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rl_web_agent.train.checkpoint import from_plain, to_plain
from rl_web_agent.train.envs import BatchedEnv, VecPendulum, make_batched

N = 6
SEED = 11


def gym_steps(env_id: str, actions: np.ndarray) -> list[tuple]:
    """Gymnasium's own rows with same-step autoreset: (obs after reset where done, reward, term, trunc,
    final obs of truncated copies)."""
    envs = [gym.make(env_id) for _ in range(N)]
    [e.reset(seed=SEED + i) for i, e in enumerate(envs)]
    rows = []
    for a in actions:
        obs, rew, term, trunc, final = [], [], [], [], {}
        for i, e in enumerate(envs):
            o, r, te, tr, _ = e.step(a[i])
            tr = tr and not te
            if te or tr:
                if tr:
                    final[i] = np.asarray(o, np.float32)
                o, _ = e.reset()
            obs.append(o)
            rew.append(r)
            term.append(te)
            trunc.append(tr)
        rows.append((np.asarray(obs, np.float32), np.asarray(rew, np.float32), term, trunc, final))
    return rows


def check_rows(env, rows, actions) -> list[tuple[float, int]]:
    for t, (a, (obs, rew, term, trunc, final)) in enumerate(zip(actions, rows, strict=True)):
        o, r, te, tr, f = env.step(a)
        assert np.array_equal(o, obs) and o.dtype == np.float32, t
        assert np.array_equal(r.astype(np.float32), rew), t
        assert list(te) == term and list(tr) == trunc, t
        assert f.keys() == final.keys() and all(np.array_equal(f[i], final[i]) for i in f), t
    return env.drain()


def test_vectorised_pendulum_steps_exactly_as_gymnasium():
    env_id = "Pendulum-v1"
    # torques past the +-2 bound too (the env clips them); 700 steps: 3 episode ends per copy
    actions = np.random.default_rng(0).uniform(-3, 3, (700, N, 1)).astype(np.float32)
    env = make_batched(env_id, N, SEED)
    assert isinstance(env, VecPendulum)
    assert np.array_equal(env.obs, np.asarray([gym.make(env_id).reset(seed=SEED + i)[0] for i in range(N)]))
    episodes = check_rows(env, gym_steps(env_id, actions), actions)
    assert len(episodes) >= N * 3  # every copy went through several resets
    ref = BatchedEnv(env_id, N, SEED)  # the episode statistics are BatchedEnv's, returns summed alike
    for a in actions:
        ref.step(a)
    assert ref.drain() == episodes


def test_vectorised_pendulum_snapshot_continues_exactly():
    rng = np.random.default_rng(1)
    actions = rng.uniform(-2, 2, (500, N, 1)).astype(np.float32)
    a, b = VecPendulum("Pendulum-v1", N, SEED), VecPendulum("Pendulum-v1", N, SEED + 100)
    for x in actions[:300]:
        a.step(x)
    st, lost = a.get_state()
    assert lost == []
    b.set_state(from_plain(to_plain(st)))
    for x in actions[300:]:
        ra, rb = a.step(x), b.step(x)
        assert all(np.array_equal(p, q) for p, q in zip(ra[:4], rb[:4], strict=True))
    assert a.drain() == b.drain()
