// Saliency of an image policy's decision, as a heat map over the frame it saw: Greydanus et al. 2018
// ("Visualizing and Understanding Atari Agents"): blur a small Gaussian patch of the input (all stacked frames
// alike) and measure how much the policy's outputs move, S(i, j) = 1/2 ||out(I) - out(I'(i, j))||^2, where
// I' = I (1 - M) + blur(I) M, M a Gaussian of sigma 5 pixels centred on (i, j), blur a Gaussian of sigma 3.
// It needs only the policy's own forward(): the map is what the kernel on this page computes, no derived
// gradient. A map takes GRID^2 forward passes, run in slices of at most SLICE_MS per panel refresh so the game
// keeps its pace; the panel shows the frame the map was computed on (a map takes a second or two while the
// game runs on, so drawing it over the live screen would mislead).
// Part of the lazy half: lazy/saliency.js hands envs with image observations (spec.image) to it.

const MASK_SIGMA = 5,
  BLUR_SIGMA = 3,
  STRIDE = 6, // between mask centres, pixels of the policy's 84x84 frame
  SLICE_MS = 8,
  ZOOM = 2; // the panel's picture: each frame pixel 2x2 CSS pixels

const gaussian = (sigma, radius) =>
  Float32Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma ** 2)));

/** Each channel of a [c, h, w] uint8 stack blurred by a separable Gaussian (edges clamped), as floats. */
function blur(obs, c, h, w, sigma) {
  const r = Math.ceil(3 * sigma),
    k = gaussian(sigma, r),
    ks = k.reduce((a, b) => a + b, 0);
  const tmp = new Float32Array(h * w),
    out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * h * w;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let d = -r; d <= r; d++) s += k[d + r] * obs[o + y * w + Math.min(w - 1, Math.max(0, x + d))];
        tmp[y * w + x] = s / ks;
      }
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let d = -r; d <= r; d++) s += k[d + r] * tmp[Math.min(h - 1, Math.max(0, y + d)) * w + x];
        out[o + y * w + x] = s / ks;
      }
  }
  return out;
}

/** The head's outputs a decision is read from: logits, else q-values, else probabilities, else the mean. */
const headOf = (out) => out.logits ?? out.q ?? out.probs ?? out.mean;

/**
 * Build the heat map's section under the policy panel; returns update() (core/saliency.js calls it at the
 * panel's refresh rate), which advances the current map by one slice. S.saliency (window.app.status().saliency)
 * is the last finished map: GRID x GRID scores, row-major, over the 84x84 frame.
 */
export function saliencyMap({ S, env, spec, el: make }) {
  const [c, h, w] = spec.image;
  const rows = Math.ceil(h / STRIDE),
    cols = Math.ceil(w / STRIDE);
  const title = make('h3', {
    id: 'saliency-title',
    textContent: 'Where it looks: how much blurring each spot moves the decision',
  });
  Object.assign(title.style, { fontSize: '1em', margin: '14px 0 6px' });
  const canvas = make('canvas', { id: 'saliency-map', width: w * ZOOM, height: h * ZOOM });
  canvas.style.imageRendering = 'pixelated';
  const note = make('p', { id: 'saliency-note' });
  const section = make('div', { id: 'saliency-panel' }, title, canvas, note);
  section.setAttribute('role', 'group');
  section.setAttribute('aria-labelledby', title.id);
  document.getElementById('heads').after(section);
  const ctx = canvas.getContext('2d');
  const picture = new ImageData(w, h),
    heat = new ImageData(cols, rows),
    heatCanvas = Object.assign(document.createElement('canvas'), { width: cols, height: rows }),
    frameCanvas = Object.assign(document.createElement('canvas'), { width: w, height: h });

  const mask = gaussian(MASK_SIGMA, Math.ceil(3 * MASK_SIGMA)),
    mr = Math.ceil(3 * MASK_SIGMA);
  let job = null;

  function start(policy) {
    const obs = Uint8Array.from(env.obs);
    return {
      policy,
      obs,
      step: env.steps,
      episode: S.episode,
      base: null,
      blurred: blur(obs, c, h, w, BLUR_SIGMA),
      input: new Uint8Array(obs.length),
      scores: new Float32Array(rows * cols),
      next: 0,
      ms: 0,
    };
  }

  // I'(i, j): the patch around (i, j) blended towards the blurred stack, rounded back to bytes
  function perturbed(j, ci, cj) {
    const { obs, blurred, input } = j;
    input.set(obs);
    for (let y = Math.max(0, ci - mr); y <= Math.min(h - 1, ci + mr); y++)
      for (let x = Math.max(0, cj - mr); x <= Math.min(w - 1, cj + mr); x++) {
        const m = mask[y - ci + mr] * mask[x - cj + mr];
        for (let ch = 0; ch < c; ch++) {
          const i = ch * h * w + y * w + x;
          input[i] = Math.round(obs[i] * (1 - m) + blurred[i] * m);
        }
      }
    return input;
  }

  function draw(j) {
    // the newest frame of the stack, gray, with the map over it (red, opacity by score)
    const f = (c - 1) * h * w,
      d = picture.data;
    for (let i = 0; i < h * w; i++) {
      d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = j.obs[f + i];
      d[4 * i + 3] = 255;
    }
    frameCanvas.getContext('2d').putImageData(picture, 0, 0);
    let big = 0;
    for (const s of j.scores) big = Math.max(big, s);
    const hd = heat.data;
    for (let i = 0; i < rows * cols; i++) {
      hd[4 * i] = 255;
      hd[4 * i + 1] = 40;
      hd[4 * i + 2] = 0;
      hd[4 * i + 3] = big > 0 ? Math.round(200 * Math.sqrt(j.scores[i] / big)) : 0;
    }
    heatCanvas.getContext('2d').putImageData(heat, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(frameCanvas, 0, 0, w * ZOOM, h * ZOOM);
    ctx.imageSmoothingEnabled = true; // the coarse map as smooth blobs
    ctx.drawImage(heatCanvas, 0, 0, w * ZOOM, h * ZOOM);
    note.textContent =
      `Episode ${j.episode}, step ${j.step}: the newest of the ${c} frames the policy saw; ` +
      `${rows * cols} blurred patches (Greydanus et al. 2018), ${Math.round(j.ms)} ms of forward passes.`;
  }

  return async function update() {
    const policy = S.policy;
    if (!policy) return;
    if (!job || job.policy !== policy) job = start(policy);
    const t0 = performance.now();
    try {
      job.base ??= Float32Array.from(headOf(await policy.forward(job.obs)));
      while (job.next < rows * cols && performance.now() - t0 < SLICE_MS) {
        const ci = Math.floor(job.next / cols) * STRIDE,
          cj = (job.next % cols) * STRIDE;
        const out = headOf(await policy.forward(perturbed(job, ci, cj)));
        let s = 0;
        for (let k = 0; k < out.length; k++) s += (out[k] - job.base[k]) ** 2;
        job.scores[job.next++] = s / 2;
      }
    } catch (err) {
      note.textContent = `Saliency failed: ${err?.message || err}`;
      job = null;
    }
    if (!job) return;
    job.ms += performance.now() - t0;
    if (job.next === rows * cols) {
      S.saliency = job.scores;
      draw(job);
      job = null; // the next refresh starts a map of the frame then on screen
    }
  };
}
