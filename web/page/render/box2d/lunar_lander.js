// Gymnasium's LunarLander render(), on a Canvas 2D context: the black sky above the terrain, the lander and
// its legs, the helipad's flags, in a 600x400 pixel world (pygame's frame, y up, flipped on output) scaled to
// fit the view. Particles (the engines' exhaust) are not drawn: Gymnasium's step results do not depend on
// them and the page does not simulate them. State: web/page/envs/box2d/lunar_lander.js (S).
import {
  CHUNK_X,
  CHUNKS,
  H,
  HELIPAD_X1,
  HELIPAD_X2,
  HELIPAD_Y,
  LANDER_POLY,
  LEG_H,
  LEG_W,
  S,
  SCALE,
  VIEWPORT_H,
  VIEWPORT_W,
} from '../../envs/box2d/lunar_lander.js';
import { arrow, begin, clamp, finish, fitWorld, gymFrame, outline, polygon } from '../common.js';
import { bodyPath } from './body.js';

const WIDTH = VIEWPORT_W,
  HEIGHT = VIEWPORT_H;
const BODY_FILL = 'rgb(128,102,230)',
  BODY_LINE = 'rgb(77,77,128)',
  FLAG = 'rgb(204,204,0)';
// The bodies' shapes in body coordinates (metres): b2PolygonShape's vertices (the lander's hull keeps
// LANDER_POLY's order; a box is SetAsBox's four corners).
const LANDER = LANDER_POLY.map(([x, y]) => [x / SCALE, y / SCALE]);
const LEG = [
  [-LEG_W / SCALE, -LEG_H / SCALE],
  [LEG_W / SCALE, -LEG_H / SCALE],
  [LEG_W / SCALE, LEG_H / SCALE],
  [-LEG_W / SCALE, LEG_H / SCALE],
];
const PARTS = [
  [S.lander, LANDER],
  [S.legs[0], LEG],
  [S.legs[1], LEG],
];
// A push: the drag in world pixels becomes a change of the grabbed body's velocity (m/s), 40 px per m/s,
// at most 4 m/s; a click shoves it up by 1 m/s.
const PX_PER_MS = 40,
  MAX_KICK = 4,
  CLICK = 1;

/** draw(ctx, state, view): view = {width, height, hud?, badge?, drag?}; without hud/badge/drag, Gymnasium's. */
function draw(ctx, state, view) {
  const { k } = begin(ctx, WIDTH, HEIGHT, view);
  gymFrame(ctx, HEIGHT);
  // Gymnasium's sky_polys (from each terrain chunk up to the top) as one polygon: the same pixels, without
  // the seams a scaled-down view would show between adjacent anti-aliased fills
  polygon(ctx, '#000', [
    ...CHUNK_X.map((x, i) => [x * SCALE, state[S.terrain + i] * SCALE]),
    [CHUNK_X[CHUNKS - 1] * SCALE, H * SCALE],
    [CHUNK_X[0] * SCALE, H * SCALE],
  ]);
  const finite = PARTS.every(([at]) => [0, 1, 2].every((j) => Number.isFinite(state[at + j])));
  if (finite) {
    for (const [at, verts] of PARTS) {
      const path = bodyPath(state, at, verts, SCALE);
      polygon(ctx, BODY_FILL, path);
      outline(ctx, BODY_LINE, path); // color2's aalines
    }
  }
  for (const fx of [HELIPAD_X1, HELIPAD_X2]) {
    const x = fx * SCALE,
      y1 = HELIPAD_Y * SCALE,
      y2 = y1 + 50;
    ctx.fillStyle = '#fff';
    ctx.fillRect(Math.trunc(x) - 0.5, Math.trunc(y1) - 0.5, 1, Math.trunc(y2) - Math.trunc(y1) + 1);
    polygon(ctx, FLAG, [
      [x, y2],
      [x, y2 - 10],
      [x + 25, y2 - 5],
    ]);
  }
  ctx.restore();
  if (finite && view.drag) {
    const { handle, d } = view.drag;
    const [px, py] = grabPoint(state, handle);
    const [kx, ky] = kick(d);
    arrow(ctx, px, py, kx * PX_PER_MS, ky * PX_PER_MS);
  }
  finish(ctx, WIDTH, k, view);
}

/** Where a handle is now (world pixels, y down): the grabbed body's point, moved with it. */
function grabPoint(state, { at, local }) {
  const [[x, y]] = bodyPath(state, at, [local], SCALE);
  return [x, HEIGHT - y];
}

/** The velocity change (m/s, y up) of a drag d (world pixels, y down); a click shoves up. */
function kick(d) {
  const len = Math.hypot(d[0], d[1]);
  if (len < 4) return [0, CLICK];
  const m = clamp(len / PX_PER_MS, 0, MAX_KICK) / len;
  return [d[0] * m, -d[1] * m];
}

/** hit(state, p): {at, local} (the body's offset in S and the grabbed point in its frame) when p (world
 * pixels, y down) is within 12 px of the lander or a leg, else null. */
function hit(state, [px, py]) {
  const gx = px / SCALE,
    gy = (HEIGHT - py) / SCALE;
  let best = null;
  for (const [at] of PARTS) {
    const x = state[at],
      y = state[at + 1],
      a = state[at + 2];
    const dx = gx - x,
      dy = gy - y;
    const dist = Math.hypot(dx, dy) * SCALE;
    const reach = at === S.lander ? 24 : 12;
    if (dist < reach && (!best || dist < best.dist)) {
      const c = Math.cos(a),
        s = Math.sin(a);
      best = { at, local: [c * dx + s * dy, -s * dx + c * dy], dist };
    }
  }
  return best && { at: best.at, local: best.local };
}

/** push(state, handle, d): the state with the grabbed body's velocity kicked by the drag (the whole lander:
 * its legs move with it, so all three bodies get the kick). */
function push(state, _handle, d) {
  const s = Float64Array.from(state);
  const [kx, ky] = kick(d);
  for (const [at] of PARTS) {
    s[at + 3] += kx;
    s[at + 4] += ky;
  }
  return s;
}

export const renderer = { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push };
