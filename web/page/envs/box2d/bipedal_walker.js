// Gymnasium's BipedalWalker-v3 (gymnasium/envs/box2d/bipedal_walker.py) on the Box2D engine, operation for
// operation (see lunar_lander.js): the same Box2D calls in the same order, NumPy's random stream, and
// Gymnasium's world reuse: one b2World per env, its bodies destroyed on reset in Gymnasium's order (the
// terrain reversed, the hull, the legs), since broadphase and contact order left over from earlier episodes
// shape the later ones. Runs in Node and in the browser: no DOM.
//
// The constant `hardcore` (0 or 1) is Gymnasium's constructor argument hardcore=True: terrain with stumps,
// pits and stairs (_generate_terrain's STUMP, PIT and STAIRS states), drawn at reset; the time limit stays
// BipedalWalker-v3's 1600 steps (gym.make("BipedalWalker-v3", hardcore=True); BipedalWalkerHardcore-v3's
// registration alone says 2000).
//
// Actions as NumPy types them: a Float32Array is a float32 action (action_space.sample(), a float32 policy),
// for which NumPy 2 computes the motor cost, and so the reward, in float32 (NEP 50); any other array is float64.
import { physicalConstants } from '../base.js';
import { cos, sin } from '../sincos.js';
import { box2d, loadEngine } from './engine.js';
import { Generator } from '../np_random.js';

export const load = (source) => loadEngine(source);

export const FPS = 50,
  SCALE = 30.0;
const MOTORS_TORQUE = 80,
  SPEED_HIP = 4,
  SPEED_KNEE = 6;
const LIDAR_RANGE = 160 / SCALE,
  INITIAL_RANDOM = 5;
export const HULL_POLY = [
  [-30, 9],
  [6, 9],
  [34, 1],
  [34, -8],
  [-30, -8],
];
export const LEG_DOWN = -8 / SCALE,
  LEG_W = 8 / SCALE,
  LEG_H = 34 / SCALE;
export const VIEWPORT_W = 600,
  VIEWPORT_H = 400;
export const TERRAIN_STEP = 14 / SCALE,
  TERRAIN_LENGTH = 200,
  TERRAIN_HEIGHT = VIEWPORT_H / SCALE / 4,
  TERRAIN_GRASS = 10,
  TERRAIN_STARTPAD = 20;
const FRICTION = 2.5;
export const CLOUDS = TERRAIN_LENGTH / 20;
// the lidar's directions, Python's math.sin/cos(1.5 i / 10): glibc's are correctly rounded there, as these
const LIDAR = Array.from({ length: 10 }, (_, i) => [sin((1.5 * i) / 10.0), cos((1.5 * i) / 10.0)]);

// Hardcore terrain's obstacles (stumps, pits' walls, stair steps) are static boxes of fixture fd_polygon,
// each made from four corners (x1, y1), (x2, y1), (x2, y2), (x1, y2) in that order (every polygon
// _generate_terrain makes has this form, its coordinates computed in float64 as here). At most 39 in a
// terrain: a stump (1 box) every 6 steps at the densest (1 step of stump, then at least 5 of grass) from step
// 20 to 199, found by enumerating the generator's choices; reset throws if one ever makes more.
export const MAX_OBSTACLES = 39;

// The state (env.state, a Float64Array): the terrain and clouds (what render() draws), then the bodies as
// Box2D holds them (float32, widened exactly), the lower legs' ground contacts, the lidar's fractions and the
// hardcore obstacles (a count, then x1, y1, x2, y2 per box in creation order, zeros after the count).
export const S = {
  terrain: 0, // terrain_y: TERRAIN_LENGTH heights at x = i TERRAIN_STEP
  clouds: TERRAIN_LENGTH, // CLOUDS polygons of 5 points (x, y)
  bodies: TERRAIN_LENGTH + CLOUDS * 10, // hull, then legs as Gymnasium lists them: x, y, angle, vx, vy, omega
  contact: TERRAIN_LENGTH + CLOUDS * 10 + 30, // legs[1], legs[3] ground_contact
  lidar: TERRAIN_LENGTH + CLOUDS * 10 + 32, // 10 fractions
  nObstacles: TERRAIN_LENGTH + CLOUDS * 10 + 42, // 0 on normal terrain
  obstacles: TERRAIN_LENGTH + CLOUDS * 10 + 43, // MAX_OBSTACLES boxes: x1, y1, x2, y2
  size: TERRAIN_LENGTH + CLOUDS * 10 + 43 + 4 * MAX_OBSTACLES,
};
export const BODIES = 5;

