"""PPO (clipped objective, GAE, clipped value loss, entropy bonus, advantage normalisation, lr annealing,
gradient clipping) in the style of CleanRL's ppo.py, for Discrete and Gaussian Box actions; with
`network="nature_cnn"`, CleanRL ppo_atari's convolutional policy on the gymnasium-atari frames of an ALE v5
env (rl_web_agent/train/atari.py).

Use from Python (this is the hook `make bench` uses for its time-to-solve race):

    from rl_web_agent.train.config import preset
    from rl_web_agent.train.ppo import Trainer

    def judge(steps: int, act) -> bool:          # act: obs [n, obs_dim] float32 -> greedy actions [n]
        return my_clock.evaluate(steps, act) >= 500   # True stops training

    cfg = dataclasses.replace(preset("CartPole-v1"), seed=3, eval_every=2048)
    result = Trainer(cfg, device="cpu").run(callback=judge)

With a callback, it is called after the first iteration that reaches each multiple of cfg.eval_every env
steps (so with a batch of 1024 and eval_every=2048: at exactly 2048, 4096, ...), instead of the internal
greedy eval; time spent inside the callback is not counted in `Trainer.train_s`. Without one, the trainer
evaluates greedily itself every cfg.eval_every steps and stops once the mean reaches cfg.stop_return.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .atari import IMAGE
from .config import PPOConfig, from_dict, to_dict, validate
from .envs import RunningMeanStd, make_batched, train_spaces
from .evaluate import greedy_eval
from .model import ActorCritic, NatureCNNActorCritic
from .snapshots import KEEP, KEEP_CNN, SnapshotLog

Act = Callable[[np.ndarray], np.ndarray]


@dataclass
class EvalRecord:
    step: int
    mean: float
    std: float


@dataclass
class Progress:
    """What the trainer reports after each iteration (one row of metrics.csv)."""

    iteration: int
    step: int
    wall_s: float
    sps: float
    ep_return: float
    ep_length: float
    episodes: int
    pg_loss: float
    v_loss: float
    entropy: float
    approx_kl: float
    clipfrac: float
    lr: float
    eval_mean: float = float("nan")
    eval_std: float = float("nan")


@dataclass
class TrainerState:
    global_step: int = 0
    iteration: int = 0
    train_s: float = 0.0  # training time, evaluation excluded, summed over resumes
    eval_s: float = 0.0
    episodes: int = 0
    finished: bool = False
    evals: list[EvalRecord] = field(default_factory=list)


class DivergedError(RuntimeError):
    """The loss or the weights became NaN or infinite: training stops before anything is written."""


class Adam:
    """torch.optim.Adam's update (eps outside the square root, bias-corrected) in a few foreach ops. Why not
    torch.optim: its first call imports torch._dynamo, ~3 s on this CPU, a third of a whole `make train`."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-5):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def clip_grad_norm(self, max_norm: float) -> None:
        """torch.nn.utils.clip_grad_norm_ on these parameters, the same ops (so the same bits) without its
        per-call grouping and parameter walk: those took as long as the backward pass (Pendulum-v1,
        1,600 minibatches profiled)."""
        grads = [p.grad for p in self.params if p.grad is not None]
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))

    @torch.no_grad()
    def step(self) -> None:
        (b1, b2), self.t = self.betas, self.t + 1
        grads = [p.grad for p in self.params]
        torch._foreach_lerp_(self.m, grads, 1 - b1)
        torch._foreach_mul_(self.v, b2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - b2)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, (1 - b2**self.t) ** 0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.m, denom, value=-self.lr / (1 - b1**self.t))

    def state_dict(self) -> dict:
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, st: dict) -> None:
        if [x.shape for x in st["m"]] != [p.shape for p in self.params]:
            raise ValueError("optimizer state does not fit the model")
        self.t = st["t"]
        self.m = [x.to(p.device).clone() for x, p in zip(st["m"], self.params, strict=True)]
        self.v = [x.to(p.device).clone() for x, p in zip(st["v"], self.params, strict=True)]


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda but no CUDA device is available; use --device auto or cpu")
    return torch.device(device)


