#include "kernels.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "mathfun.h"
#include "parallel.h"

namespace sap {

namespace {
constexpr int64_t kElemChunk = 1 << 15;  // elements per worker below which threading does not pay
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;

template <typename Fn>
void elementwise(int64_t n, Fn fn) {
  parallel_for(n, kElemChunk, [&](int64_t b, int64_t e, int) { fn(b, e); });
}

template <typename Fn>
void rows_for(int64_t rows, int64_t cols, Fn fn) {
  int64_t min_rows = std::max<int64_t>(1, kElemChunk / std::max<int64_t>(1, cols));
  parallel_for(rows, min_rows, [&](int64_t b, int64_t e, int) { fn(b, e); });
}

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

void binary(int op, const float* a, int64_t n, const float* b, int64_t nb, float* out) {
  elementwise(n, [&](int64_t s, int64_t e) {
    if (nb == n) {
      switch (op) {
        case kAdd: for (int64_t i = s; i < e; ++i) out[i] = a[i] + b[i]; break;
        case kSub: for (int64_t i = s; i < e; ++i) out[i] = a[i] - b[i]; break;
        case kMul: for (int64_t i = s; i < e; ++i) out[i] = a[i] * b[i]; break;
        default: for (int64_t i = s; i < e; ++i) out[i] = a[i] / b[i]; break;
      }
      return;
    }
    if (nb == 1) {
      const float c = b[0];
      switch (op) {
        case kAdd: for (int64_t i = s; i < e; ++i) out[i] = a[i] + c; break;
        case kSub: for (int64_t i = s; i < e; ++i) out[i] = a[i] - c; break;
        case kMul: for (int64_t i = s; i < e; ++i) out[i] = a[i] * c; break;
        default: for (int64_t i = s; i < e; ++i) out[i] = a[i] / c; break;
      }
      return;
    }
    // Walk in runs of the repeating operand so the inner loop stays contiguous.
    int64_t i = s;
    while (i < e) {
      int64_t j = i % nb;
      int64_t len = std::min(e - i, nb - j);
      const float* bb = b + j;
      float* o = out + i;
      const float* aa = a + i;
      switch (op) {
        case kAdd: for (int64_t t = 0; t < len; ++t) o[t] = aa[t] + bb[t]; break;
        case kSub: for (int64_t t = 0; t < len; ++t) o[t] = aa[t] - bb[t]; break;
        case kMul: for (int64_t t = 0; t < len; ++t) o[t] = aa[t] * bb[t]; break;
        default: for (int64_t t = 0; t < len; ++t) o[t] = aa[t] / bb[t]; break;
      }
      i += len;
    }
  });
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  elementwise(n, [&](int64_t s, int64_t e) {
    if (alpha == 1.f) {
      for (int64_t i = s; i < e; ++i) y[i] += x[i];
    } else {
      for (int64_t i = s; i < e; ++i) y[i] += alpha * x[i];
    }
  });
}

void scale(int64_t n, float alpha, const float* x, float* out) {
  elementwise(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) out[i] = alpha * x[i];
  });
}

void tile(const float* src, int64_t ns, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += ns) std::memcpy(out + i, src, sizeof(float) * std::min(ns, n - i));
}

void col_sum(const float* x, int64_t rows, int64_t cols, float* out, bool acc) {
  int threads = num_threads();
  std::vector<float> partial(size_t(threads) * cols, 0.f);
  int64_t min_rows = std::max<int64_t>(1, kElemChunk / std::max<int64_t>(1, cols));
  parallel_for(rows, min_rows, [&](int64_t b, int64_t e, int w) {
    float* p = partial.data() + size_t(w) * cols;
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * cols;
      for (int64_t j = 0; j < cols; ++j) p[j] += xr[j];
    }
  });
  for (int64_t j = 0; j < cols; ++j) {
    float s = 0.f;
    for (int w = 0; w < threads; ++w) s += partial[size_t(w) * cols + j];
    out[j] = acc ? out[j] + s : s;
  }
}

double sum(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

double sum_squares(const float* x, int64_t n) {
  int threads = num_threads();
  std::vector<double> partial(threads, 0.0);
  parallel_for(n, kElemChunk, [&](int64_t b, int64_t e, int w) {
    double s = 0;
    for (int64_t i = b; i < e; ++i) s += double(x[i]) * x[i];
    partial[w] = s;
  });
  double s = 0;
  for (double p : partial) s += p;
  return s;
}

int64_t count_nonfinite(const float* x, int64_t n) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; ++i) c += std::isfinite(x[i]) ? 0 : 1;
  return c;
}

