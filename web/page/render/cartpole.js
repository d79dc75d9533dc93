// Gymnasium's CartPole render(), on a Canvas 2D context: the cart, the pole, its axle and the track, in a
// 600x400 pixel world (pygame's frame, y up, flipped on output) scaled to fit view = {width, height} (context
// units), so it is resolution independent: the caller sets the context transform for devicePixelRatio.
// State: Gymnasium's env.unwrapped.state [x, x_dot, theta, theta_dot].
import { LENGTH, X_THRESHOLD } from '../envs/cartpole.js';
import { begin, corners, disc, finish, fitWorld, gymFrame, kick, kickArrow, polygon, rot } from './common.js';

const WIDTH = 600,
  HEIGHT = 400;
const SCALE = WIDTH / (X_THRESHOLD * 2); // 125 px per metre
const POLE_W = 10,
  CART_W = 50,
  CART_H = 30,
  CART_Y = 100,
  AXLE = CART_H / 4;
// render() draws the pole 2 * length long: a what-if length (the env's constants, docs/design.md) shows
const poleLen = (constants) => SCALE * 2 * (constants?.length ?? LENGTH);
const POLE_RGB = 'rgb(202,152,101)',
  AXLE_RGB = 'rgb(129,132,203)';
// A push: 40 px of horizontal drag per rad/s of the pole's angular velocity, at most 3; a click shoves by 0.6.
const KICK = { pxPerUnit: 40, max: 3, click: 0.6 };

const cartX = (state) => state[0] * SCALE + WIDTH / 2;
const AXLE_Y = HEIGHT - (CART_Y + AXLE); // world pixels, y down

/** draw(ctx, state, view): view = {width, height, hud?, badge?, drag?, constants?}; without hud/badge/drag,
 * Gymnasium's. */
function draw(ctx, state, view) {
  const { k } = begin(ctx, WIDTH, HEIGHT, view);
  gymFrame(ctx, HEIGHT);
  const cx = cartX(state),
    theta = state[2];
  const finite = Number.isFinite(cx) && Number.isFinite(theta);
  if (finite) {
    polygon(
      ctx,
      '#000',
      corners(-CART_W / 2, CART_W / 2, -CART_H / 2, CART_H / 2).map(([x, y]) => [x + cx, y + CART_Y]),
    );
    polygon(
      ctx,
      POLE_RGB,
      corners(-POLE_W / 2, POLE_W / 2, -POLE_W / 2, poleLen(view.constants) - POLE_W / 2).map(([x, y]) =>
        rot(x, y, -theta, cx, CART_Y + AXLE),
      ),
    );
    disc(ctx, AXLE_RGB, cx, CART_Y + AXLE, POLE_W / 2);
  }
  ctx.fillStyle = '#000';
  ctx.fillRect(-0.5, CART_Y - 0.5, WIDTH + 1, 1); // the track, last as in render(): gfxdraw.hline at y=100
  ctx.restore();
  if (finite && view.drag) {
    const { handle, d } = view.drag,
      g = grab(state, handle);
    kickArrow(ctx, g.p, g.tangent, kick(d, g.tangent, handle.side, KICK), KICK.pxPerUnit);
  }
  finish(ctx, WIDTH, k, view);
}

/** The grabbed point (world pixels, y down) and the way a drag pushes it: horizontally, as the page always did. */
function grab(state, { r }) {
  const th = state[2];
  return { p: [cartX(state) + Math.sin(th) * r, AXLE_Y - Math.cos(th) * r], tangent: [1, 0] };
}

/**
 * hit(state, p, constants?): {part: 'pole', r, side} when p (world pixels, y down) is on the pole (10 px slack),
 * else null;
 * r: the grab's distance from the axle along the pole; side: the pointer's side of the pole.
 */
function hit(state, [x, y], constants) {
  const th = state[2],
    dx = x - cartX(state),
    dy = y - AXLE_Y,
    len = poleLen(constants);
  const along = dx * Math.sin(th) - dy * Math.cos(th),
    across = dx * Math.cos(th) + dy * Math.sin(th);
  if (!(along > -10 && along < len + 10 && Math.abs(across) < 18)) return null;
  return { part: 'pole', r: Math.max(0, Math.min(len, along)), side: Math.sign(across) || 1 };
}

/** push(state, handle, d): the state with the pole's angular velocity kicked by the horizontal drag d. */
function push(state, handle, d) {
  const s = Float64Array.from(state);
  s[3] += kick(d, [1, 0], handle.side, KICK);
  return s;
}

export const renderer = { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push };
