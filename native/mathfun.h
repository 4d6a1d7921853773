// Branch-free float approximations that GCC auto-vectorises (libm's erff/tanhf/expf do not
// vectorise without -ffast-math, which we refuse: it breaks NaN/Inf detection).
// Rational approximations in the style of Eigen's generic_fast_* kernels; max error is a few
// float ulps over the whole range, checked against double precision in the test suite.
#pragma once
#include <cstdint>
#include <cstring>

namespace sap {

inline float clampf(float x, float lo, float hi) {
  // Written so that NaN falls through unchanged.
  return x < lo ? lo : (x > hi ? hi : x);
}

inline float fast_erf(float x) {
  const float c = clampf(x, -4.f, 4.f);
  const float x2 = c * c;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * c;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return p / q;
}

inline float fast_tanh(float x) {
  const float c = clampf(x, -7.90531110763549805f, 7.90531110763549805f);
  const float x2 = c * c;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * c;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}

// exp via 2^n * e^r with |r| <= ln2/2 and a degree-6 polynomial; relative error ~2 ulp.
// Inputs below -87.3 give 0 (so additive masks of -inf or -FLT_MAX zero a softmax entry).
inline float fast_exp(float x) {
  const float hi = 88.0f, lo = -87.3365447504f;
  const bool under = x < lo;
  float cx = clampf(x, lo, hi);
  const float fn = __builtin_floorf(cx * 1.44269504088896341f + 0.5f);
  float r = cx - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  int32_t n = int32_t(fn) + 127;
  n = n < 1 ? 1 : (n > 254 ? 254 : n);
  const float scale = __builtin_bit_cast(float, n << 23);
  float y = p * scale;
  // Above 88 we do not bother with the last half-unit of range: report overflow; NaN stays NaN.
  y = x > hi ? __builtin_inff() : y;
  y = (x != x) ? x : y;
  return under ? 0.f : y;
}

}  // namespace sap
