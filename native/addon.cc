// N-API surface of the engine: thin argument unpacking over kernels.h / gemm.h.
// Every buffer is a typed array owned by JavaScript; offsets and sizes are in elements.
// Argument checking of shapes happens in TypeScript (src/tensor/native.ts); here we only
// guard against reading or writing outside a buffer.
#include <napi.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace sap {

static std::atomic<int> g_threads{0};

int num_threads() { return g_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  g_threads.store(n);
  gemm_set_threads(n);
}

}  // namespace sap

namespace {


struct F32 {
  float* p = nullptr;
  int64_t n = 0;
};

F32 f32(const Napi::CallbackInfo& info, size_t i, bool nullable = false) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  return {a.Data(), int64_t(a.ElementLength())};
}

int32_t* i32(const Napi::CallbackInfo& info, size_t i, int64_t* n) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  *n = int64_t(a.ElementLength());
  return a.Data();
}

uint8_t* u8(const Napi::CallbackInfo& info, size_t i, int64_t* n, bool nullable = false) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) {
    *n = 0;
    return nullptr;
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Uint8Array");
  auto a = v.As<Napi::Uint8Array>();
  *n = int64_t(a.ElementLength());
  return a.Data();
}

double num(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t int_arg(const Napi::CallbackInfo& info, size_t i) { return int64_t(num(info, i)); }

bool flag(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

uint64_t seed_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsBigInt()) {
    bool lossless;
    return info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return uint64_t(num(info, i));
}

void need(const Napi::CallbackInfo& info, bool ok, const char* what) {
  if (!ok) throw Napi::RangeError::New(info.Env(), std::string("native: buffer too small for ") + what);
}

// Checks that a strided matrix (rows x cols, leading dim ld, at offset) fits in a buffer.
bool fits(int64_t len, int64_t off, int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return off >= 0 && off <= len;
  return off >= 0 && ld >= cols && off + (rows - 1) * ld + cols <= len;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", sap::gemm_uses_blas());
  o.Set("threads", sap::num_threads());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  sap::set_num_threads(int(int_arg(info, 0)));
  return info.Env().Undefined();
}

// gemm(ta, tb, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  bool ta = flag(info, 0), tb = flag(info, 1);
  int64_t M = int_arg(info, 2), N = int_arg(info, 3), K = int_arg(info, 4);
  float alpha = float(num(info, 5));
  F32 A = f32(info, 6), B = f32(info, 9), C = f32(info, 13);
  int64_t ao = int_arg(info, 7), lda = int_arg(info, 8), bo = int_arg(info, 10), ldb = int_arg(info, 11);
  float beta = float(num(info, 12));
  int64_t co = int_arg(info, 14), ldc = int_arg(info, 15);
  need(info, fits(A.n, ao, ta ? K : M, ta ? M : K, lda), "gemm A");
  need(info, fits(B.n, bo, tb ? N : K, tb ? K : N, ldb), "gemm B");
  need(info, fits(C.n, co, M, N, ldc), "gemm C");
  sap::sgemm(ta, tb, int(M), int(N), int(K), alpha, A.p + ao, int(lda), B.p + bo, int(ldb), beta, C.p + co, int(ldc));
  return info.Env().Undefined();
}