export const spec = {
  id: 'BipedalWalker-v3',
  title: 'Bipedal Walker',
  renderFps: FPS,
  maxSteps: 1600,
  action: { type: 'box', shape: [4], low: [-1, -1, -1, -1], high: [1, 1, 1, 1] },
  actionNames: ['hip 1', 'knee 1', 'hip 2', 'knee 2'],
  solved: 300,
  obsNames: [
    'hull angle',
    'hull angular velocity',
    'vx',
    'vy',
    'hip 1 angle',
    'hip 1 speed',
    'knee 1 angle',
    'knee 1 speed',
    'leg 1 contact',
    'hip 2 angle',
    'hip 2 speed',
    'knee 2 angle',
    'knee 2 speed',
    'leg 2 contact',
    ...Array.from({ length: 10 }, (_, i) => `lidar ${i}`),
  ],
  human: { keys: {}, idle: [0, 0, 0, 0] }, // the page's sliders, one per motor
  constants: {
    // b2World's default gravity, which Gymnasium keeps (a constructor argument here only, for what-if physics)
    gravity: { value: -10, min: -20, max: -1, label: 'gravity (m/s²)' },
    // Gymnasium's hardcore=True: stumps, pits and stairs, from the next reset (the terrain is the state's)
    hardcore: { value: 0, min: 0, max: 1, step: 1, label: 'hardcore terrain (0 or 1)' },
  },
  render: 'box2d/bipedal_walker',
  engine: 'box2d',
  stateSize: S.size,
};

// _generate_terrain's states (range(5): GRASS, STUMP, STAIRS, PIT, _STATES_)
const GRASS = 0,
  STUMP = 1,
  STAIRS = 2,
  PIT = 3,
  STATES = 4;

const BODY = new Float32Array(8),
  RAY = new Float32Array(3);

export class BipedalWalker {
  static id = spec.id;
  steps = 0;
  #rng = null;
  #world = 0;
  #terrain = []; // Gymnasium's self.terrain: reversed after creation (the destruction order)
  #bodies = []; // hull, legs[0..3]
  #joints = [];
  #prevShaping = null;

  constructor(constants = {}) {
    this.spec = spec;
    const c = physicalConstants(spec, constants);
    if (c.hardcore !== 0 && c.hardcore !== 1) {
      throw new Error(`${spec.id}: hardcore is 0 or 1, got ${c.hardcore}`);
    }
    this.constants = Object.freeze(c);
    this.obsDim = 24;
    this.obs = new Float32Array(24);
    this.state = new Float64Array(S.size);
    this.b2 = box2d(); // throws (naming load()) before the engine is loaded
    // Gymnasium's __init__: one world for the env's lifetime
    this.#world = this.b2.exports.world_new(0, this.constants.gravity);
  }

