// Our WebGPU kernel (policy.webgpu.js from rl_web_agent compile, the kernel folder) as a bench peer. Headless Chromium runs
// WebGPU on SwiftShader (a CPU implementation), so these numbers say nothing about a real GPU.

const flatten = (r) => {
  if (r instanceof Float32Array || Array.isArray(r)) return r;
  const head = r.probs ?? r.mean;
  return [...head, ...(Array.isArray(r.value) || ArrayBuffer.isView(r.value) ? r.value : [r.value])];
};

export async function webgpuPeer(moduleUrl, weightsUrl) {
  if (!moduleUrl) throw new Error('no policy.webgpu.js (rl_web_agent compile did not run)');
  if (!navigator.gpu) throw new Error('navigator.gpu missing (WebGPU disabled)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const mod = await import(moduleUrl);
  const policy = await mod.createPolicy(device, weightsUrl);
  const info = adapter.info || {};
  const fb = policy.forwardBatch || policy.forward_batch;
  return {
    name: 'ours (WebGPU)',
    async: true,
    batchSize: policy.batchSize || policy.batch_size || 256,
    adapterInfo: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown',
    init() {},
    async single(obs) {
      return flatten(await policy.forward(obs));
    },
    batch: fb && (async (flat, n) => flatten(await fb.call(policy, flat, n))),
  };
}
