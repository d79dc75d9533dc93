// A side view of a planar MuJoCo model on Canvas 2D (Hopper, HalfCheetah and Walker2d move in the x-z plane):
// every geom (capsules, cylinders, boxes, spheres, ellipsoids; the plane as the ground) drawn from its world
// pose with the model's colours, the camera following the torso, the ground marked every half metre so that
// motion shows. The poses come from the engine: mj_kinematics of the drawn state on a scratch MjData.
// push: an impulse at the grabbed point (a brief external force on the clicked body), outside Gymnasium's
// dynamics; the page marks the episode as pushed.
import { mj, model as compiled } from '../envs/mujoco/engine.js';
import { arrow, begin, fitWorld, finish } from './common.js';

const WIDTH = 600,
  HEIGHT = 400; // world pixels (y down)
const PX = 160; // pixels per metre
const GROUND = 330; // the floor (z = 0), world pixels from the top
const FOCUS = 0.4; // the torso's place across the view
const GAIN = 4; // push: 1 m of drag is 4 m/s of velocity change at the grabbed point
const CLICK = [1.5, 0]; // a click: 1.5 m/s forward (x, z)
const G = { PLANE: 0, SPHERE: 2, CAPSULE: 3, ELLIPSOID: 4, CYLINDER: 5, BOX: 6 }; // mjtGeom

/** rgba (0-1 floats) as CSS, darkened by f. */
const css = (c, i, f = 1) =>
  `rgba(${Math.round(255 * f * c[i])},${Math.round(255 * f * c[i + 1])},` +
  `${Math.round(255 * f * c[i + 2])},${c[i + 3]})`;