  /** Gymnasium's _destroy: the terrain (in its reversed list), the hull, the legs (joints go with them). */
  #destroy() {
    const e = this.b2.exports;
    for (const body of [...this.#terrain, ...this.#bodies]) e.body_delete(this.#world, body);
    this.#terrain = [];
    this.#bodies = [];
    this.#joints = [];
  }

  /** reset({seed}): Gymnasium's reset(seed=seed); reset({}): the stream goes on; reset({state}): the terrain
   * and bodies of a state, rebuilt in this env's world. */
  reset({ seed, state } = {}) {
    if (!this.#world) throw new Error(`${spec.id}: the env was closed`);
    if (seed !== undefined) this.#rng = new Generator(seed);
    this.#rng ??= new Generator(Math.floor(Math.random() * 2 ** 32));
    if (state !== undefined && state.length !== S.size) {
      throw new Error(`${spec.id}: a state has ${S.size} values, got ${state.length}`);
    }
    this.#destroy();
    this.#prevShaping = null;
    this.steps = 0;
    const s = this.state;
    if (state !== undefined) s.set(state);
    else {
      this.#terrainHeights();
      this.#clouds();
    }
    this.#build(state === undefined ? this.#rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM) : null);
    if (state !== undefined) {
      this.#place(state, null);
      this.#observe(); // the lidar and contacts as the state holds them
      this.#prevShaping = this.#shaping();
      return this.obs;
    }
    this.step(new Float64Array(4)); // Gymnasium's reset returns the observation of one step (int zeros)
    this.steps = 0;
    return this.obs;
  }

  // _generate_terrain(hardcore): the heights and (hardcore) the obstacles' boxes, NumPy's draws in
  // Gymnasium's order; the bodies are made by #build from the state
  #terrainHeights() {
    const r = this.#rng,
      s = this.state,
      hardcore = this.constants.hardcore === 1;
    let n = 0;
    const box = (x1, y1, x2, y2) => {
      if (n === MAX_OBSTACLES) throw new Error(`${spec.id}: more than ${MAX_OBSTACLES} obstacles`);
      s.set([x1, y1, x2, y2], S.obstacles + 4 * n++);
    };
    s.fill(0, S.nObstacles, S.size);
    let state = GRASS,
      velocity = 0.0,
      y = TERRAIN_HEIGHT,
      counter = TERRAIN_STARTPAD,
      oneshot = false,
      stairSteps = 0,
      stairWidth = 0,
      stairHeight = 0,
      originalY = 0;
    for (let i = 0; i < TERRAIN_LENGTH; i++) {
      const x = i * TERRAIN_STEP;
      if (state === GRASS && !oneshot) {
        velocity = 0.8 * velocity + 0.01 * Math.sign(TERRAIN_HEIGHT - y);
        if (i > TERRAIN_STARTPAD) velocity += r.uniform(-1, 1) / SCALE;
        y += velocity;
      } else if (state === PIT && oneshot) {
        counter = r.integers(3, 5);
        box(x, y, x + TERRAIN_STEP, y - 4 * TERRAIN_STEP);
        // the far wall: each of the near wall's points moved right by counter steps
        box(x + TERRAIN_STEP * counter, y, x + TERRAIN_STEP + TERRAIN_STEP * counter, y - 4 * TERRAIN_STEP);
        counter += 2;
        originalY = y;
      } else if (state === PIT && !oneshot) {
        y = originalY;
        if (counter > 1) y -= 4 * TERRAIN_STEP;
      } else if (state === STUMP && oneshot) {
        counter = r.integers(1, 3);
        box(x, y, x + counter * TERRAIN_STEP, y + counter * TERRAIN_STEP);
      } else if (state === STAIRS && oneshot) {
        stairHeight = r.random() > 0.5 ? +1 : -1;
        stairWidth = r.integers(4, 5); // 4, and no draw (NumPy draws nothing for a range of one value)
        stairSteps = r.integers(3, 5);
        originalY = y;
        for (let k = 0; k < stairSteps; k++) {
          box(
            x + k * stairWidth * TERRAIN_STEP,
            y + k * stairHeight * TERRAIN_STEP,
            x + (1 + k) * stairWidth * TERRAIN_STEP,
            y + (-1 + k * stairHeight) * TERRAIN_STEP,
          );
        }
        counter = stairSteps * stairWidth;
      } else if (state === STAIRS && !oneshot) {
        const k = stairSteps * stairWidth - counter - stairHeight;
        y = originalY + (k / stairWidth) * stairHeight * TERRAIN_STEP;
      }
      oneshot = false;
      s[S.terrain + i] = y;
      counter -= 1;
      if (counter === 0) {
        counter = r.integers(TERRAIN_GRASS / 2, TERRAIN_GRASS);
        state = state === GRASS && hardcore ? r.integers(1, STATES) : GRASS;
        oneshot = true;
      }
    }
    s[S.nObstacles] = n;
  }

  // _generate_clouds: decorative, but its 110 draws come before the start push's
  #clouds() {
    const r = this.#rng,
      s = this.state;
    for (let c = 0; c < CLOUDS; c++) {
      const x = r.uniform(0, TERRAIN_LENGTH) * TERRAIN_STEP,
        y = ((VIEWPORT_H / SCALE) * 3) / 4;
      for (let a = 0; a < 5; a++) {
        const px = x + 15 * TERRAIN_STEP * sin((3.14 * 2 * a) / 5) + r.uniform(0, 5 * TERRAIN_STEP);
        const py = y + 5 * TERRAIN_STEP * cos((3.14 * 2 * a) / 5) + r.uniform(0, 5 * TERRAIN_STEP);
        s[S.clouds + c * 10 + 2 * a] = px;
        s[S.clouds + c * 10 + 2 * a + 1] = py;
      }
    }
  }