// gemmBatched(ta, tb, M, N, K, alpha, A, aOff, lda, strideA, B, bOff, ldb, strideB, beta, C, cOff, ldc, strideC, batch)
Napi::Value GemmBatched(const Napi::CallbackInfo& info) {
  bool ta = flag(info, 0), tb = flag(info, 1);
  int64_t M = int_arg(info, 2), N = int_arg(info, 3), K = int_arg(info, 4);
  float alpha = float(num(info, 5));
  F32 A = f32(info, 6), B = f32(info, 10), C = f32(info, 15);
  int64_t ao = int_arg(info, 7), lda = int_arg(info, 8), sa = int_arg(info, 9);
  int64_t bo = int_arg(info, 11), ldb = int_arg(info, 12), sb = int_arg(info, 13);
  float beta = float(num(info, 14));
  int64_t co = int_arg(info, 16), ldc = int_arg(info, 17), sc = int_arg(info, 18), batch = int_arg(info, 19);
  if (batch == 0) return info.Env().Undefined();
  need(info, fits(A.n, ao + (batch - 1) * sa, ta ? K : M, ta ? M : K, lda), "gemmBatched A");
  need(info, fits(B.n, bo + (batch - 1) * sb, tb ? N : K, tb ? K : N, ldb), "gemmBatched B");
  need(info, fits(C.n, co + (batch - 1) * sc, M, N, ldc), "gemmBatched C");
  // Large matrices: let OpenBLAS thread each product. Many small ones: spread them over our
  // workers with OpenBLAS single-threaded inside.
  const bool small = M * N * K < (1 << 18) && batch > 1 && sap::num_threads() > 1;
  if (small) sap::gemm_set_threads(1);
  sap::parallel_for(batch, small ? 1 : batch, [&](int64_t b0, int64_t e0, int) {
    for (int64_t b = b0; b < e0; ++b)
      sap::sgemm(ta, tb, int(M), int(N), int(K), alpha, A.p + ao + b * sa, int(lda), B.p + bo + b * sb, int(ldb), beta,
                 C.p + co + b * sc, int(ldc));
  });
  if (small) sap::gemm_set_threads(sap::num_threads());
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = int(int_arg(info, 0));
  F32 a = f32(info, 1), b = f32(info, 2), out = f32(info, 3);
  need(info, out.n == a.n && b.n > 0 && a.n % b.n == 0, "binary (b must tile a, out must match a)");
  sap::binary(op, a.p, a.n, b.p, b.n, out.p);
  return info.Env().Undefined();
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  float alpha = float(num(info, 0));
  F32 x = f32(info, 1), y = f32(info, 2);
  need(info, x.n == y.n, "axpy");
  sap::axpy(x.n, alpha, x.p, y.p);
  return info.Env().Undefined();
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0), out = f32(info, 2);
  need(info, x.n == out.n, "scale");
  sap::scale(x.n, float(num(info, 1)), x.p, out.p);
  return info.Env().Undefined();
}

Napi::Value Tile(const Napi::CallbackInfo& info) {
  F32 src = f32(info, 0), out = f32(info, 1);
  need(info, src.n > 0 && out.n % src.n == 0, "tile");
  sap::tile(src.p, src.n, out.p, out.n);
  return info.Env().Undefined();
}

Napi::Value ColSum(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0), out = f32(info, 3);
  int64_t rows = int_arg(info, 1), cols = int_arg(info, 2);
  need(info, rows * cols <= x.n && out.n >= cols, "colSum");
  sap::col_sum(x.p, rows, cols, out.p, flag(info, 4));
  return info.Env().Undefined();
}

Napi::Value Sum(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0);
  return Napi::Number::New(info.Env(), sap::sum(x.p, x.n));
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0);
  return Napi::Number::New(info.Env(), sap::sum_squares(x.p, x.n));
}

Napi::Value CountNonFinite(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0);
  return Napi::Number::New(info.Env(), double(sap::count_nonfinite(x.p, x.n)));
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 1), out = f32(info, 2);
  need(info, x.n == out.n, "unary");
  sap::unary(int(int_arg(info, 0)), x.p, out.p, x.n);
  return info.Env().Undefined();
}

// unaryBackward(op, x, y, dy, dx, acc)
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 1), y = f32(info, 2, true), dy = f32(info, 3), dx = f32(info, 4);
  need(info, dy.n == x.n && dx.n == x.n && (!y.p || y.n == x.n), "unaryBackward");
  sap::unary_backward(int(int_arg(info, 0)), x.p, y.p, dy.p, dx.p, x.n, flag(info, 5));
  return info.Env().Undefined();
}

// softmax(x, y, rows, cols, scale, mask|null, rowsPerMask)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0), y = f32(info, 1), mask = f32(info, 5, true);
  int64_t rows = int_arg(info, 2), cols = int_arg(info, 3), rpm = int_arg(info, 6);
  need(info, x.n >= rows * cols && y.n >= rows * cols, "softmax");
  if (mask.p) need(info, rpm > 0 && mask.n >= ((rows + rpm - 1) / rpm) * cols, "softmax mask");
  sap::softmax(x.p, y.p, rows, cols, float(num(info, 4)), mask.p, rpm > 0 ? rpm : 1);
  return info.Env().Undefined();
}

