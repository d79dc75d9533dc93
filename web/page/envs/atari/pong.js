// Pong (ale-py 0.12.1; game.js makes ALE/Pong-v5 and PongNoFrameskip-v4): the right paddle against the
// console. ALE calls the paddle's moves RIGHT (up) and LEFT (down).
import { atariGame } from './game.js';

export const { spec, Env, load, variants } = atariGame({
  name: 'Pong',
  title: 'Pong',
  rom: 'pong',
  actionNames: ['NOOP', 'FIRE', 'RIGHT (up)', 'LEFT (down)', 'RIGHTFIRE', 'LEFTFIRE'],
  keys: { ArrowUp: 2, ArrowDown: 3, f: 1 }, // F fires (Space is the page's play/pause)
  solved: 18, // +18 greedy over 10 episodes: the shipped policy's bar (tests/test_shipped_policies.py ATARI_BAR)
});