void gemm(const GemmArgs& g) {
  if (g.batch <= 0) return;
  if (g.batch == 1) {
    sgemm(g.trans_a, g.trans_b, int(g.M), int(g.N), int(g.K), g.alpha, g.a, int(g.lda), g.b, int(g.ldb), g.beta, g.c,
          int(g.ldc), g.bf16);
    return;
  }
  // Large matrices: let OpenBLAS thread each product. Many small ones: spread them over our
  // workers with OpenBLAS single-threaded inside.
  const bool small = g.M * g.N * g.K < (1 << 18) && num_threads() > 1;
  if (small) gemm_set_threads(1);
  parallel_for(g.batch, small ? 1 : g.batch, [&](int64_t b0, int64_t e0, int) {
    for (int64_t i = b0; i < e0; ++i)
      sgemm(g.trans_a, g.trans_b, int(g.M), int(g.N), int(g.K), g.alpha, g.a + i * g.stride_a, int(g.lda),
            g.b + i * g.stride_b, int(g.ldb), g.beta, g.c + i * g.stride_c, int(g.ldc), g.bf16);
  });
  if (small) gemm_set_threads(num_threads());
}

void unary(int op, const float* x, float* out, int64_t n) {
  elementwise(n, [&](int64_t s, int64_t e) {
    switch (op) {
      case kGelu:
        for (int64_t i = s; i < e; ++i) out[i] = 0.5f * x[i] * (1.f + fast_erf(x[i] * kInvSqrt2));
        break;
      case kGeluNew:
        for (int64_t i = s; i < e; ++i) {
          const float v = x[i];
          out[i] = 0.5f * v * (1.f + fast_tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
        }
        break;
      case kRelu:
        for (int64_t i = s; i < e; ++i) out[i] = x[i] > 0.f ? x[i] : (x[i] != x[i] ? x[i] : 0.f);
        break;
      case kTanh:
        for (int64_t i = s; i < e; ++i) out[i] = fast_tanh(x[i]);
        break;
      case kExp:
        for (int64_t i = s; i < e; ++i) out[i] = fast_exp(x[i]);
        break;
      default:  // sigmoid
        for (int64_t i = s; i < e; ++i) out[i] = 1.f / (1.f + fast_exp(-x[i]));
        break;
    }
  });
}

void unary_backward(int op, const float* x, const float* y, const float* dy, float* dx, int64_t n, bool acc) {
  // One loop per op (no switch inside) so each vectorises.
  auto run = [&](auto deriv) {
    elementwise(n, [&](int64_t s, int64_t e) {
      if (acc) {
        for (int64_t i = s; i < e; ++i) dx[i] += deriv(i) * dy[i];
      } else {
        for (int64_t i = s; i < e; ++i) dx[i] = deriv(i) * dy[i];
      }
    });
  };
  switch (op) {
    case kGelu:
      run([&](int64_t i) {
        const float v = x[i];
        const float cdf = 0.5f * (1.f + fast_erf(v * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * fast_exp(-0.5f * v * v);
        return cdf + v * pdf;
      });
      break;
    case kGeluNew:
      run([&](int64_t i) {
        const float v = x[i];
        const float t = fast_tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v));
        const float dinner = kSqrt2OverPi * (1.f + 3.f * 0.044715f * v * v);
        return 0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * dinner;
      });
      break;
    case kRelu:
      run([&](int64_t i) { return x[i] > 0.f ? 1.f : 0.f; });
      break;
    case kTanh:
      run([&](int64_t i) { return 1.f - y[i] * y[i]; });
      break;
    case kExp:
      run([&](int64_t i) { return y[i]; });
      break;
    default:
      run([&](int64_t i) { return y[i] * (1.f - y[i]); });
      break;
  }
}

static void softmax_row(const float* x, float* y, int64_t cols, float scale, const float* m) {
  float mx = -INFINITY;
  bool nan = false;
  for (int64_t j = 0; j < cols; ++j) {
    const float v = scale * x[j] + (m ? m[j] : 0.f);
    y[j] = v;
    mx = v > mx ? v : mx;
    nan |= v != v;
  }
  if (nan || mx == -INFINITY) {
    // NaN input or a row masked with -inf everywhere: propagate NaN rather than hide it.
    for (int64_t j = 0; j < cols; ++j) y[j] = NAN;
    return;
  }
  float s = 0.f;
  for (int64_t j = 0; j < cols; ++j) {
    const float ev = fast_exp(y[j] - mx);
    y[j] = ev;
    s += ev;
  }
  const float inv = 1.f / s;
  for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
}

void softmax(const SoftmaxArgs& args) {
  const float *x = args.x, *mask = args.mask;
  float* y = args.y;
  const int64_t rows = args.rows, cols = args.cols, rows_per_mask = args.rows_per_mask;
  const float scale = args.scale;
  rows_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      softmax_row(x + r * cols, y + r * cols, cols, scale, mask ? mask + (r / rows_per_mask) * cols : nullptr);
  });
}

