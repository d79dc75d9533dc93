"""The checkpoint format (policy.safetensors + policy.json, docs/design.md): defined here.

The tensor names and shapes (`expected_shapes`), the policy.json fields and their rules (`check_checkpoint`)
are written once, here; `load_checkpoint` reads a folder through them and `write_checkpoint` (train/ and the
importers) writes one through them, so nothing is written that compile would refuse. The newest-model rule
(`resolve_model_dir`) says which folder a stage reads for an env.

Every problem becomes a `CheckpointError` with a one-line message that names the problem and the fix,
so the CLI can print it and exit non-zero before anything is written. NumPy only: rl_web_agent/train imports
this without tinygrad, and rl_web_agent/runtime_py/mlp.py keeps its own MicroPython-safe reader
(tests/test_contract.py checks that the two agree).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rl_web_agent.policy.envid import EnvIdError, check_env_id
from rl_web_agent.policy.errors import first_line
from rl_web_agent.policy.files import atomic_write

FORMAT = 1
META_FILE = "policy.json"
TENSORS_FILE = "policy.safetensors"
SNAPSHOTS_DIR = "snapshots"  # <model>/snapshots/<env-steps>/: the training snapshots, each a checkpoint
FORMAT_DOC = "the checkpoint format in docs/design.md"
MODEL_ROOTS = ("build/models", "models")  # the newest-model rule's order: the user's policies first
MAX_HIDDEN_LAYERS = 3
MAX_UNITS = 256
MAX_DISCRETE = 18
MAX_BOX_DIMS = 64
MAX_OBS_DIM = 1024
ACTIVATIONS = ("tanh", "relu")
# convolutional policies (policy.json "image", "conv", "trunk"): uint8 frames, channels first
MAX_IMAGE_CHANNELS = 12  # a stack of 4 RGB frames, or up to 12 gray ones
MAX_IMAGE_SIDE = 96  # height and width: Atari's 84x84, with room for a little more
MAX_CONV_LAYERS = 4
MAX_CONV_CHANNELS = 64
MAX_CONV_KERNEL = 11
MAX_TRUNK_LAYERS = 2
MAX_TRUNK_UNITS = 512
# policy.json "frames" (image policies, optional): the preprocessing that made the frames the policy was
# trained on, which the page must reproduce (docs/design.md, "The checkpoint format")
FRAMES = {
    "sb3-atari": "Stable-Baselines3's AtariWrapper and a 4-frame VecFrameStack: noop reset (up to 30), frame "
    "skip 4 with the max of the last two screens, fire reset, RGB -> gray (cv2), 84x84 INTER_AREA",
    "cleanrl-atari": "CleanRL's ppo_atari/dqn_atari: SB3's noop reset, max-and-skip 4, episodic life and "
    "fire reset, then Gymnasium 0.29.1's ResizeObservation 84x84 (cv2 INTER_AREA, RGB) and "
    "GrayScaleObservation (cv2 RGB -> gray), FrameStack 4",
    "gymnasium-atari": "Gymnasium 1.x AtariPreprocessing on an ALE v5 env made with frameskip=1, sticky "
    "actions kept: noop reset up to 30 from the env's np_random, skip 4 with the max of the last two ALE "
    "grayscale screens, 84x84 cv2 INTER_AREA; FrameStackObservation 4 repeating the reset frame",
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be compiled; str(e) is a one-line message naming the problem and the fix."""


