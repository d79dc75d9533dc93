"""Reading pickles from the internet without running them.

A pickle is a program: unpickling calls whatever callables it names, so a checkpoint's pickle could run any
code. Two tools here, neither of which calls anything the file names:

- `globals_in(data)`: the (module, name) pairs a pickle refers to, read from its opcodes with
  `pickletools.genops`, which decodes the opcodes and executes none of them (SB3 stores classes such as the
  activation function or the policy class as cloudpickled blobs: their names are all we need).
- `load_vecnormalize(path)`: a restricted unpickler that admits only what SB3's `vecnormalize.pkl` holds:
  numpy arrays, dtypes and scalars (numpy's own, data-only reconstructors), and inert stand-ins for SB3's
  VecNormalize and RunningMeanStd, Gymnasium's spaces and numpy's random generator state. Any other name in
  the file is refused with `UnsafePickleError` before anything it names is called.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path

import numpy as np


class UnsafePickleError(ValueError):
    """A pickle names something outside the allowlist; str(e) names it."""


def globals_in(data: bytes) -> list[tuple[str, str]]:
    """(module, qualname) of every GLOBAL/STACK_GLOBAL in the pickle DATA, in order, executing nothing.

    STACK_GLOBAL takes its two names from the stack; the names are string opcodes, possibly memoized and
    fetched back (MEMOIZE/PUT then GET), which this follows. A malformed pickle raises ValueError."""
    memo: dict[int, object] = {}
    stack: list[object] = []  # only the values we can know: strings; None for anything else
    out: list[tuple[str, str]] = []
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name in (
                "SHORT_BINUNICODE",
                "BINUNICODE",
                "BINUNICODE8",
                "UNICODE",
                "STRING",
                "BINSTRING",
                "SHORT_BINSTRING",
            ):
                stack.append(arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1] if stack else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1] if stack else None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(arg))
            elif name == "GLOBAL":
                module, _, qual = str(arg).partition(" ")
                out.append((module, qual))
                stack.append(None)
            elif name == "STACK_GLOBAL":
                qual, module = (stack.pop() if stack else None), (stack.pop() if stack else None)
                if isinstance(module, str) and isinstance(qual, str):
                    out.append((module, qual))
                stack.append(None)
            else:
                stack.append(None)
    except Exception as e:  # genops raises ValueError on a bad opcode, others on truncated data
        raise ValueError(f"not a readable pickle ({e})") from None
    return out


class Inert:
    """Stand-in for an allowed class: records its constructor arguments and pickled state, runs nothing."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        if (
            isinstance(state, tuple)
            and len(state) == 2
            and all(s is None or isinstance(s, dict) for s in state)
        ):
            state = {**(state[0] or {}), **(state[1] or {})}  # (dict state, slot state)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state


def _inert_class(qualname: str) -> type:
    return type(qualname, (Inert,), {})


def _dtype(*args):
    """numpy.dtype, except object dtypes (whose arrays hold arbitrary pickled objects)."""
    d = np.dtype(*args)
    if d.hasobject:
        raise UnsafePickleError("the pickle holds an object array; only numeric arrays are accepted")
    return d


def _numpy_allowed() -> dict[tuple[str, str], object]:
    from numpy._core import multiarray

    allowed: dict[tuple[str, str], object] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1.x and 2.x pickles
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = _dtype
    return allowed


# The names SB3's vecnormalize.pkl holds besides numpy's: data classes only, replaced by inert stand-ins.
VECNORMALIZE_STANDINS = (
    ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
    ("gymnasium.spaces.box", "Box"),
    ("gymnasium.spaces.discrete", "Discrete"),
    ("gymnasium.spaces.multi_discrete", "MultiDiscrete"),
    ("gymnasium.spaces.multi_binary", "MultiBinary"),
    ("gymnasium.spaces.dict", "Dict"),
    ("collections", "OrderedDict"),
    # the spaces' random generator (its state only: the stand-ins never seed or draw anything)
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random.bit_generator", "SeedSequence"),
)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f, allowed: dict[tuple[str, str], object], what: str):
        super().__init__(f)
        self.allowed, self.what = allowed, what

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.what} refers to {module}.{name}, which a {self.what} does not hold; "
                "refusing to load it (it could run code)"
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.what} uses persistent ids; refusing to load it")


def restricted_load(data: bytes, standins: tuple[tuple[str, str], ...], what: str):
    """Unpickle DATA admitting numpy's data reconstructors and inert stand-ins for STANDINS only."""
    allowed = _numpy_allowed()
    for module, name in standins:
        allowed[(module, name)] = _inert_class(name)
    try:
        return _RestrictedUnpickler(io.BytesIO(data), allowed, what).load()
    except UnsafePickleError:
        raise
    except Exception as e:  # truncated or malformed data: pickle raises many types
        raise UnsafePickleError(f"{what} is not a readable pickle ({type(e).__name__}: {e})") from None


def load_vecnormalize(path: Path) -> Inert:
    """SB3's VecNormalize pickle as an Inert object with its attributes (obs_rms, clip_obs, epsilon, ...)."""
    data = Path(path).read_bytes()
    obj = restricted_load(data, VECNORMALIZE_STANDINS, "VecNormalize file")
    if type(obj).__name__ != "VecNormalize":
        raise UnsafePickleError(
            f"{path}: holds a {type(obj).__name__}, not SB3's VecNormalize; pass what VecNormalize.save wrote"
        )
    return obj