static void softmax_backward_row(const float* y, const float* dy, float* dx, int64_t cols, float scale, bool acc) {
  float dot = 0.f;
  for (int64_t j = 0; j < cols; ++j) dot += dy[j] * y[j];
  if (acc) {
    for (int64_t j = 0; j < cols; ++j) dx[j] += scale * y[j] * (dy[j] - dot);
  } else {
    for (int64_t j = 0; j < cols; ++j) dx[j] = scale * y[j] * (dy[j] - dot);
  }
}

void softmax_backward(const SoftmaxArgs& args) {
  const float *y = args.y, *dy = args.dy;
  float* dx = args.dx;
  const int64_t rows = args.rows, cols = args.cols;
  const float scale = args.scale;
  const bool acc = args.acc;
  rows_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) softmax_backward_row(y + r * cols, dy + r * cols, dx + r * cols, cols, scale, acc);
  });
}

void layer_norm(const LayerNormArgs& args) {
  const float *x = args.x, *gamma = args.gamma, *beta = args.beta;
  float *y = args.y, *mean = args.mean, *rstd = args.rstd;
  const int64_t rows = args.rows, cols = args.cols;
  const float eps = args.eps;
  rows_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float s = 0.f;
      for (int64_t j = 0; j < cols; ++j) s += xr[j];
      const float mu = s / float(cols);
      float ss = 0.f;
      for (int64_t j = 0; j < cols; ++j) {
        const float d = xr[j] - mu;
        ss += d * d;
      }
      const float rs = 1.f / std::sqrt(ss / float(cols) + eps);
      mean[r] = mu;
      rstd[r] = rs;
      for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
    }
  });
}

void layer_norm_backward(const LayerNormArgs& args) {
  const float *dy = args.dy, *x = args.x, *gamma = args.gamma, *mean = args.mean, *rstd = args.rstd;
  float *dx = args.dx, *dgamma = args.dgamma, *dbeta = args.dbeta;
  const int64_t rows = args.rows, cols = args.cols;
  const bool acc = args.acc;
  int threads = num_threads();
  const bool want_params = dgamma || dbeta;
  std::vector<float> pg(want_params ? size_t(threads) * cols : 0, 0.f), pb(want_params ? size_t(threads) * cols : 0, 0.f);
  int64_t min_rows = std::max<int64_t>(1, kElemChunk / std::max<int64_t>(1, cols));
  parallel_for(rows, min_rows, [&](int64_t b, int64_t e, int w) {
    float* g = want_params ? pg.data() + size_t(w) * cols : nullptr;
    float* bb = want_params ? pb.data() + size_t(w) * cols : nullptr;
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      const float mu = mean[r], rs = rstd[r];
      float sdy = 0.f, sdyx = 0.f;
      for (int64_t j = 0; j < cols; ++j) {
        const float xhat = (xr[j] - mu) * rs;
        const float gdy = gamma[j] * dyr[j];
        sdy += gdy;
        sdyx += gdy * xhat;
        if (g) {
          g[j] += dyr[j] * xhat;
          bb[j] += dyr[j];
        }
      }
      if (dx) {
        float* dxr = dx + r * cols;
        const float inv_n = 1.f / float(cols);
        for (int64_t j = 0; j < cols; ++j) {
          const float xhat = (xr[j] - mu) * rs;
          const float d = rs * (gamma[j] * dyr[j] - inv_n * (sdy + xhat * sdyx));
          dxr[j] = acc ? dxr[j] + d : d;
        }
      }
    }
  });
  if (want_params) {
    for (int64_t j = 0; j < cols; ++j) {
      float sg = 0.f, sb = 0.f;
      for (int w = 0; w < threads; ++w) {
        sg += pg[size_t(w) * cols + j];
        sb += pb[size_t(w) * cols + j];
      }
      if (dgamma) dgamma[j] += sg;
      if (dbeta) dbeta[j] += sb;
    }
  }
}