@dataclass(frozen=True)
class Checkpoint:
    """A validated policy in the checkpoint format.

    Fields:
      model_dir:  the folder it was read from.
      meta:       policy.json as parsed (dict; `format`, `env_id`, `obs_dim`, `action`, `hidden`, ...).
      tensors:    every tensor of policy.safetensors as a float32 numpy array (checkpoint-format names, e.g.
                  `actor.0.weight` [out, in], `critic.2.bias`, `obs_norm.mean`, `actor.log_std`).
      env_id, obs_dim, hidden (tuple of ints), activation ("tanh" | "relu"): copied from meta.
      action:     meta["action"], {"type": "discrete", "n": N} or {"type": "box", "shape": [...], ...}.
      obs_norm:   None or {"clip": float, "eps": float}; the mean/var live in `tensors`.
      n_act:      actor outputs: N for discrete, prod(shape) for box.
      head:       "policy" (probabilities or action mean) or "q" (q-values of discrete actions, no softmax).
      value:      whether there is a critic (a value output); imported DQN, SAC and TD3 policies have none.
      critic_hidden: the critic's hidden sizes when they differ from the actor's (policy.json
                  "critic_hidden", e.g. SB3's net_arch=dict(pi=[64], vf=[64, 64])), else None.
      image:      a convolutional policy's observation, (channels, height, width) of uint8 frames (obs_dim is
                  their product), else None (an MLP over obs_dim float32 values).
      conv:       a convolutional policy's conv layers, input first: ({"out", "kernel", "stride"}, ...).
      trunk:      the sizes of the linear layers (ReLU) after the flattened convs, shared by actor and critic
                  (SB3's NatureCNN: (512,)); the actor's and critic's own layers (`hidden`) follow them.
      frames:     an image policy's preprocessing (a key of FRAMES, policy.json "frames"), or None: not
                  recorded (a policy of our own, or frames the page makes as it likes).
    """

    model_dir: Path
    meta: dict
    tensors: dict[str, np.ndarray]
    env_id: str
    obs_dim: int
    action: dict
    hidden: tuple[int, ...]
    activation: str
    obs_norm: dict | None
    n_act: int
    head: str = "policy"
    value: bool = True
    critic_hidden: tuple[int, ...] | None = None
    image: tuple[int, int, int] | None = None
    conv: tuple[dict, ...] = ()
    trunk: tuple[int, ...] = ()
    frames: str | None = None

    @property
    def features(self) -> int:
        """What the actor's and critic's first layer reads: obs_dim, or a convolutional policy's trunk output
        (the flattened convs when it has no trunk layer)."""
        if self.image is None:
            return self.obs_dim
        return self.trunk[-1] if self.trunk else conv_flat_size(self.image, self.conv)

    @property
    def discrete(self) -> bool:
        return self.action["type"] == "discrete"

    @property
    def n_out(self) -> int:
        """Values per observation in the kernel's output: actor outputs then the value estimate (if any)."""
        return self.n_act + int(self.value)

    @property
    def outputs(self) -> list[dict]:
        # a convolutional policy's kernel gives the logits (no softmax: its greedy action is their argmax)
        name = "q" if self.head == "q" else ("logits" if self.image else "probs") if self.discrete else "mean"
        return [{"name": name, "size": self.n_act}] + ([{"name": "value", "size": 1}] if self.value else [])

    @property
    def heads(self) -> tuple[str, ...]:
        """The networks in policy.safetensors: the actor (or q-network), and the critic when there is one."""
        return ("actor", "critic") if self.value else ("actor",)

    @property
    def squash(self) -> bool:
        """Box actions squashed by tanh and rescaled to [low, high] in the graph (SAC, TD3 actors)."""
        return self.action.get("squash") == "tanh"

    def layers(self, head: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(weight [out, in], bias [out])] of the actor or the critic, input to output."""
        sizes = self.critic_hidden if head == "critic" and self.critic_hidden is not None else self.hidden
        t = self.tensors
        return [(t[f"{head}.{i}.weight"], t[f"{head}.{i}.bias"]) for i in range(len(sizes) + 1)]


def _int(v, what: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise CheckpointError(f"policy.json: {what} is {v!r}, expected an integer in [{lo}, {hi}]")
    return v


def _check_meta(meta: dict) -> dict:
    """policy.json's fields, validated: the Checkpoint fields they give (env_id ... critic_hidden)."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"policy.json: expected a JSON object ({FORMAT_DOC})")
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"policy.json: format is {meta.get('format')!r}, this compiler reads format {FORMAT} "
            f"({FORMAT_DOC})"
        )
    for key in ("env_id", "obs_dim", "action", "hidden", "activation"):
        if key not in meta:
            raise CheckpointError(f"policy.json: missing key {key!r} ({FORMAT_DOC})")
    try:  # the id names folders and appears in generated code: only Gymnasium's id grammar gets through
        env_id = check_env_id(meta["env_id"])
    except EnvIdError as e:
        raise CheckpointError(f"policy.json: {e}, like 'CartPole-v1'") from None
    image, conv, trunk = _check_image(meta)
    if image is None:
        obs_dim = _int(meta["obs_dim"], "obs_dim", 1, MAX_OBS_DIM)
    elif meta["obs_dim"] != math.prod(image) or isinstance(meta["obs_dim"], bool):
        raise CheckpointError(
            f"policy.json: obs_dim is {meta['obs_dim']!r}, expected {math.prod(image)}: the values of "
            f"the image {list(image)}"
        )
    else:
        obs_dim = math.prod(image)
    action = meta["action"]
    if not isinstance(action, dict) or action.get("type") not in ("discrete", "box"):
        raise CheckpointError(f"policy.json: action is {action!r}, expected type 'discrete' or 'box'")
    if action["type"] == "discrete":
        n_act = _int(action.get("n"), "action.n (discrete actions)", 1, MAX_DISCRETE)
    else:
        shape = action.get("shape")
        if (
            not isinstance(shape, list)
            or not shape
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)
        ):
            raise CheckpointError(
                f"policy.json: box action shape is {shape!r}, expected a list of positive ints"
            )
        n_act = _int(math.prod(shape), "the box action size", 1, MAX_BOX_DIMS)
    hidden = meta["hidden"]
    if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
        raise CheckpointError(
            f"policy.json: hidden is {hidden!r}; supported: 0 to {MAX_HIDDEN_LAYERS} hidden layers"
        )
    hidden = tuple(_int(h, f"hidden[{i}]", 1, MAX_UNITS) for i, h in enumerate(hidden))
    activation = meta["activation"]
    if activation not in ACTIVATIONS:
        raise CheckpointError(
            f"policy.json: activation {activation!r} is not supported; use one of {ACTIVATIONS}"
        )
    obs_norm = meta.get("obs_norm")
    if obs_norm is not None:
        ok = isinstance(obs_norm, dict) and all(
            isinstance(obs_norm.get(k), (int, float)) and not isinstance(obs_norm.get(k), bool)
            for k in ("clip", "eps")
        )
        if not ok or not (
            math.isfinite(obs_norm["clip"])
            and obs_norm["clip"] > 0
            and math.isfinite(obs_norm["eps"])
            and obs_norm["eps"] >= 0
        ):
            raise CheckpointError(
                f"policy.json: obs_norm is {obs_norm!r}, expected null or "
                "{'clip': positive number, 'eps': number >= 0}"
            )
        obs_norm = {"clip": float(obs_norm["clip"]), "eps": float(obs_norm["eps"])}
    head, value = _check_head(meta, action)
    critic_hidden = meta.get("critic_hidden")
    if critic_hidden is not None:
        if not value or not isinstance(critic_hidden, list) or len(critic_hidden) > MAX_HIDDEN_LAYERS:
            raise CheckpointError(
                f"policy.json: critic_hidden is {critic_hidden!r}; expected 0 to {MAX_HIDDEN_LAYERS} layer "
                "sizes, for a policy with a critic"
            )
        critic_hidden = tuple(
            _int(h, f"critic_hidden[{i}]", 1, MAX_UNITS) for i, h in enumerate(critic_hidden)
        )
    if image is not None and (obs_norm is not None or action.get("squash") is not None):
        what = "obs_norm" if obs_norm is not None else "action squash"
        raise CheckpointError(
            f"policy.json: {what} is not supported with image observations (a convolutional policy "
            "scales its "
            "uint8 frames by 1/255); set it to null"
        )
    frames = meta.get("frames")
    if frames is not None and (image is None or frames not in FRAMES):
        raise CheckpointError(
            f"policy.json: frames is {frames!r}; expected null, or for image observations one of "
            f"{sorted(FRAMES)}"
        )
    cnn = {} if image is None else {"image": image, "conv": conv, "trunk": trunk, "frames": frames}
    return {
        "env_id": env_id,
        "obs_dim": obs_dim,
        "action": action,
        "hidden": hidden,
        "activation": activation,
        "obs_norm": obs_norm,
        "n_act": n_act,
        "head": head,
        "value": value,
        "critic_hidden": critic_hidden,
        **cnn,
    }


