#pragma once

namespace sap {

bool gemm_uses_blas();
void gemm_set_threads(int n);

// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc);

}  // namespace sap
