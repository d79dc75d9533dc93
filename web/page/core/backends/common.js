// Shared by the backends: every backend turns a kernel's flat output row into {probs | q | mean, value?}.

/** Base64 (inlined kernel files in the single-file build) to bytes. */
export function fromBase64(s) {
  const bin = atob(s),
    out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Floats per observation in the kernel's output (the kernel folder: the action head, then the value if any). */
export function outputSize(manifest) {
  return manifest.outputs.reduce((n, o) => n + o.size, 0);
}

/**
 * One output row -> an object keyed by the manifest's output names: the action head ({probs}, {q} or {mean})
 * as a copy out of kernel memory (an array of type `Type`), and `value` as a number when the kernel has one
 * (imported SAC/TD3/DQN policies have none).
 */
export function split(manifest, row, Type = Float32Array) {
  const out = {};
  let at = 0;
  for (const { name, size } of manifest.outputs) {
    out[name] = name === 'value' ? row[at] : Type.from(row.subarray(at, at + size));
    at += size;
  }
  // a convolutional policy's head is its logits (as the libraries' networks end); the page reads probabilities
  if (out.logits && !out.probs) {
    const m = Math.max(...out.logits),
      e = out.logits.map((x) => Math.exp(x - m)),
      s = e.reduce((a, b) => a + b, 0);
    out.probs = e.map((x) => x / s);
  }
  return out;
}

/** A file of the kernel: its inline bytes (single-file build) or its URL next to the manifest. */
export function kernelFile(manifest, name, baseUrl) {
  const inline = manifest.inline?.[name];
  return inline ? fromBase64(inline) : new URL(manifest.urls?.[name] ?? name, baseUrl).href;
}
