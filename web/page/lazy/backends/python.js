// The python backend: rl_web_agent/runtime_py/mlp.py, unchanged, in MicroPython compiled to WebAssembly.
// Code-split with its runtime: nothing here is fetched unless the page asks for `python`.
// Helpers come in through `lib` (core/backends/common.js), as for webgpu.js: no chunk shared with the page.
import runtimeUrl from 'python:runtime'; // micropython.mjs as a hashed asset, imported as is (not bundled)
import runtimeWasmUrl from 'python:runtime-wasm';
import reference from 'python:reference'; // the source text
import weightsUrl from 'python:weights'; // the kernel's policy.weights.json (in the kernel folder)

// How the page calls reference.py. Results go into a JS array, not back as a Python list: a returned list
// becomes a proxy that pins it in MicroPython's heap until JavaScript's GC finalises the proxy, and the heap
// (and with it the time each call spends collecting garbage) would grow step after step.
const GLUE = `import reference

def load(path):
    global policy
    policy = reference.load(path)

def forward_into(obs, out):
    y = policy.forward(obs)
    for i in range(len(y)):
        out[i] = y[i]
`;

let runtime; // one MicroPython per page, reused when the backend is chosen again

async function micropython() {
  const { loadMicroPython } = await import(new URL(runtimeUrl, import.meta.url).href);
  // The default heap (1 MiB): MicroPython collects at each call from JS, in time that grows with the heap.
  const mp = await loadMicroPython({
    url: new URL(runtimeWasmUrl, import.meta.url).href,
    stdout: () => {},
    stderr: (line) => console.warn(`micropython: ${line}`),
  });
  mp.FS.writeFile('/reference.py', reference);
  mp.FS.writeFile('/glue.py', GLUE);
  return mp;
}

/** A Python exception's last traceback line, less the type for ValueError (reference.py's messages). */
function pythonMessage(err) {
  const lines = String(err?.message ?? err)
    .trim()
    .split('\n');
  return lines[lines.length - 1].replace(/^ValueError: /, '');
}

/** load(manifest, baseUrl, {lib}) -> policy; throws reference.py's message for a weights file it rejects. */
export async function load(manifest, _baseUrl, { lib }) {
  const url = new URL(weightsUrl, import.meta.url);
  runtime ??= micropython().catch((e) => {
    runtime = undefined;
    throw e;
  });
  const [mp, res] = await Promise.all([runtime, fetch(url)]);
  if (!res.ok) throw new Error(`policy.weights.json answered HTTP ${res.status} ${res.statusText} at ${url}`);
  mp.FS.writeFile('/policy.weights.json', await res.text());
  const glue = mp.pyimport('glue');
  try {
    glue.load('/policy.weights.json');
  } catch (err) {
    throw new Error(`reference.py rejected the weights: ${pythonMessage(err)}`);
  }
  const into = glue.forward_into,
    nOut = lib.outputSize(manifest),
    row = new Float64Array(nOut);
  const forward = (obs) => {
    try {
      into(obs, row);
    } catch (err) {
      throw new Error(`reference.py: ${pythonMessage(err)}`);
    }
    return lib.split(manifest, row, Float64Array); // float64: the Python numbers as computed
  };
  forward(new Float32Array(manifest.obs_dim));
  if (!row.every(Number.isFinite)) {
    throw new Error('reference.py returned non-finite outputs for a zero observation');
  }
  return {
    backend: 'python',
    slow: true, // milliseconds per call: the page times each step's call instead of bursts of calls
    source: `${reference}\n# ---- glue.py: how the page calls the module above ----\n${GLUE}`,
    forward,
  };
}
