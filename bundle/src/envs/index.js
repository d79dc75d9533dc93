// The env registry (docs/design.md, contract 3): Gymnasium id -> {spec, Env, module}. Node tests and the
// bundler import it; a page imports only its own env module (bundle/src/envs/<module>.js).
import * as acrobot from './acrobot.js';
import * as cartpole from './cartpole.js';
import * as mountainCar from './mountain_car.js';
import * as mountainCarContinuous from './mountain_car_continuous.js';
import * as pendulum from './pendulum.js';

const entry = (mod, module) => [mod.spec.id, { spec: mod.spec, Env: mod.Env, module }];

export const ENVS = Object.fromEntries([
  entry(cartpole, 'cartpole'),
  entry(acrobot, 'acrobot'),
  entry(mountainCar, 'mountain_car'),
  entry(mountainCarContinuous, 'mountain_car_continuous'),
  entry(pendulum, 'pendulum'),
]);