/** A renderer for the env spec (spec.mujoco.xml; the torso is body 1, the first body under the world). */
export function mujocoRenderer(spec) {
  let scratch = null,
    v = null,
    buf = null;

  // Kinematics of state's qpos on the renderer's own MjData (the env's data is left as the env stepped it).
  function pose(state, withVel = false) {
    const M = mj(),
      m = compiled(spec.mujoco.xml);
    if (!scratch) {
      scratch = new M.MjData(m);
      buf = {
        jacp: new M.DoubleBuffer(3 * m.nv),
        jacr: new M.DoubleBuffer(3 * m.nv),
        x: new M.DoubleBuffer(m.nv),
      };
    }
    if (!v || v.qpos.buffer.byteLength === 0) {
      const d = scratch;
      v = {
        qpos: d.qpos,
        qvel: d.qvel,
        gpos: d.geom_xpos,
        gmat: d.geom_xmat,
        xpos: d.xpos,
        xmat: d.xmat,
        type: m.geom_type,
        size: m.geom_size,
        rgba: m.geom_rgba,
        body: m.geom_bodyid,
      };
    }
    v.qpos.set(state.subarray ? state.subarray(0, m.nq) : state.slice(0, m.nq));
    if (withVel) {
      v.qvel.set(state.subarray ? state.subarray(m.nq) : state.slice(m.nq));
      M.mj_forward(m, scratch); // the mass matrix too
    } else M.mj_kinematics(m, scratch);
    return { M, m, d: scratch, v };
  }

  // world metres (x, z) <-> world pixels, the camera at the torso's x
  const camera = (v) => v.xpos[3]; // body 1's x
  const toPx = (cx, x, z) => [WIDTH * FOCUS + (x - cx) * PX, GROUND - z * PX];
  const toM = (cx, px, py) => [cx + (px - WIDTH * FOCUS) / PX, (GROUND - py) / PX];

  function ground(ctx, cx, rgba) {
    const sky = ctx.createLinearGradient(0, 0, 0, GROUND);
    sky.addColorStop(0, '#dfe9f3');
    sky.addColorStop(1, '#f7f9fb');
    ctx.fillStyle = sky;
    ctx.fillRect(0, 0, WIDTH, GROUND);
    ctx.fillStyle = rgba ? css(rgba, 0, 0.8) : '#b8c8b8';
    ctx.fillRect(0, GROUND, WIDTH, HEIGHT - GROUND);
    // 1 m tiles below the line, a tick every 0.5 m and the distance every metre: the ground visibly moves
    const x0 = Math.floor(cx - (WIDTH * FOCUS) / PX) - 1,
      x1 = Math.ceil(cx + (WIDTH * (1 - FOCUS)) / PX) + 1;
    ctx.fillStyle = 'rgba(0,0,0,0.08)';
    for (let x = x0; x < x1; x++)
      if (x % 2 === 0) ctx.fillRect(toPx(cx, x, 0)[0], GROUND + 12, PX, HEIGHT - GROUND - 12);
    ctx.strokeStyle = '#556';
    ctx.fillStyle = '#445';
    ctx.lineWidth = 2;
    ctx.font = '13px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.beginPath();
    ctx.moveTo(0, GROUND);
    ctx.lineTo(WIDTH, GROUND);
    for (let h = 2 * x0; h <= 2 * x1; h++) {
      const [px] = toPx(cx, h / 2, 0);
      ctx.moveTo(px, GROUND);
      ctx.lineTo(px, GROUND + (h % 2 ? 6 : 12));
      if (h % 2 === 0) ctx.fillText(`${h / 2} m`, px, GROUND + 16);
    }
    ctx.stroke();
    ctx.textAlign = 'left';
  }

  // One geom in the x-z plane: its centre, and its local axes' x-z components (columns of geom_xmat).
  function geom(ctx, v, g, cx) {
    const p = 3 * g,
      R = 9 * g,
      s = v.size,
      type = v.type[g];
    const [x, y] = toPx(cx, v.gpos[p], v.gpos[p + 2]);
    const fill = css(v.rgba, 4 * g),
      edge = css(v.rgba, 4 * g, 0.55);
    ctx.fillStyle = fill;
    ctx.strokeStyle = edge;
    ctx.lineWidth = 1.5;
    if (type === G.CAPSULE || type === G.CYLINDER) {
      const ax = v.gmat[R + 2] * s[p + 1] * PX,
        az = v.gmat[R + 8] * s[p + 1] * PX,
        r = s[p] * PX;
      ctx.lineCap = type === G.CAPSULE ? 'round' : 'butt';
      ctx.strokeStyle = edge;
      ctx.lineWidth = 2 * r + 3; // the outline: a slightly wider stroke below the body
      segment(ctx, x, y, ax, az);
      ctx.strokeStyle = fill;
      ctx.lineWidth = 2 * r;
      segment(ctx, x, y, ax, az);
    } else if (type === G.BOX) {
      ctx.beginPath();
      for (const [a, b] of [
        [1, 1],
        [1, -1],
        [-1, -1],
        [-1, 1],
      ]) {
        const dx = a * v.gmat[R] * s[p] + b * v.gmat[R + 2] * s[p + 2],
          dz = a * v.gmat[R + 6] * s[p] + b * v.gmat[R + 8] * s[p + 2];
        ctx.lineTo(x + dx * PX, y - dz * PX);
      }
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    } else if (type === G.SPHERE || type === G.ELLIPSOID) {
      ctx.beginPath();
      ctx.arc(x, y, s[p] * PX, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
  }

  function segment(ctx, x, y, ax, az) {
    ctx.beginPath();
    ctx.moveTo(x - ax, y + az);
    ctx.lineTo(x + ax, y - az);
    ctx.stroke();
  }

  /** draw(ctx, state, view): state = [qpos, qvel]; view as the page API's (hud, badge, drag). */
  function draw(ctx, state, view) {
    const f = begin(ctx, WIDTH, HEIGHT, view);
    const finite = state.every(Number.isFinite);
    const { m, v } = finite ? pose(state) : { m: compiled(spec.mujoco.xml), v: null };
    const cx = v ? camera(v) : 0;
    const floor = Array.from({ length: m.ngeom }, (_, g) => g).find((g) => m.geom_type[g] === G.PLANE);
    ground(ctx, cx, floor === undefined ? null : m.geom_rgba.subarray(4 * floor, 4 * floor + 4));
    if (v) {
      // far side first: the camera looks along +y, so larger y is farther away
      const order = Array.from({ length: m.ngeom }, (_, g) => g)
        .filter((g) => v.type[g] !== G.PLANE)
        .sort((a, b) => v.gpos[3 * b + 1] - v.gpos[3 * a + 1] || a - b);
      for (const g of order) geom(ctx, v, g, cx);
      if (view.drag) {
        const [px, py] = grabPoint(v, view.drag.handle, cx);
        arrow(ctx, px, py, view.drag.d[0], view.drag.d[1]);
      }
    }
    finish(ctx, WIDTH, f.k, view);
  }

  // The world position (metres) of a handle's body-local point.
  function worldPoint(v, { body, local }) {
    const b = 3 * body,
      R = 9 * body,
      out = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      out[i] =
        v.xpos[b + i] +
        v.xmat[R + 3 * i] * local[0] +
        v.xmat[R + 3 * i + 1] * local[1] +
        v.xmat[R + 3 * i + 2] * local[2];
    }
    return out;
  }
  const grabPoint = (v, handle, cx) => {
    const w = worldPoint(v, handle);
    return toPx(cx, w[0], w[2]);
  };

  /** hit(state, p): {body, local} of the geom under p (world pixels, 6 px slack), nearest first; else null. */
  function hit(state, [px, py]) {
    if (!state.every(Number.isFinite)) return null;
    const { m, v } = pose(state),
      cx = camera(v),
      [X, Z] = toM(cx, px, py);
    let best = null,
      bestD = Infinity;
    for (let g = 0; g < m.ngeom; g++) {
      if (v.type[g] === G.PLANE) continue;
      const p = 3 * g,
        R = 9 * g,
        s = v.size;
      const long = v.type[g] === G.CAPSULE || v.type[g] === G.CYLINDER ? s[p + 1] : 0;
      const ax = v.gmat[R + 2],
        az = v.gmat[R + 8],
        dx = X - v.gpos[p],
        dz = Z - v.gpos[p + 2];
      const t = Math.max(-long, Math.min(long, dx * ax + dz * az));
      const dist =
        Math.hypot(dx - t * ax, dz - t * az) - (v.type[g] === G.BOX ? Math.max(s[p], s[p + 2]) : s[p]);
      if (dist < 6 / PX && dist < bestD) [best, bestD] = [g, dist];
    }
    if (best === null) return null;
    const body = v.body[best],
      b = 3 * body,
      R = 9 * body,
      d = [X - v.xpos[b], v.gpos[3 * best + 1] - v.xpos[b + 1], Z - v.xpos[b + 2]];
    const local = [0, 1, 2].map(
      (j) => v.xmat[R + j] * d[0] + v.xmat[R + 3 + j] * d[1] + v.xmat[R + 6 + j] * d[2],
    );
    return { body, local };
  }

  /**
   * push(state, handle, d): the state after an impulse at the grabbed point that changes its (x, z) velocity
   * by GAIN * d (a drag, world pixels, y down; a click: CLICK), the rest of the body responding as MuJoCo's
   * mass matrix says: dqvel = M^-1 J' p with p = (J M^-1 J')^-1 dv over the point's x and z.
   */
  function push(state, handle, d) {
    const { M, m, d: data, v } = pose(state, true),
      nv = m.nv;
    const click = Math.hypot(d[0], d[1]) < 4;
    const dv = click ? CLICK : [(GAIN * d[0]) / PX, (-GAIN * d[1]) / PX];
    M.mj_jac(m, data, buf.jacp, buf.jacr, worldPoint(v, handle), handle.body);
    const J = buf.jacp.GetView(),
      rows = [Array.from(J.subarray(0, nv)), Array.from(J.subarray(2 * nv, 3 * nv))];
    const MinvJt = rows.map((row) => {
      M.mj_solveM(m, data, buf.x, row);
      return Float64Array.from(buf.x.GetView());
    });
    const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
    const A = [
      [dot(rows[0], MinvJt[0]), dot(rows[0], MinvJt[1])],
      [dot(rows[1], MinvJt[0]), dot(rows[1], MinvJt[1])],
    ];
    const det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
    const out = Float64Array.from(state);
    if (!(Math.abs(det) > 1e-12)) return out;
    const p = [(A[1][1] * dv[0] - A[0][1] * dv[1]) / det, (A[0][0] * dv[1] - A[1][0] * dv[0]) / det];
    for (let i = 0; i < nv; i++) out[m.nq + i] += MinvJt[0][i] * p[0] + MinvJt[1][i] * p[1];
    return out;
  }

  /** Free the renderer's engine memory (page exit). */
  function close() {
    if (scratch) scratch.delete();
    if (buf) for (const b of Object.values(buf)) b.delete();
    scratch = v = buf = null;
  }

  return { WIDTH, HEIGHT, fit: (view) => fitWorld(WIDTH, HEIGHT, view), draw, hit, push, close };
}
