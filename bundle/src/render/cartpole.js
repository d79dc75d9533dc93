// Gymnasium's CartPole render(), on a Canvas 2D context. The scene lives in Gymnasium's 600x400 pixel
// world (y up, flipped on output) and is scaled to fit view = {width, height} (context units), so it is
// resolution independent: the caller sets the context transform for devicePixelRatio.
import { LENGTH, X_THRESHOLD } from '../envs/cartpole.js';
import { arrow, begin, clamp, finish, fitWorld, gymFrame, kick, poly, rot, shape } from './common.js';

export const WIDTH = 600, HEIGHT = 400;
const SCALE = WIDTH / (X_THRESHOLD * 2); // 125 px per metre
const POLE_W = 10, POLE_LEN = SCALE * 2 * LENGTH, CART_W = 50, CART_H = 30, CART_Y = 100, AXLE = CART_H / 4;
const POLE_RGB = 'rgb(202,152,101)', AXLE_RGB = 'rgb(129,132,203)';
// A push: 40 px of horizontal drag per rad/s of pole angular velocity, at most 3; a click shoves by 0.6.
const KICK = { pxPerUnit: 40, max: 3, click: 0.6 };

/** The world-to-view mapping: scale k and offsets (the 3:2 world is centred in the view). */
export function fit(view) { return fitWorld(WIDTH, HEIGHT, view); }

/** Screen position (world pixels, y down) of the cart centre and of the axle. */
export function cartX(state) { return state[0] * SCALE + WIDTH / 2; }
export const AXLE_Y = HEIGHT - (CART_Y + AXLE); // y down

/**
 * draw(ctx, state, view): state = [x, x_dot, theta, theta_dot]; view = {width, height, hud?: string[],
 * badge?: string, drag?: {handle, d} (push preview), arrow?: number (push preview in rad/s, the page's older
 * form)}. Without hud/badge/drag/arrow the picture is Gymnasium's.
 */
export function draw(ctx, state, view) {
  const { k } = begin(ctx, WIDTH, HEIGHT, view);
  gymFrame(ctx, HEIGHT);
  const cx = cartX(state), theta = state[2];
  const finite = Number.isFinite(cx) && Number.isFinite(theta);
  if (finite) {
    const l = -CART_W / 2, r = CART_W / 2, t = CART_H / 2, b = -CART_H / 2;
    shape(ctx, '#000', () => poly(ctx, [[l, b], [l, t], [r, t], [r, b]].map(([x, y]) => [x + cx, y + CART_Y])));
    const pl = -POLE_W / 2, pr = POLE_W / 2, pt = POLE_LEN - POLE_W / 2, pb = -POLE_W / 2;
    shape(ctx, POLE_RGB, () => poly(ctx, [[pl, pb], [pl, pt], [pr, pt], [pr, pb]].map(([x, y]) => rot(x, y, -theta, cx, CART_Y + AXLE))));
    shape(ctx, AXLE_RGB, () => ctx.arc(Math.trunc(cx), Math.trunc(CART_Y + AXLE), Math.trunc(POLE_W / 2), 0, 2 * Math.PI));
  }
  ctx.fillStyle = '#000';
  ctx.fillRect(-0.5, CART_Y - 0.5, WIDTH + 1, 1); // the track, last as in render(): gfxdraw.hline at y=100
  ctx.restore();
  if (finite && view.drag) { // from the grabbed point, the way the pole will be shoved
    const { handle, d } = view.drag, r = handle.r ?? POLE_LEN * 0.8;
    arrow(ctx, cx + Math.sin(theta) * r, AXLE_Y - Math.cos(theta) * r, kickOf(handle, d) * KICK.pxPerUnit, 0);
  } else if (finite && view.arrow) { // the page's older form: a kick in rad/s, drawn at the pole's tip
    const r = POLE_LEN * 0.8;
    arrow(ctx, cx + Math.sin(theta) * r, AXLE_Y - Math.cos(theta) * r, clamp(view.arrow * KICK.pxPerUnit, -80, 80), 0);
  }
  finish(ctx, WIDTH, k, view);
}

/**
 * hit(state, p): {part: 'pole', r, side} when p (world pixels, y down) is on the pole (10 px slack), else null;
 * r is the grab's distance from the axle along the pole, side the pointer's side of it.
 */
export function hit(state, [x, y]) {
  const th = state[2], dx = x - cartX(state), dy = y - AXLE_Y;
  const along = dx * Math.sin(th) - dy * Math.cos(th), across = dx * Math.cos(th) + dy * Math.sin(th);
  if (!(along > -10 && along < POLE_LEN + 10 && Math.abs(across) < 18)) return null;
  return { part: 'pole', r: Math.max(0, Math.min(POLE_LEN, along)), side: Math.sign(across) || 1 };
}

const kickOf = (handle, d) => kick(d, [1, 0], handle.side, KICK);

/** push(state, handle, d): the state with the pole's angular velocity kicked by the horizontal drag d. */
export function push(state, handle, d) {
  const s = Float64Array.from(state);
  s[3] += kickOf(handle, d);
  return s;
}

export const renderer = { WIDTH, HEIGHT, fit, draw, hit, push };
