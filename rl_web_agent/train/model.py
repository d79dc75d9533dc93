"""The training models and their tensors in the checkpoint format: an actor-critic MLP (separate actor and
critic, no shared trunk) and, for Atari frames, CleanRL ppo_atari's NatureCNN actor-critic (one
convolutional trunk shared by both heads), in PyTorch. The compiler has its own model of a policy, a tinygrad
graph (rl_web_agent/compiler/model.py, cnn.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}
NP_ACTIVATIONS = {"tanh": lambda x: np.tanh(x, out=x), "relu": lambda x: np.maximum(x, 0, out=x)}


def _mlp(sizes: list[int], out_gain: float) -> nn.ModuleList:
    layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    for i, layer in enumerate(layers):  # orthogonal init as in CleanRL / SB3
        nn.init.orthogonal_(layer.weight, out_gain if i == len(layers) - 1 else math.sqrt(2))
        nn.init.zeros_(layer.bias)
    return layers


class ActorCritic(nn.Module):
    """Discrete actions: the actor outputs logits. Box actions: the actor outputs the Gaussian mean and
    a state-independent `log_std` parameter gives its spread. Observation normalisation, when enabled,
    lives in buffers so that `act` reproduces the exported checkpoint-format forward pass exactly.

    sde (Box actions): generalised state-dependent exploration as SB3's use_sde (full_std, no expln, features
    not learnt through the noise): the exploration noise is phi(s) @ W, phi the actor's last hidden layer
    and W ~ N(0, exp(sde_log_std)^2) [hidden, act] redrawn by the trainer every few steps, so the action's
    std is sqrt(phi^2 @ exp(2 sde_log_std)). The greedy policy is still the MLP mean; `log_std` becomes a
    buffer the trainer sets to the std averaged over a rollout's states, which is what the checkpoint format
    exports (a state-independent log std of the same size)."""

    def __init__(
        self,
        obs_dim: int,
        action: dict,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        init_log_std: float = 0.0,
        obs_norm: bool = False,
        obs_clip: float = 10.0,
        sde: bool = False,
    ):
        super().__init__()
        self.action, self.discrete = action, action["type"] == "discrete"
        self.act_fn, self.activation = ACTIVATIONS[activation], activation
        n_out = action["n"] if self.discrete else int(np.prod(action["shape"]))
        self.actor = _mlp([obs_dim, *hidden, n_out], 0.01)
        self.critic = _mlp([obs_dim, *hidden, 1], 1.0)
        self.sde = sde and not self.discrete
        if self.discrete:
            self.log_std = None
        elif self.sde:
            self.sde_log_std = nn.Parameter(torch.full((hidden[-1], n_out), float(init_log_std)))
            self.register_buffer("log_std", torch.zeros(n_out))
        else:
            self.log_std = nn.Parameter(torch.full((n_out,), float(init_log_std)))
        self.obs_norm, self.obs_clip, self.eps = obs_norm, obs_clip, 1e-8
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_var", torch.ones(obs_dim))

    @classmethod
    def from_checkpoint(cls, meta: dict, tensors: dict[str, np.ndarray]) -> ActorCritic:
        """The model of a policy in the checkpoint format as train/ writes it (policy.json fields, tensors by
        name): the inverse of `checkpoint_tensors`, for tools that run a checkpoint in PyTorch
        (bench/make_onnx.py)."""
        odd = [k for k in ("head", "value", "critic_hidden") if meta.get(k) not in (None, "policy", True)]
        odd += ["action.squash"] if meta["action"].get("squash") else []
        if odd:
            raise ValueError(
                f"policy.json has {', '.join(odd)}: ActorCritic runs only the policies train/ "
                f"writes; run this one with rl_web_agent.compiler.model.torch_forward"
            )
        norm = meta.get("obs_norm")
        model = cls(
            meta["obs_dim"],
            meta["action"],
            tuple(meta["hidden"]),
            meta["activation"],
            obs_norm=norm is not None,
            obs_clip=norm["clip"] if norm else 10.0,
        )
        if norm:
            model.eps = norm["eps"]
        want, got = set(model.checkpoint_tensors()), set(tensors)
        if want != got:
            raise ValueError(
                f"the checkpoint's tensors do not fit its policy.json: missing "
                f"{sorted(want - got)}, unexpected {sorted(got - want)}"
            )
        own = {"obs_norm.mean": "obs_mean", "obs_norm.var": "obs_var", "actor.log_std": "log_std"}
        state = model.state_dict()
        state.update(
            {own.get(k, k): torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()}
        )
        model.load_state_dict(state)
        return model

    def _run(self, layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        last = len(layers) - 1  # (slicing a ModuleList builds a new Module: measurable at these sizes)
        for i, layer in enumerate(layers):
            x = layer(x) if i == last else self.act_fn(layer(x))
        return x

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.obs_norm:
            return obs
        x = (obs - self.obs_mean) / torch.sqrt(self.obs_var + self.eps)
        return torch.clamp(x, -self.obs_clip, self.obs_clip)

    def actor_out(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (discrete) or action mean (box) of normalised observations."""
        return self._run(self.actor, x)

    def sde_std(self, features: torch.Tensor) -> torch.Tensor:
        """gSDE: the action std [n, act] of the actor's last hidden layer [n, hidden] (SB3's variance + 1e-6;
        the features are detached, as SB3's learn_features=False: only sde_log_std learns the spread)."""
        var = (features.detach() ** 2) @ torch.exp(2 * self.sde_log_std)
        return torch.sqrt(var + 1e-6)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self.critic, x).squeeze(-1)

    def logprob_entropy_value(
        self, x: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """logprob_entropy then value: what one PPO minibatch needs (NatureCNN computes its trunk once)."""
        lp, ent = self.logprob_entropy(x, actions)
        return lp, ent, self.value(x)

    def logprob_entropy(self, x: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.discrete:
            out = self.actor_out(x)
            logp = torch.log_softmax(out, -1)
            lp = logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
            return lp, -(logp.exp() * logp).sum(-1)
        if self.sde:
            *hidden, last = self.actor
            for layer in hidden:
                x = self.act_fn(layer(x))
            out, std = last(x), self.sde_std(x)
            log_std = std.log()
            lp = (-0.5 * ((actions - out) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
            return lp, (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1)
        out = self.actor_out(x)
        log_std = self.log_std.expand_as(out)
        lp = (-0.5 * ((actions - out) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        return lp, (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1)

    @torch.no_grad()
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The checkpoint format's inference on raw observations: probabilities or action mean, then the
        value."""
        x = self.normalize(obs)
        out = self.actor_out(x)
        if self.discrete:
            out = torch.softmax(out, -1)
        return torch.cat([out, self.value(x).unsqueeze(-1)], -1)

    def actor_numpy(self, features: bool = False) -> Callable[[np.ndarray], np.ndarray]:
        """actor_out as a float32 numpy function of normalised observations, on a snapshot of the weights.
        For a handful of rows numpy's matmuls cost ~1 us where torch's dispatch costs ~10 us per op, so
        rollouts and evaluations use this. features=True: it returns (last hidden layer, output), for gSDE."""
        params = [
            (layer.weight.detach().cpu().numpy().T.copy(), layer.bias.detach().cpu().numpy().copy())
            for layer in self.actor
        ]
        act_fn = NP_ACTIVATIONS[self.activation]

        def actor_out(x: np.ndarray) -> np.ndarray:
            h = x
            for i, (w, b) in enumerate(params):
                h, x = x, x @ w
                x += b
                if i < len(params) - 1:
                    x = act_fn(x)
            return (h, x) if features else x

        return actor_out

    def greedy_policy(self) -> Callable[[np.ndarray], np.ndarray]:
        """Greedy actions for raw observations [n, obs_dim], as exported (the checkpoint format): the
        observation normaliser in float32, then the argmax of the logits or the Gaussian mean; a numpy
        function on a snapshot of the weights and normaliser buffers (see actor_numpy)."""
        actor = self.actor_numpy()
        mean = self.obs_mean.cpu().numpy().copy()
        std = torch.sqrt(self.obs_var + self.eps).cpu().numpy()
        norm, clip, discrete = self.obs_norm, self.obs_clip, self.discrete

        def act(obs: np.ndarray) -> np.ndarray:
            x = np.asarray(obs, dtype=np.float32)
            if norm:
                x = np.clip((x - mean) / std, -clip, clip)
            out = actor(x)
            return out.argmax(-1) if discrete else out

        return act

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """The float32 tensors of the checkpoint format (nn.Linear convention, weight [out, in])."""
        t: dict[str, torch.Tensor] = {}
        for head, layers in (("actor", self.actor), ("critic", self.critic)):
            for i, layer in enumerate(layers):
                t[f"{head}.{i}.weight"] = layer.weight
                t[f"{head}.{i}.bias"] = layer.bias
        if self.log_std is not None:
            t["actor.log_std"] = self.log_std
        if self.obs_norm:
            t["obs_norm.mean"], t["obs_norm.var"] = self.obs_mean, self.obs_var
        return {k: v.detach().float().cpu().contiguous().clone() for k, v in t.items()}


# NatureCNN (Mnih et al. 2015) as CleanRL's ppo_atari.py Agent builds it: (out channels, kernel, stride)
NATURE_CONV = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
NATURE_TRUNK = 512


def _init(layer: nn.Module, std: float) -> nn.Module:
    """CleanRL's layer_init: orthogonal weights with gain std, zero biases."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, 0.0)
    return layer


class NatureCNNActorCritic(nn.Module):
    """CleanRL ppo_atari's Agent: uint8 frames [n, C, H, W] / 255 -> conv 32 8x8/4, 64 4x4/2, 64 3x3/1 (ReLU)
    -> flatten (channels, height, width) -> linear 512 (ReLU), shared by the actor (logits, orthogonal gain
    0.01) and the critic (gain 1); every other layer orthogonal gain sqrt(2), biases 0.

    Its modules are named as the checkpoint format's convolutional policy names its tensors (`conv.<i>`,
    `trunk.0`, `actor.0`, `critic.0`), and `forward` is that format's function of this policy: the logits,
    then the value (a convolutional policy's kernel outputs logits, not probabilities)."""

    discrete, sde, log_std, obs_norm, eps = True, False, None, False, 1e-8

    def __init__(self, image: tuple[int, int, int], action: dict):
        super().__init__()
        if action["type"] != "discrete":
            raise ValueError(f"NatureCNN here takes discrete actions, not {action}")
        self.image, self.action = tuple(image), action
        channels, h, w = self.image
        self.conv = nn.ModuleList()
        for out, k, stride in NATURE_CONV:
            self.conv.append(_init(nn.Conv2d(channels, out, k, stride), math.sqrt(2)))
            channels, h, w = out, (h - k) // stride + 1, (w - k) // stride + 1
        self.trunk = nn.ModuleList([_init(nn.Linear(channels * h * w, NATURE_TRUNK), math.sqrt(2))])
        self.actor = nn.ModuleList([_init(nn.Linear(NATURE_TRUNK, action["n"]), 0.01)])
        self.critic = nn.ModuleList([_init(nn.Linear(NATURE_TRUNK, 1), 1.0)])
        # channels-last convs (oneDNN's NHWC kernels): a PPO minibatch's forward and backward pass (256 frame
        # stacks) took 0.65-0.72x the time of NCHW on the 2-core CPU (2026-12-06); the values are the same
        # function of the same weights, summed in another order
        self.to(memory_format=torch.channels_last)

    def policy_fields(self) -> dict:
        """policy.json's convolutional fields for this network (the checkpoint format)."""
        return {
            "image": list(self.image),
            "conv": [{"out": out, "kernel": k, "stride": s} for out, k, s in NATURE_CONV],
            "trunk": [NATURE_TRUNK],
        }

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """The trunk's output [n, 512] of uint8 frames [n, C, H, W]."""
        x = (frames.float() / 255.0).contiguous(memory_format=torch.channels_last)
        for conv in self.conv:
            x = torch.relu(conv(x))
        x = x.flatten(1)
        for layer in self.trunk:
            x = torch.relu(layer(x))
        return x

    def logits_value(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(frames)
        return self.actor[0](h), self.critic[0](h).squeeze(-1)

    def value(self, frames: torch.Tensor) -> torch.Tensor:
        return self.critic[0](self.features(frames)).squeeze(-1)

    @staticmethod
    def _lp_ent(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logp = torch.log_softmax(logits, -1)
        lp = logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        return lp, -(logp.exp() * logp).sum(-1)

    def logprob_entropy(
        self, frames: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self._lp_ent(self.actor[0](self.features(frames)), actions)

    def logprob_entropy_value(
        self, frames: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, v = self.logits_value(frames)
        return (*self._lp_ent(logits, actions), v)

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """The checkpoint format's outputs of a convolutional policy: the logits, then the value."""
        logits, v = self.logits_value(frames)
        return torch.cat([logits, v.unsqueeze(-1)], -1)

    def greedy_policy(self, batch: int = 64) -> Callable[[np.ndarray], np.ndarray]:
        """Greedy actions (argmax of the logits) for uint8 frames [n, C, H, W], on a copy of the weights
        (later training does not change it), in PyTorch on the model's device, `batch` frame stacks at a
        time."""
        import copy

        model = copy.deepcopy(self).eval()
        device = next(model.parameters()).device

        @torch.no_grad()
        def act(frames: np.ndarray) -> np.ndarray:
            x = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.uint8))
            out = [
                model.actor[0](model.features(x[s : s + batch].to(device))) for s in range(0, len(x), batch)
            ]
            return torch.cat(out).argmax(-1).cpu().numpy() if out else np.zeros(0, np.int64)

        return act

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """The float32 tensors of the checkpoint format (conv [out, in, k, k], linear [out, in])."""
        return {k: v.detach().float().cpu().contiguous().clone() for k, v in self.state_dict().items()}
