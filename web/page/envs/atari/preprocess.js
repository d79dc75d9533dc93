// Atari frames -> the policy's input, bit for bit as the training wrappers made them (policy.json `frames`,
// docs/design.md "Atari frames"). A policy sees 4 stacked 84x84 gray frames; the page must hand it exactly
// the bytes Python did, or a trained agent plays a slightly different game. Runs in Node and the browser:
// no DOM. Input: one ALE screen as getScreenRGB gives it, a Uint8Array of 210*160*3 (row-major, RGB).
//
// The two pipelines (the values of policy.json `frames`):
//   'sb3-atari'     SB3's AtariWrapper: MaxAndSkipEnv max-pools the last two RGB screens of each 4-frame
//                   skip, WarpFrame takes cv2.cvtColor(RGB2GRAY), then cv2.resize(84x84, INTER_AREA);
//                   VecFrameStack(4) pads a reset with zeros.
//   'cleanrl-atari' CleanRL's ppo_atari/dqn_atari, on the Gymnasium its pyproject pins (0.29.1): the same
//                   max-pool (SB3's wrapper), then ResizeObservation(84x84) (cv2 INTER_AREA on the RGB screen),
//                   then GrayScaleObservation (cv2.cvtColor RGB2GRAY); FrameStack(4) pads a reset by repeating
//                   its frame. (Gymnasium 1.x renamed these wrappers and grays with float weights, truncated:
//                   another 42% of the pixels; CleanRL's scripts do not run on it.)
// Resize-then-gray and gray-then-resize differ on real frames, so the pipeline is not interchangeable.
//
// Scratch buffers live at module scope (one frame at a time: JS is single threaded), so a frame allocates
// nothing.

export const SCREEN_H = 210,
  SCREEN_W = 160,
  SIZE = 84; // the policy's frame is SIZE x SIZE
export const FRAME = SIZE * SIZE;
export const STACK = 4;

// cv2.cvtColor(COLOR_RGB2GRAY) on 8-bit images: fixed point with 15 fraction bits (0.299, 0.587, 0.114
// rounded so they sum to 2^15), rounded by adding half. Bit-exact with cv2 on all 2^24 colours; the
// textbook 14-bit weights or float weights are off by one on some colours.
export function grayCv2(rgb, out = new Uint8Array(rgb.length / 3)) {
  for (let i = 0, j = 0; i < out.length; i++, j += 3) {
    out[i] = (9798 * rgb[j] + 19235 * rgb[j + 1] + 3735 * rgb[j + 2] + 16384) >> 15;
  }
  return out;
}

// The element-wise max of two screens (MaxAndSkipEnv: the last two frames of a skip, against flicker).
export function maxPool(a, b, out = new Uint8Array(a.length)) {
  for (let i = 0; i < out.length; i++) out[i] = a[i] > b[i] ? a[i] : b[i];
  return out;
}

// cv2's computeResizeAreaTab for one axis: for each destination cell, the source cells it covers and
// their weights (the fraction covered / the cell's width). OpenCV does the geometry in double and stores
// the weights as float: Float32Array does the same rounding.
function areaTab(ssize, dsize) {
  // resize() derives the scale as 1 / (dsize / ssize), not ssize / dsize: the two can differ in the last
  // bit (not for 210x160 -> 84x84), so the way cv2 does it
  const scale = 1 / (dsize / ssize);
  const di = [],
    si = [],
    alpha = [];
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale,
      fsx2 = fsx1 + scale,
      cellWidth = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1),
      sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) {
      di.push(dx);
      si.push(sx1 - 1);
      alpha.push((sx1 - fsx1) / cellWidth);
    }
    for (let sx = sx1; sx < sx2; sx++) {
      di.push(dx);
      si.push(sx);
      alpha.push(1.0 / cellWidth);
    }
    if (fsx2 - sx2 > 1e-3) {
      di.push(dx);
      si.push(sx2);
      alpha.push(Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth);
    }
  }
  return { di: Int32Array.from(di), si: Int32Array.from(si), alpha: Float32Array.from(alpha) };
}

// cv2.resize(..., INTER_AREA) of an 8-bit image by a non-integer factor (ResizeArea_Invoker; 210x160 ->
// 84x84 is 2.5 x 1.905, so cv2 never takes its integer-factor fast path here). Per table entry of the
// vertical axis, one source row is reduced horizontally (buf += src * alpha), then added to the output
// row (sum += beta * buf); a finished row is rounded (saturate_cast: half to even, clamped). All of it in
// float32, one rounding per operation, in cv2's order: Math.fround and Float32Array stores round each
// result (a float64 +, * of two float32 values rounded once to float32 is the float32 operation).
export class AreaResize {
  constructor(srcH, srcW, dstH, dstW, channels) {
    if (!(srcH >= dstH && srcW >= dstW))
      throw new Error('AreaResize: only shrinks (cv2 INTER_AREA upscale differs)');
    Object.assign(this, { srcH, srcW, dstH, dstW, channels });
    this.x = areaTab(srcW, dstW);
    this.y = areaTab(srcH, dstH);
    this.buf = new Float32Array(dstW * channels);
    this.sum = new Float32Array(dstW * channels);
  }

