// Gymnasium's CartPole-v1, operation for operation (float64 state, float32 observations).
// Runs in Node and in the browser: no DOM.
import { ClassicEnv, uniform } from './base.js';

export const spec = {
  id: 'CartPole-v1',
  title: 'CartPole',
  renderFps: 50,
  maxSteps: 500,
  action: { type: 'discrete', n: 2 },
  actionNames: ['push left', 'push right'],
  solved: 500,
  obsNames: ['Cart Position', 'Cart Velocity', 'Pole Angle', 'Pole Angular Velocity'],
  human: { keys: { ArrowLeft: 0, ArrowRight: 1 }, idle: 'alternate' }, // no "no force" action
  // keys: Gymnasium's attribute names (env.unwrapped.<name>)
  constants: {
    gravity: { value: 9.8, min: 1, max: 25, label: 'gravity (m/s²)' },
    masscart: { value: 1.0, min: 0.1, max: 5, label: 'cart mass (kg)' },
    masspole: { value: 0.1, min: 0.01, max: 1, label: 'pole mass (kg)' },
    length: { value: 0.5, min: 0.1, max: 2, label: 'pole half-length (m)' },
    force_mag: { value: 10.0, min: 1, max: 30, label: 'push force (N)' },
  },
  stateSize: 4,
  render: 'cartpole',
};

// The defaults by name, for modules that draw with them (render/cartpole.js, the page).
export const {
  gravity: { value: GRAVITY },
  length: { value: LENGTH },
} = spec.constants;
export const TAU = 0.02; // seconds per step
export const THETA_THRESHOLD = (12 * 2 * Math.PI) / 360,
  X_THRESHOLD = 2.4,
  MAX_STEPS = spec.maxSteps;

export class CartPole extends ClassicEnv {
  static id = spec.id;
  nActions = 2;
  done = false; // terminated once already: further steps earn 0, as in Gymnasium

  constructor(constants = {}) {
    super(spec, constants);
    const c = this.constants; // derived as in Gymnasium's __init__
    this.totalMass = c.masspole + c.masscart;
    this.polemassLength = c.masspole * c.length;
  }

  initialState(rand) {
    return [0, 1, 2, 3].map(() => uniform(rand, -0.05, 0.05));
  }
  afterReset() {
    this.done = false;
  }
  observe() {
    this.obs.set(this.state);
  }

  advance(action) {
    const s = this.state,
      c = this.constants,
      { sin, cos } = this.libm;
    let x = s[0],
      xDot = s[1],
      theta = s[2],
      thetaDot = s[3];
    const force = action === 1 ? c.force_mag : -c.force_mag;
    const costheta = cos(theta),
      sintheta = sin(theta);
    // np.square(theta_dot) is theta_dot * theta_dot
    const temp = (force + this.polemassLength * (thetaDot * thetaDot) * sintheta) / this.totalMass;
    const thetaacc =
      (c.gravity * sintheta - costheta * temp) /
      (c.length * (4.0 / 3.0 - (c.masspole * (costheta * costheta)) / this.totalMass));
    const xacc = temp - (this.polemassLength * thetaacc * costheta) / this.totalMass;
    x = x + TAU * xDot;
    xDot = xDot + TAU * xacc;
    theta = theta + TAU * thetaDot;
    thetaDot = thetaDot + TAU * thetaacc;
    s[0] = x;
    s[1] = xDot;
    s[2] = theta;
    s[3] = thetaDot;
    const terminated =
      x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
    const reward = this.done ? 0.0 : 1.0;
    this.done ||= terminated;
    return { reward, terminated };
  }
}
export { CartPole as Env };