// softmaxBackward(y, dy, dx, rows, cols, scale, acc)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  F32 y = f32(info, 0), dy = f32(info, 1), dx = f32(info, 2);
  int64_t rows = int_arg(info, 3), cols = int_arg(info, 4);
  need(info, y.n >= rows * cols && dy.n >= rows * cols && dx.n >= rows * cols, "softmaxBackward");
  sap::softmax_backward(y.p, dy.p, dx.p, rows, cols, float(num(info, 5)), flag(info, 6));
  return info.Env().Undefined();
}

// layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0), g = f32(info, 1), b = f32(info, 2), y = f32(info, 3), mean = f32(info, 4), rstd = f32(info, 5);
  int64_t rows = int_arg(info, 6), cols = int_arg(info, 7);
  need(info, x.n >= rows * cols && y.n >= rows * cols && g.n >= cols && b.n >= cols && mean.n >= rows && rstd.n >= rows,
       "layerNorm");
  sap::layer_norm(x.p, g.p, b.p, y.p, mean.p, rstd.p, rows, cols, float(num(info, 8)));
  return info.Env().Undefined();
}

// layerNormBackward(dy, x, gamma, mean, rstd, dx|null, dgamma|null, dbeta|null, rows, cols, acc)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  F32 dy = f32(info, 0), x = f32(info, 1), g = f32(info, 2), mean = f32(info, 3), rstd = f32(info, 4);
  F32 dx = f32(info, 5, true), dg = f32(info, 6, true), db = f32(info, 7, true);
  int64_t rows = int_arg(info, 8), cols = int_arg(info, 9);
  need(info, dy.n >= rows * cols && x.n >= rows * cols && g.n >= cols && mean.n >= rows && rstd.n >= rows,
       "layerNormBackward");
  need(info, (!dx.p || dx.n >= rows * cols) && (!dg.p || dg.n >= cols) && (!db.p || db.n >= cols),
       "layerNormBackward grads");
  sap::layer_norm_backward(dy.p, x.p, g.p, mean.p, rstd.p, dx.p, dg.p, db.p, rows, cols, flag(info, 10));
  return info.Env().Undefined();
}

// embedding(weight, vocab, dim, ids, out)
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  F32 w = f32(info, 0), out = f32(info, 4);
  int64_t vocab = int_arg(info, 1), dim = int_arg(info, 2), n;
  int32_t* ids = i32(info, 3, &n);
  need(info, w.n >= vocab * dim && out.n >= n * dim, "embedding");
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw Napi::RangeError::New(info.Env(), "embedding: id " + std::to_string(ids[i]) + " at position " +
                                                  std::to_string(i) + " is outside the vocabulary of " +
                                                  std::to_string(vocab));
  sap::embedding(w.p, vocab, dim, ids, n, out.p);
  return info.Env().Undefined();
}

// embeddingBackward(dy, ids, dim, dweight, vocab)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  F32 dy = f32(info, 0), dw = f32(info, 3);
  int64_t n, dim = int_arg(info, 2), vocab = int_arg(info, 4);
  int32_t* ids = i32(info, 1, &n);
  need(info, dy.n >= n * dim && dw.n >= vocab * dim, "embeddingBackward");
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab) throw Napi::RangeError::New(info.Env(), "embeddingBackward: id out of range");
  sap::embedding_backward(dy.p, ids, n, dim, dw.p, vocab);
  return info.Env().Undefined();
}

// crossEntropy(logits, targets, rows, cols, ignoreIndex, probs) -> [lossSum, count]
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  F32 logits = f32(info, 0), probs = f32(info, 5);
  int64_t n, rows = int_arg(info, 2), cols = int_arg(info, 3);
  int32_t* t = i32(info, 1, &n);
  int32_t ignore = int32_t(int_arg(info, 4));
  need(info, logits.n >= rows * cols && probs.n >= rows * cols && n >= rows, "crossEntropy");
  for (int64_t r = 0; r < rows; ++r)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= cols))
      throw Napi::RangeError::New(info.Env(), "crossEntropy: target " + std::to_string(t[r]) + " at row " +
                                                  std::to_string(r) + " is outside [0, " + std::to_string(cols) + ")");
  int64_t count = 0;
  double loss = sap::cross_entropy(logits.p, t, rows, cols, ignore, probs.p, &count);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(uint32_t(0), loss);
  out.Set(uint32_t(1), double(count));
  return out;
}

