// Shared by the backends: every backend turns a kernel's flat output row into {probs | mean, value}.

/** Base64 (inlined kernel files in the single-file build) to bytes. */
export function fromBase64(s) {
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Number of floats per observation in the kernel's output (contract 2: actions, then the value). */
export function outputSize(manifest) {
  return manifest.outputs.reduce((n, o) => n + o.size, 0);
}

/** One output row -> {probs, value} (discrete) or {mean, value} (box); copies out of kernel memory. */
export function split(manifest, row) {
  const n = outputSize(manifest) - 1, head = Float32Array.from(row.subarray(0, n));
  return manifest.action.type === 'discrete' ? { probs: head, value: row[n] } : { mean: head, value: row[n] };
}

/** Greedy action: argmax of the probabilities, or the action mean. */
export function greedy(out) {
  if (!out.probs) return out.mean;
  let best = 0;
  for (let i = 1; i < out.probs.length; i++) if (out.probs[i] > out.probs[best]) best = i;
  return best;
}

/** A file of the kernel: its inline bytes (single-file build) or its URL next to the manifest. */
export function kernelFile(manifest, name, baseUrl) {
  const inline = manifest.inline?.[name];
  return inline ? fromBase64(inline) : new URL(manifest.urls?.[name] ?? name, baseUrl).href;
}
