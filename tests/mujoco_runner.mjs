// The MuJoCo JS envs (web/page/envs/mujoco/), driven by tests/test_mujoco.py: one JSON request on stdin,
// one JSON answer on stdout; float64 arrays travel as base64 of their little-endian bytes (exact).
//   {cmd: 'models'}: per env id, the XML text the env module ships and the compiled model's sizes
//   {cmd: 'step', env, states, actions}: per row, reset({state}) then one step(action)
//   {cmd: 'open', env, state, actions}: one reset({state}) then every action, terminations ignored
//   {cmd: 'resets', env, n}: the states of reset({seed}) for seeds 0 to n - 1
//   {cmd: 'closed', env, starts, kernel}: greedy episodes from each start state of the compiled policy in the
//     kernel folder (docs/design.md), run as the page runs it: its wasm backend, then the agent's action
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { agentAction } from '../web/page/core/actions.js';
import { load } from '../web/page/core/backends/wasm.js';
import { ENVS } from '../web/page/envs/index.js';
import { loadEngine, model } from '../web/page/envs/mujoco/engine.js';

const f64 = (s) => new Float64Array(new Uint8Array(Buffer.from(s, 'base64')).buffer);
const b64 = (a) => Buffer.from(Float64Array.from(a).buffer).toString('base64');

function chunks(flat, n) {
  const out = [];
  for (let i = 0; i < flat.length; i += n) out.push(flat.subarray(i, i + n));
  return out;
}

const req = JSON.parse(
  await new Promise((resolve) => {
    let s = '';
    process.stdin
      .on('data', (d) => {
        s += d;
      })
      .on('end', () => resolve(s));
  }),
);
await loadEngine();
const out = {};
if (req.cmd === 'models') {
  for (const [id, e] of Object.entries(ENVS)) {
    if (!e.spec.mujoco) continue;
    const m = model(e.spec.mujoco.xml);
    const env = new e.Env();
    out[id] = {
      xml: e.spec.mujoco.xml,
      nq: m.nq,
      nv: m.nv,
      nu: m.nu,
      ngeom: m.ngeom,
      timestep: m.opt.timestep,
      spec: e.spec,
      obsDim: env.obsDim,
      dt: env.dt,
      initQpos: Array.from(env.initQpos),
      initQvel: Array.from(env.initQvel),
    };
    env.close();
  }
} else {
  const { spec, Env } = ENVS[req.env];
  const env = new Env(),
    S = env.nq + env.nv;
  if (req.cmd === 'step') {
    const obs = [],
      rew = [],
      term = [];
    const acts = chunks(f64(req.actions), env.nu);
    chunks(f64(req.states), S).forEach((s, i) => {
      env.reset({ state: s });
      const r = env.step(acts[i]);
      obs.push(...r.obs);
      rew.push(r.reward);
      term.push(r.terminated);
    });
    Object.assign(out, { obs: b64(obs), reward: b64(rew), terminated: term });
  } else if (req.cmd === 'open') {
    env.reset({ state: f64(req.state) });
    const states = [];
    for (const a of chunks(f64(req.actions), env.nu)) {
      env.step(a);
      states.push(...env.state);
    }
    out.states = b64(states);
  } else if (req.cmd === 'resets') {
    const states = [];
    for (let seed = 0; seed < req.n; seed++) {
      env.reset({ seed });
      states.push(...env.state);
    }
    out.states = b64(states);
  } else if (req.cmd === 'closed') {
    const dir = pathToFileURL(`${req.kernel}/`);
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8'));
    // the bytes handed over as the fetch's response: Node's fetch reads no file: URLs
    const response = new Response(readFileSync(new URL('policy.wasm', dir)));
    const policy = await load(manifest, dir.href, { response });
    const act = (obs) => agentAction(spec, policy.forward(obs)),
      returns = [],
      lengths = [];
    for (const s of chunks(f64(req.starts), S)) {
      let R = 0,
        r;
      const obs = env.reset({ state: s });
      let o = obs;
      do {
        r = env.step(act(o));
        R += r.reward;
        o = r.obs;
      } while (!r.terminated && !r.truncated);
      returns.push(R);
      lengths.push(env.steps);
    }
    Object.assign(out, { returns, lengths });
  }
  env.close();
}
process.stdout.write(JSON.stringify(out));
