"""Parity: how a forward pass is checked against another, wherever the project checks one.

Compile checks tinygrad's pass, policy.wasm and the python backend's weights against PyTorch's forward pass
(model.torch_forward), and an imported policy's kernel against the library it came from; the importers check
the imported policy against that library before writing it (rl_web_agent/importers/imported.py). All of them
use the same observations (`parity_observations`), the same bound per output (`parity_bound`: 1e-5 *
max(1, |reference|), and for a convolutional policy at least 1e-5 times the sum of the absolute terms of the
output's last dot product) and the same greedy-action comparison (`compare_greedy`).

An imported policy's folder holds SOURCE_PARITY_FILE: the library's outputs and greedy actions on
PARITY_SAMPLES observations, recorded at import; `check_source_parity` checks a compiled kernel against it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rl_web_agent.policy.checkpoint import Checkpoint

PARITY_SAMPLES = 10_000  # observations an import is checked on, and recorded in SOURCE_PARITY_FILE
PARITY_SEED = 12345
SOURCE_PARITY_FILE = "source_parity.safetensors"


def parity_observations(obs_dim: int, n: int, seed: int) -> np.ndarray:
    """Observations over a wide range: half N(0, 3), half uniform [-10, 10], plus a few extremes."""
    rng = np.random.default_rng(seed)
    half = n // 2
    obs = np.concatenate([rng.normal(0, 3, (half, obs_dim)), rng.uniform(-10, 10, (n - half, obs_dim))])
    obs[:3] = np.array([0.0, 100.0, -100.0])[:, None]
    return obs.astype(np.float32)


def parity_bound(ref: np.ndarray, terms: np.ndarray | None = None) -> np.ndarray:
    """The allowed error per output: 1e-5 * max(1, |reference|), or 1e-5 * TERMS where that is larger.

    TERMS (model.torch_cnn_forward's): the sum of the absolute terms of the dot product that made each
    output. Float32 arithmetic errs in proportion to those terms, not to their sum: a trained NatureCNN's
    logits cancel terms 30-60 times their size, and PyTorch's own float32 pass of the Pong run's policy at
    2.1M steps misses 1e-5 * max(1, |reference|) on 14 of the 10,000-frame certificate's 70,000 outputs (by
    up to 1.52x), while it stays within 1.8e-6 * TERMS."""
    bound = np.maximum(1.0, np.abs(ref))
    return 1e-5 * (bound if terms is None else np.maximum(bound, terms))


def check_parity(got: np.ndarray, ref: np.ndarray, what: str, terms: np.ndarray | None = None) -> float:
    """Max abs error of GOT against REF; raises ValueError naming the first output over the bound
    (parity_bound, TERMS as it takes them)."""
    if got.shape != ref.shape:
        raise ValueError(f"{what}: output shape {got.shape} != reference {ref.shape}")
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    bad = ~(err <= parity_bound(ref, terms))  # also catches NaN
    if bad.any():
        i, j = np.argwhere(bad)[0]
        bound = "1e-5*max(1,|ref|)" if terms is None else "1e-5*max(1,|ref|,terms)"
        raise ValueError(
            f"{what}: differs from PyTorch at sample {i} output {j}: {got[i, j]!r} vs {ref[i, j]!r} "
            f"({int(bad.sum())} outputs over {bound})"
        )
    return float(err.max()) if err.size else 0.0


def greedy_from_outputs(action: dict, out: np.ndarray) -> np.ndarray:
    """The greedy action from kernel outputs, as rl_web_agent/runtime_py/mlp.py's act(): argmax (first on
    ties) of the probabilities or q-values, or the box action clipped to its bounds."""
    if action["type"] == "discrete":
        return out[:, : action["n"]].argmax(-1)
    n = math.prod(action["shape"])
    return np.clip(out[:, :n], np.asarray(action["low"], np.float32), np.asarray(action["high"], np.float32))


def compare_greedy(
    action: dict,
    got_out: np.ndarray,
    lib_out: np.ndarray,
    lib_greedy: np.ndarray,
    what: str,
    terms: np.ndarray | None = None,
):
    """Greedy actions from GOT_OUT against the library's: (equal, near_ties). Discrete: a differing argmax
    is tolerated only where the library's own top two outputs are within the parity bound (a tie that float
    rounding may break either way; TERMS as parity_bound takes them). Box: within the parity bound.
    ValueError names the first that differs."""
    mine = greedy_from_outputs(action, got_out)
    if action["type"] == "discrete":
        lib_greedy = np.asarray(lib_greedy).reshape(-1)
        diff = np.flatnonzero(mine != lib_greedy)
        top = np.sort(lib_out[:, : action["n"]], axis=-1)
        row_terms = None if terms is None else terms[:, : action["n"]].max(-1)
        near = (top[:, -1] - top[:, -2]) <= 2 * parity_bound(top[:, -1], row_terms)
        bad = diff[~near[diff]]
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{what}: greedy action {int(mine[i])} where the library picks {int(lib_greedy[i])} "
                f"(sample {i}, {bad.size} such samples); please report this with the checkpoint"
            )
        return int(len(mine) - diff.size), int(diff.size)
    lib_greedy = np.asarray(lib_greedy, np.float32).reshape(mine.shape)
    err = np.abs(mine.astype(np.float64) - lib_greedy)
    bad = ~(err <= parity_bound(lib_greedy))
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"{what}: greedy action {mine[i].tolist()} where the library gives {lib_greedy[i].tolist()} "
            f"(sample {i}); please report this with the checkpoint"
        )
    return int(len(mine)), 0


def check_source_parity(
    ckpt: Checkpoint, forward_batch: Callable[[np.ndarray], np.ndarray], strict: bool = True
) -> dict | None:
    """For an imported policy (its folder has SOURCE_PARITY_FILE): FORWARD_BATCH (the compiled kernel) against
    the library's outputs and greedy actions recorded at import, on the same observations (a convolutional
    policy's: certificate_frames below); the manifest's "source" record. None for a policy of our own. Raises
    ValueError naming the first output over the parity bound; with STRICT false (a kernel of quantized
    weights) only measures the error and how often the greedy action agrees."""
    path = Path(ckpt.model_dir) / SOURCE_PARITY_FILE
    source = ckpt.meta.get("source")
    if not path.is_file() or not isinstance(source, dict):
        return None
    from safetensors.numpy import load_file

    try:
        rec = load_file(str(path))
        lib_out, lib_greedy = rec["out"], rec["greedy"]
    except Exception as e:  # safetensors' own error types, or a missing tensor
        raise ValueError(f"{path}: unreadable ({type(e).__name__}: {e}); re-run the import") from None
    parity = source.get("parity") or {}
    seed = int(parity.get("seed", PARITY_SEED))
    if ckpt.image is not None:
        obs = certificate_frames(ckpt.image, len(lib_out), seed, ckpt.env_id)[0]
    else:
        obs = parity_observations(ckpt.obs_dim, len(lib_out), seed)
    got = forward_batch(obs)
    what = f"{source.get('library')} {source.get('algo')}"
    if strict:
        terms = None
        if ckpt.image is not None:
            from rl_web_agent.compiler.model import torch_cnn_forward

            terms = torch_cnn_forward(ckpt, obs, terms=True)[1]
        err = check_parity(got, lib_out, f"the kernel vs {what}", terms)
        equal, ties = compare_greedy(ckpt.action, got, lib_out, lib_greedy, f"the kernel vs {what}", terms)
        measured = {"greedy_equal": equal, "greedy_near_ties": ties}
    else:
        err = float(np.abs(got.astype(np.float64) - lib_out).max()) if got.size else 0.0
        mine = greedy_from_outputs(ckpt.action, got)
        agree = mine == np.asarray(lib_greedy).reshape(mine.shape)
        measured = {"greedy_agree": int(agree.all(-1).sum() if agree.ndim > 1 else agree.sum())}
    rest = {k: v for k, v in source.items() if k != "parity"}
    return {**rest, "parity": {"samples": int(len(lib_out)), "max_abs_err": err, **measured}}


def parity_frames(image: tuple[int, int, int], n: int, seed: int) -> np.ndarray:
    """N uint8 frame stacks [N, C, H, W] for the parity certificate: all 0 and all 255, then half uniform
    noise, half blocky frames (flat regions of random size and level, as a game's screen has)."""
    rng = np.random.default_rng(seed)
    c, h, w = image
    out = rng.integers(0, 256, (n, c, h, w), dtype=np.uint8)
    for i in range(n // 2, n):
        by, bx = int(rng.integers(1, max(2, h // 3))), int(rng.integers(1, max(2, w // 3)))
        blocks = rng.integers(0, 256, (c, -(-h // by), -(-w // bx)), dtype=np.uint8)
        out[i] = blocks.repeat(by, 1).repeat(bx, 2)[:, :h, :w]
    out[:1], out[1:2] = 0, 255
    return out[:n]


ALE_GAMES = ("pong", "breakout")  # the parity certificate's real frames (ale-py's ROMs)
ALE_SIDE = 84  # Atari's usual preprocessing: the 210x160 screen in gray, area-resized to 84x84


def _area_resize(x: np.ndarray, axis: int, dst: int) -> np.ndarray:
    """X (float32) resized along AXIS to DST by area interpolation: each output pixel the mean of the source
    pixels it covers, weighted by the length covered (cv2's INTER_AREA up to rounding, which these test
    frames need not copy)."""
    src = x.shape[axis]
    taps = math.ceil(src / dst) + 1
    idx, wts = np.zeros((dst, taps), np.int64), np.zeros((dst, taps), np.float32)
    for i in range(dst):
        lo, hi = i * src / dst, (i + 1) * src / dst
        for t, j in enumerate(range(int(lo), min(src, math.ceil(hi)))):
            idx[i, t], wts[i, t] = j, (min(hi, j + 1) - max(lo, j)) * dst / src
    x = np.moveaxis(x, axis, -1)
    return np.moveaxis((x[..., idx] * wts).sum(-1), -1, axis)


def ale_frames(n: int, stack: int, seed: int, games: tuple[str, ...] = ALE_GAMES) -> dict[str, np.ndarray]:
    """{game: uint8 [k, stack, 84, 84]}: N frame stacks in all, from ale-py's emulator (sticky actions off,
    uniformly random actions from the game's minimal set, a new episode when one ends), each screen in ALE's
    gray, area-resized to 84x84, the last STACK screens oldest first. Empty when ale-py is not installed."""
    try:
        from ale_py import ALEInterface, LoggerMode, roms
    except ImportError:
        return {}
    ALEInterface.setLoggerMode(LoggerMode.Error)
    rng = np.random.default_rng(seed)
    out = {}
    for gi, game in enumerate(games):
        k = n // len(games) + (gi < n % len(games))
        ale = ALEInterface()
        ale.setInt("random_seed", int(rng.integers(1 << 30)))
        ale.setFloat("repeat_action_probability", 0.0)
        ale.loadROM(roms.get_rom_path(game))
        actions = ale.getMinimalActionSet()
        screens = np.empty((k + stack - 1, 210, 160), np.uint8)
        for i in range(len(screens)):
            if ale.game_over():
                ale.reset_game()
            ale.act(actions[int(rng.integers(len(actions)))])
            ale.getScreenGrayscale(screens[i])
        small = _area_resize(_area_resize(screens.astype(np.float32), 1, ALE_SIDE), 2, ALE_SIDE)
        small = np.rint(small).astype(np.uint8)
        stacks = np.lib.stride_tricks.sliding_window_view(small, stack, axis=0)  # [k, 84, 84, stack]
        stacks = np.ascontiguousarray(np.moveaxis(stacks, -1, 1))
        out[game] = stacks
    return out


def ale_game(env_id: str) -> str | None:
    """The ale-py ROM an Atari env id plays ('ALE/SpaceInvaders-v5', 'SpaceInvadersNoFrameskip-v4' ->
    'space_invaders'); None for any other env, or without ale-py."""
    name = env_id.split("/")[-1].split("-")[0].removesuffix("NoFrameskip").removesuffix("Deterministic")
    game = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    try:
        from ale_py import roms
    except ImportError:
        return None
    return game if game in roms.get_all_rom_ids() else None


def certificate_frames(
    image: tuple[int, int, int], n: int, seed: int, env_id: str | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """The parity certificate's N frame stacks and where they came from ({source: count}): half real Atari
    frames (ale_frames) where the image is [stack, 84, 84] and ale-py is installed, the rest parity_frames.
    The real frames are ENV_ID's game's where it is an Atari game (ale_game), else ALE_GAMES': the greedy
    agreement a quantized kernel must reach is judged on them, and a policy's actions on another game's
    screens mean nothing."""
    real = {}
    if image[1:] == (ALE_SIDE, ALE_SIDE):
        game = ale_game(env_id) if env_id else None
        real = ale_frames(n // 2, image[0], seed, (game,) if game else ALE_GAMES)
    synth = parity_frames(image, n - sum(len(v) for v in real.values()), seed)
    half = len(synth) // 2
    counts = {"extremes": min(2, len(synth)), "noise": max(0, half - 2), "blocks": len(synth) - half}
    counts.update({f"ale:{g}": len(v) for g, v in real.items()})
    return np.concatenate([synth, *real.values()]), counts
