// sgemm: OpenBLAS when it was found at build time, else a portable blocked fallback.
// Row-major throughout, as the Tensor layer stores data.
#include "gemm.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "parallel.h"

#ifdef SAP_USE_BLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace sap {

bool gemm_uses_blas() {
#ifdef SAP_USE_BLAS
  return true;
#else
  return false;
#endif
}

void gemm_set_threads(int n) {
#ifdef SAP_USE_BLAS
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}

#ifndef SAP_USE_BLAS
// C[M,N] = alpha * op(A) op(B) + beta * C. B is first copied to a K x N row-major panel so the
// inner loop runs over contiguous memory and vectorises.
static void fallback_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                           const float* B, int ldb, float beta, float* C, int ldc) {
  std::vector<float> Bp(size_t(K) * N);
  for (int p = 0; p < K; ++p)
    for (int j = 0; j < N; ++j) Bp[size_t(p) * N + j] = tb ? B[size_t(j) * ldb + p] : B[size_t(p) * ldb + j];
  const float* bp = Bp.data();
  parallel_for(M, 8, [&](int64_t i0, int64_t i1, int) {
    std::vector<float> acc(N);
    for (int64_t i = i0; i < i1; ++i) {
      std::fill(acc.begin(), acc.end(), 0.f);
      float* a = acc.data();
      for (int p = 0; p < K; ++p) {
        const float av = ta ? A[size_t(p) * lda + i] : A[size_t(i) * lda + p];
        const float* brow = bp + size_t(p) * N;
        for (int j = 0; j < N; ++j) a[j] += av * brow[j];
      }
      float* c = C + size_t(i) * ldc;
      if (beta == 0.f) {
        for (int j = 0; j < N; ++j) c[j] = alpha * a[j];
      } else {
        for (int j = 0; j < N; ++j) c[j] = alpha * a[j] + beta * c[j];
      }
    }
  });
}
#endif

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[size_t(i) * ldc + j] = beta == 0.f ? 0.f : beta * C[size_t(i) * ldc + j];
    return;
  }
#ifdef SAP_USE_BLAS
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
#else
  fallback_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace sap
