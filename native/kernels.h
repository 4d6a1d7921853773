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

void unary(int op, const float* x, float* out, int64_t n);
// dx (+)= f'(x) * dy; y = f(x) is passed for ops whose derivative is cheaper from the output.
void unary_backward(int op, const float* x, const float* y, const float* dy, float* dx, int64_t n, bool acc);

// y[r, :] = softmax(scale * x[r, :] + mask[r / rows_per_mask, :]); mask may be null.
void softmax(const float* x, float* y, int64_t rows, int64_t cols, float scale, const float* mask,
             int64_t rows_per_mask);
// dx (+)= scale * y * (dy - <dy, y>)
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, float scale, bool acc);

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                int64_t rows, int64_t cols, float eps);
// dgamma/dbeta always accumulate and may be null; dx may be null.
void layer_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols, bool acc);

void embedding(const float* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, float* out);
void embedding_backward(const float* dy, const int32_t* ids, int64_t n, int64_t dim, float* dweight, int64_t vocab);

// Mean cross-entropy over rows whose target != ignore_index. Writes softmax probabilities to
// probs; returns the summed loss and sets *count.
double cross_entropy(const float* logits, const int32_t* targets, int64_t rows, int64_t cols, int32_t ignore_index,
                     float* probs, int64_t* count);
// dx (+)= g * (probs - onehot(target)) for kept rows, 0 for ignored rows.
void cross_entropy_backward(const float* probs, const int32_t* targets, int64_t rows, int64_t cols,
                            int32_t ignore_index, float g, float* dx, bool acc);

// Counter-based keep decision: deterministic for (seed, index), parallel-friendly.
bool dropout_keep(uint64_t seed, uint64_t index, float p);
void dropout(const float* x, float* y, uint8_t* mask, int64_t n, float p, uint64_t seed);
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, float p, bool acc);

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
           float eps, float weight_decay, float bias_correction1, float bias_correction2);

// out = x permuted: out.shape[i] = shape[perm[i]]
void permute(const float* x, float* out, const int64_t* shape, const int64_t* perm, int ndim);

// Multi-head attention on [B, T, ld] projections: head h uses columns h*D..(h+1)*D.
// probs: [B, H, T, T] softmax output (saved for backward); ctx: [B, T, H*D].
// mask: additive [B, T] or null; causal hides keys after the query. drop_p > 0 applies dropout
// to the probabilities (mask bits in drop_mask [B, H, T, T]).
void attention(const float* q, const float* k, const float* v, int64_t ld, int64_t B, int64_t T, int64_t H,
               int64_t D, float scale, const float* mask, bool causal, float* probs, float* ctx, float drop_p,
               uint64_t seed, uint8_t* drop_mask);
// Gradients with respect to q, k, v (any may be null when not required), written with stride ld.
void attention_backward(const float* q, const float* k, const float* v, int64_t ld, int64_t B, int64_t T, int64_t H,
                        int64_t D, float scale, const float* probs, const float* dctx, float* dq, float* dk,
                        float* dv, bool acc_q, bool acc_k, bool acc_v, float drop_p, const uint8_t* drop_mask);

}  // namespace sap