class Trainer:
    def __init__(self, cfg: PPOConfig, device: str = "cpu", state: dict | None = None):
        if state is not None:
            cfg = from_dict(state["config"]) if cfg is None else cfg
        self.cfg = validate(cfg)
        self.device = resolve_device(device)
        self.obs_dim, self.action = train_spaces(cfg)
        self.cnn = cfg.network == "nature_cnn"
        torch.manual_seed(cfg.seed)
        if self.cnn:
            self.model = NatureCNNActorCritic(IMAGE, self.action).to(self.device)
        else:
            self.model = ActorCritic(
                self.obs_dim,
                self.action,
                cfg.hidden,
                cfg.activation,
                cfg.init_log_std,
                cfg.obs_norm,
                cfg.obs_clip,
                cfg.sde,
            ).to(self.device)
        self.opt = Adam(self.model.parameters(), lr=cfg.lr, eps=1e-5)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # minibatch shuffles (CPU: same on any device)
        self.rng = np.random.default_rng(cfg.seed)  # action sampling in rollouts
        self.env = make_batched(cfg.env_id, cfg.n_envs, cfg.seed)
        self.rms = RunningMeanStd(self.obs_dim) if cfg.obs_norm else None
        if self.rms is not None:
            self.rms.update(self.env.obs)
        # reward scaling (Gymnasium's NormalizeReward, as in CleanRL's MuJoCo PPO): rewards are divided by the
        # running std of each env's discounted return and clipped to +-10; the logged returns stay raw
        self.ret_rms = RunningMeanStd(1) if cfg.norm_reward else None
        self.disc_ret = np.zeros(cfg.n_envs)
        self.s = TrainerState()
        self.recent: deque[tuple[float, int]] = deque(maxlen=32)
        self.best: tuple[float, dict] | None = None  # (eval mean, model state) of the best greedy eval
        self.env_lost: list[str] = []  # env attributes a resume could not restore (see envs.snapshot)
        # the policy along the run, for the page's timeline (a NatureCNN's state is 6.7 MB: fewer of them)
        self.snapshots = SnapshotLog(KEEP_CNN if self.cnn else KEEP)
        if state is not None:
            self.load_state_dict(state)
        else:
            self._snapshot()  # the untrained policy

    # ---- state for --resume --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything --resume needs to continue bit for bit, as plain data (see checkpoint.to_plain): no
        object in it needs pickle, so loading it can never run code."""
        env, lost = self.env.get_state()
        return {
            "config": to_dict(self.cfg),
            "model": dict(self.model.state_dict()),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "rng": self.rng.bit_generator.state,
            "env": env,
            "env_lost": lost,
            "rms": None if self.rms is None else self.rms.state_dict(),
            "ret_rms": None if self.ret_rms is None else self.ret_rms.state_dict(),
            "disc_ret": self.disc_ret,
            "trainer": dataclasses.asdict(self.s),
            "recent": list(self.recent),
            "best": self.best,
            "snapshots": self.snapshots.state_dict(),
        }

    def load_state_dict(self, st: dict) -> None:
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        self.gen.set_state(st["generator"])
        self.rng.bit_generator.state = st["rng"]
        self.env.set_state(st["env"])
        if (self.rms is None) != (st["rms"] is None):
            raise ValueError("the state's observation normaliser does not match the config's obs_norm")
        if self.rms is not None:
            self.rms.load_state_dict(st["rms"])
        if (self.ret_rms is None) != (st.get("ret_rms") is None):
            raise ValueError("the state's reward normaliser does not match the config's norm_reward")
        if self.ret_rms is not None:
            self.ret_rms.load_state_dict(st["ret_rms"])
            self.disc_ret = np.asarray(st["disc_ret"], dtype=np.float64).reshape(self.cfg.n_envs)
        tr = dict(st["trainer"])
        tr["evals"] = [EvalRecord(**e) for e in tr["evals"]]
        self.s = TrainerState(**tr)
        self.recent.extend(st["recent"])
        best = st["best"]
        if best is not None and not (type(best) is tuple and len(best) == 2 and isinstance(best[1], dict)):
            raise ValueError("the state's best snapshot is malformed")
        self.best = best
        self.env_lost = [str(k) for k in st["env_lost"]]
        self.snapshots.load_state_dict(st.get("snapshots"))

    # ---- helpers ---------------------------------------------------------------------------------------
    def _norm(self, obs: np.ndarray) -> np.ndarray:
        if self.rms is None:
            return obs
        x = (obs - self.rms.mean) / np.sqrt(self.rms.var + self.model.eps)
        return np.clip(x, -self.cfg.obs_clip, self.cfg.obs_clip).astype(np.float32)

    def _sync_obs_norm(self) -> None:
        if self.rms is not None:
            self.model.obs_mean.copy_(torch.as_tensor(self.rms.mean, dtype=torch.float32))
            self.model.obs_var.copy_(torch.as_tensor(self.rms.var, dtype=torch.float32))

    def _snapshot(self) -> None:
        self._sync_obs_norm()  # (the model's normaliser buffers serve only export and eval, never training)
        s = self.s
        self.snapshots.record(s.iteration, s.global_step, s.train_s + s.eval_s, self.model)

    def evaluate(self, episodes: int | None = None) -> EvalRecord:
        t = time.perf_counter()
        cfg = self.cfg
        self._sync_obs_norm()
        act = self.model.greedy_policy()
        mean, std = greedy_eval(act, cfg.env_id, episodes or cfg.eval_episodes, cfg.eval_seed)
        self.s.eval_s += time.perf_counter() - t
        rec = EvalRecord(self.s.global_step, mean, std)
        self.s.evals.append(rec)
        if self.best is None or mean > self.best[0]:
            self.best = (mean, copy.deepcopy(dict(self.model.state_dict())))
        return rec

    @property
    def num_iterations(self) -> int:
        return max(1, self.cfg.total_timesteps // self.cfg.batch_size)

    # ---- one PPO iteration -----------------------------------------------------------------------------
    def _scale_rewards(self, rew: np.ndarray, term: np.ndarray, trunc: np.ndarray) -> np.ndarray:
        """norm_reward: rew divided by the running std of each env's discounted return (clipped to +-10)."""
        if self.ret_rms is None:
            return rew
        self.disc_ret = self.disc_ret * self.cfg.gamma * (1.0 - term) + rew
        self.ret_rms.update(self.disc_ret[:, None])
        rew = np.clip(rew / np.sqrt(self.ret_rms.var[0] + 1e-8), -10.0, 10.0)
        self.disc_ret[term | trunc] = 0.0  # a new episode starts its own discounted return
        return rew

    def _advantages(self, rew_buf, done_buf, values, next_value) -> tuple[np.ndarray, np.ndarray]:
        """GAE: (advantages, returns) [T, N] of a rollout's rewards, dones and values."""
        cfg, T, N = self.cfg, self.cfg.n_steps, self.cfg.n_envs
        adv = np.zeros((T, N), dtype=np.float32)
        last = np.zeros(N, dtype=np.float32)
        for t in reversed(range(T)):
            nv = next_value if t == T - 1 else values[t + 1]
            nonterminal = 1.0 - done_buf[t]
            delta = rew_buf[t] + cfg.gamma * nv * nonterminal - values[t]
            last = delta + cfg.gamma * cfg.gae_lambda * nonterminal * last
            adv[t] = last
        return adv, adv + values

    def _rollout(self):
        if not self.cnn:
            return self._rollout_mlp()
        # one thread for the rollout's forward passes of n_envs frame stacks, whatever --threads gives the
        # update: measured on the shared 2-core box, 2 threads made them 2.4x slower (rollout 0.84 -> 1.98 s
        # per iteration) while the update's 256-row minibatches gained 1.3-1.6x (3.7 -> 2.3-2.8 s)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._rollout_cnn()
        finally:
            torch.set_num_threads(threads)

    @torch.no_grad()
    def _rollout_cnn(self):
        """A rollout of the NatureCNN policy on uint8 frames, in PyTorch: each step's logits and values from
        one forward pass of the n_envs frame stacks (CleanRL's order), actions drawn as _rollout_mlp draws
        them."""
        cfg, dev, T, N, m = self.cfg, self.device, self.cfg.n_steps, self.cfg.n_envs, self.model
        obs_buf = torch.empty((T, N, *IMAGE), dtype=torch.uint8)
        act_buf = np.empty((T, N), dtype=np.float32)
        logp_buf = torch.empty((T, N), dtype=torch.float32)
        val_buf = np.empty((T, N), dtype=np.float32)
        rew_buf = np.empty((T, N), dtype=np.float32)
        done_buf = np.empty((T, N), dtype=np.float32)
        finals: list[tuple[int, int, np.ndarray]] = []
        obs = self.env.obs
        for t in range(T):
            obs_buf[t] = torch.from_numpy(obs)
            logits, v = m.logits_value(obs_buf[t].to(dev))
            out = logits.float().cpu().numpy()
            # inverse-CDF sampling of softmax(out): one uniform per env
            cdf = np.exp(out - out.max(1, keepdims=True)).cumsum(1)
            u = self.rng.random((N, 1), dtype=np.float32) * cdf[:, -1:]
            a = np.minimum((cdf < u).sum(1), out.shape[1] - 1)
            act_buf[t] = a
            logp_buf[t] = m._lp_ent(logits, torch.from_numpy(a).to(dev))[0].cpu()
            val_buf[t] = v.cpu().numpy()
            obs, rew, term, trunc, final = self.env.step(a)
            rew_buf[t], done_buf[t] = self._scale_rewards(rew, term, trunc), term | trunc
            finals.extend((t, i, o) for i, o in final.items())
        self.s.global_step += T * N
        next_value = m.value(torch.from_numpy(obs).to(dev)).cpu().numpy()
        if finals:  # truncated episodes (ALE's frame limit): bootstrap from the value of their final frames
            fv = m.value(torch.from_numpy(np.stack([o for _, _, o in finals])).to(dev)).cpu().numpy()
            for (t, i, _), v in zip(finals, fv, strict=True):
                rew_buf[t, i] += cfg.gamma * v
        adv, ret = self._advantages(rew_buf, done_buf, val_buf, next_value)
        flat = lambda a: torch.from_numpy(a.reshape(T * N)).to(dev)
        b_obs = obs_buf.reshape(T * N, *IMAGE).to(dev)
        return b_obs, flat(act_buf), logp_buf.reshape(T * N).to(dev), flat(adv), flat(ret), flat(val_buf)

    @torch.no_grad()
    def _rollout_mlp(self):
        cfg, dev, T, N, m = self.cfg, self.device, self.cfg.n_steps, self.cfg.n_envs, self.model
        # the policy acts in numpy: ~10x less overhead than torch on 8-64 rows
        actor = m.actor_numpy(features=m.sde)
        if m.sde:  # each env's noise weights [hidden, act], redrawn every sde_sample_freq steps (from t = 0)
            w_std = np.exp(m.sde_log_std.detach().cpu().numpy())
            n_act = w_std.shape[1]
        elif not m.discrete:
            std = np.exp(m.log_std.detach().cpu().numpy())
            n_act = std.size
        obs_buf = np.empty((T, N, self.obs_dim), dtype=np.float32)
        act_buf = np.empty((T, N) if m.discrete else (T, N, n_act), dtype=np.float32)
        rew_buf = np.empty((T, N), dtype=np.float32)
        done_buf = np.empty((T, N), dtype=np.float32)
        finals: list[tuple[int, int, np.ndarray]] = []
        x = self._norm(self.env.obs)
        for t in range(T):
            obs_buf[t] = x
            out = actor(x)
            if m.sde:
                if t % cfg.sde_sample_freq == 0:
                    w = w_std * self.rng.standard_normal((N, *w_std.shape), dtype=np.float32)
                phi, out = out
                a = out + np.einsum("nh,nha->na", phi, w)
            elif m.discrete:  # inverse-CDF sampling of softmax(out): one uniform per env
                cdf = np.exp(out - out.max(1, keepdims=True)).cumsum(1)
                u = self.rng.random((N, 1), dtype=np.float32) * cdf[:, -1:]
                a = np.minimum((cdf < u).sum(1), out.shape[1] - 1)
            else:
                a = out + std * self.rng.standard_normal(out.shape, dtype=np.float32)
            act_buf[t] = a
            obs, rew, term, trunc, final = self.env.step(a)
            rew_buf[t], done_buf[t] = self._scale_rewards(rew, term, trunc), term | trunc
            finals.extend((t, i, o) for i, o in final.items())
            if self.rms is not None:
                self.rms.update(obs)
            x = self._norm(obs)
        self.s.global_step += T * N
        b_obs = torch.from_numpy(obs_buf.reshape(T * N, -1)).to(dev)
        b_act = torch.from_numpy(act_buf.reshape(T * N, *act_buf.shape[2:])).to(dev)
        values = m.value(b_obs).view(T, N).cpu().numpy()
        logp = m.logprob_entropy(b_obs, b_act)[0]
        if m.sde:  # the checkpoint's state-independent log std: this rollout's mean action variance
            *hidden, _ = m.actor
            phi = b_obs
            for layer in hidden:
                phi = m.act_fn(layer(phi))
            m.log_std.copy_(0.5 * torch.log((m.sde_std(phi) ** 2).mean(0)))
        next_value = m.value(torch.from_numpy(x).to(dev)).cpu().numpy()
        if finals:  # truncated episodes: bootstrap from the value of their final observation
            fo = torch.from_numpy(self._norm(np.stack([o for _, _, o in finals]))).to(dev)
            fv = m.value(fo).cpu().numpy()
            for (t, i, _), v in zip(finals, fv, strict=True):
                rew_buf[t, i] += cfg.gamma * v
        adv, ret = self._advantages(rew_buf, done_buf, values, next_value)
        flat = lambda a: torch.from_numpy(a.reshape(T * N)).to(dev)
        return b_obs, b_act, logp, flat(adv), flat(ret), flat(values)

    def _update(self, b_obs, b_act, b_logp, b_adv, b_ret, b_val, lr: float) -> dict:
        cfg, m = self.cfg, self.model
        self.opt.lr = lr
        B, M = cfg.batch_size, cfg.minibatch_size
        norm = lambda a: (a - a.mean()) / (a.std() + 1e-8)
        if cfg.norm_adv and M == B:
            b_adv = norm(b_adv)  # the same every epoch: normalise once
        for epoch in range(cfg.epochs):
            # one minibatch = the whole batch: skip the shuffle and the gathers (order does not matter)
            perm = torch.randperm(B, generator=self.gen).to(self.device) if M < B else None
            for start in range(0, B, M):
                idx = perm[start : start + M] if perm is not None else slice(None)
                x = b_obs[idx]
                newlogp, ent, newv = m.logprob_entropy_value(x, b_act[idx])
                logratio = newlogp - b_logp[idx]
                ratio = logratio.exp()
                adv = b_adv[idx]
                if cfg.norm_adv and M < B:
                    adv = norm(adv)
                clipped = ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
                pg_loss = -torch.min(adv * ratio, adv * clipped).mean()
                if cfg.clip_vloss:
                    v_clip = b_val[idx] + (newv - b_val[idx]).clamp(-cfg.clip_coef, cfg.clip_coef)
                    v_loss = 0.5 * torch.max((newv - b_ret[idx]) ** 2, (v_clip - b_ret[idx]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((newv - b_ret[idx]) ** 2).mean()
                entropy = ent.mean()
                loss = pg_loss + cfg.vf_coef * v_loss
                if cfg.ent_coef:  # (a zero coefficient would still cost the entropy's backward ops)
                    loss = loss - cfg.ent_coef * entropy
                self.opt.zero_grad()
                loss.backward()
                self.opt.clip_grad_norm(cfg.max_grad_norm)
                self.opt.step()
            if cfg.target_kl > 0 and epoch < cfg.epochs - 1:
                with torch.no_grad():
                    if ((ratio - 1) - logratio).mean().item() > cfg.target_kl:
                        break
        # one sync per iteration: the stats of the last minibatch, and whether every weight is still finite
        # (a NaN in any minibatch's loss or gradient reaches the weights through the optimizer step)
        with torch.no_grad():
            approx_kl = ((ratio - 1) - logratio).mean()
            clipfrac = ((ratio - 1).abs() > cfg.clip_coef).float().mean()
            finite = torch.stack([torch.isfinite(p).all() for p in m.parameters()]).all().float()
            vals = torch.stack([pg_loss, v_loss, entropy, approx_kl, clipfrac, finite]).cpu().tolist()
        *vals, finite = vals
        stats = dict(zip(["pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac"], vals, strict=True))
        if finite != 1.0 or not all(math.isfinite(v) for v in vals):
            raise DivergedError(
                f"training diverged at iteration {self.s.iteration + 1} (env step {self.s.global_step:,}): "
                f"the loss or the weights became NaN or infinite (pg_loss {stats['pg_loss']:.3g}, v_loss "
                f"{stats['v_loss']:.3g}); nothing from it was saved: lower --lr or --max-grad-norm"
            )
        return stats

    # ---- the loop --------------------------------------------------------------------------------------
    def run(
        self,
        callback: Callable[[int, Act], bool | None] | None = None,
        on_iteration: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainerState:
        """Train until the budget is spent, a greedy eval reaches stop_return, or callback returns True.
        should_stop is polled between iterations (graceful Ctrl-C); the state then stays resumable."""
        cfg, s = self.cfg, self.s
        while not s.finished and s.iteration < self.num_iterations:
            if should_stop is not None and should_stop():
                return s
            t0 = time.perf_counter()
            lr = cfg.lr * (1.0 - s.iteration / self.num_iterations) if cfg.anneal_lr else cfg.lr
            batch = self._rollout()
            stats = self._update(*batch, lr=lr)
            s.iteration += 1
            dt = time.perf_counter() - t0
            s.train_s += dt
            for ret, length in self.env.drain():
                self.recent.append((ret, length))
                s.episodes += 1
            rets = [r for r, _ in self.recent]
            row = Progress(
                s.iteration,
                s.global_step,
                s.train_s + s.eval_s,
                cfg.batch_size / dt,
                float(np.mean(rets)) if rets else float("nan"),
                float(np.mean([n for _, n in self.recent])) if rets else float("nan"),
                s.episodes,
                lr=lr,
                **stats,
            )
            crossed = cfg.eval_every > 0 and (
                s.global_step // cfg.eval_every > (s.global_step - cfg.batch_size) // cfg.eval_every
            )
            if crossed and callback is not None:
                t = time.perf_counter()
                self._sync_obs_norm()
                stop = callback(s.global_step, self.model.greedy_policy())
                s.eval_s += time.perf_counter() - t
                if stop:
                    s.finished = True
            elif crossed:
                rec = self.evaluate()
                row.eval_mean, row.eval_std = rec.mean, rec.std
                if cfg.stop_return and rec.mean >= cfg.stop_return:
                    s.finished = True
            self._snapshot()
            if on_iteration is not None:
                on_iteration(row)
        s.finished = True
        return s

    def finalize(self) -> EvalRecord:
        """The final greedy eval of the policy to export. Reuses the last eval if it was at this step, and
        falls back to the best-evaluated snapshot if training got worse after it."""
        last = self.s.evals[-1] if self.s.evals else None
        if last is None or last.step != self.s.global_step:
            last = self.evaluate()  # syncs the obs normaliser into the model
        if self.best is not None and self.best[0] > last.mean:
            self.model.load_state_dict(self.best[1])  # its obs_norm buffers were synced when it was evaluated
            last = next(e for e in reversed(self.s.evals) if e.mean == self.best[0])
        return last
