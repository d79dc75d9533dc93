// The page's robustness sweep (web/page/lazy/sweep.js) in Node, on the same V8: its wall time and the CPU time
// it used, which a loaded machine does not inflate. Prints one JSON line.
// node bench/js/sweep_node.mjs KERNEL_DIR ENV_ID PARAM [VALUES=20] [EPISODES=256]
import fs from 'node:fs';
import path from 'node:path';
import { linspace, runSweep } from '../../web/page/lazy/sweep.js';
import { ENVS } from '../../web/page/envs/index.js';

const [dir, envId, param, nValues = '20', nEpisodes = '256'] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const { instance } = await WebAssembly.instantiate(fs.readFileSync(path.join(dir, 'policy.wasm')), {});
// forward_batch is policy.lazy.wasm's, on policy.wasm's memory (the kernel folder)
const memory = instance.exports.memory;
const lazy = await WebAssembly.instantiate(fs.readFileSync(path.join(dir, 'policy.lazy.wasm')), {
  env: { memory },
});
const e = { ...lazy.instance.exports, memory },
  nOut = manifest.outputs.reduce((n, o) => n + o.size, 0);
// the wasm backend's forwardBatch (web/page/core/backends/wasm.js)
const batch = {
  size: e.batch_size(),
  forward(obs, n) {
    const f32 = new Float32Array(e.memory.buffer);
    f32.set(obs.subarray(0, n * manifest.obs_dim), e.batch_input_ptr() >> 2);
    e.forward_batch(n);
    const at = e.batch_output_ptr() >> 2;
    return f32.subarray(at, at + n * nOut);
  },
};
const { spec, Env } = ENVS[envId];
const c = spec.constants[param];
const cpu0 = process.cpuUsage(),
  t0 = performance.now();
const rows = await runSweep({
  Env,
  spec,
  constants: {},
  param,
  values: linspace(c.min, c.max, Number(nValues)),
  seeds: Array.from({ length: Number(nEpisodes) }, (_, i) => i + 1),
  batch,
  outputs: manifest.outputs,
});
const wall = performance.now() - t0,
  cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ wall_ms: wall, cpu_ms: (cpu.user + cpu.system) / 1000, rows }));
