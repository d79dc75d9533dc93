// Gymnasium's Hopper-v5 (gymnasium/envs/mujoco/hopper_v5.py, default arguments) on the MuJoCo engine.
import xml from './assets/hopper.xml.js';
import { LocomotionEnv, load, obsNames } from './locomotion.js';

export { load };

const JOINTS = ['rootx', 'rootz', 'rooty', 'thigh_joint', 'leg_joint', 'foot_joint'];

export const spec = {
  id: 'Hopper-v5',
  title: 'Hopper',
  renderFps: 125, // round(1 / dt), dt = 0.002 s timestep x frame_skip 4
  maxSteps: 1000,
  action: { type: 'box', shape: [3], low: [-1, -1, -1], high: [1, 1, 1] },
  actionNames: ['thigh', 'leg', 'foot'], // the motors' joints
  solved: 1500, // the bar the shipped policy was trained to (greedy, 10 episodes)
  obsNames: obsNames(JOINTS),
  human: { keys: {}, idle: [0, 0, 0] },
  constants: {},
  render: 'mujoco/hopper',
  engine: 'mujoco', // needs the engine: await load() first; envs without one have no such field
  stateSize: 12, // [qpos, qvel], as Gymnasium's state_vector()
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
    // is_healthy: every state_vector()[2:] value in (-100, 100), z in (0.7, inf), torso angle in (-0.2, 0.2)
    healthy(qpos, qvel) {
      for (let i = 2; i < qpos.length; i++) if (!(qpos[i] > -100 && qpos[i] < 100)) return false;
      for (let i = 0; i < qvel.length; i++) if (!(qvel[i] > -100 && qvel[i] < 100)) return false;
      return qpos[1] > 0.7 && qpos[1] < Infinity && qpos[2] > -0.2 && qpos[2] < 0.2;
    },
  },
};

export class Hopper extends LocomotionEnv {
  static id = spec.id;
  constructor() {
    super(spec);
  }
}
export { Hopper as Env };
