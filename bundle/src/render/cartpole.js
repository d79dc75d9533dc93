// Gymnasium's CartPole render(), on a Canvas 2D context. The scene lives in Gymnasium's 600x400 pixel
// world (y up, flipped on output) and is scaled to fit view = {width, height} (context units), so it is
// resolution independent: the caller sets the context transform for devicePixelRatio.
import { LENGTH, X_THRESHOLD } from '../envs/cartpole.js';

export const WIDTH = 600, HEIGHT = 400;
const SCALE = WIDTH / (X_THRESHOLD * 2); // 125 px per metre
const POLE_W = 10, POLE_LEN = SCALE * 2 * LENGTH, CART_W = 50, CART_H = 30, CART_Y = 100, AXLE = CART_H / 4;
const POLE_RGB = 'rgb(202,152,101)', AXLE_RGB = 'rgb(129,132,203)';

/** The world-to-view mapping: scale k and offsets (the 3:2 world is centred in the view). */
export function fit(view) {
  const k = Math.min(view.width / WIDTH, view.height / HEIGHT);
  return { k, ox: (view.width - WIDTH * k) / 2, oy: (view.height - HEIGHT * k) / 2 };
}

/** Screen position (world pixels, y down) of the cart centre and of the axle. */
export function cartX(state) { return state[0] * SCALE + WIDTH / 2; }
export const AXLE_Y = HEIGHT - (CART_Y + AXLE); // y down

/**
 * draw(ctx, state, view): state = [x, x_dot, theta, theta_dot]; view = {width, height, hud?: string[],
 * badge?: string, arrow?: number (push preview, rad/s)}. Without hud/badge/arrow the picture is Gymnasium's.
 */
export function draw(ctx, state, view) {
  const { k, ox, oy } = fit(view);
  ctx.save();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, view.width, view.height);
  ctx.translate(ox, oy);
  ctx.scale(k, k);
  ctx.save();
  // From here on Gymnasium's own coordinates (y up). pygame's integer coordinates are pixel centres and its
  // polygons include their edges: shift by half a pixel and stroke a 1 px outline around every fill.
  ctx.translate(0.5, HEIGHT - 0.5);
  ctx.scale(1, -1);
  ctx.lineWidth = 1;
  ctx.fillStyle = '#000';
  ctx.fillRect(-0.5, CART_Y - 0.5, WIDTH + 1, 1); // track: pygame's hline at y=100
  const cx = cartX(state), theta = state[2];
  const finite = Number.isFinite(cx) && Number.isFinite(theta);
  if (finite) {
    shape(ctx, '#000', () => ctx.rect(cx - CART_W / 2, CART_Y - CART_H / 2, CART_W, CART_H));
    ctx.save();
    ctx.translate(cx, CART_Y + AXLE);
    ctx.rotate(-theta); // as pygame's Vector2.rotate_rad(-theta) in y-up coordinates
    shape(ctx, POLE_RGB, () => ctx.rect(-POLE_W / 2, -POLE_W / 2, POLE_W, POLE_LEN));
    ctx.restore();
    shape(ctx, AXLE_RGB, () => ctx.arc(cx, CART_Y + AXLE, POLE_W / 2, 0, 2 * Math.PI));
  }
  ctx.restore();
  if (finite && view.arrow) drawArrow(ctx, cx, theta, view.arrow);
  const px = Math.max(15, 11 / k); // at least 11 CSS pixels on small screens
  ctx.fillStyle = '#333';
  ctx.font = `${px}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  (view.hud || []).forEach((line, i) => ctx.fillText(line, 10, 10 + 1.35 * px * i));
  if (view.badge) {
    ctx.textAlign = 'right';
    ctx.fillStyle = '#a33';
    ctx.fillText(view.badge, WIDTH - 10, 10);
  }
  ctx.restore();
}

function shape(ctx, color, path) {
  ctx.fillStyle = ctx.strokeStyle = color;
  ctx.beginPath();
  path();
  ctx.fill();
  ctx.stroke();
}

function drawArrow(ctx, cx, theta, w) {
  // A push preview at the pole's tip, pointing the way the pole will be shoved.
  const tipX = cx + Math.sin(theta) * POLE_LEN * 0.8, tipY = AXLE_Y - Math.cos(theta) * POLE_LEN * 0.8;
  const len = Math.max(-80, Math.min(80, w * 40)), d = Math.sign(len);
  ctx.strokeStyle = ctx.fillStyle = '#c33';
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.moveTo(tipX, tipY);
  ctx.lineTo(tipX + len, tipY);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(tipX + len + 8 * d, tipY);
  ctx.lineTo(tipX + len, tipY - 6);
  ctx.lineTo(tipX + len, tipY + 6);
  ctx.fill();
}
