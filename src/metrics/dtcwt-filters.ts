// Filters of Kingsbury's dual-tree complex wavelet transform, as his MATLAB toolbox ships them
// (and, converted, the `dtcwt` and `pytorch_wavelets` Python packages): 'near_sym_b' for level 1
// and 'qshift_b' for the levels after it. These are the two sets breaching's CW-SSIM asks for.

function mirror(half: readonly number[]): number[] {
  // The first half plus the centre tap, completed symmetrically.
  return [...half, ...half.slice(0, -1).reverse()];
}

/** Level-1 biorthogonal filters: 13-tap lowpass h0o and 19-tap highpass h1o (analysis). */
export const NEAR_SYM_B = {
  h0o: mirror([
    -0.0017578125, 0, 0.022265625, -0.046875, -0.0482421875, 0.296875, 0.55546875,
  ]),
  h1o: mirror([
    -7.062639508928571e-5, 0, 1.341901506696429e-3, -1.883370535714286e-3, -7.156808035714285e-3,
    2.385602678571428e-2, 5.564313616071428e-2, -5.168805803571428e-2, -2.997576032366072e-1,
    5.594308035714286e-1,
  ]),
} as const;

// The 14-tap Q-shift prototype (Kingsbury 2000, "H_L"); every other filter of the set follows
// from it by time reversal and alternating signs, exactly as the toolbox's qshift_b.mat holds
// them: h0b = reverse(h0a), h1a[n] = (-1)^n h0b[n], h1b = reverse(h1a).
const H0A = [
  0.0032531427636532, -0.0038832119991585, 0.0346603468448535, -0.0388728012688278,
  -0.1172038876991153, 0.275295384668882, 0.7561456438925225, 0.5688104207121227,
  0.011866092033797, -0.1067118046866654, 0.0238253847949203, 0.017025223881554,
  -0.0054394759372741, -0.0045568956284755,
];
const H0B = [...H0A].reverse();
const H1A = H0B.map((v, n) => (n % 2 === 0 ? v : -v));
const H1B = [...H1A].reverse();

/** Level >= 2 orthogonal Q-shift analysis filters, trees a and b. */
export const QSHIFT_B = { h0a: H0A, h0b: H0B, h1a: H1A, h1b: H1B } as const;
