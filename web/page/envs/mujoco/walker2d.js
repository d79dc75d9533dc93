// Gymnasium's Walker2d-v5 (gymnasium/envs/mujoco/walker2d_v5.py, default arguments) on the MuJoCo engine.
import xml from './assets/walker2d_v5.xml.js';
import { LocomotionEnv, load, obsNames } from './locomotion.js';

export { load };

const JOINTS = [
  'rootx',
  'rootz',
  'rooty',
  'thigh_joint',
  'leg_joint',
  'foot_joint',
  'thigh_left_joint',
  'leg_left_joint',
  'foot_left_joint',
];

export const spec = {
  id: 'Walker2d-v5',
  title: 'Walker2d',
  renderFps: 125, // round(1 / dt), dt = 0.002 s timestep x frame_skip 4
  maxSteps: 1000,
  action: { type: 'box', shape: [6], low: [-1, -1, -1, -1, -1, -1], high: [1, 1, 1, 1, 1, 1] },
  actionNames: ['right thigh', 'right leg', 'right foot', 'left thigh', 'left leg', 'left foot'],
  solved: 1500, // the bar the shipped policy was trained to (greedy, 10 episodes)
  obsNames: obsNames(JOINTS),
  human: { keys: {}, idle: [0, 0, 0, 0, 0, 0] },
  constants: {},
  render: 'mujoco/walker2d',
  engine: 'mujoco', // needs the engine: await load() first; envs without one have no such field
  stateSize: 18, // [qpos, qvel], as Gymnasium's state_vector()
  mujoco: {
    xml,
    frameSkip: 4,
    forwardWeight: 1,
    ctrlCostWeight: 1e-3,
    healthyReward: 1,
    noise: 5e-3,
    qvelNoise: 'uniform',
    obsClip: 10,
    camera: { follow: 'torso' },
    // is_healthy: z in (0.8, 2.0), torso angle in (-1, 1)
    healthy: (qpos) => qpos[1] > 0.8 && qpos[1] < 2 && qpos[2] > -1 && qpos[2] < 1,
  },
};

export class Walker2d extends LocomotionEnv {
  static id = spec.id;
  constructor() {
    super(spec);
  }
}
export { Walker2d as Env };