def conv_flat_size(image: tuple[int, int, int], conv: tuple[dict, ...]) -> int:
    """The values of the last conv layer's output, flattened (channels, height, width): no padding."""
    _, h, w = image
    for c in conv:
        h, w = (h - c["kernel"]) // c["stride"] + 1, (w - c["kernel"]) // c["stride"] + 1
    return conv[-1]["out"] * h * w


def _check_image(meta: dict) -> tuple[tuple[int, int, int] | None, tuple[dict, ...], tuple[int, ...]]:
    """policy.json's optional "image" ([channels, height, width] of uint8 frames), with its "conv" layers
    and "trunk" sizes: (None, (), ()) for an MLP policy, which has neither."""
    image = meta.get("image")
    if image is None:
        for key in ("conv", "trunk"):
            if meta.get(key) is not None:
                raise CheckpointError(f"policy.json: {key} needs image observations; add 'image' or drop it")
        return None, (), ()
    if not isinstance(image, list) or len(image) != 3:
        raise CheckpointError(
            f"policy.json: image is {image!r}, expected [channels, height, width] of uint8 frames"
        )
    image = (
        _int(image[0], "image channels", 1, MAX_IMAGE_CHANNELS),
        _int(image[1], "image height", 1, MAX_IMAGE_SIDE),
        _int(image[2], "image width", 1, MAX_IMAGE_SIDE),
    )
    conv = meta.get("conv")
    if not isinstance(conv, list) or not 1 <= len(conv) <= MAX_CONV_LAYERS:
        raise CheckpointError(
            f"policy.json: conv is {conv!r}; an image policy needs 1 to {MAX_CONV_LAYERS} conv layers "
            "[{'out': channels, 'kernel': k, 'stride': s}, ...]"
        )
    layers, (_, h, w) = [], image
    for i, c in enumerate(conv):
        if not isinstance(c, dict) or set(c) != {"out", "kernel", "stride"}:
            raise CheckpointError(
                f"policy.json: conv[{i}] is {c!r}, expected {{'out': channels, 'kernel': k, 'stride': s}}"
            )
        k = _int(c["kernel"], f"conv[{i}].kernel", 1, MAX_CONV_KERNEL)
        layer = {
            "out": _int(c["out"], f"conv[{i}].out", 1, MAX_CONV_CHANNELS),
            "kernel": k,
            "stride": _int(c["stride"], f"conv[{i}].stride", 1, k),
        }
        if k > h or k > w:
            raise CheckpointError(
                f"policy.json: conv[{i}]'s {k}x{k} kernel is larger than its {h}x{w} input (no padding); "
                "use a smaller kernel or fewer layers"
            )
        h, w = (h - k) // layer["stride"] + 1, (w - k) // layer["stride"] + 1
        layers.append(layer)
    trunk = meta.get("trunk", [])
    if not isinstance(trunk, list) or len(trunk) > MAX_TRUNK_LAYERS:
        raise CheckpointError(
            f"policy.json: trunk is {trunk!r}; supported: 0 to {MAX_TRUNK_LAYERS} shared linear layers"
        )
    trunk = tuple(_int(t, f"trunk[{i}]", 1, MAX_TRUNK_UNITS) for i, t in enumerate(trunk))
    return image, tuple(layers), trunk


