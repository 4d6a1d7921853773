// N-API surface of the engine: thin argument unpacking over kernels.h / gemm.h.
// Every buffer is a typed array owned by JavaScript; offsets and sizes are in elements.
// Bindings with more than a handful of parameters take one argument object read by field name
// (Fields below) into the kernel's struct from kernels.h; the short ones stay positional.
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

// Names an argument in error messages: "argument 3" for positional bindings, "gemm: field lda"
// for the argument-object ones. Built only when a check fails.
struct Where {
  const char* op = nullptr;
  const char* field = nullptr;
  size_t index = 0;
  std::string str() const {
    return field ? std::string(op) + ": field " + field : "argument " + std::to_string(index);
  }
};

// The readers below make one N-API call per value where the node-addon-api wrappers make two or
// three (type test, then read): per-call cost matters for the many small ops of a small model.

bool absent(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null);
}

template <typename T>
T* typed(napi_env env, napi_value v, napi_typedarray_type type, const char* name, const Where& w, int64_t* n,
         bool nullable) {
  napi_typedarray_type got;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, v, &got, &length, &data, nullptr, nullptr) == napi_ok && got == type) {
    *n = int64_t(length);
    return static_cast<T*>(data);
  }
  if (nullable && absent(env, v)) {
    *n = 0;
    return nullptr;
  }
  throw Napi::TypeError::New(env, w.str() + " must be a" + name);
}

F32 as_f32(napi_env env, napi_value v, const Where& w, bool nullable) {
  F32 out;
  out.p = typed<float>(env, v, napi_float32_array, " Float32Array", w, &out.n, nullable);
  return out;
}

double as_num(napi_env env, napi_value v, const Where& w) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw Napi::TypeError::New(env, w.str() + " must be a number");
  return d;
}

// Truthiness, as JavaScript's Boolean(v); a real boolean takes the one-call path.
bool as_flag(napi_env env, napi_value v) {
  bool b;
  if (napi_get_value_bool(env, v, &b) == napi_ok) return b;
  return Napi::Value(env, v).ToBoolean().Value();
}

uint64_t as_seed(napi_env env, napi_value v, const Where& w) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_bigint) {
    bool lossless;
    return Napi::Value(env, v).As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return uint64_t(as_num(env, v, w));
}

// ---- positional arguments (the short bindings)

F32 f32(const Napi::CallbackInfo& info, size_t i, bool nullable = false) {
  return as_f32(info.Env(), info[i], {nullptr, nullptr, i}, nullable);
}

int32_t* i32(const Napi::CallbackInfo& info, size_t i, int64_t* n) {
  return typed<int32_t>(info.Env(), info[i], napi_int32_array, "n Int32Array", {nullptr, nullptr, i}, n, false);
}

uint8_t* u8(const Napi::CallbackInfo& info, size_t i, int64_t* n) {
  return typed<uint8_t>(info.Env(), info[i], napi_uint8_array, " Uint8Array", {nullptr, nullptr, i}, n, false);
}

double num(const Napi::CallbackInfo& info, size_t i) { return as_num(info.Env(), info[i], {nullptr, nullptr, i}); }

int64_t int_arg(const Napi::CallbackInfo& info, size_t i) { return int64_t(num(info, i)); }

bool flag(const Napi::CallbackInfo& info, size_t i) { return as_flag(info.Env(), info[i]); }

uint64_t seed_arg(const Napi::CallbackInfo& info, size_t i) {
  return as_seed(info.Env(), info[i], {nullptr, nullptr, i});
}

// ---- the argument object (bindings with more than a handful of parameters)

// The one helper that reads a binding's argument object by field name. Optional fields take
// the default given at the call; the TypeScript types in src/tensor/native.ts say which are optional.
class Fields {
 public:
  Fields(const Napi::CallbackInfo& info, const char* op)
      : env_(info.Env()), op_(op) {
    if (info.Length() < 1 || !info[0].IsObject())
      throw Napi::TypeError::New(env_, std::string(op) + ": expects one argument object");
    obj_ = info[0].As<Napi::Object>();
  }
  F32 f32(const char* name, bool nullable = false) const { return as_f32(env_, get(name), at(name), nullable); }
  const int32_t* i32(const char* name, int64_t* n) const {
    return typed<int32_t>(env_, get(name), napi_int32_array, "n Int32Array", at(name), n, false);
  }
  uint8_t* u8(const char* name, int64_t* n, bool nullable = false) const {
    return typed<uint8_t>(env_, get(name), napi_uint8_array, " Uint8Array", at(name), n, nullable);
  }
  double num(const char* name) const { return as_num(env_, get(name), at(name)); }
  double num(const char* name, double fallback) const {
    napi_value v = get(name);
    double d;
    if (napi_get_value_double(env_, v, &d) == napi_ok) return d;
    return undefined(v) ? fallback : as_num(env_, v, at(name));
  }
  int64_t integer(const char* name) const { return int64_t(num(name)); }
  int64_t integer(const char* name, int64_t fallback) const { return int64_t(num(name, double(fallback))); }
  // Missing means false.
  bool flag(const char* name) const { return as_flag(env_, get(name)); }
  uint64_t seed(const char* name) const {
    napi_value v = get(name);
    return undefined(v) ? 0 : as_seed(env_, v, at(name));
  }
  void need(bool ok, const char* what) const {
    if (!ok) throw Napi::RangeError::New(env_, std::string("native: buffer too small for ") + op_ + " " + what);
  }

