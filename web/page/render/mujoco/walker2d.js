// Walker2d's side view (render/mujoco.js).
import { spec } from '../../envs/mujoco/walker2d.js';
import { mujocoRenderer } from '../mujoco.js';

export const renderer = mujocoRenderer(spec);
