// The JS side of tests/test_atari.py: the Atari envs of web/page/envs/index.js (spec.engine 'ale') behind one
// JSON request on stdin and one JSON answer on stdout. Arrays travel as base64.
//
// {cmd: 'replay', env, episodes: [{seed, actions, ram?: [step, index, value], resets?}]}
//     env: a key of ENVS ('ALE/Pong-v5', 'PongNoFrameskip-v4 sb3-atari'); each episode in a new env from
//     reset({seed}) under its actions, stopping at the episode's end, or, `resets` times, going on from a
//     reset({}) (unseeded: after a lost life under EpisodicLifeEnv, a noop step); ram: after that many steps,
//     set one RAM byte through setState (a perturbation). Per episode: obs (uint8, reset's stack first, then
//     one per step and reset), screen (uint8 RGB, the last step's), reward (float64) and terminated,
//     truncated (uint8), one per step; micros: the mean wall time of a step
import { readFileSync } from 'node:fs';
import { ENVS } from '../web/page/envs/index.js';

const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const req = JSON.parse(readFileSync(0, 'utf8'));
if (req.cmd !== 'replay') throw new Error(`unknown cmd ${req.cmd}`);
const { spec, Env } = ENVS[req.env] ?? {};
if (spec?.engine !== 'ale') throw new Error(`${req.env} is no Atari env of web/page/envs/index.js`);
await (await import(`../web/page/envs/${ENVS[req.env].module}.js`)).load();
let steps = 0,
  ms = 0;
const episodes = req.episodes.map((ep) => {
  const env = new Env();
  const obs = [Uint8Array.from(env.reset({ seed: ep.seed }))],
    reward = [],
    terminated = [],
    truncated = [];
  let resets = 0;
  for (let t = 0; t < ep.actions.length; t++) {
    if (ep.ram && ep.ram[0] === t) {
      const s = Array.from(env.state);
      s[ep.ram[1]] = ep.ram[2];
      env.setState(s);
    }
    const t0 = performance.now();
    const r = env.step(ep.actions[t]);
    ms += performance.now() - t0;
    steps++;
    obs.push(Uint8Array.from(r.obs));
    reward.push(r.reward);
    terminated.push(r.terminated ? 1 : 0);
    truncated.push(r.truncated ? 1 : 0);
    if (r.terminated || r.truncated) {
      if (!(ep.resets > resets)) break;
      resets++;
      obs.push(Uint8Array.from(env.reset({})));
    }
  }
  const flat = new Uint8Array(obs.length * env.obsDim);
  for (const [i, o] of obs.entries()) flat.set(o, i * env.obsDim);
  const out = {
    obs: b64(flat),
    screen: b64(env.screen),
    ram: Array.from(env.state),
    reward: b64(Float64Array.from(reward)),
    terminated: b64(Uint8Array.from(terminated)),
    truncated: b64(Uint8Array.from(truncated)),
  };
  env.close();
  return out;
});
process.stdout.write(JSON.stringify({ episodes, micros: (ms / Math.max(steps, 1)) * 1000 }));
