// policy.webgpu.js: the WebGPU loader, copied verbatim into every kernel folder (tiny_infer/webgpu.py). What
// differs per policy (tinygrad's WGSL kernels, their dispatch plan, the buffer and weight layout) is data, in
// the module that compile generates beside it.
import DATA from './policy.webgpu.data.js';

const { obs_dim: OBS_DIM, n_out: N_OUT, batch: BATCH, outputs: OUTPUTS, weights_floats: WEIGHTS_FLOATS } = DATA;
const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01, UNIFORM = 0x40, COMPUTE = 0x4;

async function weightBytes(src) {
  if (src === undefined || src === null) src = new URL(`./${DATA.weights_file}`, import.meta.url);
  if (typeof src === 'string' || src instanceof URL) {
    const r = await fetch(src);
    if (!r.ok) throw new Error(`policy.webgpu.js: fetching ${src} failed (${r.status})`);
    src = await r.arrayBuffer();
  }
  const bytes = ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : new Uint8Array(src);
  if (bytes.byteLength !== WEIGHTS_FLOATS * 4) {
    throw new Error(`policy.webgpu.js: weights are ${bytes.byteLength} bytes, expected ${WEIGHTS_FLOATS * 4} (${DATA.weights_file} of the same compile)`);
  }
  return bytes;
}

/** createPolicy(device, weightsUrlOrBytes) -> {forward(obs), forwardBatch(obs, n), saliency(obs, k)?, batchSize, obsDim, nOut, destroy()} */
export async function createPolicy(device, weightsUrlOrBytes) {
  const bytes = await weightBytes(weightsUrlOrBytes);
  const made = [];
  const buffer = (size, usage) => { const b = device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage }); made.push(b); return b; };
  const weights = {};
  for (const [name, [off, n]] of Object.entries(DATA.weights)) {
    weights[name] = buffer(n * 4, STORAGE | COPY_DST);
    device.queue.writeBuffer(weights[name], 0, bytes, off * 4, n * 4);
  }
  const inf = buffer(16, UNIFORM | COPY_DST);
  device.queue.writeBuffer(inf, 0, new Float32Array([Infinity, 0, 0, 0]));
  device.pushErrorScope('validation');
  const pipelines = await Promise.all(DATA.kernels.map(async (k) => {
    const entries = [{ binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } }];
    for (let i = 1; i <= k.n_bufs; i++) entries.push({ binding: i, visibility: COMPUTE, buffer: { type: 'storage' } });
    const layout = device.createBindGroupLayout({ entries });
    const pipeline = await device.createComputePipelineAsync({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: device.createShaderModule({ code: k.code }), entryPoint: k.name },
    });
    return { pipeline, layout };
  }));
  const graphs = {};
  for (const [key, g] of Object.entries(DATA.graphs)) {
    const bufs = { ...weights };
    for (const [name, n] of Object.entries(g.buffers)) bufs[name] = buffer(n * 4, STORAGE | COPY_SRC | COPY_DST);
    const staging = buffer(g.batch * g.width * 4, MAP_READ | COPY_DST);
    const launches = g.calls.map(([k, names, grid]) => ({
      pipeline: pipelines[k].pipeline, grid,
      bindGroup: device.createBindGroup({ layout: pipelines[k].layout, entries: [{ binding: 0, resource: { buffer: inf } },
        ...names.map((n, i) => ({ binding: i + 1, resource: { buffer: bufs[n] } }))] }),
    }));
    graphs[key] = { batch: g.batch, width: g.width, input: bufs.input, output: bufs.output, select: bufs.select, staging, launches };
  }
  const err = await device.popErrorScope();
  if (err) throw new Error(`policy.webgpu.js: WebGPU rejected the kernels: ${err.message}`);

  let queue = Promise.resolve();  // one run at a time: they share buffers
  const run = (g, obs, n, select) => {
    const job = queue.then(async () => {
      if (obs.length < n * OBS_DIM) throw new Error(`expected ${n * OBS_DIM} observation values, got ${obs.length}`);
      const x = obs instanceof Float32Array ? obs : Float32Array.from(obs);
      device.queue.writeBuffer(g.input, 0, x.buffer, x.byteOffset, n * OBS_DIM * 4);
      if (select && g.select) device.queue.writeBuffer(g.select, 0, select);  // no select: a constant decision
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (const l of g.launches) { pass.setPipeline(l.pipeline); pass.setBindGroup(0, l.bindGroup); pass.dispatchWorkgroups(...l.grid); }
      pass.end();
      const bytes = n * g.width * 4;
      enc.copyBufferToBuffer(g.output, 0, g.staging, 0, bytes);
      device.queue.submit([enc.finish()]);
      await g.staging.mapAsync(MAP_READ, 0, bytes);
      const out = new Float32Array(g.staging.getMappedRange(0, bytes).slice(0));
      g.staging.unmap();
      return out;
    });
    queue = job.catch(() => {});
    return job;
  };
  return {
    obsDim: OBS_DIM, nOut: N_OUT, batchSize: BATCH, outputs: OUTPUTS,
    /** forward(Float32Array obs[obsDim]) -> Float32Array [probs | mean..., value] */
    forward: (obs) => run(graphs.single, obs, 1),
    /** forwardBatch(Float32Array obs[n * obsDim], n <= batchSize) -> Float32Array [n * nOut] */
    forwardBatch: (obs, n) => {
      if (!(n >= 1 && n <= BATCH)) return Promise.reject(new Error(`forwardBatch: n must be in [1, ${BATCH}], got ${n}`));
      return run(graphs.batch, obs, n);
    },
    /** saliency(Float32Array obs[obsDim], k) -> Float32Array [obsDim]: d decision_k / d obs (tiny_infer/saliency.py) */
    saliency: graphs.saliency && ((obs, k) => {
      const select = new Float32Array(OUTPUTS[0].size);  // one-hot of k (the action head's width)
      if (!(k >= 0 && k < select.length)) return Promise.reject(new Error(`saliency: k must be in [0, ${select.length}), got ${k}`));
      select[k] = 1;
      return run(graphs.saliency, obs, 1, select);
    }),
    destroy: () => { for (const b of made) b.destroy(); },
  };
}
