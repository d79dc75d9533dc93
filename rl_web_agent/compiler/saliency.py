"""Saliency: the gradient of the policy's decision with respect to the raw observation, derived by tinygrad.

The decision for action k is, per observation: log pi(k | obs) for a discrete policy, q_k for a q-value head,
the mean of action dimension k for a Gaussian box policy, or dimension k of the final action for a squashed
one. tinygrad's own autodiff (`Tensor.gradient`) differentiates the forward pass's graph (TinyPolicy: its
weights, normaliser and clip, whose gradient is 0 outside its range) with a tanh whose derivative is accurate
(exp_tanh), k given as a one-hot `select` [rows, n_act]: one backward pass gives d decision_k / d obs. Its
kernels are rendered by the same renderers (codegen.render_graphs with a target) and linked into policy.wasm
(`saliency(k)`) and policy.webgpu.js (`saliency(obs, k)`) by wasm.py and webgpu.py.

The reference is PyTorch's autograd on the checkpoint (float64); compile checks the wasm against it
(check_saliency).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from rl_web_agent.compiler.codegen import render_graphs
from rl_web_agent.compiler.model import TinyPolicy, action_bounds, obs_norm_std, on_policy_device
from rl_web_agent.policy.checkpoint import Checkpoint

SELECT = "select"  # the one-hot of k: the saliency graph's second input buffer
REL_TOL = 1e-4  # allowed error: REL_TOL * max(max_j |reference_j|, FLOOR), per observation
FLOOR = 1e-3
F32_FACTOR = 8  # see check_saliency
F32_BATCH_FACTOR = 2  # see check_saliency


def exp_tanh(x):
    """tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): the activation the saliency differentiates.

    The kernel's rational tanh (model.rational_tanh) is within 3.4e-7 of tanh, but not its derivative where a
    unit saturates (tanh' 0.09% off at x = 6, 4% at 8, 0 past its clamp at 8.5), nor is that of Tensor.tanh
    (2 sigmoid(2x) - 1: 1.3% off at 6). Autograd of this form gives 4 e / (1 + e)^2, within 4e-7 of tanh'
    everywhere; e is in (0, 1], so it needs no clamp.
    """
    neg = x < 0
    e = (neg.where(x, -x) * (2 / math.log(2))).exp2()
    y = (1 - e) / (1 + e)
    return neg.where(-y, y)


def decision(policy: TinyPolicy, obs, select):
    """[B, obs_dim] observations, [B, n_act] one-hot k -> [B, 1]: the decision for k, whose gradient with
    respect to obs is the saliency.

    log pi(k) is written as -log(e^-D + sum_{j != k} e^(d_j - D)) - D, d_j = a_j - a_k, D = max(0, max d)
    (detached): the same value as log_softmax, but its gradient with respect to a_k comes out as
    sum_{j != k} pi_j instead of 1 - pi_k. Where the policy is sure of k, 1 - pi_k in float32 is all rounding
    error (PyTorch's float32 autograd was 2.4e-4 of the bound off on a 1-unit net).
    """
    a = policy.actor(policy.normalise(obs), tanh=exp_tanh)
    if not (policy.ckpt.discrete and policy.ckpt.head == "policy"):
        return (a * select).sum(-1, keepdim=True)
    d = a - (a * select).sum(-1, keepdim=True)
    big = d.max(-1, keepdim=True).maximum(0).detach()
    others = ((d - big).exp() * (1 - select)).sum(-1, keepdim=True)
    return -(big + ((-big).exp() + others).log())


def saliency_target(policy: TinyPolicy, rows: int):
    """The target for codegen.render_graphs: obs -> (d decision(select) / d obs, {select buffer: SELECT})."""
    return functools.partial(_saliency_graph, policy, rows)


@on_policy_device
def _saliency_graph(policy: TinyPolicy, rows: int, xin):
    from tinygrad import Tensor, dtypes

    sel = Tensor.empty(rows, policy.ckpt.n_act, dtype=dtypes.float32, device=policy.device)
    (grad,) = decision(policy, xin, sel[: xin.shape[0]]).sum().gradient(xin)
    return grad.contiguous(), {sel.uop.buffer: SELECT}


def render_saliency(policy: TinyPolicy, renderers: dict, prefix: str):
    """The saliency graph for one observation, rendered by each renderer (key -> codegen.Graph).

    For a fixed batch of 1: rendered for a symbolic batch (as compile's forward kernels are, run with n = 1),
    the backward kernels get upcasts and loops over n that made policy.wasm 12 KB larger instead of 3 KB.
    """
    return render_graphs(policy, 1, False, renderers, prefix, target=saliency_target(policy, 1))


def torch_saliency(ckpt: Checkpoint, obs: np.ndarray, k: np.ndarray) -> np.ndarray:
    """PyTorch autograd's d decision_{k_i} / d obs_i for each row i of OBS [N, obs_dim], in float64.

    float64, not float32 as the forward pass's reference: where the policy saturates, the gradient is a small
    difference of large terms, and float32 autograd is itself off by up to half the bound there (a random
    8-unit net: 4.6e-5 of max(|grad|, 1e-3), the kernel 6.7e-5 from float64, the two 1.1e-4 apart)."""
    return _autograd(ckpt, obs, k, np.float64)


def torch_saliency_float32(ckpt: Checkpoint, obs: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The same gradient by float32 autograd: how far any float32 evaluation may fall from float64."""
    return _autograd(ckpt, obs, k, np.float32)


def _autograd(ckpt: Checkpoint, obs: np.ndarray, k: np.ndarray, dtype) -> np.ndarray:
    import torch

    tt = torch.float64 if dtype == np.float64 else torch.float32
    t = {name: torch.from_numpy(v).to(tt) for name, v in ckpt.tensors.items()}
    x0 = torch.tensor(np.ascontiguousarray(obs, dtype=dtype), requires_grad=True)
    x = x0
    if ckpt.obs_norm is not None:
        std = torch.from_numpy(obs_norm_std(ckpt)).to(tt)  # the float32 std the kernel divides by
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
        low, span = (torch.from_numpy(v).to(tt) for v in action_bounds(ckpt))
        x = low + (0.5 * (torch.tanh(x) + 1.0)) * span
    x.gather(1, torch.as_tensor(np.asarray(k, dtype=np.int64))[:, None]).sum().backward()
    return x0.grad.numpy()


def saliency_actions(ckpt: Checkpoint, n: int) -> np.ndarray:
    """The k checked for each of N observations: every action (or dimension) in turn."""
    return np.arange(n) % ckpt.n_act


def check_saliency(got: np.ndarray, ref: np.ndarray, what: str, ref32: np.ndarray | None = None) -> float:
    """Max relative error of GOT against REF [N, obs_dim]: |got - ref| / max(max_j |ref_j|, FLOOR) per row;
    raises ValueError naming the first observation over REL_TOL.

    REF32 (PyTorch's float32 autograd): where float32 itself cannot reach REL_TOL (the gradient a small
    difference of large terms, e.g. far outside the training distribution where units saturate), a row may be
    off by up to F32_FACTOR times float32 autograd's own error on it: both are float32 sums of the same terms
    in different orders, so their errors are of one size (measured: PyTorch's float32 autograd alone exceeds
    REL_TOL on 4 of 10,000 of the parity observations of a MountainCar-v0 snapshot, up to 2.2e-4). Of one
    size, but not on the same rows: a row may also be off by F32_BATCH_FACTOR times the worst relative error
    float32 autograd makes on any row of the batch (BipedalWalker-v3's untrained snapshot, 64x64 tanh:
    float32 autograd up to 1.2e-4, the kernel 1.4e-4 on a row where float32 autograd was off by 1.1e-5)."""
    if got.shape != ref.shape:
        raise ValueError(f"{what}: shape {got.shape} != reference {ref.shape}")
    ref = ref.astype(np.float64)
    scale = np.maximum(np.abs(ref).max(axis=1, keepdims=True), FLOOR)
    err = np.abs(got.astype(np.float64) - ref)
    allowed = REL_TOL * scale
    if ref32 is not None:
        f32_err = np.abs(ref32.astype(np.float64) - ref).max(axis=1, keepdims=True)
        f32_rel = f32_err / scale
        # a non-finite float32 reference row widens nothing (on its own row, F32_FACTOR * NaN fails it)
        f32_worst = float(np.max(f32_rel, initial=0.0, where=np.isfinite(f32_rel)))
        allowed = np.maximum(allowed, np.maximum(F32_FACTOR * f32_err, F32_BATCH_FACTOR * f32_worst * scale))
    bad = ~(err <= allowed)  # also catches NaN
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{what}: the saliency differs from PyTorch autograd at sample {i} feature {j}: {got[i, j]!r} vs "
            f"{ref[i, j]!r} ({int(bad.any(axis=1).sum())} observations over {REL_TOL:g} of "
            f"max(|grad|, {FLOOR:g}) and over float32 autograd's own error: {F32_FACTOR}x on the row, "
            f"{F32_BATCH_FACTOR}x the worst on any row)"
        )
    rel = err / scale
    return float(rel.max()) if rel.size else 0.0
