// MountainCarContinuous-v0 draws as MountainCar-v0 but for its goal: position 0.45 (Gymnasium's
// continuous_mountain_car.py), where MountainCar-v0's flag stands at 0.5.
import { GOAL_POSITION, MAX_POSITION, MIN_POSITION, spec } from '../envs/mountain_car_continuous.js';
import { makeRenderer } from './mountain_car.js';

// the env's names as a plain object (mountain_car.js says why not `import * as`)
export const renderer = makeRenderer({ MIN_POSITION, MAX_POSITION, GOAL_POSITION, spec });
