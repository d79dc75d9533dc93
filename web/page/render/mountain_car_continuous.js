// MountainCarContinuous-v0 draws as MountainCar-v0 but for its goal: position 0.45 (Gymnasium's
// continuous_mountain_car.py), where MountainCar-v0's flag stands at 0.5.
import * as env from '../envs/mountain_car_continuous.js';
import { makeRenderer } from './mountain_car.js';

export const renderer = makeRenderer(env);
