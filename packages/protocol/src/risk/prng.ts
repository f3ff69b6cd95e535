/**
 * A small seeded pseudo-random generator for the risk simulation: sfc32 (Chris Doty-Humphrey's
 * Small Fast Counter, 128-bit state), seeded from one 32-bit integer through splitmix32 and warmed
 * up, so the same seed gives the same sequence in every JavaScript engine. Not for cryptography.
 */
export type Rng = () => number;

/** A uniform draw in [0, 1) from the seed. */
export function rngOf(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}
