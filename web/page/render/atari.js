// An Atari screen as ALE gives it (getScreenRGB: 210 rows of 160 RGB pixels, view.screen), drawn with square
// edges at the 2600's wide pixels (each 4 x 2 world pixels, the 2:1 pixel aspect emulators display), under a
// white band for the page's HUD (the game's own score is at the top of its screen). State: the console's RAM
// (not drawn: the picture is the emulator's own).
import { begin, finish, fitWorld } from './common.js';

const COLS = 160,
  ROWS = 210,
  PX_W = 4,
  PX_H = 2;
const BAND = 64; // the HUD's band, world pixels
const WIDTH = COLS * PX_W,
  HEIGHT = BAND + ROWS * PX_H;

let image = null,
  surface = null;

function frameCanvas(screen) {
  // one reusable surface of the screen's own size: RGB -> RGBA, then scaled by the caller's drawImage
  if (!surface) {
    surface =
      typeof OffscreenCanvas === 'function'
        ? new OffscreenCanvas(COLS, ROWS)
        : Object.assign(document.createElement('canvas'), { width: COLS, height: ROWS });
    image = new ImageData(COLS, ROWS);
  }
  const d = image.data;
  for (let i = 0, j = 0; i < COLS * ROWS; i++, j += 3) {
    d[4 * i] = screen[j];
    d[4 * i + 1] = screen[j + 1];
    d[4 * i + 2] = screen[j + 2];
    d[4 * i + 3] = 255;
  }
  surface.getContext('2d').putImageData(image, 0, 0);
  return surface;
}

export const renderer = {
  WIDTH,
  HEIGHT,
  fit: (view) => fitWorld(WIDTH, HEIGHT, view),
  draw(ctx, _state, view) {
    const f = begin(ctx, WIDTH, HEIGHT, view);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, BAND, WIDTH, HEIGHT - BAND);
    if (view.screen) {
      ctx.imageSmoothingEnabled = false; // the console's pixels, not a blur of them
      ctx.drawImage(frameCanvas(view.screen), 0, BAND, WIDTH, HEIGHT - BAND);
    }
    finish(ctx, WIDTH, f.k, view);
  },
};
