// Gymnasium's MountainCar render() (MountainCar-v0 and MountainCarContinuous-v0 draw alike but for the goal),
// on a Canvas 2D context: the hill, the car with its wheels and the flag, in a 600x400 pixel world (pygame's
// frame, y up, flipped on output), scaled to fit the view. State: [position, velocity].
import { GOAL_POSITION, MAX_POSITION, MIN_POSITION, spec } from '../envs/mountain_car.js';
import {
  begin,
  clamp,
  corners,
  disc,
  finish,
  fitWorld,
  gymFrame,
  kick,
  kickArrow,
  polygon,
  rot,
  toWorld,
} from './common.js';

const WIDTH = 600,
  HEIGHT = 400;
const CAR_W = 40,
  CAR_H = 20,
  CLEARANCE = 10,
  WHEEL_R = CAR_H / 2.5;
const FLAG_RGB = 'rgb(204,204,0)',
  WHEEL_RGB = 'rgb(128,128,128)';
const height = (x) => Math.sin(3 * x) * 0.45 + 0.55; // the env's _height()

/**
 * The renderer for one MountainCar variant, from its env module (web/page/envs/): Gymnasium's min_position,
 * max_position and goal_position (0.5 for MountainCar-v0, 0.45 for MountainCarContinuous-v0), and max_speed.
 */
export function makeRenderer(env) {
  const { MIN_POSITION: minPosition, MAX_POSITION: maxPosition, GOAL_POSITION: goalPosition } = env;
  const maxSpeed = env.spec.constants.max_speed.value;
  const scale = WIDTH / (maxPosition - minPosition);
  // A push: 1000 px of horizontal drag per unit of velocity (70 px: the default top speed), a click nudges
  // by 0.02; up to twice the bound (from one bound to the other), then clipped to it as step() does.
  const KICK = { pxPerUnit: 1000, max: 2 * maxSpeed, click: 0.02 };
  // The car's pose in Gymnasium's frame (y up): its rotation is cos(3 pos) radians, as render() has it.
  const pose = (pos) => ({
    a: Math.cos(3 * pos),
    x: (pos - minPosition) * scale,
    y: CLEARANCE + height(pos) * scale,
  });

  /** draw(ctx, state, view): view = {width, height, hud?, badge?, drag?}; without hud/badge/drag, Gymnasium's. */
  function draw(ctx, state, view) {
    const { k } = begin(ctx, WIDTH, HEIGHT, view);
    gymFrame(ctx, HEIGHT);
    // The hill: pygame.draw.aalines through np.linspace(min_position, max_position, 100). pygame draws each
    // segment on its own, blending the shared end pixels twice: separate strokes with square caps do alike.
    const step = (maxPosition - minPosition) / 99;
    const hill = (i) => {
      const x = i < 99 ? i * step + minPosition : maxPosition; // as numpy computes it
      return [(x - minPosition) * scale, height(x) * scale];
    };
    ctx.strokeStyle = '#000';
    ctx.lineCap = 'square';
    for (let i = 1, a = hill(0); i < 100; i++) {
      const b = hill(i);
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
      a = b;
    }
    ctx.lineCap = 'butt';
    const pos = state[0],
      finite = Number.isFinite(pos);
    if (finite) {
      const { a, x, y } = pose(pos);
      polygon(
        ctx,
        '#000',
        corners(-CAR_W / 2, CAR_W / 2, 0, CAR_H).map(([u, v]) => rot(u, v, a, x, y)),
      );
      for (const u of [CAR_W / 4, -CAR_W / 4]) disc(ctx, WHEEL_RGB, ...rot(u, 0, a, x, y), WHEEL_R);
    }
    // The flag at whole pixels, as pygame's: a 50 px pole (gfxdraw.vline, both ends included) and a pennant.
    const fx = Math.trunc((goalPosition - minPosition) * scale),
      fy1 = Math.trunc(height(goalPosition) * scale);
    const fy2 = fy1 + 50;
    ctx.fillStyle = '#000';
    ctx.fillRect(fx - 0.5, fy1 - 0.5, 1, fy2 - fy1 + 1);
    polygon(ctx, FLAG_RGB, [
      [fx, fy2],
      [fx, fy2 - 10],
      [fx + 25, fy2 - 5],
    ]);
    ctx.restore();
    if (finite && view.drag) {
      const { x, y } = pose(pos),
        { handle, d } = view.drag;
      kickArrow(
        ctx,
        toWorld(HEIGHT, x, y + CAR_H / 2),
        [1, 0],
        kick(d, [1, 0], handle.side, KICK),
        KICK.pxPerUnit,
      );
    }
    finish(ctx, WIDTH, k, view);
  }

  /** hit(state, p): {part: 'car', side} when p (world pixels, y down) is on the car or its wheels (8 px slack). */
  function hit(state, [px, py]) {
    if (!Number.isFinite(state[0])) return null;
    const { a, x, y } = pose(state[0]),
      [cx, cy] = toWorld(HEIGHT, x, y);
    // Into the car's own frame: u along it, v up from its base.
    const dx = px - cx,
      dy = cy - py;
    const u = dx * Math.cos(a) + dy * Math.sin(a),
      v = -dx * Math.sin(a) + dy * Math.cos(a);
    if (Math.abs(u) > CAR_W / 2 + 8 || v < -WHEEL_R - 8 || v > CAR_H + 8) return null;
    return { part: 'car', side: Math.sign(dx) || 1 };
  }

  /** push(state, handle, d): the car's velocity nudged by the horizontal drag d, clipped to ±max_speed. */
  function push(state, handle, d) {
    const s = Float64Array.from(state);
    s[1] = clamp(s[1] + kick(d, [1, 0], handle.side, KICK), -maxSpeed, maxSpeed);
    return s;
  }

  return { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push };
}

/** MountainCar-v0's renderer (its flag at 0.5). A plain object of the env's names, not `import * as`: a
 * namespace object makes esbuild emit a helper chunk the page then fetches before its first action. */
export const renderer = makeRenderer({ MIN_POSITION, MAX_POSITION, GOAL_POSITION, spec });
