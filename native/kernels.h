// Fused CPU kernels behind the Tensor ops. Each forward has its backward beside it; backward
// kernels take `acc` = accumulate into the gradient buffer (true) or overwrite it (false), so
// autograd never allocates a temporary just to add it to another.
#pragma once
#include <cstdint>

namespace sap {

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };
enum UnaryOp { kGelu = 0, kGeluNew = 1, kRelu = 2, kTanh = 3, kExp = 4, kSigmoid = 5 };

// out[i] = a[i] op b[i % nb]   (b repeats: the trailing-dimension broadcast)
void binary(int op, const float* a, int64_t n, const float* b, int64_t nb, float* out);
// y += alpha * x
void axpy(int64_t n, float alpha, const float* x, float* y);
// out = alpha * x
void scale(int64_t n, float alpha, const float* x, float* out);
// out[i] = src[i % ns]
void tile(const float* src, int64_t ns, float* out, int64_t n);
// out[j] (+)= sum_r x[r, j]
void col_sum(const float* x, int64_t rows, int64_t cols, float* out, bool acc);
double sum(const float* x, int64_t n);
double sum_squares(const float* x, int64_t n);
// Number of NaN or Inf entries.
int64_t count_nonfinite(const float* x, int64_t n);

// Strided row-major GEMM, batched: for b in [0, batch),
//   C_b[M,N] = alpha * op(A_b)[M,K] * op(B_b)[K,N] + beta * C_b,  X_b = x + b * stride_x.
// Pointers already include any element offset.
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.f, beta = 0.f;
  const float* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const float* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  float* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
  // bf16 operands, fp32 accumulation (oneDNN with AVX512_BF16 only; ignored elsewhere).
  bool bf16 = false;
};
void gemm(const GemmArgs& g);

void unary(int op, const float* x, float* out, int64_t n);
// dx (+)= f'(x) * dy; y = f(x) is passed for ops whose derivative is cheaper from the output.
void unary_backward(int op, const float* x, const float* y, const float* dy, float* dx, int64_t n, bool acc);

// Row softmax over [rows, cols], forward and backward. Fields a direction does not use are ignored.
struct SoftmaxArgs {
  int64_t rows = 0, cols = 0;
  float scale = 1.f;
  // forward: y[r, :] = softmax(scale * x[r, :] + mask[r / rows_per_mask, :]); mask may be null.
  const float* x = nullptr;
  float* y = nullptr;
  const float* mask = nullptr;
  int64_t rows_per_mask = 1;
  // backward from the forward output y: dx (+)= scale * y * (dy - <dy, y>)
  const float* dy = nullptr;
  float* dx = nullptr;
  bool acc = false;
};
void softmax(const SoftmaxArgs& a);
void softmax_backward(const SoftmaxArgs& a);

// LayerNorm over the last dimension of [rows, cols] with affine gamma/beta. The forward saves
// mean and rstd per row; the backward reads them.
struct LayerNormArgs {
  int64_t rows = 0, cols = 0;
  float eps = 0.f;
  const float* x = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float* y = nullptr;
  float* mean = nullptr;
  float* rstd = nullptr;
  // backward: dgamma/dbeta always accumulate and may be null; dx may be null.
  const float* dy = nullptr;
  float* dx = nullptr;
  float* dgamma = nullptr;
  float* dbeta = nullptr;
  bool acc = false;
};
void layer_norm(const LayerNormArgs& a);
void layer_norm_backward(const LayerNormArgs& a);

void embedding(const float* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, float* out);
void embedding_backward(const float* dy, const int32_t* ids, int64_t n, int64_t dim, float* dweight, int64_t vocab);

// Cross-entropy of logits [rows, cols] against targets; rows whose target == ignore_index are
// skipped. The forward writes softmax probabilities to probs (the backward reads them).
struct CrossEntropyArgs {
  int64_t rows = 0, cols = 0;
  int32_t ignore_index = -100;
  const float* logits = nullptr;
  const int32_t* targets = nullptr;
  float* probs = nullptr;
  // backward: dx (+)= g * (probs - onehot(target)) for kept rows, 0 for ignored rows.
  float g = 0.f;
  float* dx = nullptr;
  bool acc = false;
};
// Returns the summed loss over kept rows and sets *count to their number.
double cross_entropy(const CrossEntropyArgs& a, int64_t* count);
void cross_entropy_backward(const CrossEntropyArgs& a);

// Counter-based keep decision: deterministic for (seed, index), parallel-friendly.
bool dropout_keep(uint64_t seed, uint64_t index, float p);
void dropout(const float* x, float* y, uint8_t* mask, int64_t n, float p, uint64_t seed);
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, float p, bool acc);

// One AdamW step in place over n parameters (decoupled weight decay, as torch.optim.AdamW).
struct AdamWArgs {
  int64_t n = 0;
  float* param = nullptr;
  const float* grad = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  float lr = 0.f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
  float bias_correction1 = 1.f, bias_correction2 = 1.f;
};
void adamw(const AdamWArgs& a);

// out = x permuted: out.shape[i] = shape[perm[i]]
void permute(const float* x, float* out, const int64_t* shape, const int64_t* perm, int ndim);

// Multi-head attention on [B, T, ld] projections: head h uses columns h*D..(h+1)*D. q, k, v may
// be views into one packed buffer (GPT-2's c_attn output). One struct for both directions: the
// backward reuses the forward's geometry and saved probabilities.
struct AttentionArgs {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ld = 0, B = 0, T = 0, H = 0, D = 0;
  float scale = 1.f;
  // probs: [B, H, T, T] softmax output (written by forward, read by backward).
  float* probs = nullptr;
  // drop_p > 0 applies dropout to the probabilities; mask bits in drop_mask [B, H, T, T].
  float drop_p = 0.f;
  uint8_t* drop_mask = nullptr;
  // forward: mask additive [B, T] or null; causal hides keys after the query; ctx [B, T, H*D].
  const float* mask = nullptr;
  bool causal = false;
  uint64_t seed = 0;
  float* ctx = nullptr;
  // backward: gradients for q, k, v (any may be null), written with stride ld.
  const float* dctx = nullptr;
  float* dq = nullptr;
  float* dk = nullptr;
  float* dv = nullptr;
  bool acc_q = false, acc_k = false, acc_v = false;
  // The four products in bf16 with fp32 accumulation; softmax and its gradient stay fp32.
  bool bf16 = false;
};
void attention(const AttentionArgs& a);
void attention_backward(const AttentionArgs& a);

}  // namespace sap
