// What both Box2D renderers draw a body with: its polygon placed by the body's transform, as Gymnasium's
// render() does (pygame: fixture.body.transform * v * SCALE).

/** A body's polygon in Gymnasium's frame (pixels, y up): state[at..at+2] is its x, y (metres) and angle;
 * verts are in body coordinates (metres); scale is the env's pixels per metre. */
export function bodyPath(state, at, verts, scale) {
  const x = state[at],
    y = state[at + 1],
    c = Math.cos(state[at + 2]),
    s = Math.sin(state[at + 2]);
  return verts.map(([vx, vy]) => [(c * vx - s * vy + x) * scale, (s * vx + c * vy + y) * scale]);
}
