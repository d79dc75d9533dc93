// The JS side of tests/lockstep.py: the envs of web/page/envs/index.js behind one JSON line per request
// and one per answer. Started as `node lockstep_runner.mjs <env-id> <constants json>`. Arrays travel as
// base64 (float64 unless noted); an answer's rows: obs (float32), state, reward, flags (uint8: terminated |
// truncated << 1).
//
// {cmd: 'reset', states}                   one env per state, reset({state}) -> rows
// {cmd: 'step', index, actions}            step envs[index[j]] with action row j -> rows
// {cmd: 'replay', lengths, starts, actions, gym}
//                                          each episode from reset({state: start}) under its actions, all
//                                          rows (reset rows included); with gym (Gymnasium's states, one per
//                                          row), lockstep: before every step but the first, setState(gym row)
// {cmd: 'explain', items, table}           one step per item ({start, steps, action|null}: from reset({state:
//                                          start}) when steps is 0, else from setState(start) after steps
//                                          steps) with env.libm answering from table ({fn: pairs x, y, ...})
//                                          -> rows, missing ({fn: arguments not in table}), used (per item:
//                                          [fn, x, own, table] where the table's value differs from LIBM's)
// {cmd: 'libm', fn, x}                     LIBM[fn] (web/page/envs/sincos.js) of each x; fn 'native_sin'
//                                          and 'native_cos' are Math.sin and Math.cos
// {cmd: 'seeds', seeds}                    reset({seed}) -> rows
// `node lockstep_runner.mjs --specs` prints the specs (JSON) of the envs without an engine instead.
import { createInterface } from 'node:readline';
import { ENVS } from '../web/page/envs/index.js';
import { LIBM } from '../web/page/envs/sincos.js';

const [id, constantsJson] = process.argv.slice(2);
if (id === '--specs') {
  // the envs whose physics is plain JS (not an engine's: no spec.engine)
  const plain = Object.entries(ENVS).filter(([, v]) => !v.spec.engine);
  process.stdout.write(JSON.stringify(Object.fromEntries(plain.map(([k, v]) => [k, v.spec]))));
  process.exit(0);
}
if (!ENVS[id]) throw new Error(`no env ${id} in web/page/envs/index.js`);
const { spec, Env } = ENVS[id];
const constants = JSON.parse(constantsJson ?? '{}');
const A = spec.action.type === 'box' ? spec.action.shape.reduce((a, b) => a * b, 1) : 1;
const S = spec.stateSize,
  O = spec.obsNames.length;

const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f64 = (s) => new Float64Array(new Uint8Array(Buffer.from(s, 'base64')).buffer);
const discrete = spec.action.type === 'discrete';
const actionOf = (acts, j) => (discrete ? acts[j] : acts.subarray(j * A, (j + 1) * A));

class Rows {
  constructor(n) {
    this.obs = new Float32Array(n * O);
    this.state = new Float64Array(n * S);
    this.reward = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.k = 0;
  }
  push(env, r) {
    const k = this.k++;
    this.obs.set(env.obs, k * O);
    this.state.set(env.state, k * S);
    if (r) {
      this.reward[k] = r.reward;
      this.flags[k] = r.terminated | (r.truncated << 1);
    }
  }
  out() {
    return { obs: b64(this.obs), state: b64(this.state), reward: b64(this.reward), flags: b64(this.flags) };
  }
}

// env.libm answering from table; an argument not in it gets LIBM's value and is listed in missing
function lookup(table, missing, used) {
  const make = (fn) => {
    const t = table.get(fn) ?? new Map(),
      own = LIBM[fn];
    return (x) => {
      const y = own(x);
      if (x === 0 || Number.isNaN(x)) return y; // exact in every libm (and a Map does not tell -0 from 0)
      if (!t.has(x)) {
        if (!missing[fn]) missing[fn] = new Set();
        missing[fn].add(x);
        return y;
      }
      const v = t.get(x);
      if (!Object.is(v, y)) used.push([fn, x, y, v]);
      return v;
    };
  };
  return Object.fromEntries(Object.keys(LIBM).map((fn) => [fn, make(fn)]));
}

function start(env, state, steps) {
  env.reset({ state });
  if (steps > 0) {
    env.setState(state);
    env.steps = steps;
  }
}

let envs = [];
const handlers = {
  reset(m) {
    const s = f64(m.states),
      n = s.length / S,
      rows = new Rows(n);
    envs = [];
    for (let j = 0; j < n; j++) {
      const e = new Env(constants);
      e.reset({ state: s.subarray(j * S, (j + 1) * S) });
      envs.push(e);
      rows.push(e);
    }
    return rows.out();
  },
  step(m) {
    const acts = f64(m.actions),
      rows = new Rows(m.index.length);
    m.index.forEach((i, j) => {
      rows.push(envs[i], envs[i].step(actionOf(acts, j)));
    });
    return rows.out();
  },
  replay(m) {
    const starts = f64(m.starts),
      acts = f64(m.actions),
      gym = m.gym ? f64(m.gym) : null;
    const rows = new Rows(m.lengths.reduce((a, n) => a + n + 1, 0)),
      env = new Env(constants);
    let t = 0;
    m.lengths.forEach((n, ep) => {
      env.reset({ state: starts.subarray(ep * S, (ep + 1) * S) });
      rows.push(env);
      for (let i = 0; i < n; i++, t++) {
        if (gym && i > 0) env.setState(gym.subarray((rows.k - 1) * S, rows.k * S));
        rows.push(env, env.step(actionOf(acts, t)));
      }
    });
    return rows.out();
  },
  explain(m) {
    const table = new Map(
      Object.entries(m.table).map(([fn, s]) => {
        const p = f64(s),
          t = new Map();
        for (let i = 0; i < p.length; i += 2) t.set(p[i], p[i + 1]);
        return [fn, t];
      }),
    );
    const missing = {},
      used = [],
      rows = new Rows(m.items.length);
    for (const it of m.items) {
      const env = new Env(constants),
        u = [];
      env.libm = lookup(table, missing, u);
      start(env, Float64Array.from(it.start), it.steps);
      const action = it.action === null ? null : actionOf(Float64Array.from(it.action), 0);
      rows.push(env, action === null ? null : env.step(action));
      used.push(u);
    }
    const miss = {};
    for (const [fn, s] of Object.entries(missing)) miss[fn] = b64(Float64Array.from(s));
    return { ...rows.out(), missing: miss, used };
  },
  libm(m) {
    const f = { native_sin: Math.sin, native_cos: Math.cos }[m.fn] ?? LIBM[m.fn];
    return { y: b64(f64(m.x).map(f)) };
  },
  seeds(m) {
    const rows = new Rows(m.seeds.length),
      env = new Env(constants);
    for (const seed of m.seeds) {
      env.reset({ seed });
      rows.push(env);
    }
    return rows.out();
  },
};

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const m = JSON.parse(line);
  process.stdout.write(`${JSON.stringify(handlers[m.cmd](m))}\n`);
}
