"""The compiler's model: a policy in the checkpoint format as a tinygrad graph (TinyPolicy), and PyTorch's
forward pass of it (torch_forward), the reference every kernel is checked against (parity.py). Not the
training model (rl_web_agent/train/model.py, a torch.nn ActorCritic).

The tinygrad tensors live on tinygrad's PYTHON device: it needs no compiler, and we only ever *run* it for
the parity check before codegen (the kernels we ship are rendered for wasm and WebGPU, never run here).
"""

from __future__ import annotations

import functools

import numpy as np

from rl_web_agent.policy.checkpoint import Checkpoint, CheckpointError

DEVICE = "PYTHON"


def on_policy_device(fn):
    """FN (a TinyPolicy method, or a function whose first argument is a TinyPolicy) run with tinygrad's
    default device set to the policy's, and restored when it returns: tinygrad 0.14 puts a constant operand
    (x * 2, x < c) on the default device, not on x's, so a graph built without it would mix devices. Scoped,
    never left set: the process's default device is not ours to change."""

    @functools.wraps(fn)
    def on_device(policy, *args, **kwargs):
        from tinygrad.helpers import Context

        with Context(DEV=policy.device):
            return fn(policy, *args, **kwargs)

    return on_device


def obs_norm_std(ckpt: Checkpoint) -> np.ndarray:
    """sqrt(var + eps) in float32, rounded exactly as PyTorch rounds it (both ops are correctly rounded)."""
    assert ckpt.obs_norm is not None
    return np.sqrt(ckpt.tensors["obs_norm.var"] + np.float32(ckpt.obs_norm["eps"])).astype(np.float32)


# tanh(x) = x P(x^2) / Q(x^2), P and Q of degree 4, on x clamped to +-8.5 (where tanh is 1 - 8e-8, within an
# ulp of 1 in float32). Fitted for the least maximum absolute error on [0, 8.5] by
# rl_web_agent/compiler/tanh_fit.py (1.1e-8 in exact arithmetic). Evaluated in float32 it is off by at most
# 3.4e-7, the same as Eigen's and XNNPACK's degree-13/6 rational, with all coefficients positive (no
# cancellation in Horner's rule) and chains of 4 multiply-adds instead of 6: a batched pass is bound by that
# chain's latency. Tensor.tanh goes through exp2, which tinygrad's C renderer decomposes into a polynomial
# guarded against NaN/Inf: ~4x the instructions, and the activations were most of a batched forward pass's
# time.
TANH_CLAMP = 8.5
TANH_NUM = (
    0.999999945705444,
    0.13406209512755327,
    0.0035258226244473502,
    2.1121596118239654e-05,
    1.4099223788477389e-08,
)  # P: x^0 .. x^8
TANH_DEN = (1.0, 0.46739520946128627, 0.02599115027033589, 0.0003335694519945729, 8.073622616948384e-07)


def rational_tanh(x):
    """tanh of a tinygrad Tensor in mul/add/div/min/max only (see TANH_NUM)."""
    # x^2 is clamped on its own: squaring the clamped x lets tinygrad push the square into the clamp's select,
    # a compare-and-blend that made the whole tanh ~20% slower than a plain max and min (wasm, Node 20)
    x2 = x * x
    x2 = (TANH_CLAMP**2 < x2).where(TANH_CLAMP**2, x2)
    x = x.maximum(-TANH_CLAMP)
    x = (TANH_CLAMP < x).where(TANH_CLAMP, x)
    p = x2 * TANH_NUM[-1] + TANH_NUM[-2]
    for c in reversed(TANH_NUM[:-2]):
        p = p * x2 + c
    q = x2 * TANH_DEN[-1] + TANH_DEN[-2]
    for c in reversed(TANH_DEN[:-2]):
        q = q * x2 + c
    return x * p / q


def columns(*parts):
    """[B, k_i] tinygrad Tensors side by side -> [B, sum k_i], always computed into a row-major buffer.

    Not Tensor.cat: when every part has the same width (one action output beside the one value), tinygrad
    0.14's cat becomes stack(dim=0).permute: its buffer is then [parts, B, k] and the result a transposed view
    of it, while the kernels' callers (wasm.emit_c, the WebGPU loader) read the output buffer as [B, n_out].
    Padding each part to the full width and adding them is cat's own general path, whatever the widths.
    """
    width = sum(p.shape[-1] for p in parts)
    out, at = None, 0
    for p in parts:
        k = p.shape[-1]
        p = p.pad(((0, 0), (at, width - at - k)))
        out, at = (p if out is None else out + p), at + k
    return out


