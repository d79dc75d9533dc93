// Gymnasium's LunarLander-v3 (gymnasium/envs/box2d/lunar_lander.py) on the Box2D engine, operation for
// operation: the same Box2D calls in the same order with the same float32 arguments, the same float64
// arithmetic around them, and NumPy's random stream (np_random.js), so that reset({seed}) and every step
// give Gymnasium's bits (reference platform: README). `continuous` is the spec's action type; the
// continuous id is lunar_lander_continuous.js. Runs in Node and in the browser: no DOM.
//
// Particles are not simulated: Gymnasium creates them only when rendering, and its step results do not
// depend on them (they collide with the ground only, in islands of their own).
import { physicalConstants } from '../base.js';
import { cos, sin } from '../sincos.js';
import { box2d, loadEngine } from './engine.js';
import { Generator } from '../np_random.js';

export const load = (source) => loadEngine(source);

export const FPS = 50,
  SCALE = 30.0;
const MAIN_ENGINE_POWER = 13.0,
  SIDE_ENGINE_POWER = 0.6,
  INITIAL_RANDOM = 1000.0;
export const LANDER_POLY = [
  [-14, 17],
  [-17, 0],
  [-17, -10],
  [17, -10],
  [17, 0],
  [14, 17],
];
export const LEG_AWAY = 20,
  LEG_DOWN = 18,
  LEG_W = 2,
  LEG_H = 8;
const LEG_SPRING_TORQUE = 40,
  SIDE_ENGINE_HEIGHT = 14,
  SIDE_ENGINE_AWAY = 12,
  MAIN_ENGINE_Y_LOCATION = 4;
export const VIEWPORT_W = 600,
  VIEWPORT_H = 400;
export const W = VIEWPORT_W / SCALE,
  H = VIEWPORT_H / SCALE,
  CHUNKS = 11;
export const CHUNK_X = Array.from({ length: CHUNKS }, (_, i) => (W / (CHUNKS - 1)) * i);
const MID = (CHUNKS - 1) / 2; // Python's CHUNKS // 2
export const HELIPAD_X1 = CHUNK_X[MID - 1],
  HELIPAD_X2 = CHUNK_X[MID + 1],
  HELIPAD_Y = H / 4;

// The state (env.state, a Float64Array): what reset({state}) rebuilds the world from and render() draws.
// Gymnasium's env has no such vector; its parts are the terrain and the bodies' values as Box2D holds them
// (float32, widened exactly).
export const S = {
  terrain: 0, // smooth_y: the terrain's 11 heights (the chunk x are fixed)
  lander: CHUNKS, // x, y, angle, vx, vy, angular velocity
  legs: [CHUNKS + 6, CHUNKS + 12], // each as the lander
  contact: CHUNKS + 18, // legs[i].ground_contact, 0 or 1
  wind: CHUNKS + 20, // wind_idx, torque_idx (used with enable_wind)
  size: CHUNKS + 22,
};

/** The spec of either id (continuous: a box action of 2, else 4 discrete actions). */
export function makeSpec(continuous) {
  return {
    id: continuous ? 'LunarLanderContinuous-v3' : 'LunarLander-v3',
    title: continuous ? 'Lunar Lander (continuous)' : 'Lunar Lander',
    renderFps: FPS,
    maxSteps: 1000,
    action: continuous
      ? { type: 'box', shape: [2], low: [-1, -1], high: [1, 1] }
      : { type: 'discrete', n: 4 },
    actionNames: continuous
      ? ['main engine', 'side engines']
      : ['do nothing', 'fire left engine', 'fire main engine', 'fire right engine'],
    solved: 200,
    obsNames: ['x', 'y', 'vx', 'vy', 'angle', 'angular velocity', 'left leg contact', 'right leg contact'],
    // main, left and right engines (continuous: each key drives its dimension to the bound that fires it)
    human: continuous
      ? { keys: { ArrowUp: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }, idle: [0, 0] }
      : { keys: { ArrowUp: 2, ArrowLeft: 1, ArrowRight: 3 }, idle: 0 },
    // keys: Gymnasium's constructor arguments and attribute names (env.unwrapped.<name>)
    constants: {
      gravity: { value: -10.0, min: -11.9, max: -0.5, label: 'gravity (m/s²)' },
      enable_wind: { value: 0, min: 0, max: 1, step: 1, label: 'wind on (0 or 1)' },
      wind_power: { value: 15.0, min: 0, max: 20, label: 'wind power' },
      turbulence_power: { value: 1.5, min: 0, max: 2, label: 'turbulence power' },
    },
    render: 'box2d/lunar_lander',
    engine: 'box2d', // needs the engine: await load() first
    stateSize: S.size,
  };
}
export const spec = makeSpec(false);

