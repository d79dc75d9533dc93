// Gymnasium's Acrobot render(), on a Canvas 2D context: the target line, two links and their joints in a
// 500x500 pixel world (pygame's frame, y up, flipped on output), scaled to fit the view.
// State: Gymnasium's env.unwrapped.state [theta1, theta2, dtheta1, dtheta2] (theta1 = 0: hanging down).
import { LINK_LENGTH_2, MAX_VEL_1, MAX_VEL_2, spec } from '../envs/acrobot.js';
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

const MAX_VEL = [MAX_VEL_1, MAX_VEL_2];
const WIDTH = 500,
  HEIGHT = 500,
  OFFSET = WIDTH / 2;
// render() draws the links at the env's lengths and scales the world to fit them: LINK_LENGTH_1 is a physical
// constant (view.constants, what-if physics; Gymnasium's value by default), LINK_LENGTH_2 only drawn.
function geometry(constants) {
  const L = [constants?.LINK_LENGTH_1 ?? spec.constants.LINK_LENGTH_1.value, LINK_LENGTH_2];
  const scale = WIDTH / ((L[0] + L[1] + 0.2) * 2);
  return { L, scale, halfW: 0.1 * scale };
}
const GYM = geometry();
const LINK_RGB = 'rgb(0,204,204)',
  JOINT_RGB = 'rgb(204,204,0)';
// A push: 20 px of drag across a link per rad/s of its joint's velocity, a click shoves by 2 rad/s; up to
// twice Gymnasium's bound (a drag may swing the velocity from one bound to the other), then clipped to it.
const KICK = { pxPerUnit: 20, click: 2 };
const kickOf = (tangent, { link, side }, d) => kick(d, tangent, side, { ...KICK, max: 2 * MAX_VEL[link] });

/** Both links in Gymnasium's frame (y up), as render() computes them: pivot (x, y), direction th, length. */
function links(s, { L, scale } = GYM) {
  const p1 = [L[0] * Math.sin(s[0]) * scale, -L[0] * Math.cos(s[0]) * scale];
  return [
    { x: OFFSET, y: OFFSET, th: s[0] - Math.PI / 2, len: L[0] * scale },
    { x: p1[0] + OFFSET, y: p1[1] + OFFSET, th: s[0] + s[1] - Math.PI / 2, len: L[1] * scale },
  ];
}

const finiteAngles = (state) => Number.isFinite(state[0]) && Number.isFinite(state[1]);

/** draw(ctx, state, view): view = {width, height, hud?, badge?, drag?, constants?}; without hud/badge/drag,
 * Gymnasium's. */
function draw(ctx, state, view) {
  const { k } = begin(ctx, WIDTH, HEIGHT, view),
    g = view.constants ? geometry(view.constants) : GYM;
  gymFrame(ctx, HEIGHT);
  ctx.fillStyle = '#000';
  // The target line: pygame.draw.line at y = 1 * scale + offset, across the screen (pygame truncates).
  ctx.fillRect(-0.5, Math.trunc(g.scale + OFFSET) - 0.5, WIDTH + 1, 1);
  const finite = finiteAngles(state);
  if (finite) {
    for (const { x, y, th, len } of links(state, g)) {
      polygon(
        ctx,
        LINK_RGB,
        corners(0, len, -g.halfW, g.halfW).map(([u, v]) => rot(u, v, th, x, y)),
      );
      disc(ctx, JOINT_RGB, x, y, g.halfW);
    }
  }
  ctx.restore();
  if (finite && view.drag) {
    const { handle, d } = view.drag,
      at = grab(state, handle, g);
    kickArrow(ctx, at.p, at.tangent, kickOf(at.tangent, handle, d), KICK.pxPerUnit);
  }
  finish(ctx, WIDTH, k, view);
}

/** Where a handle grabs (world pixels, y down) and the unit direction that point moves as its joint turns. */
function grab(state, { link, r }, g = GYM) {
  const L = links(state, g)[link],
    c = Math.cos(L.th),
    s = Math.sin(L.th);
  // Gymnasium's frame is y up: the direction (-sin th, cos th) of a growing angle becomes (-sin th, -cos th).
  return { p: toWorld(HEIGHT, L.x + r * c, L.y + r * s), tangent: [-s, -c] };
}

/**
 * hit(state, p, constants?): {part: 'link', link: 0|1, r, side} when p (world pixels, y down) is on a link or
 * its joint (8 px slack), the outer link first; r: the grab's distance from the link's pivot; side: the
 * pointer's side.
 */
function hit(state, [px, py], constants) {
  if (!finiteAngles(state)) return null;
  const g = constants ? geometry(constants) : GYM,
    ls = links(state, g),
    w = g.halfW + 8;
  for (const link of [1, 0]) {
    const L = ls[link],
      [x, y] = toWorld(HEIGHT, L.x, L.y),
      dx = px - x,
      dy = py - y;
    const c = Math.cos(L.th),
      s = Math.sin(L.th);
    const along = dx * c - dy * s,
      across = -dx * s - dy * c; // y down: the link points along (c, -s)
    if (along > -w && along < L.len + 8 && Math.abs(across) < w) {
      return { part: 'link', link, r: clamp(along, 0, L.len), side: Math.sign(across) || 1 };
    }
  }
  return null;
}

/** push(state, handle, d): the state with that joint's angular velocity kicked by the drag d, clipped. */
function push(state, handle, d) {
  const s = Float64Array.from(state),
    i = 2 + handle.link,
    max = MAX_VEL[handle.link];
  s[i] = clamp(s[i] + kickOf(grab(state, handle).tangent, handle, d), -max, max);
  return s;
}

export const renderer = { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push };
