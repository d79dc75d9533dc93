// Gymnasium's BipedalWalker render(), on a Canvas 2D context: the sky, the clouds (half the scroll: parallax),
// the grass, the terrain's edges, hardcore terrain's obstacles (stumps, pit walls, stair steps: white boxes
// outlined in grey), the start flag and the walker, in a 600x400 pixel window that follows the hull
// (Gymnasium's scroll: the hull at a fifth of the width), scaled to fit the view. The lidar's one red ray
// (render() cycles through them frame by frame) is not drawn. State: web/page/envs/box2d/bipedal_walker.js (S).
import {
  BODIES,
  CLOUDS,
  HULL_POLY,
  LEG_H,
  LEG_W,
  S,
  SCALE,
  TERRAIN_HEIGHT,
  TERRAIN_LENGTH,
  TERRAIN_STEP,
  VIEWPORT_H,
  VIEWPORT_W,
} from '../../envs/box2d/bipedal_walker.js';
import { arrow, begin, clamp, finish, fitWorld, gymFrame, outline, polygon } from '../common.js';
import { bodyPath } from './body.js';

const WIDTH = VIEWPORT_W,
  HEIGHT = VIEWPORT_H;
const box = (hx, hy) => [
  [-hx, -hy],
  [hx, -hy],
  [hx, hy],
  [-hx, hy],
];
const rgb = (c) => `rgb(${c.join(',')})`;
// the bodies in Gymnasium's drawlist order (legs, then the hull): shape, fill (color1), outline (color2)
const legColors = (i) => [
  rgb([153 - i * 25, 76 - i * 25, 127 - i * 25]),
  rgb([102 - i * 25, 51 - i * 25, 76 - i * 25]),
];
const PARTS = [
  [1, box(LEG_W / 2, LEG_H / 2), ...legColors(-1)],
  [2, box((0.8 * LEG_W) / 2, LEG_H / 2), ...legColors(-1)],
  [3, box(LEG_W / 2, LEG_H / 2), ...legColors(1)],
  [4, box((0.8 * LEG_W) / 2, LEG_H / 2), ...legColors(1)],
  [0, HULL_POLY.map(([x, y]) => [x / SCALE, y / SCALE]), rgb([127, 51, 229]), rgb([76, 76, 127])],
];
// A push: the drag in world pixels becomes a change of the hull's velocity (m/s), 40 px per m/s, at most 4;
// a click shoves it forward by 1 m/s.
const PX_PER_MS = 40,
  MAX_KICK = 4;

/** Gymnasium's scroll (metres; the clouds' parallax and what is drawn go by it). */
const scroll = (state) => state[S.bodies] - VIEWPORT_W / SCALE / 5;
/** The window's left edge (surface pixels): render() returns the last VIEWPORT_W columns of a surface
 * VIEWPORT_W + max(0, scroll) SCALE wide, a width pygame truncates to whole pixels. */
const windowLeft = (state) => Math.trunc(Math.max(0, scroll(state)) * SCALE);

/** Body k's polygon (BODIES order: the hull, then the legs) in Gymnasium's frame. */
const partPath = (state, k, verts) => bodyPath(state, S.bodies + 6 * k, verts, SCALE);