const BODY = new Float32Array(8);

export class LunarLander {
  static id = spec.id;
  steps = 0;
  #rng = null;
  #world = 0;
  #lander = 0;
  #legs = [0, 0];
  #prevShaping = null;

  constructor(constants = {}, envSpec = spec) {
    this.spec = envSpec;
    this.continuous = envSpec.action.type === 'box';
    const c = physicalConstants(envSpec, constants);
    if (!(c.gravity > -12 && c.gravity < 0)) {
      throw new Error(`${envSpec.id}: gravity must be between -12 and 0, got ${c.gravity}`);
    }
    if (c.enable_wind !== 0 && c.enable_wind !== 1) {
      throw new Error(`${envSpec.id}: enable_wind is 0 or 1, got ${c.enable_wind}`);
    }
    this.constants = Object.freeze(c);
    this.obsDim = 8;
    this.obs = new Float32Array(8);
    this.state = new Float64Array(S.size);
    this.b2 = box2d(); // throws (naming load()) before the engine is loaded
  }

  /** reset({seed}): Gymnasium's reset(seed=seed) (NumPy's stream: the same terrain, push and dispersion);
   * reset({}): the stream goes on; reset({state}): the world rebuilt from a state (contacts found anew). */
  reset({ seed, state } = {}) {
    if (seed !== undefined) this.#rng = new Generator(seed);
    this.#rng ??= new Generator(Math.floor(Math.random() * 2 ** 32));
    this.#prevShaping = null;
    this.steps = 0;
    if (state !== undefined) {
      if (state.length !== S.size)
        throw new Error(`${this.spec.id}: a state has ${S.size} values, got ${state.length}`);
      this.#build(Array.from(state).slice(S.terrain, S.terrain + CHUNKS), null, state);
      this.state.set(state);
      this.#observe();
      this.#prevShaping = this.#shaping();
      return this.obs;
    }
    const r = this.#rng;
    const height = Array.from({ length: CHUNKS + 1 }, () => r.uniform(0, H / 2));
    for (let i = MID - 2; i <= MID + 2; i++) height[i] = HELIPAD_Y;
    // height[i - 1] at i = 0 is Python's height[-1]: the last one
    const smooth = CHUNK_X.map(
      (_, i) => 0.33 * (height[i === 0 ? CHUNKS : i - 1] + height[i] + height[i + 1]),
    );
    const force = [r.uniform(-INITIAL_RANDOM, INITIAL_RANDOM), r.uniform(-INITIAL_RANDOM, INITIAL_RANDOM)];
    this.#build(smooth, force, null);
    this.step(this.continuous ? [0, 0] : 0); // Gymnasium's reset returns the observation of one step
    this.steps = 0;
    return this.obs;
  }