def expected_shapes(
    obs_dim: int,
    hidden: tuple[int, ...],
    n_act: int,
    box: bool,
    obs_norm: bool,
    value: bool = True,
    critic_hidden: tuple[int, ...] | None = None,
    image: tuple[int, int, int] | None = None,
    conv: tuple[dict, ...] = (),
    trunk: tuple[int, ...] = (),
) -> dict:
    """The checkpoint format's tensor name -> shape for this architecture (box: the log_std of a Gaussian
    policy; image: the conv layers [out, in, k, k] and the trunk's linear layers first)."""
    shapes: dict[str, tuple[int, ...]] = {}
    features = obs_dim
    if image is not None:
        channels = image[0]
        for i, c in enumerate(conv):
            shapes[f"conv.{i}.weight"] = (c["out"], channels, c["kernel"], c["kernel"])
            shapes[f"conv.{i}.bias"] = (c["out"],)
            channels = c["out"]
        features = conv_flat_size(image, conv)
        for i, n in enumerate(trunk):
            shapes[f"trunk.{i}.weight"] = (n, features)
            shapes[f"trunk.{i}.bias"] = (n,)
            features = n
    for head, last in (("actor", n_act), ("critic", 1))[: 2 if value else 1]:
        own = critic_hidden if head == "critic" and critic_hidden is not None else hidden
        sizes = [features, *own, last]
        for i in range(len(sizes) - 1):
            shapes[f"{head}.{i}.weight"] = (sizes[i + 1], sizes[i])
            shapes[f"{head}.{i}.bias"] = (sizes[i + 1],)
    if box:
        shapes["actor.log_std"] = (n_act,)
    if obs_norm:
        shapes["obs_norm.mean"] = (obs_dim,)
        shapes["obs_norm.var"] = (obs_dim,)
    return shapes


