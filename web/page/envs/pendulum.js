// Gymnasium's Pendulum-v1, operation for operation: float64 state, float32 observations, and the float32
// arithmetic NumPy 2 does where the float32 torque meets a Python float (NEP 50). The angle is never
// wrapped (sin/cos reduce it exactly: sincos.js). Runs in Node and in the browser: no DOM.
import { ClassicEnv, uniform } from './base.js';

export const spec = {
  id: 'Pendulum-v1',
  title: 'Pendulum',
  renderFps: 30,
  maxSteps: 200,
  action: { type: 'box', shape: [1], low: [-2], high: [2] },
  actionNames: ['torque'],
  solved: -200,
  obsNames: ['x = cos(theta)', 'y = sin(theta)', 'Angular Velocity'],
  human: { keys: { ArrowLeft: [-2], ArrowRight: [2] }, idle: [0] },
  // keys: Gymnasium's attribute names (env.unwrapped.<name>; g is also gym.make's keyword)
  constants: {
    g: { value: 10.0, min: 1, max: 25, label: 'gravity (m/s²)' },
    m: { value: 1.0, min: 0.2, max: 5, label: 'mass (kg)' },
    l: { value: 1.0, min: 0.3, max: 3, label: 'length (m)' },
    max_speed: { value: 8, min: 2, max: 20, label: 'top angular speed (rad/s)' },
  },
  stateSize: 2, // [theta, theta velocity]
  render: 'pendulum',
};

export const MAX_TORQUE = 2.0,
  DT = 0.05;
const f32 = Math.fround;

// ((x + pi) % (2 pi)) - pi with Python's % (the result takes the divisor's sign; JS's takes the dividend's)
export function angleNormalize(x) {
  const b = 2 * Math.PI;
  let r = (x + Math.PI) % b;
  if (r !== 0) {
    if (b < 0 !== r < 0) r += b;
  } else r = b < 0 ? -0 : 0;
  return r - Math.PI;
}

export class Pendulum extends ClassicEnv {
  static id = spec.id;

  constructor(constants = {}) {
    super(spec, constants);
  }

  initialState(rand) {
    return [uniform(rand, -Math.PI, Math.PI), uniform(rand, -1, 1)];
  }

  observe() {
    const s = this.state,
      { sin, cos } = this.libm;
    this.obs[0] = cos(s[0]);
    this.obs[1] = sin(s[0]);
    this.obs[2] = s[1];
  }

  // action: [torque] (float32, as Gymnasium's action space; clipped to +-2 here, as Gymnasium does)
  advance(action) {
    const s = this.state,
      c = this.constants,
      { sin, sq, sqf } = this.libm;
    const th = s[0],
      thdot = s[1],
      g = c.g,
      m = c.m,
      l = c.l,
      dt = DT;
    const u = Math.min(Math.max(f32(action[0]), f32(-MAX_TORQUE)), f32(MAX_TORQUE)); // np.clip in float32
    // angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2): float64 pow, float32 powf and product
    const costs = sq(angleNormalize(th)) + 0.1 * sq(thdot) + f32(f32(0.001) * sqf(u));
    // thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u) * dt: 3.0 / (m l^2) * u in float32
    let newthdot = thdot + (((3 * g) / (2 * l)) * sin(th) + f32(f32(3.0 / (m * sq(l))) * u)) * dt;
    newthdot = Math.min(Math.max(newthdot, -c.max_speed), c.max_speed);
    s[0] = th + newthdot * dt;
    s[1] = newthdot;
    return { reward: -costs, terminated: false };
  }
}
export { Pendulum as Env };
