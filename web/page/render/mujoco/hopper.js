// Hopper's side view (render/mujoco.js).
import { spec } from '../../envs/mujoco/hopper.js';
import { mujocoRenderer } from '../mujoco.js';

export const renderer = mujocoRenderer(spec);
