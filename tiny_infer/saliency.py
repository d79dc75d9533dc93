"""Saliency: the gradient of the policy's decision with respect to the raw observation, derived by tinygrad.

The decision for action k is, per observation: log pi(k | obs) for a discrete policy, q_k for a q-value head,
the mean of action dimension k for a Gaussian box policy, or dimension k of the final action for a squashed
one. tinygrad's own autodiff (`Tensor.gradient`) differentiates the same graph the forward pass is built from
(normaliser and clip included: the clip's gradient is 0 outside its range), with the one-hot `select` [rows,
n_act] as the cotangent, so one backward pass gives d decision_k / d obs. Its kernels are rendered by the same
renderers (codegen.render_graphs with a target) and linked into policy.wasm (`saliency(k)`) and
policy.webgpu.js (`saliency(obs, k)`) by wasm.py and webgpu.py.

The reference is PyTorch's autograd on the checkpoint (float64); compile checks the wasm against it
(check_saliency).
"""

from __future__ import annotations

import numpy as np

from tiny_infer.checkpoint import Checkpoint
from tiny_infer.model import TinyPolicy, action_bounds, obs_norm_std

SELECT = "select"  # the one-hot of k: the saliency graph's second input buffer
REL_TOL = 1e-4  # allowed error: REL_TOL * max(max_j |reference_j|, FLOOR), per observation
FLOOR = 1e-3


def decision(policy: TinyPolicy, obs):
    """[B, obs_dim] tinygrad Tensor -> [B, n_act]: the quantity whose gradient is the saliency."""
    a = policy.actor(policy.normalise(obs))
    if policy.ckpt.discrete and policy.ckpt.head == "policy":
        a = a.log_softmax(-1)
    return a


def saliency_target(policy: TinyPolicy, rows: int):
    """The target for codegen.render_graphs: obs -> (d decision . select / d obs, {select buffer: SELECT})."""
    from tinygrad import Tensor, dtypes

    def target(xin):
        sel = Tensor.empty(rows, policy.ckpt.n_act, dtype=dtypes.float32, device=policy.device)
        (grad,) = decision(policy, xin).gradient(xin, gradient=sel[: xin.shape[0]])
        return grad.contiguous(), {sel.uop.buffer: SELECT}

    return target


def render_saliency(policy: TinyPolicy, renderers: dict, prefix: str):
    """The saliency graph for one observation, rendered by each renderer (key -> codegen.Graph).

    For a fixed batch of 1: rendered for a symbolic batch (as compile's forward kernels are, run with n = 1),
    the backward kernels get upcasts and loops over n that made policy.wasm 12 KB larger instead of 3 KB.
    """
    from tiny_infer.codegen import render_graphs

    return render_graphs(policy, 1, False, renderers, prefix, target=saliency_target(policy, 1))


def torch_saliency(ckpt: Checkpoint, obs: np.ndarray, k: np.ndarray) -> np.ndarray:
    """PyTorch autograd's d decision_{k_i} / d obs_i for each row i of OBS [N, obs_dim], in float64.

    float64, not float32 as the forward pass's reference: where the policy saturates, the gradient is a small
    difference of large terms, and float32 autograd is itself off by up to half the bound there (a random
    8-unit net: 4.6e-5 of max(|grad|, 1e-3), the kernel 6.7e-5 from float64, the two 1.1e-4 apart)."""
    import torch

    t = {name: torch.from_numpy(v).double() for name, v in ckpt.tensors.items()}
    x0 = torch.tensor(np.ascontiguousarray(obs, dtype=np.float64), requires_grad=True)
    x = x0
    if ckpt.obs_norm is not None:
        std = torch.from_numpy(obs_norm_std(ckpt)).double()  # the float32 std the kernel divides by
        x = torch.clamp((x - t["obs_norm.mean"]) / std, -ckpt.obs_norm["clip"], ckpt.obs_norm["clip"])
    act = torch.tanh if ckpt.activation == "tanh" else torch.relu
    layers = ckpt.layers("actor")
    for i in range(len(layers)):
        x = torch.nn.functional.linear(x, t[f"actor.{i}.weight"], t[f"actor.{i}.bias"])
        if i < len(layers) - 1:
            x = act(x)
    if ckpt.discrete and ckpt.head == "policy":
        x = torch.log_softmax(x, dim=-1)
    if ckpt.squash:
        low, span = (torch.from_numpy(v).double() for v in action_bounds(ckpt))
        x = low + (0.5 * (torch.tanh(x) + 1.0)) * span
    x.gather(1, torch.as_tensor(np.asarray(k, dtype=np.int64))[:, None]).sum().backward()
    return x0.grad.numpy()


def saliency_actions(ckpt: Checkpoint, n: int) -> np.ndarray:
    """The k checked for each of N observations: every action (or dimension) in turn."""
    return np.arange(n) % ckpt.n_act


def check_saliency(got: np.ndarray, ref: np.ndarray, what: str) -> float:
    """Max relative error of GOT against REF [N, obs_dim]: |got - ref| / max(max_j |ref_j|, FLOOR) per row;
    raises ValueError naming the first observation over REL_TOL."""
    if got.shape != ref.shape:
        raise ValueError(f"{what}: shape {got.shape} != reference {ref.shape}")
    scale = np.maximum(np.abs(ref.astype(np.float64)).max(axis=1, keepdims=True), FLOOR)
    rel = np.abs(got.astype(np.float64) - ref.astype(np.float64)) / scale
    bad = ~(rel <= REL_TOL)  # also catches NaN
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{what}: the saliency differs from PyTorch autograd at sample {i} feature {j}: {got[i, j]!r} vs "
            f"{ref[i, j]!r} ({int(bad.any(axis=1).sum())} observations over {REL_TOL:g} of "
            f"max(|grad|, {FLOOR:g}))"
        )
    return float(rel.max()) if rel.size else 0.0
