// Gymnasium's HalfCheetah-v5 (gymnasium/envs/mujoco/half_cheetah_v5.py, default arguments) on the MuJoCo
// engine: no healthy reward, never terminates, normal reset noise on qvel.
import xml from './assets/half_cheetah.xml.js';
import { LocomotionEnv, load, obsNames } from './locomotion.js';

export { load };

const JOINTS = ['rootx', 'rootz', 'rooty', 'bthigh', 'bshin', 'bfoot', 'fthigh', 'fshin', 'ffoot'];

export const spec = {
  id: 'HalfCheetah-v5',
  title: 'HalfCheetah',
  renderFps: 20, // round(1 / dt), dt = 0.01 s timestep x frame_skip 5
  maxSteps: 1000,
  action: { type: 'box', shape: [6], low: [-1, -1, -1, -1, -1, -1], high: [1, 1, 1, 1, 1, 1] },
  actionNames: ['back thigh', 'back shin', 'back foot', 'front thigh', 'front shin', 'front foot'],
  solved: 1500, // the bar the shipped policy was trained to (greedy, 10 episodes)
  obsNames: obsNames(JOINTS),
  human: { keys: {}, idle: [0, 0, 0, 0, 0, 0] },
  constants: {},
  render: 'mujoco/half_cheetah',
  engine: 'mujoco', // needs the engine: await load() first; envs without one have no such field
  stateSize: 18, // [qpos, qvel], as Gymnasium's state_vector()
  mujoco: {
    xml,
    frameSkip: 5,
    forwardWeight: 1,
    ctrlCostWeight: 0.1,
    healthyReward: 0,
    noise: 0.1,
    qvelNoise: 'normal',
    obsClip: null,
    camera: { follow: 'torso' },
    healthy: null,
  },
};

export class HalfCheetah extends LocomotionEnv {
  static id = spec.id;
  constructor() {
    super(spec);
  }
}
export { HalfCheetah as Env };
