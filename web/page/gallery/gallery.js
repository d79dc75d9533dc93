// The gallery's previews: each card's canvas shows its environment's first state (a fixed seed), drawn by
// that environment's own renderer (the page API), so the picture is the page's picture. Envs that need an
// engine loaded first (MuJoCo) keep the plain card.
import envs from 'virtual:gallery';

function preview(canvas, { Env, renderer }) {
  const env = new Env();
  env.reset({ seed: 0 });
  const dpr = window.devicePixelRatio || 1,
    r = canvas.getBoundingClientRect();
  const width = r.width || canvas.width,
    height = r.height || canvas.height;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  renderer.draw(ctx, env.state, { width, height });
}

for (const canvas of document.querySelectorAll('canvas[data-env]')) {
  const env = envs[canvas.dataset.env];
  if (!env) continue;
  try {
    preview(canvas, env);
  } catch (e) {
    console.warn(`preview of ${canvas.dataset.env}: ${e.message}`); // the card still links to the page
  }
}
