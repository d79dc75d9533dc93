// Gymnasium's Acrobot-v1 (book dynamics, no torque noise), operation for operation: RK4 over one 0.2 s step
// in float64, float32 observations. Runs in Node and in the browser: no DOM.
import { ClassicEnv, uniform } from './base.js';

export const spec = {
  id: 'Acrobot-v1',
  title: 'Acrobot',
  renderFps: 15,
  maxSteps: 500,
  action: { type: 'discrete', n: 3 },
  actionNames: ['-1 torque', '0 torque', '+1 torque'],
  solved: -100,
  obsNames: ['cos θ1', 'sin θ1', 'cos θ2', 'sin θ2', 'θ1 angular velocity', 'θ2 angular velocity'],
  human: { keys: { ArrowLeft: 0, ArrowRight: 2 }, idle: 1 },
  // keys: Gymnasium's attribute names (env.unwrapped.<name>); gravity is a literal in its _dsdt
  constants: {
    LINK_LENGTH_1: { value: 1.0, min: 0.3, max: 3, label: 'link 1 length (m)' },
    LINK_MASS_1: { value: 1.0, min: 0.2, max: 5, label: 'link 1 mass (kg)' },
    LINK_MASS_2: { value: 1.0, min: 0.2, max: 5, label: 'link 2 mass (kg)' },
    LINK_COM_POS_1: { value: 0.5, min: 0.1, max: 1, label: 'link 1 centre of mass (m)' },
    LINK_COM_POS_2: { value: 0.5, min: 0.1, max: 1, label: 'link 2 centre of mass (m)' },
    LINK_MOI: { value: 1.0, min: 0.2, max: 5, label: 'moment of inertia (kg m²)' },
  },
  stateSize: 4, // [θ1, θ2, θ1 velocity, θ2 velocity]
  render: 'acrobot',
};

export const DT = 0.2,
  MAX_VEL_1 = 4 * Math.PI,
  MAX_VEL_2 = 9 * Math.PI,
  LINK_LENGTH_2 = 1.0;
const AVAIL_TORQUE = [-1.0, 0.0, 1];
const G = 9.8;

// acrobot.py's wrap(): Python's loop (a non-finite value would never leave it, so it is left as it is)
function wrap(x, m, M) {
  if (!Number.isFinite(x)) return x;
  const diff = M - m;
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}
const bound = (x, m, M) => {
  // min(max(x, m), M) with Python's builtins
  const y = m > x ? m : x;
  return M < y ? M : y;
};

export class Acrobot extends ClassicEnv {
  static id = spec.id;
  #f32 = false; // Gymnasium's reset state is float32 (its obs then uses NumPy's float32 sin/cos)
  #k = [new Float64Array(5), new Float64Array(5), new Float64Array(5), new Float64Array(5)];
  #y0 = new Float64Array(5);
  #y = new Float64Array(5);

  constructor(constants = {}) {
    super(spec, constants);
  }

  // uniform(-0.1, 0.1) drawn in float64, then .astype(np.float32)
  initialState(rand) {
    return [0, 1, 2, 3].map(() => Math.fround(uniform(rand, -0.1, 0.1)));
  }
  afterReset() {
    for (let i = 0; i < 4; i++) this.state[i] = Math.fround(this.state[i]); // a reset state is float32
    this.#f32 = true;
  }
  afterSetState() {
    this.#f32 = false;
  }

  observe() {
    const s = this.state,
      o = this.obs;
    const { sin, cos } = this.#f32 ? { sin: this.libm.sinf, cos: this.libm.cosf } : this.libm;
    o[0] = cos(s[0]);
    o[1] = sin(s[0]);
    o[2] = cos(s[1]);
    o[3] = sin(s[1]);
    o[4] = s[2];
    o[5] = s[3];
  }

  // _dsdt: the derivative of y = [θ1, θ2, dθ1, dθ2, torque] into out (Python's evaluation order)
  dsdt(y, out) {
    const c = this.constants,
      { sin, cos, sq } = this.libm;
    const m1 = c.LINK_MASS_1,
      m2 = c.LINK_MASS_2,
      l1 = c.LINK_LENGTH_1,
      lc1 = c.LINK_COM_POS_1;
    const lc2 = c.LINK_COM_POS_2,
      I1 = c.LINK_MOI,
      I2 = c.LINK_MOI;
    const a = y[4],
      theta1 = y[0],
      theta2 = y[1],
      dtheta1 = y[2],
      dtheta2 = y[3];
    const cos2 = cos(theta2),
      sin2 = sin(theta2);
    const d1 = m1 * sq(lc1) + m2 * (sq(l1) + sq(lc2) + 2 * l1 * lc2 * cos2) + I1 + I2;
    const d2 = m2 * (sq(lc2) + l1 * lc2 * cos2) + I2;
    const phi2 = m2 * lc2 * G * cos(theta1 + theta2 - Math.PI / 2.0);
    const phi1 =
      -m2 * l1 * lc2 * sq(dtheta2) * sin2 -
      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
      (m1 * lc1 + m2 * l1) * G * cos(theta1 - Math.PI / 2) +
      phi2;
    const ddtheta2 =
      (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * sq(dtheta1) * sin2 - phi2) / (m2 * sq(lc2) + I2 - sq(d2) / d1);
    const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    out[0] = dtheta1;
    out[1] = dtheta2;
    out[2] = ddtheta1;
    out[3] = ddtheta2;
    out[4] = 0.0;
  }

  advance(action) {
    const s = this.state,
      y0 = this.#y0,
      y = this.#y,
      [k1, k2, k3, k4] = this.#k;
    for (let i = 0; i < 4; i++) y0[i] = s[i];
    y0[4] = AVAIL_TORQUE[action];
    // rk4(self._dsdt, s_augmented, [0, self.dt]), NumPy's elementwise arithmetic
    const dt = DT - 0,
      dt2 = dt / 2.0;
    this.dsdt(y0, k1);
    for (let i = 0; i < 5; i++) y[i] = y0[i] + dt2 * k1[i];
    this.dsdt(y, k2);
    for (let i = 0; i < 5; i++) y[i] = y0[i] + dt2 * k2[i];
    this.dsdt(y, k3);
    for (let i = 0; i < 5; i++) y[i] = y0[i] + dt * k3[i];
    this.dsdt(y, k4);
    for (let i = 0; i < 4; i++) s[i] = y0[i] + (dt / 6.0) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    s[0] = wrap(s[0], -Math.PI, Math.PI);
    s[1] = wrap(s[1], -Math.PI, Math.PI);
    s[2] = bound(s[2], -MAX_VEL_1, MAX_VEL_1);
    s[3] = bound(s[3], -MAX_VEL_2, MAX_VEL_2);
    this.#f32 = false;
    const { cos } = this.libm;
    const terminated = -cos(s[0]) - cos(s[1] + s[0]) > 1.0;
    return { reward: terminated ? 0.0 : -1.0, terminated };
  }
}
export { Acrobot as Env };
