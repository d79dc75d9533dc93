// Gymnasium's Pendulum render(), on a Canvas 2D context: the rod with its rounded ends, the torque arrow and
// the axle, in a 500x500 pixel world (pygame's frame, y up, flipped on output), scaled to fit the view.
// State: [theta, theta_dot] (theta = 0: upright); view.action: the last action (torque), as env.last_u.
import { MAX_TORQUE, spec } from '../envs/pendulum.js';
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

// render() draws last_u, which step() clips to ±max_torque; a push keeps step()'s bound on the speed.
const MAX_SPEED = spec.constants.max_speed.value;
const WIDTH = 500,
  HEIGHT = 500;
const SCALE = WIDTH / (2.2 * 2),
  OFFSET = Math.floor(WIDTH / 2);
const ROD_LEN = SCALE,
  ROD_W = 0.2 * SCALE,
  ROD_RGB = 'rgb(204,77,77)';
// A push: 20 px of drag across the rod per rad/s, a click shoves by 2 rad/s; clipped to ±max_speed.
const KICK = { pxPerUnit: 20, max: 2 * MAX_SPEED, click: 2 };

// Gymnasium's assets/clockwise.png (329x312, a black clockwise arrow on transparency), traced as a stroked
// arc and a barbed head, in the image's pixels (y down), fitted to its alpha (3% of the ink differs).
const IMG_W = 329,
  IMG_H = 312;
const ARC = { x: 173.15, y: 156.0, r: 151.2, width: 10, from: -91.04, to: 190 }; // degrees, clockwise
const HEAD = [
  [22, 110.97],
  [44.5, 169.62],
  [22, 153.38],
  [-0.5, 169.62],
];

/** The last torque as a number (clipped as step() does), or null before the first step. */
function torque(action) {
  const u =
    action === null || action === undefined ? NaN : Number(action.length === undefined ? action : action[0]);
  return Number.isFinite(u) ? clamp(u, -MAX_TORQUE, MAX_TORQUE) : null;
}

/**
 * The torque arrow as Gymnasium blits it: the image smooth-scaled to an s x s square (s = int(scale |u| / 2)),
 * mirrored when u > 0 (counter-clockwise), centred on the axle; world pixels, y down.
 */
function torqueArrow(ctx, u) {
  // last_u is float32 (the action's dtype), so NumPy computes scale * |u| / 2 in float32 (NEP 50).
  const s = Math.trunc(Math.fround(Math.fround(SCALE) * Math.fround(Math.abs(u))) / 2);
  if (s < 1) return;
  const half = Math.floor(s / 2),
    x0 = OFFSET - half,
    y0 = OFFSET + half - s;
  ctx.save();
  ctx.translate(u > 0 ? x0 + s : x0, y0);
  ctx.scale(((u > 0 ? -1 : 1) * s) / IMG_W, s / IMG_H);
  ctx.fillStyle = ctx.strokeStyle = '#000';
  ctx.lineWidth = ARC.width;
  ctx.beginPath();
  ctx.arc(ARC.x, ARC.y, ARC.r, (ARC.from * Math.PI) / 180, (ARC.to * Math.PI) / 180);
  ctx.stroke();
  ctx.beginPath();
  for (const [x, y] of HEAD) ctx.lineTo(x, y);
  ctx.fill();
  ctx.restore();
}

/** draw(ctx, state, view): view = {width, height, action?, hud?, badge?, drag?}; bare, Gymnasium's picture. */
function draw(ctx, state, view) {
  const { k } = begin(ctx, WIDTH, HEIGHT, view);
  const th = state[0],
    finite = Number.isFinite(th),
    a = th + Math.PI / 2;
  gymFrame(ctx, HEIGHT);
  if (finite) {
    polygon(
      ctx,
      ROD_RGB,
      corners(0, ROD_LEN, -ROD_W / 2, ROD_W / 2).map(([x, y]) => rot(x, y, a, OFFSET, OFFSET)),
    );
    disc(ctx, ROD_RGB, OFFSET, OFFSET, ROD_W / 2);
    disc(ctx, ROD_RGB, ...rot(ROD_LEN, 0, a, OFFSET, OFFSET), ROD_W / 2);
  }
  ctx.restore();
  const u = torque(view.action);
  if (u !== null) torqueArrow(ctx, u);
  gymFrame(ctx, HEIGHT);
  disc(ctx, '#000', OFFSET, OFFSET, 0.05 * SCALE); // the axle, over the arrow
  ctx.restore();
  if (finite && view.drag) {
    const { handle, d } = view.drag,
      g = grab(th, handle.r);
    kickArrow(ctx, g.p, g.tangent, kick(d, g.tangent, handle.side, KICK), KICK.pxPerUnit);
  }
  finish(ctx, WIDTH, k, view);
}

/** The point r px along the rod (world pixels, y down) and the unit direction it moves as theta grows. */
function grab(th, r) {
  // y up the rod points along (-sin th, cos th) and moves along (-cos th, -sin th); y down both flip their y.
  const p = toWorld(HEIGHT, OFFSET - r * Math.sin(th), OFFSET + r * Math.cos(th));
  return { p, tangent: [-Math.cos(th), Math.sin(th)] };
}

/** hit(state, p): {part: 'rod', r, side} when p (world pixels, y down) is on the rod (8 px slack), else null. */
function hit(state, [px, py]) {
  const th = state[0];
  if (!Number.isFinite(th)) return null;
  const [x, y] = toWorld(HEIGHT, OFFSET, OFFSET),
    dx = px - x,
    dy = py - y;
  const along = -dx * Math.sin(th) - dy * Math.cos(th),
    across = -dx * Math.cos(th) + dy * Math.sin(th);
  if (along < -(ROD_W / 2 + 8) || along > ROD_LEN + ROD_W / 2 + 8 || Math.abs(across) > ROD_W / 2 + 8)
    return null;
  return { part: 'rod', r: clamp(along, 0, ROD_LEN), side: Math.sign(across) || 1 };
}

/** push(state, handle, d): the state with the angular velocity kicked by the drag d, clipped to ±max_speed. */
function push(state, handle, d) {
  const s = Float64Array.from(state);
  s[1] = clamp(s[1] + kick(d, grab(s[0], handle.r).tangent, handle.side, KICK), -MAX_SPEED, MAX_SPEED);
  return s;
}

export const renderer = { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push };
