// What every classic-control renderer shares: the world-to-view fit, Gymnasium's pygame coordinate frame,
// pygame-like filled shapes, the HUD and badge, and the red preview arrow of a drag.

export const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));

/** The world-to-view mapping for a width x height world: scale k and offsets (the world is centred). */
export function fitWorld(width, height, view) {
  const k = Math.min(view.width / width, view.height / height);
  return { k, ox: (view.width - width * k) / 2, oy: (view.height - height * k) / 2 };
}

/**
 * Clears the view and sets the context to world pixels (y down). Returns the fit; the caller pairs it
 * with finish(), which draws the HUD/badge and restores the context.
 */
export function begin(ctx, width, height, view) {
  const f = fitWorld(width, height, view);
  ctx.save();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, view.width, view.height);
  ctx.translate(f.ox, f.oy);
  ctx.scale(f.k, f.k);
  return f;
}

/**
 * Enters Gymnasium's own drawing frame: pygame surface coordinates before render()'s final vertical flip
 * (y up). pygame's integer coordinates are pixel centres and its polygons include their edges: shift by half
 * a pixel, and stroke a 1 px outline around every fill (shape()). Pair with ctx.restore().
 */
export function gymFrame(ctx, height) {
  ctx.save();
  ctx.translate(0.5, height - 0.5);
  ctx.scale(1, -1);
  ctx.lineWidth = 1;
}

/** A point of Gymnasium's frame (y up, pixel centres) in world pixels (y down, pixel edges). */
export const toWorld = (height, x, y) => [x + 0.5, height - 0.5 - y];

/** gfxdraw's aapolygon + filled_polygon (or aacircle + filled_circle): a fill with a 1 px outline. */
export function shape(ctx, color, path) {
  ctx.fillStyle = ctx.strokeStyle = color;
  ctx.beginPath();
  path();
  ctx.fill();
  ctx.stroke();
}

/** A polygon path through points [[x, y], ...]. */
export function poly(ctx, pts) {
  ctx.moveTo(Math.trunc(pts[0][0]), Math.trunc(pts[0][1]));
  for (let i = 1; i < pts.length; i++) ctx.lineTo(Math.trunc(pts[i][0]), Math.trunc(pts[i][1]));
  ctx.closePath();
}

/** pygame.math.Vector2(x, y).rotate_rad(a) then + (tx, ty): a point of a rotated, translated shape. */
export const rot = (x, y, a, tx, ty) => [x * Math.cos(a) - y * Math.sin(a) + tx, x * Math.sin(a) + y * Math.cos(a) + ty];

/** The HUD lines (top left) and the badge (top right), in world pixels, then restores the context. */
export function finish(ctx, width, k, view) {
  const px = Math.max(15, 11 / k); // at least 11 CSS pixels on small screens
  ctx.fillStyle = '#333';
  ctx.font = `${px}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  (view.hud || []).forEach((line, i) => ctx.fillText(line, 10, 10 + 1.35 * px * i));
  if (view.badge) {
    ctx.textAlign = 'right';
    ctx.fillStyle = '#a33';
    ctx.fillText(view.badge, width - 10, 10);
  }
  ctx.restore();
}

/** A red arrow from (x, y) by (dx, dy), world pixels (y down): the preview of a push. */
export function arrow(ctx, x, y, dx, dy) {
  const len = Math.hypot(dx, dy);
  if (!(len > 0.5)) return;
  const ux = dx / len, uy = dy / len, ex = x + dx, ey = y + dy;
  ctx.save();
  ctx.strokeStyle = ctx.fillStyle = '#c33';
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(ex, ey);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(ex + 8 * ux, ey + 8 * uy);
  ctx.lineTo(ex - 6 * uy, ey + 6 * ux);
  ctx.lineTo(ex + 6 * uy, ey - 6 * ux);
  ctx.fill();
  ctx.restore();
}

/**
 * The velocity kick of a drag d (world pixels, y down) on a part: the drag's component along tangent (unit: the
 * way the part moves when the pushed velocity grows), at pxPerUnit pixels per unit, clamped to ±max. A click
 * (under 4 px along the tangent: a hand's jitter) shoves the part away from the pointer's side (side ±1, in
 * tangent terms) by click.
 */
export function kick(d, tangent, side, { pxPerUnit, max, click }) {
  const along = d[0] * tangent[0] + d[1] * tangent[1];
  return Math.abs(along) < 4 ? -side * click : clamp(along / pxPerUnit, -max, max);
}
