// Gymnasium's MountainCar-v0, operation for operation (float64 state, float32 observations).
// Runs in Node and in the browser: no DOM.
import { ClassicEnv, uniform } from './base.js';

export const spec = {
  id: 'MountainCar-v0',
  title: 'Mountain Car',
  renderFps: 30,
  maxSteps: 200,
  action: { type: 'discrete', n: 3 },
  actionNames: ['accelerate left', "don't accelerate", 'accelerate right'],
  solved: -110,
  obsNames: ['position of the car along the x-axis', 'velocity of the car'],
  human: { keys: { ArrowLeft: 0, ArrowRight: 2 }, idle: 1 },
  // keys: Gymnasium's attribute names (env.unwrapped.<name>)
  constants: {
    force: { value: 0.001, min: 0.0002, max: 0.003, label: 'engine force' },
    gravity: { value: 0.0025, min: 0.0005, max: 0.005, label: 'gravity' },
    max_speed: { value: 0.07, min: 0.02, max: 0.2, label: 'top speed' },
  },
  stateSize: 2, // [position, velocity]
  render: 'mountain_car',
};

export const MIN_POSITION = -1.2,
  MAX_POSITION = 0.6,
  GOAL_POSITION = 0.5,
  GOAL_VELOCITY = 0;

const clip = (x, lo, hi) => Math.min(Math.max(x, lo), hi); // np.clip

export class MountainCar extends ClassicEnv {
  static id = spec.id;

  constructor(constants = {}) {
    super(spec, constants);
  }

  initialState(rand) {
    return [uniform(rand, -0.6, -0.4), 0];
  }
  observe() {
    this.obs.set(this.state);
  }

  advance(action) {
    const s = this.state,
      c = this.constants;
    let position = s[0],
      velocity = s[1];
    velocity += (action - 1) * c.force + this.libm.cos(3 * position) * -c.gravity; // math.cos
    velocity = clip(velocity, -c.max_speed, c.max_speed);
    position += velocity;
    position = clip(position, MIN_POSITION, MAX_POSITION);
    if (position === MIN_POSITION && velocity < 0) velocity = 0;
    const terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
    s[0] = position;
    s[1] = velocity;
    return { reward: -1.0, terminated };
  }
}
export { MountainCar as Env };
