// Gymnasium's MountainCarContinuous-v0, operation for operation. Its state is float64 after reset and float32
// after every step, and NumPy 2 keeps float32 arithmetic in float32 (NEP 50: a Python float meeting a
// float32 is rounded to float32 first), so a step computes in float32 wherever Gymnasium's does: Math.fround
// at exactly those points. Runs in Node and in the browser: no DOM.
import { ClassicEnv, uniform } from './base.js';

export const spec = {
  id: 'MountainCarContinuous-v0',
  title: 'Mountain Car (continuous)',
  renderFps: 30,
  maxSteps: 999,
  action: { type: 'box', shape: [1], low: [-1], high: [1] },
  actionNames: ['force'],
  solved: 90,
  obsNames: ['position of the car along the x-axis', 'velocity of the car'],
  human: { keys: { ArrowLeft: [-1], ArrowRight: [1] }, idle: [0] },
  // keys: Gymnasium's attribute names (env.unwrapped.<name>); its gravity, 0.0025, is a literal in step()
  constants: {
    power: { value: 0.0015, min: 0.0005, max: 0.004, label: 'engine power' },
    max_speed: { value: 0.07, min: 0.02, max: 0.2, label: 'top speed' },
  },
  stateSize: 2, // [position, velocity]
  render: 'mountain_car_continuous', // render/mountain_car.js with this env's goal (0.45)
};

export const MIN_POSITION = -1.2,
  MAX_POSITION = 0.6,
  GOAL_POSITION = 0.45,
  GOAL_VELOCITY = 0;
const MIN_ACTION = -1.0,
  MAX_ACTION = 1.0;
const f32 = Math.fround;

export class MountainCarContinuous extends ClassicEnv {
  static id = spec.id;
  #f32 = false; // Gymnasium's state: float64 after reset, float32 after a step

  constructor(constants = {}) {
    super(spec, constants);
  }

  initialState(rand) {
    return [uniform(rand, -0.6, -0.4), 0];
  }
  afterReset() {
    this.#f32 = false;
  }
  afterSetState() {
    // a state as Gymnasium's step leaves it: float32
    this.state[0] = f32(this.state[0]);
    this.state[1] = f32(this.state[1]);
    this.#f32 = true;
  }
  observe() {
    this.obs.set(this.state);
  }

  // action: [force] (float32, as Gymnasium's action space; the reward charges it unclipped)
  advance(action) {
    const s = this.state,
      c = this.constants,
      a = f32(action[0]);
    // pF, vF: whether position and velocity are NumPy float32 (else float64 or a Python float)
    let position = s[0],
      velocity = s[1],
      pF = this.#f32,
      vF = this.#f32;
    // force = min(max(action[0], min_action), max_action): Python returns the float32 action or the bound;
    // a float32 compared with a Python float compares in float32
    let force = a,
      fF = true;
    if (a < f32(MIN_ACTION)) {
      force = MIN_ACTION;
      fF = false;
    } else if (a > f32(MAX_ACTION)) {
      force = MAX_ACTION;
      fF = false;
    }
    const g = 0.0025 * this.libm.cos(pF ? f32(3 * position) : 3 * position); // math.cos, a Python float
    const dv = fF ? f32(f32(force * f32(c.power)) - f32(g)) : force * c.power - g;
    velocity = vF ? f32(velocity + f32(dv)) : velocity + dv;
    if (vF ? velocity > f32(c.max_speed) : velocity > c.max_speed) {
      velocity = c.max_speed;
      vF = false;
    }
    if (vF ? velocity < f32(-c.max_speed) : velocity < -c.max_speed) {
      velocity = -c.max_speed;
      vF = false;
    }
    position = pF ? f32(position + f32(velocity)) : position + velocity;
    if (pF ? position > f32(MAX_POSITION) : position > MAX_POSITION) {
      position = MAX_POSITION;
      pF = false;
    }
    if (pF ? position < f32(MIN_POSITION) : position < MIN_POSITION) {
      position = MIN_POSITION;
      pF = false;
    }
    if ((pF ? position === f32(MIN_POSITION) : position === MIN_POSITION) && velocity < 0) {
      velocity = 0; // Python's int 0
      vF = false;
    }
    const terminated =
      (pF ? position >= f32(GOAL_POSITION) : position >= GOAL_POSITION) &&
      (vF ? velocity >= f32(GOAL_VELOCITY) : velocity >= GOAL_VELOCITY);
    const reward = (terminated ? 100.0 : 0) - a * a * 0.1; // math.pow(action[0], 2): exact for a float32
    s[0] = f32(position);
    s[1] = f32(velocity);
    this.#f32 = true;
    return { reward, terminated };
  }
}
export { MountainCarContinuous as Env };