 private:
  // By C string: V8 interns the name on each read (about a quarter of a small GEMM call's cost).
  // Caching the keys would need references to strings, which Node-API 8 cannot hold; a cache
  // through a referenced array of keys measured slower than this.
  napi_value get(const char* name) const {
    napi_value v;
    NAPI_THROW_IF_FAILED(env_, napi_get_named_property(env_, obj_, name, &v), nullptr);
    return v;
  }
  bool undefined(napi_value v) const {
    napi_valuetype t;
    return napi_typeof(env_, v, &t) == napi_ok && t == napi_undefined;
  }
  Where at(const char* name) const { return {op_, name, 0}; }
  Napi::Env env_;
  const char* op_;
  Napi::Object obj_;
};

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
  o.Set("backend", sap::gemm_backend());
  o.Set("bf16", sap::gemm_bf16_available());
  o.Set("threads", sap::num_threads());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  sap::set_num_threads(int(int_arg(info, 0)));
  return info.Env().Undefined();
}

// gemm({transA, transB, M, N, K, alpha, beta, a, aOff, lda, strideA, b, ..., c, ..., batch});
// batch > 1 runs `batch` products with operand X_b at xOff + b * strideX.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Fields f(info, "gemm");
  sap::GemmArgs g;
  g.trans_a = f.flag("transA");
  g.trans_b = f.flag("transB");
  g.M = f.integer("M");
  g.N = f.integer("N");
  g.K = f.integer("K");
  g.alpha = float(f.num("alpha", 1));
  g.beta = float(f.num("beta", 0));
  F32 A = f.f32("a"), B = f.f32("b"), C = f.f32("c");
  const int64_t ao = f.integer("aOff", 0), bo = f.integer("bOff", 0), co = f.integer("cOff", 0);
  g.lda = f.integer("lda");
  g.ldb = f.integer("ldb");
  g.ldc = f.integer("ldc");
  g.batch = f.integer("batch", 1);
  g.bf16 = f.flag("bf16");
  if (g.batch > 1) {
    g.stride_a = f.integer("strideA");
    g.stride_b = f.integer("strideB");
    g.stride_c = f.integer("strideC");
  }
  if (g.batch <= 0) return info.Env().Undefined();
  const int64_t last = g.batch - 1;
  f.need(fits(A.n, ao + last * g.stride_a, g.trans_a ? g.K : g.M, g.trans_a ? g.M : g.K, g.lda), "A");
  f.need(fits(B.n, bo + last * g.stride_b, g.trans_b ? g.N : g.K, g.trans_b ? g.K : g.N, g.ldb), "B");
  f.need(fits(C.n, co + last * g.stride_c, g.M, g.N, g.ldc), "C");
  g.a = A.p + ao;
  g.b = B.p + bo;
  g.c = C.p + co;
  sap::gemm(g);
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

// softmax({x, y, rows, cols, scale, mask?, rowsPerMask?})
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Fields f(info, "softmax");
  sap::SoftmaxArgs a;
  a.rows = f.integer("rows");
  a.cols = f.integer("cols");
  a.scale = float(f.num("scale", 1));
  F32 x = f.f32("x"), y = f.f32("y"), mask = f.f32("mask", true);
  a.rows_per_mask = f.integer("rowsPerMask", a.rows);
  f.need(x.n >= a.rows * a.cols && y.n >= a.rows * a.cols, "x/y");
  if (mask.p) f.need(a.rows_per_mask > 0 && mask.n >= ((a.rows + a.rows_per_mask - 1) / a.rows_per_mask) * a.cols, "mask");
  if (a.rows_per_mask <= 0) a.rows_per_mask = 1;
  a.x = x.p;
  a.y = y.p;
  a.mask = mask.p;
  sap::softmax(a);
  return info.Env().Undefined();
}