  /** The world of one episode, made as Gymnasium's reset makes it (a new b2World per episode). */
  #build(smooth, force, state) {
    const b2 = this.b2,
      e = b2.exports,
      c = this.constants;
    this.close();
    this.#world = e.world_new(0, c.gravity);
    const world = this.#world;
    // pybox2d's CreateStaticBody(shapes=...) uses a default fixture def (friction 0.2)
    const moon = e.body_new(world, 0, 0, 0, 0);
    e.fixture_edge(moon, 0, 0, W, 0, 0, 0.2, 0, 1, 0xffff);
    for (let i = 0; i < CHUNKS - 1; i++) {
      e.fixture_edge(moon, CHUNK_X[i], smooth[i], CHUNK_X[i + 1], smooth[i + 1], 0, 0.1, 0, 1, 0xffff);
    }
    const x0 = VIEWPORT_W / SCALE / 2,
      y0 = VIEWPORT_H / SCALE;
    this.#lander = e.body_new(world, 2, x0, y0, 0.0);
    const lander = this.#lander;
    const poly = LANDER_POLY.map(([x, y]) => [x / SCALE, y / SCALE]);
    b2.polygon(lander, poly, 5.0, 0.1, 0.0, 0x0010, 0x001);
    if (force) e.body_force(lander, force[0], force[1], 1);
    this.state.set(smooth, S.terrain);
    if (c.enable_wind && !state) {
      this.state[S.wind] = this.#rng.integers(-9999, 9999);
      this.state[S.wind + 1] = this.#rng.integers(-9999, 9999);
    }
    for (const [k, i] of [
      [0, -1],
      [1, +1],
    ]) {
      const angle = i * 0.05;
      const leg = e.body_new(world, 2, x0 - (i * LEG_AWAY) / SCALE, y0, angle);
      this.#legs[k] = leg;
      e.fixture_box(leg, LEG_W / SCALE, LEG_H / SCALE, 1.0, 0.2, 0.0, 0x0020, 0x001);
      // pybox2d's revoluteJointDef(bodyA=, bodyB=) sets referenceAngle = bodyB.angle - bodyA.angle
      const reference = Math.fround(angle) - 0;
      const [lower, upper] = i === -1 ? [+0.9 - 0.5, +0.9] : [-0.9, -0.9 + 0.5];
      e.joint_revolute(
        world,
        lander,
        leg,
        0,
        0,
        (i * LEG_AWAY) / SCALE,
        LEG_DOWN / SCALE,
        reference,
        1,
        lower,
        upper,
        1,
        +0.3 * i,
        LEG_SPRING_TORQUE,
      );
    }
    if (state) this.#place(state, null);
  }

  /** Set each body whose values in `state` differ from its own (a perturbation), as Box2D's setters do. */
  #place(state, old) {
    const e = this.b2.exports;
    const bodies = [
      [this.#lander, S.lander],
      [this.#legs[0], S.legs[0]],
      [this.#legs[1], S.legs[1]],
    ];
    for (const [body, at] of bodies) {
      const [x, y, a, vx, vy, w] = state.slice(at, at + 6);
      const same = (k) => old && old[at + k] === state[at + k];
      if (!(same(0) && same(1) && same(2))) e.body_set_transform(body, x, y, a);
      if (!(same(3) && same(4) && same(5))) e.body_set_velocity(body, vx, vy, w);
    }
    for (let k = 0; k < 2; k++) e.body_set_contact(this.#legs[k], state[S.contact + k] ? 1 : 0);
  }

  /** One step: {obs, reward, terminated, truncated}; action: 0..3, or [main, lateral] in [-1, 1]. */
  step(action) {
    const e = this.b2.exports,
      s = this.state,
      c = this.constants,
      lander = this.#lander;
    if (!this.#world) throw new Error(`${this.spec.id}: call reset() before step()`);
    if (c.enable_wind && !(s[S.contact] || s[S.contact + 1])) {
      // math.tanh(math.sin(0.02 k) + math.sin(math.pi * 0.01 k)) * power, k counting up from the draw
      const gust = (k) => Math.tanh(sin(0.02 * k) + sin(Math.PI * 0.01 * k));
      e.body_force(lander, gust(s[S.wind]) * c.wind_power, 0.0, 1);
      s[S.wind]++;
      e.body_torque(lander, gust(s[S.wind + 1]) * c.turbulence_power, 1);
      s[S.wind + 1]++;
    }
    let a0 = 0,
      a1 = 0;
    if (this.continuous) {
      a0 = Math.min(Math.max(action[0], -1), 1);
      a1 = Math.min(Math.max(action[1], -1), 1);
    } else if (!(action === 0 || action === 1 || action === 2 || action === 3)) {
      throw new Error(`${this.spec.id}: an action is 0, 1, 2 or 3, got ${action}`);
    }
    this.b2.read(lander, BODY);
    const px = BODY[0],
      py = BODY[1],
      angle = BODY[2];
    const tip = [sin(angle), cos(angle)],
      side = [-tip[1], tip[0]];
    const dispersion = [this.#rng.uniform(-1.0, 1.0) / SCALE, this.#rng.uniform(-1.0, 1.0) / SCALE];
    let mPower = 0.0;
    if (this.continuous ? a0 > 0.0 : action === 2) {
      mPower = this.continuous ? (Math.min(Math.max(a0, 0.0), 1.0) + 1.0) * 0.5 : 1.0;
      const lever = MAIN_ENGINE_Y_LOCATION / SCALE + 2 * dispersion[0];
      const ox = tip[0] * lever + side[0] * dispersion[1];
      const oy = -tip[1] * lever - side[1] * dispersion[1];
      e.body_impulse(
        lander,
        -ox * MAIN_ENGINE_POWER * mPower,
        -oy * MAIN_ENGINE_POWER * mPower,
        px + ox,
        py + oy,
        1,
      );
    }
    let sPower = 0.0;
    if (this.continuous ? Math.abs(a1) > 0.5 : action === 1 || action === 3) {
      const direction = this.continuous ? Math.sign(a1) : action - 2;
      sPower = this.continuous ? Math.min(Math.max(Math.abs(a1), 0.5), 1.0) : 1.0;
      const lateral = 3 * dispersion[1] + (direction * SIDE_ENGINE_AWAY) / SCALE;
      const ox = tip[0] * dispersion[0] + side[0] * lateral;
      const oy = -tip[1] * dispersion[0] - side[1] * lateral;
      const ix = px + ox - (tip[0] * 17) / SCALE,
        iy = py + oy + (tip[1] * SIDE_ENGINE_HEIGHT) / SCALE;
      e.body_impulse(lander, -ox * SIDE_ENGINE_POWER * sPower, -oy * SIDE_ENGINE_POWER * sPower, ix, iy, 1);
    }
    e.world_step(this.#world, 1.0 / FPS, 6 * 30, 2 * 30);
    this.#readBodies();
    this.#observe();
    const shaping = this.#shaping();
    let reward = this.#prevShaping === null ? 0 : shaping - this.#prevShaping;
    this.#prevShaping = shaping;
    reward -= mPower * 0.3;
    reward -= sPower * 0.03;
    let terminated = false;
    if (e.body_touched(lander) > 0 || Math.abs(this.obs64[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    if (!e.body_awake(lander)) {
      terminated = true;
      reward = +100;
    }
    this.steps++;
    return { obs: this.obs, reward, terminated, truncated: this.steps >= this.spec.maxSteps };
  }

  #readBodies() {
    const s = this.state,
      e = this.b2.exports;
    for (const [body, at] of [
      [this.#lander, S.lander],
      [this.#legs[0], S.legs[0]],
      [this.#legs[1], S.legs[1]],
    ]) {
      this.b2.read(body, BODY);
      for (let k = 0; k < 6; k++) s[at + k] = BODY[k];
    }
    s[S.contact] = e.body_contact(this.#legs[0]);
    s[S.contact + 1] = e.body_contact(this.#legs[1]);
  }

  // Gymnasium's observation in float64 (obs64: what the shaping and termination read) and float32 (obs)
  obs64 = new Float64Array(8);
  #observe() {
    const s = this.state,
      o = this.obs64,
      L = S.lander;
    o[0] = (s[L] - VIEWPORT_W / SCALE / 2) / (VIEWPORT_W / SCALE / 2);
    o[1] = (s[L + 1] - (HELIPAD_Y + LEG_DOWN / SCALE)) / (VIEWPORT_H / SCALE / 2);
    o[2] = (s[L + 3] * (VIEWPORT_W / SCALE / 2)) / FPS;
    o[3] = (s[L + 4] * (VIEWPORT_H / SCALE / 2)) / FPS;
    o[4] = s[L + 2];
    o[5] = (20.0 * s[L + 5]) / FPS;
    o[6] = s[S.contact] ? 1.0 : 0.0;
    o[7] = s[S.contact + 1] ? 1.0 : 0.0;
    this.obs.set(o);
  }

  #shaping() {
    const o = this.obs64;
    return (
      -100 * Math.sqrt(o[0] * o[0] + o[1] * o[1]) -
      100 * Math.sqrt(o[2] * o[2] + o[3] * o[3]) -
      100 * Math.abs(o[4]) +
      10 * o[6] +
      10 * o[7]
    );
  }

  /** Overwrite the state (a push: new velocities or poses), recompute obs; steps unchanged. */
  setState(state) {
    const old = Float64Array.from(this.state);
    this.#place(state, old);
    this.#readBodies();
    this.#observe();
  }

  /** Bytes of the engine's memory (window.app.status().engineBytes: constant over a run, or something leaks). */
  get engineBytes() {
    return this.b2.memoryBytes();
  }

  /** Free this env's world (the page calls it on pagehide; reset makes a new one). */
  close() {
    if (this.#world) this.b2.exports.world_delete(this.#world);
    this.#world = 0;
  }
}
export { LunarLander as Env };