// crossEntropyBackward(probs, targets, rows, cols, ignoreIndex, g, dx, acc)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  F32 probs = f32(info, 0), dx = f32(info, 6);
  int64_t n, rows = int_arg(info, 2), cols = int_arg(info, 3);
  int32_t* t = i32(info, 1, &n);
  need(info, probs.n >= rows * cols && dx.n >= rows * cols && n >= rows, "crossEntropyBackward");
  sap::cross_entropy_backward(probs.p, t, rows, cols, int32_t(int_arg(info, 4)), float(num(info, 5)), dx.p, flag(info, 7));
  return info.Env().Undefined();
}

// dropout(x, y, mask, p, seed)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0), y = f32(info, 1);
  int64_t mn;
  uint8_t* mask = u8(info, 2, &mn);
  need(info, y.n == x.n && mn == x.n, "dropout");
  sap::dropout(x.p, y.p, mask, x.n, float(num(info, 3)), seed_arg(info, 4));
  return info.Env().Undefined();
}

// dropoutBackward(dy, mask, dx, p, acc)
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  F32 dy = f32(info, 0), dx = f32(info, 2);
  int64_t mn;
  uint8_t* mask = u8(info, 1, &mn);
  need(info, dx.n == dy.n && mn == dy.n, "dropoutBackward");
  sap::dropout_backward(dy.p, mask, dx.p, dy.n, float(num(info, 3)), flag(info, 4));
  return info.Env().Undefined();
}

// adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  F32 p = f32(info, 0), g = f32(info, 1), m = f32(info, 2), v = f32(info, 3);
  need(info, g.n == p.n && m.n == p.n && v.n == p.n, "adamw");
  sap::adamw(p.p, g.p, m.p, v.p, p.n, float(num(info, 4)), float(num(info, 5)), float(num(info, 6)),
             float(num(info, 7)), float(num(info, 8)), float(num(info, 9)), float(num(info, 10)));
  return info.Env().Undefined();
}

// permute(x, out, shape: number[], perm: number[])
Napi::Value Permute(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0), out = f32(info, 1);
  Napi::Array shape = info[2].As<Napi::Array>(), perm = info[3].As<Napi::Array>();
  int nd = int(shape.Length());
  if (nd < 1 || nd > 16 || int(perm.Length()) != nd) throw Napi::RangeError::New(info.Env(), "permute: bad rank");
  int64_t s[16], p[16], total = 1;
  for (int i = 0; i < nd; ++i) {
    s[i] = int64_t(shape.Get(uint32_t(i)).As<Napi::Number>().DoubleValue());
    p[i] = int64_t(perm.Get(uint32_t(i)).As<Napi::Number>().DoubleValue());
    total *= s[i];
  }
  need(info, x.n >= total && out.n >= total, "permute");
  sap::permute(x.p, out.p, s, p, nd);
  return info.Env().Undefined();
}

// attention(q, k, v, ld, B, T, H, D, scale, mask|null, causal, probs, ctx, dropP, seed, dropMask|null)
// q, k, v may be views into one packed [B, T, ld] buffer (GPT-2's c_attn output).
Napi::Value Attention(const Napi::CallbackInfo& info) {
  F32 q = f32(info, 0), k = f32(info, 1), v = f32(info, 2), mask = f32(info, 9, true), probs = f32(info, 11),
      ctx = f32(info, 12);
  int64_t ld = int_arg(info, 3), B = int_arg(info, 4), T = int_arg(info, 5), H = int_arg(info, 6), D = int_arg(info, 7);
  bool causal = flag(info, 10);
  float dp = float(num(info, 13));
  int64_t dmn;
  uint8_t* dm = u8(info, 15, &dmn, true);
  int64_t need_qkv = (B * T - 1) * ld + H * D;
  need(info, ld >= H * D && q.n >= need_qkv && k.n >= need_qkv && v.n >= need_qkv, "attention q/k/v");
  need(info, probs.n >= B * H * T * T && ctx.n >= B * T * H * D && (!mask.p || mask.n >= B * T), "attention out");
  need(info, dp <= 0.f || (dm && dmn >= B * H * T * T), "attention dropout mask");
  sap::attention(q.p, k.p, v.p, ld, B, T, H, D, float(num(info, 8)), mask.p, causal, probs.p, ctx.p, dp,
                 seed_arg(info, 14), dm);
  return info.Env().Undefined();
}