  // src: Uint8Array srcH*srcW*channels; out: Uint8Array dstH*dstW*channels (row-major, channels last)
  resize(src, out = new Uint8Array(this.dstH * this.dstW * this.channels)) {
    const { srcW, channels: cn, buf, sum } = this,
      { di: xdi, si: xsi, alpha: xa } = this.x,
      { di: ydi, si: ysi, alpha: ya } = this.y,
      n = buf.length,
      nx = xa.length;
    // saturate_cast<uchar>(float): Uint8ClampedArray's conversion is round half to even, clamped to 0..255
    const rounded = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
    const fround = Math.fround;
    let prev = ydi[0],
      lastRow = -1;
    sum.fill(0);
    for (let j = 0; j < ya.length; j++) {
      const beta = ya[j],
        dy = ydi[j],
        row = ysi[j] * srcW * cn;
      // a source row split between two output rows comes twice in a row: cv2 reduces it twice, to the
      // same buf, so once is enough (a sixth of the work at 210 -> 84)
      if (row !== lastRow) {
        lastRow = row;
        buf.fill(0);
        if (cn === 1) {
          for (let k = 0; k < nx; k++) buf[xdi[k]] += fround(src[row + xsi[k]] * xa[k]);
        } else if (cn === 3) {
          for (let k = 0; k < nx; k++) {
            const s = row + xsi[k] * 3,
              d = xdi[k] * 3,
              a = xa[k];
            buf[d] += fround(src[s] * a);
            buf[d + 1] += fround(src[s + 1] * a);
            buf[d + 2] += fround(src[s + 2] * a);
          }
        } else {
          for (let k = 0; k < nx; k++) {
            const s = row + xsi[k] * cn,
              d = xdi[k] * cn,
              a = xa[k];
            for (let c = 0; c < cn; c++) buf[d + c] += fround(src[s + c] * a);
          }
        }
      }
      if (dy !== prev) {
        // a new output row begins: the previous one is complete
        const o = prev * n;
        for (let i = 0; i < n; i++) {
          rounded[o + i] = sum[i];
          sum[i] = beta * buf[i];
        }
        prev = dy;
      } else {
        for (let i = 0; i < n; i++) sum[i] += fround(beta * buf[i]);
      }
    }
    const o = prev * n;
    for (let i = 0; i < n; i++) rounded[o + i] = sum[i];
    return out;
  }
}

const resizeGray = new AreaResize(SCREEN_H, SCREEN_W, SIZE, SIZE, 1),
  resizeRgb = new AreaResize(SCREEN_H, SCREEN_W, SIZE, SIZE, 3),
  gray210 = new Uint8Array(SCREEN_H * SCREEN_W),
  rgb84 = new Uint8Array(FRAME * 3);

// SB3's WarpFrame: gray first (cv2), then the area resize of the gray screen.
export function warpSb3(rgb, out = new Uint8Array(FRAME)) {
  return resizeGray.resize(grayCv2(rgb, gray210), out);
}

// CleanRL's ResizeObservation then GrayScaleObservation (Gymnasium 0.29.1): the area resize of the RGB
// screen, then cv2's gray.
export function warpCleanrl(rgb, out = new Uint8Array(FRAME)) {
  return grayCv2(resizeRgb.resize(rgb, rgb84), out);
}

// policy.json `frames` -> {warp: RGB screen -> 84x84 frame, pad: how a reset fills the stack}
export const PIPELINES = {
  'sb3-atari': { warp: warpSb3, pad: 'zero' }, // VecFrameStack: zeros, the reset frame last
  'cleanrl-atari': { warp: warpCleanrl, pad: 'repeat' }, // FrameStack: the reset frame 4 times
};

// The policy's input: the last `n` frames, channels first, oldest first (SB3's VecFrameStack stacks on the
// last axis and VecTransposeImage moves it first; Gymnasium's FrameStackObservation stacks on the first).
export class FrameStack {
  constructor(pad = 'zero', n = STACK, frame = FRAME) {
    if (pad !== 'zero' && pad !== 'repeat')
      throw new Error(`FrameStack: pad is 'zero' or 'repeat', not ${pad}`);
    Object.assign(this, { pad, n, frame });
    this.obs = new Uint8Array(n * frame);
  }

  // a new episode: its first frame is the newest; the older slots are zeros or copies of it
  reset(f) {
    const { obs, n, frame } = this;
    if (this.pad === 'zero') obs.fill(0, 0, (n - 1) * frame);
    else for (let i = 0; i < n - 1; i++) obs.set(f, i * frame);
    obs.set(f, (n - 1) * frame);
    return obs;
  }

  push(f) {
    const { obs, n, frame } = this;
    obs.copyWithin(0, frame, n * frame);
    obs.set(f, (n - 1) * frame);
    return obs;
  }
}