// softmaxBackward({y, dy, dx, rows, cols, scale, acc})
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Fields f(info, "softmaxBackward");
  sap::SoftmaxArgs a;
  a.rows = f.integer("rows");
  a.cols = f.integer("cols");
  a.scale = float(f.num("scale", 1));
  a.acc = f.flag("acc");
  F32 y = f.f32("y"), dy = f.f32("dy"), dx = f.f32("dx");
  const int64_t n = a.rows * a.cols;
  f.need(y.n >= n && dy.n >= n && dx.n >= n, "y/dy/dx");
  a.y = y.p;
  a.dy = dy.p;
  a.dx = dx.p;
  sap::softmax_backward(a);
  return info.Env().Undefined();
}

// layerNorm({x, gamma, beta, y, mean, rstd, rows, cols, eps})
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Fields f(info, "layerNorm");
  sap::LayerNormArgs a;
  a.rows = f.integer("rows");
  a.cols = f.integer("cols");
  a.eps = float(f.num("eps"));
  F32 x = f.f32("x"), g = f.f32("gamma"), b = f.f32("beta"), y = f.f32("y"), mean = f.f32("mean"),
      rstd = f.f32("rstd");
  const int64_t rows = a.rows, cols = a.cols;
  f.need(x.n >= rows * cols && y.n >= rows * cols && g.n >= cols && b.n >= cols && mean.n >= rows && rstd.n >= rows,
         "x/gamma/beta/y/mean/rstd");
  a.x = x.p;
  a.gamma = g.p;
  a.beta = b.p;
  a.y = y.p;
  a.mean = mean.p;
  a.rstd = rstd.p;
  sap::layer_norm(a);
  return info.Env().Undefined();
}

// layerNormBackward({dy, x, gamma, mean, rstd, dx?, dgamma?, dbeta?, rows, cols, acc})
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Fields f(info, "layerNormBackward");
  sap::LayerNormArgs a;
  a.rows = f.integer("rows");
  a.cols = f.integer("cols");
  a.acc = f.flag("acc");
  F32 dy = f.f32("dy"), x = f.f32("x"), g = f.f32("gamma"), mean = f.f32("mean"), rstd = f.f32("rstd");
  F32 dx = f.f32("dx", true), dg = f.f32("dgamma", true), db = f.f32("dbeta", true);
  const int64_t rows = a.rows, cols = a.cols;
  f.need(dy.n >= rows * cols && x.n >= rows * cols && g.n >= cols && mean.n >= rows && rstd.n >= rows,
         "dy/x/gamma/mean/rstd");
  f.need((!dx.p || dx.n >= rows * cols) && (!dg.p || dg.n >= cols) && (!db.p || db.n >= cols), "grads");
  a.dy = dy.p;
  a.x = x.p;
  a.gamma = g.p;
  a.mean = mean.p;
  a.rstd = rstd.p;
  a.dx = dx.p;
  a.dgamma = dg.p;
  a.dbeta = db.p;
  sap::layer_norm_backward(a);
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

// Reads the fields both cross-entropy directions share and checks targets against the classes.
sap::CrossEntropyArgs cross_entropy_args(const Fields& f, const Napi::Env& env, const char* op) {
  sap::CrossEntropyArgs a;
  a.rows = f.integer("rows");
  a.cols = f.integer("cols");
  a.ignore_index = int32_t(f.integer("ignoreIndex", -100));
  int64_t n;
  a.targets = f.i32("targets", &n);
  F32 probs = f.f32("probs");
  f.need(probs.n >= a.rows * a.cols && n >= a.rows, "probs/targets");
  for (int64_t r = 0; r < a.rows; ++r) {
    const int32_t t = a.targets[r];
    if (t != a.ignore_index && (t < 0 || t >= a.cols))
      throw Napi::RangeError::New(env, std::string(op) + ": target " + std::to_string(t) + " at row " +
                                           std::to_string(r) + " is outside [0, " + std::to_string(a.cols) + ")");
  }
  a.probs = probs.p;
  return a;
}

// crossEntropy({logits, targets, rows, cols, ignoreIndex?, probs}) -> [lossSum, count]
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Fields f(info, "crossEntropy");
  sap::CrossEntropyArgs a = cross_entropy_args(f, info.Env(), "crossEntropy");
  F32 logits = f.f32("logits");
  f.need(logits.n >= a.rows * a.cols, "logits");
  a.logits = logits.p;
  int64_t count = 0;
  double loss = sap::cross_entropy(a, &count);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(uint32_t(0), loss);
  out.Set(uint32_t(1), double(count));
  return out;
}