  /** The terrain's edge bodies and the walker, created as Gymnasium's reset creates them. */
  #build(push) {
    const e = this.b2.exports,
      w = this.#world,
      s = this.state;
    const n = s[S.nObstacles];
    if (!(Number.isInteger(n) && n >= 0 && n <= MAX_OBSTACLES)) {
      throw new Error(`${spec.id}: a state's obstacle count is 0 to ${MAX_OBSTACLES}, got ${n}`);
    }
    // the obstacles first, as _generate_terrain makes them (fd_polygon: friction 2.5, Box2D's other defaults)
    for (let k = 0; k < n; k++) {
      const [x1, y1, x2, y2] = s.subarray(S.obstacles + 4 * k, S.obstacles + 4 * k + 4);
      const t = e.body_new(w, 0, 0, 0, 0);
      this.b2.polygon(
        t,
        [
          [x1, y1],
          [x2, y1],
          [x2, y2],
          [x1, y2],
        ],
        0,
        FRICTION,
        0,
        0x0001,
        0xffff,
      );
      this.#terrain.push(t);
    }
    for (let i = 0; i < TERRAIN_LENGTH - 1; i++) {
      const t = e.body_new(w, 0, 0, 0, 0);
      const x1 = i * TERRAIN_STEP,
        x2 = (i + 1) * TERRAIN_STEP;
      e.fixture_edge(t, x1, s[S.terrain + i], x2, s[S.terrain + i + 1], 0, FRICTION, 0, 0x0001, 0xffff);
      this.#terrain.push(t);
    }
    this.#terrain.reverse();
    const x0 = (TERRAIN_STEP * TERRAIN_STARTPAD) / 2,
      y0 = TERRAIN_HEIGHT + 2 * LEG_H;
    const hull = e.body_new(w, 2, x0, y0, 0);
    this.b2.polygon(
      hull,
      HULL_POLY.map(([x, y]) => [x / SCALE, y / SCALE]),
      5.0,
      0.1,
      0.0,
      0x0020,
      0x001,
    );
    if (push !== null) e.body_force(hull, push, 0, 1);
    this.#bodies = [hull];
    for (const i of [-1, +1]) {
      const angle = i * 0.05,
        a32 = Math.fround(angle);
      const leg = e.body_new(w, 2, x0, y0 - LEG_H / 2 - LEG_DOWN, angle);
      e.fixture_box(leg, LEG_W / 2, LEG_H / 2, 1.0, 0.2, 0.0, 0x0020, 0x001);
      // pybox2d's revoluteJointDef(bodyA=, bodyB=) sets referenceAngle = bodyB.angle - bodyA.angle
      this.#joints.push(
        e.joint_revolute(w, hull, leg, 0, LEG_DOWN, 0, LEG_H / 2, a32 - 0, 1, -0.8, 1.1, 1, i, MOTORS_TORQUE),
      );
      const lower = e.body_new(w, 2, x0, y0 - (LEG_H * 3) / 2 - LEG_DOWN, angle);
      e.fixture_box(lower, (0.8 * LEG_W) / 2, LEG_H / 2, 1.0, 0.2, 0.0, 0x0020, 0x001);
      this.#joints.push(
        e.joint_revolute(
          w,
          leg,
          lower,
          0,
          -LEG_H / 2,
          0,
          LEG_H / 2,
          a32 - a32,
          1,
          -1.6,
          -0.1,
          1,
          1,
          MOTORS_TORQUE,
        ),
      );
      this.#bodies.push(leg, lower);
    }
  }

  /** Set each body whose values in `state` differ from its own (a perturbation), as Box2D's setters do. */
  #place(state, old) {
    const e = this.b2.exports;
    this.#bodies.forEach((body, k) => {
      const at = S.bodies + 6 * k;
      const same = (j) => old && old[at + j] === state[at + j];
      if (!(same(0) && same(1) && same(2)))
        e.body_set_transform(body, state[at], state[at + 1], state[at + 2]);
      if (!(same(3) && same(4) && same(5))) {
        e.body_set_velocity(body, state[at + 3], state[at + 4], state[at + 5]);
      }
    });
    e.body_set_contact(this.#bodies[2], state[S.contact] ? 1 : 0);
    e.body_set_contact(this.#bodies[4], state[S.contact + 1] ? 1 : 0);
  }

  /** One step: {obs, reward, terminated, truncated}; action: 4 motor torques in [-1, 1] (see the header on
   * float32 actions). */
  step(action) {
    const e = this.b2.exports;
    if (!this.#bodies.length) throw new Error(`${spec.id}: call reset() before step()`);
    if (action?.length !== 4) throw new Error(`${spec.id}: an action is 4 numbers, got ${action}`);
    const f32 = action instanceof Float32Array;
    const mag = [];
    for (let k = 0; k < 4; k++) {
      const a = action[k];
      const speed = k % 2 === 0 ? SPEED_HIP : SPEED_KNEE;
      const clipped = Math.min(Math.max(Math.abs(a), 0), 1);
      mag.push(clipped);
      e.joint_motor_speed(this.#joints[k], speed * Math.sign(a));
      // a float32 product of 80 and a float32 is exact in float64: the float32 path needs no rounding here
      e.joint_max_torque(this.#joints[k], MOTORS_TORQUE * clipped);
    }
    e.world_step(this.#world, 1.0 / FPS, 6 * 30, 2 * 30);
    this.#observe(true);
    const shaping = this.#shaping();
    let reward = this.#prevShaping === null ? 0 : shaping - this.#prevShaping;
    this.#prevShaping = shaping;
    const cost = 0.00035 * MOTORS_TORQUE;
    if (f32) {
      // NumPy 2 (NEP 50): a Python float minus np.float32 is float32, the Python float rounded first
      const c32 = Math.fround(cost);
      for (const m of mag) reward = Math.fround(Math.fround(reward) - Math.fround(c32 * m));
    } else for (const m of mag) reward -= cost * m;
    const x = this.state[S.bodies];
    let terminated = false;
    if (e.body_touched(this.#bodies[0]) > 0 || x < 0) {
      reward = -100;
      terminated = true;
    }
    if (x > (TERRAIN_LENGTH - TERRAIN_GRASS) * TERRAIN_STEP) terminated = true;
    this.steps++;
    return { obs: this.obs, reward, terminated, truncated: this.steps >= spec.maxSteps };
  }

  /** The bodies' values, the lidar (cast when `cast`) and Gymnasium's observation. */
  #observe(cast = false) {
    const e = this.b2.exports,
      s = this.state,
      o = this.obs;
    this.#bodies.forEach((body, k) => {
      this.b2.read(body, BODY);
      for (let j = 0; j < 6; j++) s[S.bodies + 6 * k + j] = BODY[j];
    });
    s[S.contact] = e.body_contact(this.#bodies[2]);
    s[S.contact + 1] = e.body_contact(this.#bodies[4]);
    const H = S.bodies,
      px = s[H],
      py = s[H + 1];
    if (cast) {
      for (let i = 0; i < 10; i++) {
        const [sn, cs] = LIDAR[i];
        this.b2.raycast(this.#world, px, py, px + sn * LIDAR_RANGE, py - cs * LIDAR_RANGE, 1, RAY);
        s[S.lidar + i] = RAY[0];
      }
    }
    const j = this.#joints;
    const obs = [
      s[H + 2],
      (2.0 * s[H + 5]) / FPS,
      (0.3 * s[H + 3] * (VIEWPORT_W / SCALE)) / FPS,
      (0.3 * s[H + 4] * (VIEWPORT_H / SCALE)) / FPS,
      e.joint_angle(j[0]),
      e.joint_speed(j[0]) / SPEED_HIP,
      e.joint_angle(j[1]) + 1.0,
      e.joint_speed(j[1]) / SPEED_KNEE,
      s[S.contact] ? 1.0 : 0.0,
      e.joint_angle(j[2]),
      e.joint_speed(j[2]) / SPEED_HIP,
      e.joint_angle(j[3]) + 1.0,
      e.joint_speed(j[3]) / SPEED_KNEE,
      s[S.contact + 1] ? 1.0 : 0.0,
    ];
    o.set(obs);
    o.set(s.subarray(S.lidar, S.lidar + 10), 14);
  }

  #shaping() {
    return (130 * this.state[S.bodies]) / SCALE - 5.0 * Math.abs(this.state[S.bodies + 2]);
  }

  /** Overwrite the state (a push: new velocities or poses), recompute obs; steps unchanged. */
  setState(state) {
    const old = Float64Array.from(this.state);
    this.#place(state, old);
    this.#observe(true);
  }

  /** Bytes of the engine's memory (window.app.status().engineBytes: constant over a run, or something leaks). */
  get engineBytes() {
    return this.b2.memoryBytes();
  }

  /** Free this env's world (the page calls it on pagehide). */
  close() {
    if (this.#world) this.b2.exports.world_delete(this.#world);
    this.#world = 0;
    this.#terrain = [];
    this.#bodies = [];
  }
}
export { BipedalWalker as Env };