// attentionBackward(q, k, v, ld, B, T, H, D, scale, probs, dctx, dq|null, dk|null, dv|null, accQ, accK, accV, dropP, dropMask|null)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  F32 q = f32(info, 0), k = f32(info, 1), v = f32(info, 2), probs = f32(info, 9), dctx = f32(info, 10);
  F32 dq = f32(info, 11, true), dk = f32(info, 12, true), dv = f32(info, 13, true);
  int64_t ld = int_arg(info, 3), B = int_arg(info, 4), T = int_arg(info, 5), H = int_arg(info, 6), D = int_arg(info, 7);
  float dp = float(num(info, 17));
  int64_t dmn;
  uint8_t* dm = u8(info, 18, &dmn, true);
  int64_t n = (B * T - 1) * ld + H * D;
  need(info, q.n >= n && k.n >= n && v.n >= n && probs.n >= B * H * T * T && dctx.n >= B * T * H * D,
       "attentionBackward");
  need(info, (!dq.p || dq.n >= n) && (!dk.p || dk.n >= n) && (!dv.p || dv.n >= n), "attentionBackward grads");
  need(info, dp <= 0.f || (dm && dmn >= B * H * T * T), "attentionBackward dropout mask");
  sap::attention_backward(q.p, k.p, v.p, ld, B, T, H, D, float(num(info, 8)), probs.p, dctx.p, dq.p, dk.p, dv.p,
                          flag(info, 14), flag(info, 15), flag(info, 16), dp, dm);
  return info.Env().Undefined();
}

int default_threads() {
  if (const char* s = std::getenv("SAP_THREADS")) {
    int n = std::atoi(s);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? int(hc) : 1;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sap::set_num_threads(default_threads());
#define SAP_EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, fn, name))
  SAP_EXPORT("info", Info);
  SAP_EXPORT("setThreads", SetThreads);
  SAP_EXPORT("gemm", Gemm);
  SAP_EXPORT("gemmBatched", GemmBatched);
  SAP_EXPORT("binary", Binary);
  SAP_EXPORT("axpy", Axpy);
  SAP_EXPORT("scale", Scale);
  SAP_EXPORT("tile", Tile);
  SAP_EXPORT("colSum", ColSum);
  SAP_EXPORT("sum", Sum);
  SAP_EXPORT("sumSquares", SumSquares);
  SAP_EXPORT("countNonFinite", CountNonFinite);
  SAP_EXPORT("unary", Unary);
  SAP_EXPORT("unaryBackward", UnaryBackward);
  SAP_EXPORT("softmax", Softmax);
  SAP_EXPORT("softmaxBackward", SoftmaxBackward);
  SAP_EXPORT("layerNorm", LayerNorm);
  SAP_EXPORT("layerNormBackward", LayerNormBackward);
  SAP_EXPORT("embedding", Embedding);
  SAP_EXPORT("embeddingBackward", EmbeddingBackward);
  SAP_EXPORT("crossEntropy", CrossEntropy);
  SAP_EXPORT("crossEntropyBackward", CrossEntropyBackward);
  SAP_EXPORT("dropout", Dropout);
  SAP_EXPORT("dropoutBackward", DropoutBackward);
  SAP_EXPORT("adamw", AdamW);
  SAP_EXPORT("permute", Permute);
  SAP_EXPORT("attention", Attention);
  SAP_EXPORT("attentionBackward", AttentionBackward);
#undef SAP_EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(sap_native, Init)
