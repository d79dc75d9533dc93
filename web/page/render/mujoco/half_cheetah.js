// HalfCheetah's side view (render/mujoco.js).
import { spec } from '../../envs/mujoco/half_cheetah.js';
import { mujocoRenderer } from '../mujoco.js';

export const renderer = mujocoRenderer(spec);
