// Gymnasium's LunarLanderContinuous-v3: LunarLander-v3 (lunar_lander.js) with continuous=True, a box action
// [main engine, side engines] in [-1, 1]^2.
import { LunarLander, load, makeSpec } from './lunar_lander.js';

export { load };
export const spec = makeSpec(true);

export class LunarLanderContinuous extends LunarLander {
  static id = spec.id;
  constructor(constants = {}) {
    super(constants, spec);
  }
}
export { LunarLanderContinuous as Env };
