// What every classic-control renderer shares: the world-to-view fit, Gymnasium's pygame drawing frame and
// primitives, the HUD and badge, and the push (a velocity kick) with its red preview arrow.

export const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));

/** The world-to-view mapping for a width x height world: scale k and offsets (the world is centred). */
export function fitWorld(width, height, view) {
  const k = Math.min(view.width / width, view.height / height);
  return { k, ox: (view.width - width * k) / 2, oy: (view.height - height * k) / 2 };
}

/**
 * Clears the view and sets the context to world pixels (y down), the scene clipped to the world as pygame's
 * surface is. Returns the fit; the caller pairs it with finish(), which draws the HUD/badge and restores.
 */
export function begin(ctx, width, height, view) {
  const f = fitWorld(width, height, view);
  ctx.save();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, view.width, view.height);
  ctx.translate(f.ox, f.oy);
  ctx.scale(f.k, f.k);
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, 0, width, height);
  ctx.clip();
  return f;
}

/**
 * Enters Gymnasium's drawing frame: the pygame surface before render()'s final vertical flip (y up).
 * pygame's integer coordinates are pixel centres, hence the half-pixel shift. Pair with ctx.restore().
 */
export function gymFrame(ctx, height) {
  ctx.save();
  ctx.translate(0.5, height - 0.5);
  ctx.scale(1, -1);
  ctx.lineWidth = 1;
}

/** A point of Gymnasium's frame (y up, pixel centres) in world pixels (y down, pixel edges). */
export const toWorld = (height, x, y) => [x + 0.5, height - 0.5 - y];

/** pygame.math.Vector2(x, y).rotate_rad(a) + (tx, ty): a corner of a rotated, moved shape. */
export const rot = (x, y, a, tx, ty) => [
  x * Math.cos(a) - y * Math.sin(a) + tx,
  x * Math.sin(a) + y * Math.cos(a) + ty,
];

/** Gymnasium's box corners [(l, b), (l, t), (r, t), (r, b)]. */
export const corners = (l, r, b, t) => [
  [l, b],
  [l, t],
  [r, t],
  [r, b],
];

function paint(ctx, color, path) {
  // A fill with a 1 px outline: pygame's filled shapes include their edges and gfxdraw's anti-aliased
  // outline (aapolygon, aacircle) adds half a pixel around them.
  ctx.fillStyle = ctx.strokeStyle = color;
  ctx.beginPath();
  path();
  ctx.fill();
  ctx.stroke();
}

/**
 * gfxdraw.aapolygon + filled_polygon in Gymnasium's frame. gfxdraw truncates the vertices to whole pixels;
 * so does this (a smooth sub-pixel polygon would differ from Gymnasium's picture by up to a pixel).
 */
export function polygon(ctx, color, pts) {
  paint(ctx, color, () => {
    pts.forEach(([x, y], i) => {
      (i ? ctx.lineTo : ctx.moveTo).call(ctx, Math.trunc(x), Math.trunc(y));
    });
    ctx.closePath();
  });
}

/** pygame.draw.aalines(closed=True): the outline through the exact (sub-pixel) vertices. */
export function outline(ctx, color, pts) {
  ctx.strokeStyle = color;
  ctx.beginPath();
  for (const [j, [x, y]] of pts.entries()) {
    if (j) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
  }
  ctx.closePath();
  ctx.stroke();
}

/** gfxdraw.aacircle + filled_circle in Gymnasium's frame (integer centre and radius, as gfxdraw takes). */
export function disc(ctx, color, x, y, r) {
  paint(ctx, color, () => ctx.arc(Math.trunc(x), Math.trunc(y), Math.trunc(r), 0, 2 * Math.PI));
}

/**
 * The HUD lines (top left) and the badge (top right; under the HUD where the two would overlap), in world
 * pixels and unclipped, then restores the context begin() saved.
 */
export function finish(ctx, width, k, view) {
  ctx.restore(); // the world clip
  const px = Math.max(15, 11 / k); // at least 11 CSS pixels on small screens
  const hud = view.hud || [];
  ctx.fillStyle = '#333';
  ctx.font = `${px}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  hud.forEach((line, i) => {
    ctx.fillText(line, 10, 10 + 1.35 * px * i);
  });
  if (view.badge) {
    const beside =
      !hud.length || ctx.measureText(hud[0]).width + ctx.measureText(view.badge).width + 30 < width;
    ctx.textAlign = beside ? 'right' : 'left';
    ctx.fillStyle = '#a33';
    ctx.fillText(view.badge, beside ? width - 10 : 10, 10 + (beside ? 0 : 1.35 * px * hud.length));
  }
  ctx.restore();
}

/** A red arrow from (x, y) by (dx, dy), world pixels (y down): the preview of a push. */
export function arrow(ctx, x, y, dx, dy) {
  const len = Math.hypot(dx, dy);
  if (!(len > 0.5)) return;
  const ux = dx / len,
    uy = dy / len,
    ex = x + dx,
    ey = y + dy;
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
 * way the grabbed point moves when the pushed velocity grows), at pxPerUnit pixels per unit, clamped to ±max.
 * A click (under 4 px along the tangent: a hand's jitter) shoves the part away from the pointer's side (side
 * ±1, in tangent terms) by click.
 */
export function kick(d, tangent, side, { pxPerUnit, max, click }) {
  const along = d[0] * tangent[0] + d[1] * tangent[1];
  return Math.abs(along) < 4 ? -side * click : clamp(along / pxPerUnit, -max, max);
}

/** The preview of a kick w at world point p along tangent, drawn at the kick's pxPerUnit scale. */
export function kickArrow(ctx, p, tangent, w, pxPerUnit) {
  arrow(ctx, p[0], p[1], w * pxPerUnit * tangent[0], w * pxPerUnit * tangent[1]);
}
