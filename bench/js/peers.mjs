// The contenders of the kernel benchmark, one factory each, for Node and the browser alike.
// Every peer computes the same function: obs [obs_dim] -> [probs..., value] (the kernel folder's output layout),
// and exposes single(obs) (one observation, sync or async) and batch(flat, n) (n observations at once).

export async function wasmPeer(name, bytes, lazyBytes = null) {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  let e = instance.exports;
  // our kernel's value and forward_batch are in policy.lazy.wasm, on policy.wasm's memory (the kernel folder)
  let lazyInput = null;
  if (lazyBytes) {
    const lazy = await WebAssembly.instantiate(lazyBytes, { env: { memory: e.memory } });
    const { input_ptr, ...rest } = lazy.instance.exports; // its input_ptr is value()'s and saliency's
    lazyInput = input_ptr;
    e = { ...rest, ...e };
  }
  for (const k of [
    'memory',
    'input_ptr',
    'output_ptr',
    'forward',
    'batch_size',
    'batch_input_ptr',
    'batch_output_ptr',
    'forward_batch',
  ]) {
    if (!(k in e)) throw new Error(`${name}: wasm lacks the kernel-folder export ${k}`);
  }
  return {
    name,
    async: false,
    init(obsDim, nOut) {
      const buf = e.memory.buffer;
      this.inp = new Float32Array(buf, e.input_ptr(), obsDim);
      // forward() writes the action head; value(), where there is one, returns the value of its own input
      this.nHead = e.value ? nOut - 1 : nOut;
      this.out = new Float32Array(buf, e.output_ptr(), this.nHead);
      if (e.value) this.vin = new Float32Array(buf, lazyInput(), obsDim);
      this.batchSize = e.batch_size();
      this.binp = new Float32Array(buf, e.batch_input_ptr(), this.batchSize * obsDim);
      this.bout = new Float32Array(buf, e.batch_output_ptr(), this.batchSize * nOut);
      this.res = new Float32Array(nOut);
    },
    single(obs) {
      this.inp.set(obs);
      e.forward();
      this.res.set(this.out);
      if (e.value) {
        this.vin.set(obs);
        this.res[this.nHead] = e.value();
      }
      return this.res;
    },
    batch(flat, n) {
      this.binp.set(flat);
      e.forward_batch(n);
      return this.bout.subarray(0, n * this.res.length);
    },
  };
}

export async function ortPeer(ort, onnxBytes) {
  ort.env.wasm.numThreads = 1; // single thread: what a page without cross-origin isolation gets anyway
  const session = await ort.InferenceSession.create(onnxBytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  return {
    name: 'onnxruntime-web (wasm)',
    async: true,
    batchSize: 256,
    init(obsDim) {
      this.obsDim = obsDim;
    },
    async single(obs) {
      const r = await session.run({
        obs: new ort.Tensor('float32', Float32Array.from(obs), [1, this.obsDim]),
      });
      return r.out.data;
    },
    async batch(flat, n) {
      const r = await session.run({
        obs: new ort.Tensor('float32', flat.slice(0, n * this.obsDim), [n, this.obsDim]),
      });
      return r.out.data;
    },
  };
}

// TensorFlow.js: the network built from the weights JSON with tf ops (matMul, add, tanh/relu, softmax).
export async function tfjsPeer(tf, backend, weights) {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
  await tf.ready();
  const { meta, tensors } = weights;
  const act = meta.activation === 'relu' ? tf.relu : tf.tanh;
  const T = (k) => tensors[k] && tf.tensor(tensors[k].data, tensors[k].shape, 'float32');
  const layers = (head) => {
    const out = [];
    for (let i = 0; tensors[`${head}.${i}.weight`]; i++) {
      out.push([tf.keep(tf.transpose(T(`${head}.${i}.weight`))), tf.keep(T(`${head}.${i}.bias`))]);
    }
    return out;
  };
  const heads = [layers('actor'), layers('critic')];
  let norm = null;
  if (meta.obs_norm) {
    const v = T('obs_norm.var');
    norm = [tf.keep(T('obs_norm.mean')), tf.keep(tf.sqrt(tf.add(v, meta.obs_norm.eps))), meta.obs_norm.clip];
  }
  const mlp = (x, ls) =>
    ls.reduce((h, [w, b], i) => {
      const z = tf.add(tf.matMul(h, w), b);
      return i < ls.length - 1 ? act(z) : z;
    }, x);
  const model = (x) =>
    tf.tidy(() => {
      if (norm) x = tf.clipByValue(tf.div(tf.sub(x, norm[0]), norm[1]), -norm[2], norm[2]);
      return tf.concat([tf.softmax(mlp(x, heads[0])), mlp(x, heads[1])], 1);
    });
  return {
    name: `TensorFlow.js (${backend})`,
    async: false,
    batchSize: 256,
    init(obsDim) {
      this.obsDim = obsDim;
    },
    single(obs) {
      const x = tf.tensor2d(obs, [1, this.obsDim]);
      const y = model(x);
      const d = y.dataSync();
      x.dispose();
      y.dispose();
      return d;
    },
    batch(flat, n) {
      const x = tf.tensor2d(flat.subarray(0, n * this.obsDim), [n, this.obsDim]);
      const y = model(x);
      const d = y.dataSync();
      x.dispose();
      y.dispose();
      return d;
    },
  };
}
