"""The policy's forward pass in plain Python: the code the page's `python` backend runs.

It imports only `math`, so this one file runs unchanged under CPython, MicroPython
(WebAssembly) and Pyodide. The weights come from `python -m tiny_infer export-json`
(format: tiny_infer/export_json.py). Arithmetic is float64; the compiled kernels use float32.

    policy = Policy(weights)   # the JSON export, parsed: a dict
    policy.forward(obs)        # [action probabilities (discrete) or action mean (box)..., value]
    policy.act(obs)            # greedy action: the most probable index, or the mean clipped to the bounds
"""
import math

FORMAT = 1
FIX = "re-export it with `python -m tiny_infer export-json MODEL_DIR --out FILE`"


def tanh(v):
    return [math.tanh(x) for x in v]


def relu(v):
    return [x if x > 0.0 else 0.0 for x in v]


ACTIVATIONS = {"tanh": tanh, "relu": relu}


def linear(x, weight, bias):
    # weight is [out][in] as in torch.nn.Linear: one dot product per output.
    # Indexing beats zip() here: MicroPython allocates a tuple per zip step.
    cols = range(len(x))
    out = []
    for row, b in zip(weight, bias):
        acc = b
        for i in cols:
            acc += row[i] * x[i]
        out.append(acc)
    return out


def softmax(z):
    m = max(z)  # exp(z - max) never overflows
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


class Policy:
    def __init__(self, weights):
        if not isinstance(weights, dict) or "actor" not in weights:
            raise ValueError("weights JSON: no 'actor' layers (is this policy.json?); " + FIX)
        if weights.get("format") != FORMAT:
            raise ValueError("weights JSON: format %r, this module reads %d; %s"
                             % (weights.get("format"), FORMAT, FIX))
        self.obs_dim = _count(weights.get("obs_dim"), "obs_dim")
        hidden = weights.get("hidden")
        if not isinstance(hidden, list):
            raise ValueError("weights JSON: 'hidden' must be a list of layer sizes; " + FIX)
        hidden = [_count(h, "hidden size") for h in hidden]
        if weights.get("activation") not in ACTIVATIONS:
            raise ValueError("weights JSON: activation %r, expected one of %s"
                             % (weights.get("activation"), sorted(ACTIVATIONS)))
        self.activation = ACTIVATIONS[weights["activation"]]
        action = weights.get("action")
        if not isinstance(action, dict) or action.get("type") not in ("discrete", "box"):
            raise ValueError("weights JSON: 'action' must be {'type': 'discrete' | 'box', ...}; " + FIX)
        self.discrete = action["type"] == "discrete"
        if self.discrete:
            n_out = _count(action.get("n"), "action n")
        else:
            n_out = 1
            for d in action.get("shape") or []:
                n_out *= _count(d, "action shape")
            self.low = _bounds(action.get("low"), n_out, "low")
            self.high = _bounds(action.get("high"), n_out, "high")
        sizes = [self.obs_dim] + hidden
        self.actor = _layers(weights, "actor", sizes + [n_out])
        self.critic = _layers(weights, "critic", sizes + [1])
        self.norm = None
        norm = weights.get("obs_norm")
        if norm is not None:
            if not isinstance(norm, dict):
                raise ValueError("weights JSON: 'obs_norm' must be null or {mean, var, clip, eps}; " + FIX)
            mean = _vector(norm.get("mean"), self.obs_dim, "obs_norm mean")
            var = _vector(norm.get("var"), self.obs_dim, "obs_norm var")
            eps, clip = _number(norm.get("eps"), "obs_norm eps"), _number(norm.get("clip"), "obs_norm clip")
            if min(var) + eps <= 0.0:
                raise ValueError("weights JSON: obs_norm var + eps must be positive; " + FIX)
            self.norm = (mean, [math.sqrt(v + eps) for v in var], clip)

    def forward(self, obs):
        """Action probabilities (discrete) or action mean (box), then the value estimate."""
        x = [float(v) for v in obs]  # also copies a JS array passed in from the page
        if len(x) != self.obs_dim:
            raise ValueError("observation has %d values, the policy expects %d" % (len(x), self.obs_dim))
        if self.norm is not None:
            mean, std, clip = self.norm
            x = [min(max((v - m) / s, -clip), clip) for v, m, s in zip(x, mean, std)]
        out = self.mlp(self.actor, x)
        if self.discrete:
            out = softmax(out)
        return out + self.mlp(self.critic, x)

    def mlp(self, layers, x):
        for i, (weight, bias) in enumerate(layers):
            x = linear(x, weight, bias)
            if i < len(layers) - 1:  # no activation after the output layer
                x = self.activation(x)
        return x

    def act(self, obs):
        """Greedy action: argmax of the probabilities (first on ties), or the mean clipped to the bounds."""
        out = self.forward(obs)[:-1]
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


# Validation: a wrong export fails here, with a message naming the tensor, not deep in forward().
def _number(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (math.inf, -math.inf):
        raise ValueError("weights JSON: %s is %r, expected a finite number; %s" % (what, v, FIX))
    return float(v)


def _count(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("weights JSON: %s is %r, expected a positive integer; %s" % (what, v, FIX))
    return v


def _vector(v, n, what):
    if not isinstance(v, list) or len(v) != n:
        got = len(v) if isinstance(v, list) else type(v).__name__
        raise ValueError("weights JSON: %s has %s values, expected %d; %s" % (what, got, n, FIX))
    return [_number(x, what) for x in v]


def _bounds(v, n, what):
    # box bounds: a list of numbers, null entries (or a null list) meaning unbounded
    if v is None:
        v = [None] * n
    if not isinstance(v, list) or len(v) != n:
        raise ValueError("weights JSON: action %s must be a list of %d numbers; %s" % (what, n, FIX))
    inf = math.inf if what == "high" else -math.inf
    return [inf if x is None else _number(x, "action " + what) for x in v]


def _layers(weights, head, sizes):
    layers = weights.get(head)
    if not isinstance(layers, list) or len(layers) != len(sizes) - 1:
        got = len(layers) if isinstance(layers, list) else type(layers).__name__
        raise ValueError("weights JSON: %s has %s layers, expected %d (hidden %s); %s"
                         % (head, got, len(sizes) - 1, sizes[1:-1], FIX))
    out = []
    for i, layer in enumerate(layers):
        name = "%s layer %d" % (head, i)
        n_in, n_out = sizes[i], sizes[i + 1]
        if not isinstance(layer, dict):
            raise ValueError("weights JSON: %s must be {weight, bias}; %s" % (name, FIX))
        weight = layer.get("weight")
        if not isinstance(weight, list) or len(weight) != n_out:
            got = len(weight) if isinstance(weight, list) else type(weight).__name__
            raise ValueError("weights JSON: %s weight has %s rows, expected %d ([out][in] = [%d][%d]); %s"
                             % (name, got, n_out, n_out, n_in, FIX))
        weight = [_vector(row, n_in, name + " weight row") for row in weight]
        out.append((weight, _vector(layer.get("bias"), n_out, name + " bias")))
    return out