void embedding(const float* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, float* out) {
  (void)vocab;
  for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * dim, weight + int64_t(ids[i]) * dim, sizeof(float) * dim);
}

void embedding_backward(const float* dy, const int32_t* ids, int64_t n, int64_t dim, float* dweight, int64_t vocab) {
  (void)vocab;
  for (int64_t i = 0; i < n; ++i) {
    float* row = dweight + int64_t(ids[i]) * dim;
    const float* g = dy + i * dim;
    for (int64_t j = 0; j < dim; ++j) row[j] += g[j];
  }
}

double cross_entropy(const CrossEntropyArgs& args, int64_t* count) {
  const float* logits = args.logits;
  const int32_t* targets = args.targets;
  float* probs = args.probs;
  const int64_t rows = args.rows, cols = args.cols;
  const int32_t ignore_index = args.ignore_index;
  // Rows in parallel; each row's log-sum-exp in double for the loss value.
  std::vector<double> loss_rows(rows, 0.0);
  rows_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* x = logits + r * cols;
      float* p = probs + r * cols;
      float mx = -INFINITY;
      for (int64_t j = 0; j < cols; ++j) mx = x[j] > mx ? x[j] : mx;
      float s = 0.f;
      for (int64_t j = 0; j < cols; ++j) {
        const float ev = fast_exp(x[j] - mx);
        p[j] = ev;
        s += ev;
      }
      const float inv = 1.f / s;
      for (int64_t j = 0; j < cols; ++j) p[j] *= inv;
      const int32_t t = targets[r];
      if (t != ignore_index) loss_rows[r] = -(double(x[t]) - mx - std::log(double(s)));
    }
  });
  double loss = 0;
  int64_t kept = 0;
  for (int64_t r = 0; r < rows; ++r)
    if (targets[r] != ignore_index) {
      loss += loss_rows[r];
      ++kept;
    }
  *count = kept;
  return loss;
}

void cross_entropy_backward(const CrossEntropyArgs& args) {
  const float* probs = args.probs;
  const int32_t* targets = args.targets;
  float* dx = args.dx;
  const int64_t rows = args.rows, cols = args.cols;
  const int32_t ignore_index = args.ignore_index;
  const float g = args.g;
  const bool acc = args.acc;
  rows_for(rows, cols, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* p = probs + r * cols;
      float* d = dx + r * cols;
      const int32_t t = targets[r];
      const float gg = t != ignore_index ? g : 0.f;
      if (acc) {
        for (int64_t j = 0; j < cols; ++j) d[j] += gg * p[j];
      } else {
        for (int64_t j = 0; j < cols; ++j) d[j] = gg * p[j];
      }
      if (t != ignore_index) d[t] -= g;
    }
  });
}

// One splitmix64 draw per 4 consecutive elements, 16 bits each (p resolved to 1/65536): the
// stream is a plain SplitMix counter, and the forward, backward and fused attention all derive
// element i's decision from (seed, i) alone.
static inline uint64_t dropout_bits(uint64_t seed, uint64_t group) {
  return splitmix64(seed + group * 0x9e3779b97f4a7c15ULL);
}

static inline bool keep_from(uint64_t bits, uint64_t index, uint32_t threshold) {
  return uint32_t((bits >> (16 * (index & 3))) & 0xffffu) >= threshold;
}

static inline uint32_t drop_threshold(float p) {
  return uint32_t(std::lround(double(p) * 65536.0));
}

bool dropout_keep(uint64_t seed, uint64_t index, float p) {
  return keep_from(dropout_bits(seed, index >> 2), index, drop_threshold(p));
}

void dropout(const float* x, float* y, uint8_t* mask, int64_t n, float p, uint64_t seed) {
  const float keep_scale = 1.f / (1.f - p);
  const uint32_t th = drop_threshold(p);
  elementwise(n, [&](int64_t s, int64_t e) {
    int64_t i = s;
    for (; i < e && (i & 3) != 0; ++i) {
      const bool k = dropout_keep(seed, uint64_t(i), p);
      mask[i] = k;
      y[i] = k ? x[i] * keep_scale : 0.f;
    }
    for (; i + 4 <= e; i += 4) {
      const uint64_t bits = dropout_bits(seed, uint64_t(i) >> 2);
      for (int j = 0; j < 4; ++j) {
        const uint8_t k = uint32_t((bits >> (16 * j)) & 0xffffu) >= th;
        mask[i + j] = k;
        y[i + j] = x[i + j] * (k ? keep_scale : 0.f);
      }
    }
    for (; i < e; ++i) {
      const bool k = dropout_keep(seed, uint64_t(i), p);
      mask[i] = k;
      y[i] = k ? x[i] * keep_scale : 0.f;
    }
  });
}

