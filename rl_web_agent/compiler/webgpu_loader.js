// policy.webgpu.js: the WebGPU loader, copied verbatim into every kernel folder (tiny_infer/webgpu.py). What
// differs per policy (tinygrad's WGSL kernels, their dispatch plan, the buffer and weight layout) is data, in
// the module that compile generates beside it.
import DATA from './policy.webgpu.data.js';

const { obs_dim: OBS_DIM, n_out: N_OUT, batch: BATCH, outputs: OUTPUTS, weights_bytes: WEIGHTS_BYTES } = DATA;
const BYTES_IN = DATA.input === 'uint8';  // a convolutional policy reads uint8 frames, the others float32
const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01, UNIFORM = 0x40, COMPUTE = 0x4;

async function weightBytes(src) {
  if (src === undefined || src === null) src = new URL(`./${DATA.weights_file}`, import.meta.url);
  if (typeof src === 'string' || src instanceof URL) {
    const r = await fetch(src);
    if (!r.ok) throw new Error(`policy.webgpu.js: fetching ${src} failed (${r.status})`);
    src = await r.arrayBuffer();
  }
  const bytes = ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : new Uint8Array(src);
  if (bytes.byteLength !== WEIGHTS_BYTES) {
    throw new Error(`policy.webgpu.js: weights are ${bytes.byteLength} bytes, expected ${WEIGHTS_BYTES} (${DATA.weights_file} of the same compile)`);
  }
  return bytes;
}

// IEEE binary16 -> the float it holds (exact; compile refuses weights that overflow float16)
function half(h) {
  const m = h & 0x3ff, e = (h >> 10) & 0x1f, v = e ? (1024 + m) * 2 ** (e - 25) : m * 2 ** -24;
  return h & 0x8000 ? -v : v;
}

/** One tensor of the weights file as the float32 the kernels read: policy.c's widen(), in the same roundings. */
function widen(bytes, { offset, size, dtype, scales, channels }) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out = new Float32Array(size);
  if (dtype === 'f32') for (let i = 0; i < size; i++) out[i] = view.getFloat32(offset + 4 * i, true);
  else if (dtype === 'f16') for (let i = 0; i < size; i++) out[i] = half(view.getUint16(offset + 2 * i, true));
  else if (dtype === 'int8') {
    const s = new Float32Array(channels);
    for (let o = 0; o < channels; o++) s[o] = view.getFloat32(scales + 4 * o, true);
    // int8 x float32 is exact in a double; storing it rounds once, as C's float product does
    for (let i = 0; i < size; i++) out[i] = view.getInt8(offset + i) * s[i % channels];
  } else throw new Error(`policy.webgpu.js: weights of dtype '${dtype}' (a newer compile?)`);
  return out;
}

/** createPolicy(device, weightsUrlOrBytes) -> {forward(obs), forwardBatch(obs, n)?, saliency(obs, k)?, batchSize, obsDim, nOut, inputType, destroy()} */
export async function createPolicy(device, weightsUrlOrBytes) {
  const bytes = await weightBytes(weightsUrlOrBytes);
  const made = [];
  const buffer = (size, usage) => { const b = device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage }); made.push(b); return b; };
  const weights = {};
  for (const [name, entry] of Object.entries(DATA.weights)) {
    weights[name] = buffer(entry.size * 4, STORAGE | COPY_DST);
    device.queue.writeBuffer(weights[name], 0, widen(bytes, entry));
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
    for (const [name, n] of Object.entries(g.buffers)) bufs[name] = buffer(n * (name === 'input' && BYTES_IN ? 1 : 4), STORAGE | COPY_SRC | COPY_DST);
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
      if (BYTES_IN) {  // writeBuffer takes whole words: the frames padded to a multiple of 4 bytes
        const x = new Uint8Array(Math.ceil((n * OBS_DIM) / 4) * 4);
        x.set(obs.length === n * OBS_DIM ? obs : obs.subarray(0, n * OBS_DIM));
        device.queue.writeBuffer(g.input, 0, x);
      } else {
        const x = obs instanceof Float32Array ? obs : Float32Array.from(obs);
        device.queue.writeBuffer(g.input, 0, x.buffer, x.byteOffset, n * OBS_DIM * 4);
      }
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
    inputType: BYTES_IN ? 'uint8' : 'float32',
    /** forward(Float32Array obs[obsDim], or Uint8Array frames) -> Float32Array [probs | logits | mean..., value] */
    forward: (obs) => run(graphs.single, obs, 1),
    /** forwardBatch(Float32Array obs[n * obsDim], n <= batchSize) -> Float32Array [n * nOut]; null without a batch graph */
    forwardBatch: graphs.batch && ((obs, n) => {
      if (!(n >= 1 && n <= BATCH)) return Promise.reject(new Error(`forwardBatch: n must be in [1, ${BATCH}], got ${n}`));
      return run(graphs.batch, obs, n);
    }),
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