def layer_tensors(head: str, layers: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The checkpoint format's names of a network's layers: HEAD.i.weight [out, in], HEAD.i.bias."""
    out = {}
    for i, (w, b) in enumerate(layers):
        out[f"{head}.{i}.weight"] = np.ascontiguousarray(w, dtype=np.float32)
        out[f"{head}.{i}.bias"] = np.ascontiguousarray(b, dtype=np.float32)
    return out


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    if not path.is_file():
        what = "is not a file" if path.exists() else "missing"
        raise CheckpointError(
            f"{path}: {what}; train a policy first (make train) or pass the folder that has it"
        )
    try:
        out = {}
        with safe_open(str(path), framework="numpy") as f:
            for k in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                out[k] = f.get_tensor(k)
        return out
    except CheckpointError:
        raise
    except Exception as e:  # safetensors raises its own error types, and OSError/ValueError on bad headers
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupt: {first_line(e)}); "
            "re-export it (make train)"
        ) from None


def load_checkpoint(model_dir: Path) -> Checkpoint:
    """Read and validate MODEL_DIR/policy.{json,safetensors}; raises CheckpointError on any problem."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        what = "is a file, not a folder" if model_dir.exists() else "no such folder"
        raise CheckpointError(f"{model_dir}: {what}; pass a folder with policy.json and policy.safetensors")
    jpath = model_dir / META_FILE
    if not jpath.is_file():
        what = "is not a file" if jpath.exists() else "missing"
        raise CheckpointError(f"{jpath}: {what}; a checkpoint needs policy.json beside policy.safetensors")
    try:
        meta = json.loads(jpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{jpath}: not valid JSON ({e}); re-export the checkpoint") from None
    fields = _check_meta(meta)  # before reading the weights: a bad policy.json is named first
    return _checked(model_dir, meta, fields, _read_safetensors(model_dir / TENSORS_FILE))


def check_checkpoint(model_dir: Path, meta: dict, tensors: dict[str, np.ndarray]) -> Checkpoint:
    """The Checkpoint that MODEL_DIR would hold with this policy.json and these tensors, by the rules
    load_checkpoint applies (nothing is read or written); raises CheckpointError on any problem."""
    return _checked(Path(model_dir), meta, _check_meta(meta), tensors)


def write_checkpoint(folder: Path, tensors: dict[str, np.ndarray], meta: dict) -> list[Path]:
    """Validate META and TENSORS as load_checkpoint would read them back, then write FOLDER/policy.safetensors
    and FOLDER/policy.json, each atomically, json last (its presence marks a complete pair); returns both
    paths. Raises CheckpointError, before writing anything, for a pair that compile would refuse."""
    folder = Path(folder)
    ckpt = check_checkpoint(folder, meta, tensors)
    try:
        text = json.dumps(meta, indent=1, allow_nan=False) + "\n"
    except ValueError as e:  # NaN or Inf somewhere in the record (e.g. a diverged eval): JSON has neither
        raise CheckpointError(f"policy.json: {e}; {FORMAT_DOC} stores finite numbers only") from None
    from safetensors.numpy import save

    st, js = folder / TENSORS_FILE, folder / META_FILE
    atomic_write(st, save(ckpt.tensors))  # no metadata: its key order varies, the bytes must not
    atomic_write(js, text.encode())
    return [st, js]


def _checked(model_dir: Path, meta: dict, fields: dict, raw: dict[str, np.ndarray]) -> Checkpoint:
    """The Checkpoint of validated policy.json FIELDS and the tensors RAW, once they agree (names, shapes,
    float32, finite)."""
    spath = model_dir / TENSORS_FILE
    obs_dim, action, hidden, n_act = fields["obs_dim"], fields["action"], fields["hidden"], fields["n_act"]
    gaussian = action["type"] == "box" and action.get("squash") is None
    norm, value, critic_hidden = fields["obs_norm"] is not None, fields["value"], fields["critic_hidden"]
    cnn = {k: fields[k] for k in ("image", "conv", "trunk") if k in fields}
    want = expected_shapes(obs_dim, hidden, n_act, gaussian, norm, value, critic_hidden, **cnn)
    arch = f"obs_dim={obs_dim}, hidden={list(hidden)}, {action['type']} actions ({n_act})"
    if cnn:
        arch = (
            f"image={list(cnn['image'])}, conv={[c['out'] for c in cnn['conv']]}, "
            f"trunk={list(cnn['trunk'])}, " + arch
        )
    missing = [k for k in want if k not in raw]
    if missing:
        raise CheckpointError(
            f"{spath}: missing tensors {missing} for the architecture in policy.json ({arch}); "
            "the json and the weights do not belong together"
        )
    extra = [k for k in raw if k not in want]
    if extra:
        raise CheckpointError(
            f"{spath}: unexpected tensors {extra} for the architecture in policy.json ({arch}); "
            "the json and the weights do not belong together"
        )
    tensors: dict[str, np.ndarray] = {}
    for k, shape in want.items():
        t = raw[k]
        if t.dtype != np.float32:
            raise CheckpointError(f"{spath}: tensor {k} is {t.dtype}, the checkpoint format stores float32")
        if tuple(t.shape) != shape:
            raise CheckpointError(
                f"{spath}: tensor {k} has shape {list(t.shape)}, policy.json ({arch}) implies "
                f"{list(shape)}; the json and the weights do not belong together"
            )
        if not np.isfinite(t).all():
            bad = int((~np.isfinite(t)).sum())
            raise CheckpointError(
                f"{spath}: tensor {k} has {bad} NaN/Inf values; the training diverged, "
                "retrain or use an earlier checkpoint"
            )
        tensors[k] = np.ascontiguousarray(t, dtype=np.float32)
    if fields["obs_norm"] is not None and (tensors["obs_norm.var"] < 0).any():
        raise CheckpointError(f"{spath}: obs_norm.var has negative values; the normaliser state is corrupt")
    return Checkpoint(model_dir=model_dir, meta=meta, tensors=tensors, **fields)


def _check_head(meta: dict, action: dict) -> tuple[str, bool]:
    """policy.json's optional "head" ("policy" or "q"), "value" (bool) and action "squash" (null, "tanh")."""
    head, value = meta.get("head", "policy"), meta.get("value", True)
    if head not in ("policy", "q") or (head == "q" and action["type"] != "discrete"):
        raise CheckpointError(
            f"policy.json: head is {head!r}, expected 'policy', or 'q' (q-values) for discrete actions"
        )
    if not isinstance(value, bool):
        raise CheckpointError(f"policy.json: value is {value!r}, expected true or false (has a critic)")
    squash = action.get("squash")
    if squash is not None:
        n = math.prod(action["shape"]) if action["type"] == "box" else 0
        bounds = [action.get(k) for k in ("low", "high")]
        ok = (
            action["type"] == "box"
            and squash == "tanh"
            and all(
                isinstance(b, list)
                and len(b) == n
                and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in b
                )
                for b in bounds
            )
        )
        if not ok:
            raise CheckpointError(
                f"policy.json: action squash {squash!r} needs 'tanh', box actions and finite low/high lists"
            )
    return head, value


def train_eval(meta: dict) -> dict | None:
    """policy.json's train.eval as the manifest carries it, {"mean": float, "episodes": int >= 1}; None when
    the checkpoint records no evaluation (no finite mean, or no episode counted: a random or imported
    policy)."""
    ev = (meta.get("train") or {}).get("eval")
    if not isinstance(ev, dict):
        return None
    mean, episodes = ev.get("mean"), ev.get("episodes")
    if isinstance(mean, bool) or not isinstance(mean, (int, float)) or not math.isfinite(mean):
        return None
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        return None
    return {"mean": float(mean), "episodes": episodes}


def resolve_model_dir(env_id: str, root: Path = Path(".")) -> Path:
    """The newest-model rule: the checkpoint folder for ENV is build/models/ENV (a policy the user trained or
    imported) if it has policy.json, else the shipped models/ENV. Every stage that picks a policy by env id
    asks this."""
    for base in MODEL_ROOTS:
        if (root / base / env_id / META_FILE).is_file():
            return root / base / env_id
    raise CheckpointError(
        f"no policy for {env_id} in build/models/{env_id} or models/{env_id}; "
        f"run `make train ENV={env_id}` or pass a checkpoint folder"
    )


def policy_envs(root: Path = Path(".")) -> list[str]:
    """The env ids resolve_model_dir finds a policy for, sorted."""
    return sorted({p.parent.name for base in MODEL_ROOTS for p in (root / base).glob(f"*/{META_FILE}")})