void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, float p, bool acc) {
  const float keep_scale = 1.f / (1.f - p);
  elementwise(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      const float d = mask[i] ? dy[i] * keep_scale : 0.f;
      dx[i] = acc ? dx[i] + d : d;
    }
  });
}

void adamw(const AdamWArgs& args) {
  float *param = args.param, *m = args.m, *v = args.v;
  const float* grad = args.grad;
  const float lr = args.lr, beta1 = args.beta1, beta2 = args.beta2, eps = args.eps;
  const float weight_decay = args.weight_decay, bias_correction1 = args.bias_correction1,
              bias_correction2 = args.bias_correction2;
  const float step = lr / bias_correction1;
  const float inv_sqrt_bc2 = 1.f / std::sqrt(bias_correction2);
  const float decay = 1.f - lr * weight_decay;
  elementwise(args.n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      const float g = grad[i];
      const float mi = beta1 * m[i] + (1.f - beta1) * g;
      const float vi = beta2 * v[i] + (1.f - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      // Decoupled weight decay, as torch.optim.AdamW: p -= lr*wd*p, then the Adam step.
      param[i] = param[i] * decay - step * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
  });
}

void permute(const float* x, float* out, const int64_t* shape, const int64_t* perm, int ndim) {
  int64_t in_strides[16];
  int64_t out_shape[16];
  int64_t total = 1;
  for (int i = ndim - 1, s = 1; i >= 0; --i) {
    in_strides[i] = s;
    s *= shape[i];
  }
  for (int i = 0; i < ndim; ++i) {
    out_shape[i] = shape[perm[i]];
    total *= out_shape[i];
  }
  if (total == 0) return;
  // Copy runs along the last output dim; contiguous when the last axis is unmoved.
  const int64_t inner = out_shape[ndim - 1];
  const int64_t inner_stride = in_strides[perm[ndim - 1]];
  const int64_t outer = total / inner;
  parallel_for(outer, std::max<int64_t>(1, kElemChunk / std::max<int64_t>(1, inner)), [&](int64_t b, int64_t e, int) {
    for (int64_t o = b; o < e; ++o) {
      int64_t rem = o, off = 0;
      for (int i = ndim - 2; i >= 0; --i) {
        const int64_t idx = rem % out_shape[i];
        rem /= out_shape[i];
        off += idx * in_strides[perm[i]];
      }
      float* dst = out + o * inner;
      if (inner_stride == 1) {
        std::memcpy(dst, x + off, sizeof(float) * inner);
      } else {
        for (int64_t j = 0; j < inner; ++j) dst[j] = x[off + j * inner_stride];
      }
    }
  });
}

// Attention parallelises over (batch, head) pairs; each pair's GEMMs are small (T x T x D), so
// OpenBLAS runs single-threaded inside our workers and we restore its thread count after.
struct BlasSingleThread {
  explicit BlasSingleThread(bool on) : on_(on) {
    if (on_) gemm_set_threads(1);
  }
  ~BlasSingleThread() {
    if (on_) gemm_set_threads(num_threads());
  }
  bool on_;
};

