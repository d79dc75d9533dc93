// The env registry (docs/design.md, the page API): Gymnasium id -> {spec, Env, module}. Node tests and the
// bundler import it; a page imports only its own env module (web/page/envs/<module>.js).
import * as acrobot from './acrobot.js';
import * as cartpole from './cartpole.js';
import * as mountainCar from './mountain_car.js';
import * as mountainCarContinuous from './mountain_car_continuous.js';
import * as pendulum from './pendulum.js';
import * as lunarLander from './box2d/lunar_lander.js';
import * as lunarLanderContinuous from './box2d/lunar_lander_continuous.js';
import * as bipedalWalker from './box2d/bipedal_walker.js';
import * as halfCheetah from './mujoco/half_cheetah.js';
import * as hopper from './mujoco/hopper.js';
import * as walker2d from './mujoco/walker2d.js';
import * as pong from './atari/pong.js';
import * as breakout from './atari/breakout.js';
import * as spaceInvaders from './atari/space_invaders.js';

// module: the file's name under envs/ (the bundler builds a page from it). An engine env (spec.engine) also
// exports load(), which its page imports from the module itself (docs/design.md).
const entry = (mod, module) => [mod.spec.id, { spec: mod.spec, Env: mod.Env, module }];
// An imported policy's Atari game (<Game>NoFrameskip-v4) makes its frames the way the policy's library did
// (policy.json `frames`): one entry per preprocessing, keyed `<id> <frames>`, the module's variants[frames].
const variants = (mod, module) =>
  Object.entries(mod.variants).map(([frames, v]) => [
    `${v.spec.id} ${frames}`,
    { spec: v.spec, Env: v.Env, module, variant: frames },
  ]);

export const ENVS = Object.fromEntries([
  entry(cartpole, 'cartpole'),
  entry(acrobot, 'acrobot'),
  entry(mountainCar, 'mountain_car'),
  entry(mountainCarContinuous, 'mountain_car_continuous'),
  entry(pendulum, 'pendulum'),
  entry(hopper, 'mujoco/hopper'),
  entry(halfCheetah, 'mujoco/half_cheetah'),
  entry(walker2d, 'mujoco/walker2d'),
  entry(lunarLander, 'box2d/lunar_lander'),
  entry(lunarLanderContinuous, 'box2d/lunar_lander_continuous'),
  entry(bipedalWalker, 'box2d/bipedal_walker'),
  entry(pong, 'atari/pong'),
  entry(breakout, 'atari/breakout'),
  entry(spaceInvaders, 'atari/space_invaders'),
  ...variants(pong, 'atari/pong'),
  ...variants(breakout, 'atari/breakout'),
  ...variants(spaceInvaders, 'atari/space_invaders'),
]);
