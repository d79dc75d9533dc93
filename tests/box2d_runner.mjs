// The JS side of tests/test_box2d.py: the Box2D envs of web/page/envs/index.js (spec.engine 'box2d') and
// their engine behind one JSON request on stdin and one JSON answer on stdout. Arrays travel as base64.
//
// {cmd: 'replay', env, episodes: [{seed, constants, actions, f32, reuse}]}
//     each episode from reset({seed}) under its actions (float64, n x action size; discrete: one value per
//     step; f32: passed as Float32Arrays, NumPy's float32 actions), in the previous episode's env when reuse
//     (as Gymnasium's env is reused across resets), else a new one: obs (float32, reset's row first), reward
//     (float64, one per step), terminated (uint8), and micros (the steps' mean wall time)
// {cmd: 'walker_roundtrip', every, episodes: [{seed, constants, actions, f32}]}
//     BipedalWalker episodes, each in a new env; every `every` steps its state goes through reset({state}) of
//     an env with the default constants (normal terrain: the obstacles must come from the state), then
//     setState (the lidar cast anew): counts of checks whose state, obs or re-cast lidar differ from the
//     original's, and of those whose re-cast lidar differs once the state's obstacles are dropped
// {cmd: 'libm', x}            the engine's sinf and cosf (float32) of each float32 x
// {cmd: 'rng', seed, ops}     default_rng(seed)'s draws (seed: a decimal string, any size): ops = [[name, a, b], ...] -> float64 values
import { readFileSync } from 'node:fs';
import { ENVS } from '../web/page/envs/index.js';
import { box2d, loadEngine } from '../web/page/envs/box2d/engine.js';
import { Generator } from '../web/page/envs/np_random.js';
import { BipedalWalker, S as WALKER } from '../web/page/envs/box2d/bipedal_walker.js';

const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const bytes = (s) => new Uint8Array(Buffer.from(s, 'base64')).buffer;

await loadEngine();
const req = JSON.parse(readFileSync(0, 'utf8'));
let out;
if (req.cmd === 'replay') {
  const { spec, Env } = ENVS[req.env];
  if (spec?.engine !== 'box2d') throw new Error(`${req.env} is no Box2D env of web/page/envs/index.js`);
  const A = spec.action.type === 'box' ? spec.action.shape[0] : 1;
  const obs = [],
    reward = [],
    terminated = [];
  let steps = 0,
    ms = 0;
  let env = null;
  for (const ep of req.episodes) {
    if (!(ep.reuse && env)) {
      env?.close();
      env = new Env(ep.constants ?? {});
    }
    const acts = new Float64Array(bytes(ep.actions));
    obs.push(...env.reset({ seed: ep.seed }));
    const n = acts.length / A;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const a = acts.subarray(i * A, (i + 1) * A);
      const r = env.step(A === 1 ? acts[i] : ep.f32 ? Float32Array.from(a) : Array.from(a));
      obs.push(...r.obs);
      reward.push(r.reward);
      terminated.push(r.terminated ? 1 : 0);
    }
    ms += performance.now() - t0;
    steps += n;
  }
  env?.close();
  out = {
    obs: b64(Float32Array.from(obs)),
    reward: b64(Float64Array.from(reward)),
    terminated: b64(Uint8Array.from(terminated)),
    micros: (1000 * ms) / Math.max(steps, 1),
    engineBytes: box2d().memoryBytes(),
  };
} else if (req.cmd === 'walker_roundtrip') {
  const Env = BipedalWalker,
    S = WALKER,
    A = 4;
  const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  const lidar = (st) => Array.from(st.subarray(S.lidar, S.lidar + 10));
  const copy = new Env(),
    bare = new Env();
  out = { checked: 0, state: 0, obs: 0, lidar: 0, withoutObstacles: 0 };
  for (const ep of req.episodes) {
    const env = new Env(ep.constants ?? {});
    env.reset({ seed: ep.seed });
    const acts = new Float64Array(bytes(ep.actions));
    for (let i = 0; i < acts.length / A; i++) {
      const a = acts.subarray(i * A, (i + 1) * A);
      env.step(ep.f32 ? Float32Array.from(a) : Array.from(a));
      if (i % req.every) continue;
      const s = Float64Array.from(env.state);
      copy.reset({ state: s });
      out.checked++;
      out.state += !same(copy.state, s);
      out.obs += !same(copy.obs, env.obs);
      copy.setState(s);
      out.lidar += !same(lidar(copy.state), lidar(s));
      const flat = Float64Array.from(s).fill(0, S.nObstacles);
      bare.reset({ state: flat });
      bare.setState(flat);
      out.withoutObstacles += !same(lidar(bare.state), lidar(s));
    }
    env.close();
  }
  copy.close();
  bare.close();
} else if (req.cmd === 'libm') {
  const x = new Float32Array(bytes(req.x));
  const e = box2d().exports;
  out = { sin: b64(x.map((v) => e.libm_sinf(v))), cos: b64(x.map((v) => e.libm_cosf(v))) };
} else if (req.cmd === 'rng') {
  const g = new Generator(req.seed);
  out = { values: req.ops.map(([name, a, b]) => g[name](a, b)) };
} else throw new Error(`unknown cmd ${req.cmd}`);
process.stdout.write(JSON.stringify(out));