/** draw(ctx, state, view): view = {width, height, hud?, badge?, drag?}; without hud/badge/drag, Gymnasium's. */
function draw(ctx, state, view) {
  const { k } = begin(ctx, WIDTH, HEIGHT, view);
  gymFrame(ctx, HEIGHT);
  const sc = scroll(state),
    ox = windowLeft(state);
  ctx.translate(-ox, 0); // Gymnasium's surface coordinates from here; the window starts at the scroll
  // the surface starts black: where the hull is left of a fifth of the window, the sky stops short of its
  // right edge (render() draws it from the scroll, the window starts at 0)
  ctx.fillStyle = '#000';
  ctx.fillRect(ox - 0.5, -0.5, WIDTH, HEIGHT);
  polygon(ctx, 'rgb(215,215,255)', [
    [sc * SCALE, 0],
    [sc * SCALE + WIDTH, 0],
    [sc * SCALE + WIDTH, HEIGHT],
    [sc * SCALE, HEIGHT],
  ]);
  for (let c = 0; c < CLOUDS; c++) {
    const pts = Array.from({ length: 5 }, (_, a) => [
      state[S.clouds + c * 10 + 2 * a],
      state[S.clouds + c * 10 + 2 * a + 1],
    ]);
    const xs = pts.map((p) => p[0]);
    if (Math.max(...xs) < sc / 2 || Math.min(...xs) > sc / 2 + VIEWPORT_W / SCALE) continue;
    polygon(
      ctx,
      '#fff',
      pts.map(([x, y]) => [x * SCALE + (sc * SCALE) / 2, y * SCALE]),
    );
  }
  const ty = (i) => state[S.terrain + i];
  // Gymnasium's terrain_poly (each chunk from its edge down to y = 0) for the chunks in the window, as one
  // polygon: the same pixels, without seams between adjacent anti-aliased fills in a scaled-down view
  const shown = [];
  for (let i = 0; i < TERRAIN_LENGTH; i++) {
    const x = i * TERRAIN_STEP;
    if (x + TERRAIN_STEP >= sc && x - TERRAIN_STEP <= sc + VIEWPORT_W / SCALE) shown.push(i);
  }
  if (shown.length > 1) {
    const first = shown[0] * TERRAIN_STEP * SCALE,
      last = shown[shown.length - 1] * TERRAIN_STEP * SCALE;
    polygon(ctx, 'rgb(102,153,76)', [
      ...shown.map((i) => [i * TERRAIN_STEP * SCALE, ty(i) * SCALE]),
      [last, 0],
      [first, 0],
    ]);
  }
  // the terrain's edge bodies (drawlist: before the walker), alternating greens
  for (let i = 0; i < TERRAIN_LENGTH - 1; i++) {
    ctx.strokeStyle = i % 2 === 0 ? 'rgb(76,255,76)' : 'rgb(76,204,76)';
    ctx.beginPath();
    ctx.moveTo(i * TERRAIN_STEP * SCALE, ty(i) * SCALE);
    ctx.lineTo((i + 1) * TERRAIN_STEP * SCALE, ty(i + 1) * SCALE);
    ctx.stroke();
  }
  // the obstacles (drawlist: after the edges, in reverse creation order): color1 fill, color2 outline
  for (let k = state[S.nObstacles] - 1; k >= 0; k--) {
    const [x1, y1, x2, y2] = state.slice(S.obstacles + 4 * k, S.obstacles + 4 * k + 4);
    if (x2 < sc - 1 || x1 > sc + VIEWPORT_W / SCALE + 1) continue; // outside the window
    // pixels as render() computes them (the fixture's float32 vertex times SCALE in pybox2d's float32 b2Vec2)
    // and pygame takes them (truncated): the outline (draw.polygon width 1, then aapolygon: for an upright box
    // the same pixels) lies on the fill's edge pixels. The stairs' and pits' corners fall on whole pixels,
    // where float64 arithmetic would often land a hair below and truncate a pixel short.
    const px = (v) => Math.trunc(Math.fround(Math.fround(v) * SCALE));
    const path = [
      [px(x1), px(y1)],
      [px(x2), px(y1)],
      [px(x2), px(y2)],
      [px(x1), px(y2)],
    ];
    polygon(ctx, 'rgb(255,255,255)', path);
    outline(ctx, 'rgb(153,153,153)', path);
  }
  const finite = [0, 1, 2].every((j) => Number.isFinite(state[S.bodies + j]));
  if (finite) {
    for (const [b, verts, fill, line] of PARTS) {
      const path = partPath(state, b, verts);
      polygon(ctx, fill, path);
      outline(ctx, line, path);
    }
  }
  const fx = TERRAIN_STEP * 3 * SCALE,
    fy1 = TERRAIN_HEIGHT * SCALE,
    fy2 = fy1 + 50;
  ctx.strokeStyle = '#000';
  ctx.beginPath();
  ctx.moveTo(fx, fy1);
  ctx.lineTo(fx, fy2);
  ctx.stroke();
  const flag = [
    [fx, fy2],
    [fx, fy2 - 10],
    [fx + 25, fy2 - 5],
  ];
  polygon(ctx, 'rgb(230,51,0)', flag);
  outline(ctx, '#000', flag);
  ctx.restore();
  if (finite && view.drag) {
    const [kx, ky] = kick(view.drag.d);
    const [[hx, hy]] = partPath(state, 0, [[0, 0]]);
    arrow(ctx, hx - ox, HEIGHT - hy, kx * PX_PER_MS, -ky * PX_PER_MS);
  }
  finish(ctx, WIDTH, k, view);
}

/** The velocity change (m/s, y up) of a drag d (world pixels, y down); a click shoves forward. */
function kick(d) {
  const len = Math.hypot(d[0], d[1]);
  if (len < 4) return [1, 0];
  const m = clamp(len / PX_PER_MS, 0, MAX_KICK) / len;
  return [d[0] * m, -d[1] * m];
}

/** hit(state, p): {body} when p (window pixels, y down) is within 30 px of the hull or a leg's centre. */
function hit(state, [px, py]) {
  const ox = windowLeft(state);
  for (let b = 0; b < BODIES; b++) {
    const [[x, y]] = partPath(state, b, [[0, 0]]);
    if (Math.hypot(px + ox - x, HEIGHT - py - y) < (b === 0 ? 30 : 12)) return { body: b };
  }
  return null;
}

/** push(state, handle, d): the walker's velocity (every body of it) kicked by the drag. */
function push(state, _handle, d) {
  const s = Float64Array.from(state);
  const [kx, ky] = kick(d);
  for (let b = 0; b < BODIES; b++) {
    s[S.bodies + 6 * b + 3] += kx;
    s[S.bodies + 6 * b + 4] += ky;
  }
  return s;
}

export const renderer = { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push };