void attention(const AttentionArgs& args) {
  const float *q = args.q, *k = args.k, *v = args.v, *mask = args.mask;
  float *probs = args.probs, *ctx = args.ctx;
  uint8_t* drop_mask = args.drop_mask;
  const int64_t ld = args.ld, B = args.B, T = args.T, H = args.H, D = args.D;
  const float scale = args.scale, drop_p = args.drop_p;
  const bool causal = args.causal, bf16 = args.bf16;
  const uint64_t seed = args.seed;
  const int64_t HD = H * D;
  const int64_t pairs = B * H;
  BlasSingleThread guard(num_threads() > 1 && pairs > 1);
  const float keep_scale = drop_p > 0.f ? 1.f / (1.f - drop_p) : 1.f;
  parallel_for(pairs, 1, [&](int64_t b0, int64_t e0, int) {
    std::vector<float> dropped(drop_p > 0.f ? size_t(T * T) : 0);
    for (int64_t bh = b0; bh < e0; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const float* qb = q + b * T * ld + h * D;
      const float* kb = k + b * T * ld + h * D;
      const float* vb = v + b * T * ld + h * D;
      float* p = probs + bh * T * T;
      sgemm(false, true, int(T), int(T), int(D), 1.f, qb, int(ld), kb, int(ld), 0.f, p, int(T), bf16);
      const float* m = mask ? mask + b * T : nullptr;
      for (int64_t r = 0; r < T; ++r) {
        // Causal: query r sees keys 0..r only; the rest get probability 0.
        const int64_t visible = causal ? r + 1 : T;
        softmax_row(p + r * T, p + r * T, visible, scale, m);
        for (int64_t j = visible; j < T; ++j) p[r * T + j] = 0.f;
      }
      const float* used = p;
      if (drop_p > 0.f) {
        uint8_t* dm = drop_mask + bh * T * T;
        for (int64_t i = 0; i < T * T; ++i) {
          const bool keep = dropout_keep(seed, uint64_t(bh * T * T + i), drop_p);
          dm[i] = keep;
          dropped[i] = keep ? p[i] * keep_scale : 0.f;
        }
        used = dropped.data();
      }
      sgemm(false, false, int(T), int(D), int(T), 1.f, used, int(T), vb, int(ld), 0.f, ctx + b * T * HD + h * D,
            int(HD), bf16);
    }
  });
}

void attention_backward(const AttentionArgs& args) {
  const float *q = args.q, *k = args.k, *v = args.v, *probs = args.probs, *dctx = args.dctx;
  float *dq = args.dq, *dk = args.dk, *dv = args.dv;
  const uint8_t* drop_mask = args.drop_mask;
  const int64_t ld = args.ld, B = args.B, T = args.T, H = args.H, D = args.D;
  const float scale = args.scale, drop_p = args.drop_p;
  const bool acc_q = args.acc_q, acc_k = args.acc_k, acc_v = args.acc_v, bf16 = args.bf16;
  const int64_t HD = H * D;
  const int64_t pairs = B * H;
  BlasSingleThread guard(num_threads() > 1 && pairs > 1);
  const float keep_scale = drop_p > 0.f ? 1.f / (1.f - drop_p) : 1.f;
  parallel_for(pairs, 1, [&](int64_t b0, int64_t e0, int) {
    std::vector<float> dp(size_t(T * T));
    std::vector<float> dropped(drop_p > 0.f ? size_t(T * T) : 0);
    for (int64_t bh = b0; bh < e0; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const int64_t off = b * T * ld + h * D;
      const float* p = probs + bh * T * T;
      const float* g = dctx + b * T * HD + h * D;
      const float* used = p;
      const uint8_t* dm = drop_p > 0.f ? drop_mask + bh * T * T : nullptr;
      if (dm) {
        for (int64_t i = 0; i < T * T; ++i) dropped[i] = dm[i] ? p[i] * keep_scale : 0.f;
        used = dropped.data();
      }
      // dP' = dctx V^T ; dV = P'^T dctx
      sgemm(false, true, int(T), int(T), int(D), 1.f, g, int(HD), v + off, int(ld), 0.f, dp.data(), int(T), bf16);
      if (dv)
        sgemm(true, false, int(T), int(D), int(T), 1.f, used, int(T), g, int(HD), acc_v ? 1.f : 0.f, dv + off,
              int(ld), bf16);
      if (!dq && !dk) continue;
      if (dm)
        for (int64_t i = 0; i < T * T; ++i) dp[i] = dm[i] ? dp[i] * keep_scale : 0.f;
      for (int64_t r = 0; r < T; ++r) softmax_backward_row(p + r * T, dp.data() + r * T, dp.data() + r * T, T, scale, false);
      // dQ = dS K ; dK = dS^T Q
      if (dq)
        sgemm(false, false, int(T), int(D), int(T), 1.f, dp.data(), int(T), k + off, int(ld), acc_q ? 1.f : 0.f,
              dq + off, int(ld), bf16);
      if (dk)
        sgemm(true, false, int(T), int(D), int(T), 1.f, dp.data(), int(T), q + off, int(ld), acc_k ? 1.f : 0.f,
              dk + off, int(ld), bf16);
    }
  });
}

}  // namespace sap