class TinyPolicy:
    """obs [B, obs_dim] -> [B, n_act + 1]: softmax probs (discrete) or action mean (box), then the value.

    Weights are realized tinygrad buffers, so the scheduler passes them to the kernels as inputs (and the
    codegen bakes them into the kernel file) instead of folding them into the graph.
    """

    def __init__(self, ckpt: Checkpoint, device: str = DEVICE):
        from tinygrad import Tensor

        self.ckpt, self.device = ckpt, device
        self.weights: dict[str, Tensor] = {}

        def w(name: str, a: np.ndarray) -> Tensor:
            t = Tensor(np.ascontiguousarray(a, dtype=np.float32), device=device).realize()
            self.weights[name] = t
            return t

        # weights stored [in, out] (transposed from torch.nn.Linear's [out, in]), so a kernel's output axis
        # is contiguous in memory and upcasting it gives vector loads and independent accumulators (SIMD)
        self.layers = {
            head: [
                (w(f"{head}.{i}.weight.T", wt.T), w(f"{head}.{i}.bias", b))
                for i, (wt, b) in enumerate(ckpt.layers(head))
            ]
            for head in ckpt.heads
        }
        self.norm = None
        if ckpt.obs_norm is not None:
            self.norm = (
                w("obs_norm.mean", ckpt.tensors["obs_norm.mean"]),
                w("obs_norm.std", obs_norm_std(ckpt)),
                float(ckpt.obs_norm["clip"]),
            )
        self.squash = None
        if ckpt.squash:  # low + 0.5 (tanh(a) + 1) (high - low), SB3's unscale_action in float32
            low, span = action_bounds(ckpt)
            self.squash = (w("action.low", low), w("action.span", span))

    def _mlp(self, head: str, x, tanh=rational_tanh):
        layers = self.layers[head]
        for i, (wt, b) in enumerate(layers):
            x = x.linear(wt, b)
            if i < len(layers) - 1:
                # one kernel per layer: keeps every kernel within WebGPU's default 8 storage buffers per stage
                # the activation in a kernel of its own: tinygrad inlines tanh's exp2 polynomial into every
                # upcast lane of a fused matmul kernel, which made policy.wasm several KB larger
                x = x.contiguous()
                x = (tanh(x) if self.ckpt.activation == "tanh" else x.relu()).contiguous()
        return x

    def normalise(self, obs):
        """The observation as the networks read it: normalised and clipped when there is obs_norm."""
        if self.norm is None:
            return obs
        mean, std, clip = self.norm
        return ((obs - mean) / std).clip(-clip, clip)

    def actor(self, x, tanh=None):
        """The actor's output for the normalised X: logits, q-values, the action mean or the final action.
        tanh: one tanh for the activations and the squash (saliency.py differentiates another one)."""
        a = self._mlp("actor", x, tanh or rational_tanh)
        if self.squash is not None:
            # Tensor.tanh, not rational_tanh: a few outputs per observation, and the error of the rational
            # (3.4e-7) would be multiplied by the span of the bounds
            low, span = self.squash
            a = low + (((tanh(a) if tanh else a.tanh()) + 1.0) * 0.5) * span
            if self.ckpt.value:  # fused into the join with the value's last layer, its kernel would bind 9
                a = a.contiguous()  # storage buffers (WebGPU allows 8): the squash gets a kernel of its own
        return a

    def _head(self, x):
        a = self.actor(x)
        if self.ckpt.discrete and self.ckpt.head == "policy":
            # softmax as PyTorch computes it, exp(a - max) / sum; with exp in its own kernel, tinygrad's
            # inlined exp2 polynomial appears once in the code instead of in both the sum and the division
            # (the subtraction fused into it: one kernel less, ~300 bytes of policy.wasm)
            e = (a - a.max(-1, keepdim=True)).exp().contiguous()
            a = e / e.sum(-1, keepdim=True)
        return a

    @on_policy_device
    def head(self, obs):
        """obs [B, obs_dim] -> [B, n_act]: the action head alone (forward(), what a decision needs)."""
        return self._head(self.normalise(obs))

    @on_policy_device
    def value(self, obs):
        """obs [B, obs_dim] -> [B, 1]: the critic's value alone (value(); a policy with a critic)."""
        return self._mlp("critic", self.normalise(obs))

    @on_policy_device
    def __call__(self, obs):
        x = self.normalise(obs)
        a = self._head(x)
        return columns(a, self._mlp("critic", x)) if self.ckpt.value else a

    @on_policy_device
    def run(self, obs: np.ndarray) -> np.ndarray:
        """Evaluate the graph on tinygrad's PYTHON device (slow: for a few hundred observations at most)."""
        from tinygrad import Tensor

        return self(Tensor(np.ascontiguousarray(obs, dtype=np.float32), device=self.device)).numpy()


def _check_finite(ckpt: Checkpoint, h, what: str, tensors: str) -> None:
    """Raise CheckpointError when float32 values H (a step of the reference pass) overflowed or are NaN."""
    import torch

    bad = ~torch.isfinite(h.float()).all(dim=-1)  # the kernel computes in float32
    if bad.any():
        raise CheckpointError(
            f"{ckpt.model_dir}/policy.safetensors: {what} is Inf/NaN in float32 on {int(bad.sum())} of "
            f"{len(bad)} test observations (|obs| <= 100): {tensors} too large for float32 arithmetic; "
            "the training diverged, retrain or use an earlier checkpoint"
        )


