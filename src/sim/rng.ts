// The one source of randomness for the readiness simulation. Everything drawn goes through a
// single seedrandom generator, so a seed (plus the library version and algorithm recorded next
// to it) reproduces every number on every machine: alea's arithmetic is plain IEEE doubles and
// V8's Math.log/exp/cos/sin are its own fdlibm port, identical on every platform.
import {alea, seedrandomVersion} from './alea.js';

/** alea: several times faster than seedrandom's default ARC4 and plenty for Monte Carlo. */
export const RNG_ALGORITHM = 'alea';
/** Read from the installed package, not hard-coded: the plan file must name the code that ran. */
export const RNG_VERSION: string = seedrandomVersion();

export type Uniform = () => number;

/** Uniform on [0, 1), 32 bits of resolution (alea's native output). */
export function uniformSource(seed: string): Uniform {
  return alea(seed);
}

const TWO_PI = 2 * Math.PI;

/**
 * Both normals of one Box–Muller pair from two uniforms the caller already drew. The caller
 * draws the uniforms unconditionally, so the stream stays aligned whether or not the normals
 * are needed (common random numbers; see readiness.ts).
 */
export function boxMullerRadius(u1: number): number {
  // 1 - u1 is in (0, 1]: the log never sees 0
  return Math.sqrt(-2 * Math.log(1 - u1));
}
export const boxMullerCos = (radius: number, u2: number): number => radius * Math.cos(TWO_PI * u2);
export const boxMullerSin = (radius: number, u2: number): number => radius * Math.sin(TWO_PI * u2);

// ---- Beta quantiles -----------------------------------------------------------------------
// Beta draws are made by inverting the CDF rather than by a rejection sampler (Marsaglia–Tsang
// gammas): one uniform per draw, always, and the draw is monotone in the parameters for a fixed
// uniform. That is what makes "more failures never raise readiness" hold exactly under a fixed
// seed. Numerics follow Numerical Recipes 3rd ed. §6.1, 6.4 (gammln, betacf, invbetai), with a
// bracket kept around the root so Halley steps cannot escape and a tighter tolerance.

const LANCZOS = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199, 0.339946499848118887e-4, 0.465236289270485756e-4,
  -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3, 0.217439618115212643e-3, -0.16431810653676389e-3,
  0.844182239838527433e-4, -0.261908384015814087e-4, 0.368991826595316234e-5,
];

/** ln Γ(x), x > 0, about 15 significant digits. */
export function lnGamma(x: number): number {
  let y = x;
  let tmp = x + 5.2421875; // g = 671/128
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.999999999999997092;
  for (const c of LANCZOS) ser += c / ++y;
  return tmp + Math.log((2.5066282746310005 * ser) / x);
}

const FPMIN = 1e-300;

// Modified Lentz evaluation of the incomplete beta continued fraction. It needs about
// sqrt(max(a, b)) terms, so the cap is generous: a ledger with a million runs of a kind still fits.
function betacf(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 20000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** A Beta(a, b) distribution with its normaliser computed once. */
export interface BetaParams {
  a: number;
  b: number;
  /** ln B(a, b) */
  lnB: number;
}

export function betaParams(a: number, b: number): BetaParams {
  if (!(a > 0 && b > 0 && Number.isFinite(a) && Number.isFinite(b)))
    throw new RangeError(`Beta parameters must be positive and finite (got ${a}, ${b})`);
  return {a, b, lnB: lnGamma(a) + lnGamma(b) - lnGamma(a + b)};
}

/** The regularised incomplete beta function I_x(a, b): the Beta CDF at x. */
export function betaCdf(x: number, {a, b, lnB}: BetaParams): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - lnB);
  return x < (a + 1) / (a + b + 2) ? (front * betacf(a, b, x)) / a : 1 - (front * betacf(b, a, 1 - x)) / b;
}

/** The Beta quantile at u: a Beta(a, b) draw when u is uniform. */
export function betaQuantile(u: number, p: BetaParams): number {
  if (u <= 0) return 0;
  if (u >= 1) return 1;
  const {a, b, lnB} = p;
  let x: number;
  if (a >= 1 && b >= 1) {
    const pp = u < 0.5 ? u : 1 - u;
    const t = Math.sqrt(-2 * Math.log(pp));
    let z = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t;
    if (u < 0.5) z = -z;
    const al = (z * z - 3) / 6;
    const h = 2 / (1 / (2 * a - 1) + 1 / (2 * b - 1));
    const w = (z * Math.sqrt(al + h)) / h - (1 / (2 * b - 1) - 1 / (2 * a - 1)) * (al + 5 / 6 - 2 / (3 * h));
    x = a / (a + b * Math.exp(2 * w));
  } else {
    const t = Math.exp(a * Math.log(a / (a + b))) / a;
    const v = Math.exp(b * Math.log(b / (a + b))) / b;
    const w = t + v;
    x = u < t / w ? Math.pow(a * w * u, 1 / a) : 1 - Math.pow(b * w * (1 - u), 1 / b);
  }
  if (!(x > 0 && x < 1)) x = a / (a + b);
  let lo = 0;
  let hi = 1;
  const a1 = a - 1;
  const b1 = b - 1;
  for (let j = 0; j < 200; j++) {
    const err = betaCdf(x, p) - u;
    if (err === 0) return x;
    if (err < 0) lo = x;
    else hi = x;
    const pdf = Math.exp(a1 * Math.log(x) + b1 * Math.log(1 - x) - lnB);
    const newton = err / pdf;
    // Halley's correction only near the root: far out in a tail it shrinks the steps to a crawl
    const corr = newton * (a1 / x - b1 / (1 - x));
    const step = Math.abs(corr) < 1 ? newton / (1 - 0.5 * corr) : newton;
    if (Math.abs(step) <= 1e-15 * x) return x;
    let next = x - step;
    // a step that leaves the bracket (or a pdf that underflowed to 0) falls back to bisection
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (hi - lo <= 1e-16 * hi) return next;
    x = next;
  }
  return x;
}
