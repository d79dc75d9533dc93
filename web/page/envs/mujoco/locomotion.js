// What Gymnasium's planar MuJoCo locomotion envs (Hopper-v5, HalfCheetah-v5, Walker2d-v5) share, ported from
// gymnasium/envs/mujoco/{mujoco_env,hopper_v5,half_cheetah_v5,walker2d_v5}.py: reset noise, frame skip,
// observation (qpos without x, then qvel, clipped to ±10 for Hopper and Walker2d), forward + healthy -
// control-cost reward, health-based termination. The physics is MuJoCo itself (engine.js), the same
// version as the Python side; state = [qpos, qvel], so reset({state}) replays a Gymnasium episode from
// env.unwrapped.state_vector(). Runs in Node and the browser: no DOM.
import { rng } from '../base.js';
import { engineBytes, loadEngine, mj, model } from './engine.js';

/** Await before constructing any MuJoCo env: source as loadEngine's (the page passes the build's). */
export const load = (source) => loadEngine(source);

const f32 = Math.fround;

/** A standard normal from a PRNG returning [0, 1) (Box-Muller; Gymnasium's PCG64 stream is not reproduced). */
function normal(rand) {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * spec.mujoco: {xml, frameSkip, forwardWeight, ctrlCostWeight, healthyReward (0: none), noise, qvelNoise
 * ('uniform' | 'normal'), obsClip (qvel clip, or null), healthy(qpos, qvel, spec) -> bool (or null: always)}.
 */
export class LocomotionEnv {
  steps = 0;
  #rand = rng((Math.random() * 2 ** 32) >>> 0);

  constructor(spec) {
    const M = mj(); // throws, naming the fix, before load() resolved
    this.spec = spec;
    this.cfg = spec.mujoco;
    this.model = model(this.cfg.xml);
    this.data = new M.MjData(this.model);
    this.nq = this.model.nq;
    this.nv = this.model.nv;
    this.nu = this.model.nu;
    this.dt = this.model.opt.timestep * this.cfg.frameSkip; // Gymnasium's env.dt
    this.initQpos = Float64Array.from(this.data.qpos); // mj_resetData's qpos0, as env.init_qpos
    this.initQvel = Float64Array.from(this.data.qvel);
    this.obsDim = this.nq - 1 + this.nv;
    this.state = new Float64Array(this.nq + this.nv);
    this.obs = new Float64Array(this.obsDim); // float64, as Gymnasium's MuJoCo observations
    this.ctrl = new Float64Array(this.nu);
  }

  // Live views into the engine's memory; taken again if the heap grew (a grown heap detaches old views).
  #views() {
    if (!this.v || this.v.qpos.buffer.byteLength === 0) {
      const d = this.data;
      this.v = { qpos: d.qpos, qvel: d.qvel, ctrl: d.ctrl, act: d.act };
    }
    return this.v;
  }

  /** reset({seed}): init_qpos/qvel plus Gymnasium's reset noise from the page's PRNG; reset({state}): exactly
   * that [qpos, qvel]; reset({}): the next start of the PRNG's stream. As Gymnasium: mj_resetData (which also
   * clears the solver's warm start), then set_state (qpos, qvel, mj_forward). */
  reset({ seed, state } = {}) {
    const n = this.nq + this.nv;
    if (seed !== undefined) this.#rand = rng(seed);
    if (state !== undefined) {
      if (state.length !== n)
        throw new Error(`${this.spec.id}: a state has ${n} values (qpos, qvel), got ${state.length}`);
      this.state.set(state);
    } else {
      const r = this.#rand,
        s = this.cfg.noise;
      for (let i = 0; i < this.nq; i++) this.state[i] = this.initQpos[i] + (-s + 2 * s * r());
      for (let i = 0; i < this.nv; i++) {
        this.state[this.nq + i] =
          this.initQvel[i] + (this.cfg.qvelNoise === 'normal' ? s * normal(r) : -s + 2 * s * r());
      }
    }
    mj().mj_resetData(this.model, this.data);
    this.steps = 0;
    this.#setQ();
    return this.obs;
  }

  /** Overwrite [qpos, qvel] (a perturbation) and recompute obs; steps unchanged. */
  setState(state) {
    this.state.set(state);
    this.#setQ();
  }

  #setQ() {
    const v = this.#views();
    v.qpos.set(this.state.subarray(0, this.nq));
    v.qvel.set(this.state.subarray(this.nq));
    mj().mj_forward(this.model, this.data);
    this.#read();
  }

  #read() {
    const { qpos, qvel } = this.#views(),
      o = this.obs,
      c = this.cfg.obsClip;
    this.state.set(qpos);
    this.state.set(qvel, this.nq);
    for (let i = 1; i < this.nq; i++) o[i - 1] = qpos[i];
    for (let i = 0; i < this.nv; i++)
      o[this.nq - 1 + i] = c === null ? qvel[i] : Math.min(Math.max(qvel[i], -c), c);
  }

  /** Is the body within the healthy ranges (always true for envs without them, e.g. HalfCheetah)? */
  healthy() {
    return (
      this.cfg.healthy === null ||
      this.cfg.healthy(this.state.subarray(0, this.nq), this.state.subarray(this.nq))
    );
  }

  /**
   * One step: ctrl = action (float32, as the action space; MuJoCo clamps it to ctrlrange), frame_skip
   * mj_step, mj_rnePostConstraint; reward = forward_weight * x velocity + healthy_reward - ctrl_cost.
   * Returns {obs, reward, terminated, truncated}.
   */
  step(action) {
    const M = mj(),
      m = this.model,
      d = this.data,
      v = this.#views(),
      c = this.cfg;
    // ctrl_cost = w * np.sum(np.square(action)): float32 squares and sum, the Python float weight in float32
    let sq = 0;
    for (let i = 0; i < this.nu; i++) {
      const a = f32(action[i]);
      this.ctrl[i] = a;
      sq = f32(sq + f32(a * a));
    }
    const ctrlCost = f32(f32(c.ctrlCostWeight) * sq);
    v.ctrl.set(this.ctrl);
    const x0 = v.qpos[0];
    for (let i = 0; i < c.frameSkip; i++) M.mj_step(m, d);
    M.mj_rnePostConstraint(m, d);
    this.steps++;
    this.#read();
    const xVel = (this.state[0] - x0) / this.dt;
    const healthy = this.healthy();
    const reward =
      c.forwardWeight * xVel + (c.healthyReward ? (healthy ? c.healthyReward : 0) : 0) - ctrlCost;
    const terminated = c.healthy !== null && !healthy;
    return { obs: this.obs, reward, terminated, truncated: this.steps >= this.spec.maxSteps };
  }

  /** Bytes of the engine's memory (window.app.status().engineBytes: constant over a run, or something leaks). */
  get engineBytes() {
    return engineBytes();
  }

  /** Free the engine memory of this env (its MjData); the env is unusable after. */
  close() {
    if (this.data) this.data.delete();
    this.data = null;
    this.v = null;
  }
}

/** Gymnasium's observation features for joints (MuJoCo's joint names, rootx first): qpos without rootx, then
 * qvel; rootz is the torso's height, rooty its angle, the others joint angles. */
export function obsNames(joints) {
  const what = (j) =>
    j === 'rootz' ? 'torso z' : j === 'rooty' ? 'torso angle' : j === 'rootx' ? 'torso x' : `${j} angle`;
  return [...joints.slice(1).map(what), ...joints.map((j) => `${what(j)} velocity`)];
}