def torch_forward(ckpt: Checkpoint, obs: np.ndarray, check_finite: bool = False) -> np.ndarray:
    """PyTorch's forward pass of the checkpoint: [N, obs_dim] -> [N, n_act + 1] (the reference), float64.

    The float32 weights and observations are widened exactly and the arithmetic is float64: the function the
    checkpoint defines, to far below the 1e-5 parity bound. Not PyTorch's float32 arithmetic: MKL picks its
    float32 matmul code path per process, and on this project's machines (AVX-512 and AMX) about one process
    in seven took one whose outputs were off by up to 7e-5, failing correct kernels now and then.
    check_finite: raise CheckpointError naming the tensors of the first step (the normaliser, or a layer)
    whose output overflows float32 on some observation: no kernel can match such a reference.
    """
    import torch

    t = {k: torch.from_numpy(v).double() for k, v in ckpt.tensors.items()}
    act = torch.tanh if ckpt.activation == "tanh" else torch.relu
    with torch.no_grad():
        x = torch.as_tensor(np.ascontiguousarray(obs, dtype=np.float32)).double()
        if ckpt.obs_norm is not None:
            n = ckpt.obs_norm
            x = (x - t["obs_norm.mean"]) / torch.sqrt(t["obs_norm.var"] + n["eps"])
            if check_finite:
                _check_finite(ckpt, x, "the normalised observation", "obs_norm.mean and obs_norm.var are")
            x = torch.clamp(x, -n["clip"], n["clip"])
        outs = []
        for head in ckpt.heads:
            h = x
            layers = ckpt.layers(head)
            for i in range(len(layers)):
                h = torch.nn.functional.linear(h, t[f"{head}.{i}.weight"], t[f"{head}.{i}.bias"])
                if check_finite:
                    tensors = f"{head}.{i}.weight and {head}.{i}.bias (or the values reaching them) are"
                    _check_finite(ckpt, h, f"the output of layer {head}.{i}", tensors)
                if i < len(layers) - 1:
                    h = act(h)
            outs.append(h)
        if ckpt.discrete and ckpt.head == "policy":
            outs[0] = torch.softmax(outs[0], dim=-1)
        if ckpt.squash:
            low, span = (torch.from_numpy(v).double() for v in action_bounds(ckpt))
            outs[0] = low + (0.5 * (torch.tanh(outs[0]) + 1.0)) * span
        return torch.cat(outs, dim=-1).numpy()


def action_bounds(ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """(low, high - low) of a squashed box action, float32 as SB3 computes them from its float32 space."""
    low = np.asarray(ckpt.action["low"], np.float32).reshape(-1)
    return low, (np.asarray(ckpt.action["high"], np.float32).reshape(-1) - low).astype(np.float32)


def torch_cnn_forward(
    ckpt: Checkpoint, frames: np.ndarray, tensors: dict | None = None, chunk: int = 256, terms: bool = False
):
    """PyTorch's forward pass of the convolutional checkpoint (TENSORS: other weights of the same shapes, e.g.
    the dequantized ones) on uint8 FRAMES [N, C, H, W] -> float64 [N, n_out]: float64 arithmetic on the
    float32 weights and frames / 255, for the reason model.torch_forward gives. With TERMS, (outputs, terms):
    for each output the sum of the absolute terms of its last dot product, |W| |h| + |b|, what
    parity.parity_bound scales float32's error by."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    src = tensors if tensors is not None else ckpt.tensors
    t = {k: torch.from_numpy(np.ascontiguousarray(v)).double() for k, v in src.items()}
    act = torch.tanh if ckpt.activation == "tanh" else torch.relu
    out, all_terms = [], []
    with torch.no_grad():
        for s in range(0, len(frames), chunk):
            x = torch.from_numpy(np.ascontiguousarray(frames[s : s + chunk])).double() / 255.0
            for i, c in enumerate(ckpt.conv):
                x = torch.relu(F.conv2d(x, t[f"conv.{i}.weight"], t[f"conv.{i}.bias"], stride=c["stride"]))
            x = x.flatten(1)
            for i in range(len(ckpt.trunk)):
                x = torch.relu(F.linear(x, t[f"trunk.{i}.weight"], t[f"trunk.{i}.bias"]))
            outs, heads_terms = [], []
            for head in ckpt.heads:
                h, n = x, len(ckpt.layers(head))
                for i in range(n):
                    w, b = t[f"{head}.{i}.weight"], t[f"{head}.{i}.bias"]
                    if i == n - 1 and terms:
                        heads_terms.append(F.linear(h.abs(), w.abs(), b.abs()))
                    h = F.linear(h, w, b)
                    if i < n - 1:
                        h = act(h)
                outs.append(h)
            out.append(torch.cat(outs, dim=-1).numpy())
            if terms:
                all_terms.append(torch.cat(heads_terms, dim=-1).numpy())
    empty = np.zeros((0, ckpt.n_out))
    res = np.concatenate(out) if out else empty
    return (res, np.concatenate(all_terms) if all_terms else empty) if terms else res
