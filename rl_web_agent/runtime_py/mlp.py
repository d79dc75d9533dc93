"""The policy's forward pass in plain Python: the code the page's `python` backend runs.

It imports only `math`, so this one file runs unchanged under CPython, MicroPython
(WebAssembly) and Pyodide. The weights come from `python -m rl_web_agent export-json`
(format: rl_web_agent/runtime_py/export_json.py). Arithmetic is float64; the compiled kernels use float32.

    policy = Policy(weights)   # the JSON export, parsed: a dict
    policy.forward(obs)        # [action probabilities (discrete) or action mean (box)..., value]
    policy.act(obs)            # greedy action: the most probable index, or the mean clipped to the bounds
"""

# ruff: noqa: B905 (MicroPython's zip() has no strict=)
import math

FORMAT = 1
FIX = "re-export it with `python -m rl_web_agent export-json MODEL_DIR --out FILE`"


def linear(x, weight, bias):
    # weight is [out][in] as in torch.nn.Linear: one dot product per output.
    # Indexing beats zip() here: MicroPython allocates a tuple per zip() step.
    cols = range(len(x))
    out = []
    for row, b in zip(weight, bias):
        acc = b
        for i in cols:
            acc += row[i] * x[i]
        out.append(acc)
    return out


def tanh(v):
    return [math.tanh(x) for x in v]


def relu(v):
    return [x if x > 0.0 else 0.0 for x in v]


def softmax(z):
    m = max(z)  # exp(z - max) cannot overflow
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


class Policy:
    def __init__(self, weights):
        w = _Checked(weights)
        self.obs_dim = w.obs_dim
        self.discrete = w.discrete
        self.activation = {"tanh": tanh, "relu": relu}[w.activation]
        self.actor, self.critic = w.actor, w.critic  # critic: None for a policy without a value head
        self.norm = w.norm  # None or (mean, std, clip)
        self.low, self.high = w.low, w.high  # box bounds, +-inf where unbounded
        self.q, self.squash, self.n_act = w.q, w.squash, w.n_act  # q-values; tanh-squashed box actions

    def forward(self, obs):
        """Action probabilities (discrete), q-values or action mean (box; the final action when squashed),
        then the value estimate when the policy has one."""
        x = [float(v) for v in obs]  # also copies a JS array passed in from the page
        if len(x) != self.obs_dim:
            raise ValueError(f"observation has {len(x)} values, the policy expects {self.obs_dim}")
        if self.norm is not None:
            mean, std, clip = self.norm
            x = [min(max((v - m) / s, -clip), clip) for v, m, s in zip(x, mean, std)]
        out = self.mlp(self.actor, x)
        if self.discrete and not self.q:
            out = softmax(out)
        if self.squash:  # low + 0.5 (tanh(a) + 1) (high - low), as SB3 rescales SAC and TD3 actions
            out = [lo + 0.5 * (math.tanh(a) + 1.0) * (hi - lo) for a, lo, hi in zip(out, self.low, self.high)]
        return out if self.critic is None else out + self.mlp(self.critic, x)

    def mlp(self, layers, x):
        for i, (weight, bias) in enumerate(layers):
            x = linear(x, weight, bias)
            if i < len(layers) - 1:  # no activation after the output layer
                x = self.activation(x)
        return x

    def act(self, obs):
        """Greedy action: the most probable index (the first on ties), or the mean clipped to the bounds."""
        out = self.forward(obs)[: self.n_act]
        if self.discrete:
            best = 0
            for i in range(1, len(out)):
                if out[i] > out[best]:
                    best = i
            return best
        return [min(max(m, lo), hi) for m, lo, hi in zip(out, self.low, self.high)]


def load(path):
    """A Policy from a weights JSON file."""
    import json

    with open(path) as f:
        return Policy(json.load(f))


