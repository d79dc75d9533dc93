// Gymnasium's CartPole-v1, operation for operation (float64 state, float32 observations).
// Runs in Node and in the browser: no DOM.
import { cos, sin } from './sincos.js';

export const GRAVITY = 9.8, MASSCART = 1.0, MASSPOLE = 0.1, LENGTH = 0.5, FORCE_MAG = 10.0, TAU = 0.02;
const TOTAL_MASS = MASSPOLE + MASSCART, POLEMASS_LENGTH = MASSPOLE * LENGTH;
export const THETA_THRESHOLD = 12 * 2 * Math.PI / 360, X_THRESHOLD = 2.4, MAX_STEPS = 500;

// mulberry32: a small seeded PRNG (Gymnasium's PCG64 stream is not reproduced; reset({state}) is exact).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class CartPole {
  static id = 'CartPole-v1';
  obsDim = 4;
  nActions = 2;
  state = new Float64Array(4);
  obs = new Float32Array(4);
  steps = 0;
  done = false; // terminated once already: further steps earn 0, as in Gymnasium
  sin = sin; // correctly rounded (sincos.js), like glibc's for nearly every angle; the same in every browser
  cos = cos;
  #rand = rng((Math.random() * 2 ** 32) >>> 0);

  /** reset({seed}) draws the state uniformly from [-0.05, 0.05); reset({state}) starts from that exact state. */
  reset({ seed, state } = {}) {
    if (seed !== undefined) this.#rand = rng(seed);
    for (let i = 0; i < 4; i++) this.state[i] = state ? state[i] : -0.05 + 0.1 * this.#rand();
    this.steps = 0;
    this.done = false;
    this.obs.set(this.state);
    return this.obs;
  }

  /** One Euler step of 0.02 s with a force of +-10 N: {obs, reward, terminated, truncated}. */
  step(action) {
    const s = this.state;
    let x = s[0], xDot = s[1], theta = s[2], thetaDot = s[3];
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const costheta = this.cos(theta), sintheta = this.sin(theta);
    const temp = (force + POLEMASS_LENGTH * (thetaDot * thetaDot) * sintheta) / TOTAL_MASS;
    const thetaacc = (GRAVITY * sintheta - costheta * temp) /
      (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
    const xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
    x = x + TAU * xDot;
    xDot = xDot + TAU * xacc;
    theta = theta + TAU * thetaDot;
    thetaDot = thetaDot + TAU * thetaacc;
    s[0] = x; s[1] = xDot; s[2] = theta; s[3] = thetaDot;
    this.steps++;
    this.obs.set(s);
    const terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
    const reward = this.done ? 0.0 : 1.0;
    this.done ||= terminated;
    return { obs: this.obs, reward, terminated, truncated: this.steps >= MAX_STEPS };
  }
}
