// The WebGPU backend: tinygrad's WGSL kernels with their dispatch plan (the kernel folder's policy.webgpu.js, which
// imports them from policy.webgpu.data.js).
// Code-split: the default page never downloads this module.
// Helpers come in through `lib` (backends/common.js): importing them would split them into a shared chunk
// that the default page would then have to fetch before its first action.
import { createPolicy } from 'kernel:webgpu';

/** load(manifest, baseUrl, {lib}) -> policy whose forward() is async; throws when WebGPU does not work. */
export async function load(manifest, baseUrl, { lib }) {
  const { kernelFile, split } = lib;
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter is available');
  const device = await adapter.requestDevice();
  const { weights } = manifest.webgpu; // the weights file's name among the page's kernel files
  const bytesIn = manifest.input?.dtype === 'uint8';
  const kernel = await createPolicy(device, weights ? kernelFile(manifest, weights, baseUrl) : undefined);
  const policy = {
    backend: 'webgpu',
    lost: null,
    async forward(obs) {
      // float32 observations, or a convolutional policy's uint8 frames (passed as they are)
      return split(manifest, await kernel.forward(bytesIn ? obs : Float32Array.from(obs)));
    },
    // d decision_k / d obs (the kernel folder's saliency), from the WGSL of tinygrad's backward pass (rl_web_agent/compiler/saliency.py)
    saliency: kernel.saliency ? (obs, k) => kernel.saliency(Float32Array.from(obs), k) : null,
    batchSize: kernel.forwardBatch ? kernel.batchSize : 0, // the batched pipeline (the what-if sweep)
    forwardBatch: kernel.forwardBatch ? (obs, n) => kernel.forwardBatch(obs, n) : null,
  };
  device.lost.then((info) => {
    policy.lost = info.message || 'device lost';
  });
  // "Works" means a forward pass gives finite, normalised outputs, not merely that an adapter exists.
  const probe = await policy.forward(new (bytesIn ? Uint8Array : Float32Array)(manifest.obs_dim));
  const values = Object.values(probe).flatMap((v) => (typeof v === 'number' ? [v] : Array.from(v)));
  const sum = probe.probs ? probe.probs.reduce((a, b) => a + b, 0) : 1;
  if (!values.every(Number.isFinite) || Math.abs(sum - 1) > 1e-3) {
    throw new Error('the WebGPU kernel returned invalid outputs');
  }
  return policy;
}