// crossEntropyBackward({probs, targets, rows, cols, ignoreIndex?, g, dx, acc})
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Fields f(info, "crossEntropyBackward");
  sap::CrossEntropyArgs a = cross_entropy_args(f, info.Env(), "crossEntropyBackward");
  F32 dx = f.f32("dx");
  f.need(dx.n >= a.rows * a.cols, "dx");
  a.g = float(f.num("g"));
  a.dx = dx.p;
  a.acc = f.flag("acc");
  sap::cross_entropy_backward(a);
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

// adamw({param, grad, m, v, lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2})
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Fields f(info, "adamw");
  F32 p = f.f32("param"), g = f.f32("grad"), m = f.f32("m"), v = f.f32("v");
  f.need(g.n == p.n && m.n == p.n && v.n == p.n, "param/grad/m/v");
  sap::AdamWArgs a;
  a.n = p.n;
  a.param = p.p;
  a.grad = g.p;
  a.m = m.p;
  a.v = v.p;
  a.lr = float(f.num("lr"));
  a.beta1 = float(f.num("beta1"));
  a.beta2 = float(f.num("beta2"));
  a.eps = float(f.num("eps"));
  a.weight_decay = float(f.num("weightDecay"));
  a.bias_correction1 = float(f.num("biasCorrection1"));
  a.bias_correction2 = float(f.num("biasCorrection2"));
  sap::adamw(a);
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

// Reads the fields both attention directions share: q, k, v, geometry, probs and dropout.
sap::AttentionArgs attention_args(const Fields& f) {
  sap::AttentionArgs a;
  F32 q = f.f32("q"), k = f.f32("k"), v = f.f32("v"), probs = f.f32("probs");
  a.ld = f.integer("ld");
  a.B = f.integer("B");
  a.T = f.integer("T");
  a.H = f.integer("H");
  a.D = f.integer("D");
  a.scale = float(f.num("scale"));
  a.drop_p = float(f.num("dropP", 0));
  a.bf16 = f.flag("bf16");
  int64_t dmn;
  a.drop_mask = f.u8("dropMask", &dmn, true);
  const int64_t B = a.B, T = a.T, H = a.H, D = a.D, ld = a.ld;
  const int64_t need_qkv = (B * T - 1) * ld + H * D;
  f.need(ld >= H * D && q.n >= need_qkv && k.n >= need_qkv && v.n >= need_qkv, "q/k/v");
  f.need(probs.n >= B * H * T * T, "probs");
  f.need(a.drop_p <= 0.f || (a.drop_mask && dmn >= B * H * T * T), "dropout mask");
  a.q = q.p;
  a.k = k.p;
  a.v = v.p;
  a.probs = probs.p;
  return a;
}

// attention({q, k, v, ld, B, T, H, D, scale, probs, dropP?, dropMask?, mask?, causal?, seed?, ctx})
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Fields f(info, "attention");
  sap::AttentionArgs a = attention_args(f);
  F32 mask = f.f32("mask", true), ctx = f.f32("ctx");
  f.need(ctx.n >= a.B * a.T * a.H * a.D && (!mask.p || mask.n >= a.B * a.T), "ctx/mask");
  a.mask = mask.p;
  a.ctx = ctx.p;
  a.causal = f.flag("causal");
  a.seed = f.seed("seed");
  sap::attention(a);
  return info.Env().Undefined();
}

// attentionBackward({q, k, v, ld, B, T, H, D, scale, probs, dropP?, dropMask?, dctx, dq?, dk?, dv?, accQ, accK, accV})
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Fields f(info, "attentionBackward");
  sap::AttentionArgs a = attention_args(f);
  F32 dctx = f.f32("dctx"), dq = f.f32("dq", true), dk = f.f32("dk", true), dv = f.f32("dv", true);
  const int64_t n = (a.B * a.T - 1) * a.ld + a.H * a.D;
  f.need(dctx.n >= a.B * a.T * a.H * a.D, "dctx");
  f.need((!dq.p || dq.n >= n) && (!dk.p || dk.n >= n) && (!dv.p || dv.n >= n), "grads");
  a.dctx = dctx.p;
  a.dq = dq.p;
  a.dk = dk.p;
  a.dv = dv.p;
  a.acc_q = f.flag("accQ");
  a.acc_k = f.flag("accK");
  a.acc_v = f.flag("accV");
  sap::attention_backward(a);
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