class _Checked:
    """The weights JSON, validated: a wrong file fails here, with a message naming the part."""

    def __init__(self, w):
        if not isinstance(w, dict) or "actor" not in w:
            raise ValueError("weights JSON: no 'actor' layers (is this policy.json?); " + FIX)
        if w.get("format") != FORMAT:
            raise ValueError(f"weights JSON: format {w.get('format')!r}, this module reads {FORMAT}; {FIX}")
        self.obs_dim = _count(w.get("obs_dim"), "obs_dim")
        hidden = w.get("hidden")
        if not isinstance(hidden, list):
            raise ValueError("weights JSON: 'hidden' must be a list of layer sizes; " + FIX)
        hidden = [_count(h, "a hidden size") for h in hidden]
        self.activation = w.get("activation")
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"weights JSON: activation {self.activation!r}, expected tanh or relu; {FIX}")
        action = w.get("action")
        if not isinstance(action, dict) or action.get("type") not in ("discrete", "box"):
            raise ValueError("weights JSON: 'action' must be {'type': 'discrete' | 'box', ...}; " + FIX)
        self.discrete = action["type"] == "discrete"
        self.low = self.high = None
        if self.discrete:
            n_out = _count(action.get("n"), "action n")
        else:
            shape = action.get("shape")
            if not isinstance(shape, list) or not shape:
                raise ValueError("weights JSON: box action 'shape' must be a non-empty list of sizes; " + FIX)
            n_out = 1
            for d in shape:
                n_out *= _count(d, "an action shape entry")
            self.low = _bounds(action.get("low"), n_out, "low", -math.inf)
            self.high = _bounds(action.get("high"), n_out, "high", math.inf)
        squash = action.get("squash")
        if squash is not None and (
            squash != "tanh"
            or self.discrete
            or not all(-math.inf < b < math.inf for b in self.low + self.high)
        ):
            raise ValueError(
                f"weights JSON: action squash {squash!r} needs 'tanh', box actions and finite low/high; {FIX}"
            )
        head, value = w.get("head", "policy"), w.get("value", True)
        if head not in ("policy", "q") or (head == "q" and not self.discrete):
            raise ValueError(
                f"weights JSON: head {head!r}, expected 'policy', or 'q' for discrete actions; " + FIX
            )
        if not isinstance(value, bool):
            raise ValueError(f"weights JSON: value {value!r}, expected true or false (has a critic); {FIX}")
        sizes = [self.obs_dim] + hidden
        self.actor = _layers(w.get("actor"), "actor", sizes + [n_out])
        critic_hidden = w.get("critic_hidden")  # the critic's own sizes, when they differ from the actor's
        if critic_hidden is not None and not (isinstance(critic_hidden, list) and value):
            raise ValueError(
                "weights JSON: 'critic_hidden' must be a list of layer sizes, for a policy with "
                "a critic; " + FIX
            )
        critic_sizes = (
            sizes
            if critic_hidden is None
            else [self.obs_dim] + [_count(h, "a critic hidden size") for h in critic_hidden]
        )
        self.critic = _layers(w.get("critic"), "critic", critic_sizes + [1]) if value else None
        self.q, self.n_act = head == "q", n_out
        self.squash = squash is not None
        self.norm = None
        norm = w.get("obs_norm")
        if norm is not None:
            if not isinstance(norm, dict):
                raise ValueError("weights JSON: 'obs_norm' must be null or {mean, var, clip, eps}; " + FIX)
            mean = _vector(norm.get("mean"), self.obs_dim, "obs_norm mean")
            var = _vector(norm.get("var"), self.obs_dim, "obs_norm var")
            eps, clip = _number(norm.get("eps"), "obs_norm eps"), _number(norm.get("clip"), "obs_norm clip")
            if clip <= 0.0 or eps < 0.0:
                raise ValueError("weights JSON: obs_norm clip must be positive and eps >= 0; " + FIX)
            if min(var) + eps <= 0.0:
                raise ValueError("weights JSON: obs_norm var + eps must be positive; " + FIX)
            self.norm = (mean, [math.sqrt(v + eps) for v in var], clip)


def _number(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (math.inf, -math.inf):
        raise ValueError(f"weights JSON: {what} is {v!r}, expected a finite number; {FIX}")
    return float(v)


def _count(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"weights JSON: {what} is {v!r}, expected a positive integer; {FIX}")
    return v


def _size(v):
    return len(v) if isinstance(v, list) else type(v).__name__


def _vector(v, n, what):
    if not isinstance(v, list) or len(v) != n:
        raise ValueError(f"weights JSON: {what} has {_size(v)} values, expected {n}; {FIX}")
    return [_number(x, what) for x in v]


def _bounds(v, n, what, unbounded):
    # box bounds: a list of numbers, null (a null entry) meaning unbounded
    v = [None] * n if v is None else v
    if not isinstance(v, list) or len(v) != n:
        raise ValueError(f"weights JSON: action {what} has {_size(v)} values, expected {n}; {FIX}")
    return [unbounded if x is None else _number(x, "action " + what) for x in v]


def _layers(layers, head, sizes):
    if not isinstance(layers, list) or len(layers) != len(sizes) - 1:
        raise ValueError(
            f"weights JSON: {head} has {_size(layers)} layers, expected {len(sizes) - 1} "
            f"(hidden {sizes[1:-1]}); {FIX}"
        )
    out = []
    for i, layer in enumerate(layers):
        name, n_in, n_out = f"{head} layer {i}", sizes[i], sizes[i + 1]
        weight = layer.get("weight") if isinstance(layer, dict) else None
        if not isinstance(weight, list) or len(weight) != n_out:
            raise ValueError(
                f"weights JSON: {name} weight has {_size(weight)} rows, expected {n_out} "
                f"(shape [out][in] = [{n_out}][{n_in}]); {FIX}"
            )
        weight = [_vector(row, n_in, name + " weight row") for row in weight]
        out.append((weight, _vector(layer.get("bias"), n_out, name + " bias")))
    return out
