// The GEMM backend, chosen at build time: oneDNN (SAP_HAVE_DNNL), else OpenBLAS (SAP_USE_BLAS),
// else a portable blocked loop.
#pragma once

namespace sap {

// "onednn" | "openblas" | "portable".
const char* gemm_backend();
bool gemm_uses_blas();
// bf16 products are possible: oneDNN is the backend and the CPU has AVX512_BF16 (checked at run time).
bool gemm_bf16_available();
void gemm_set_threads(int n);

// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. With bf16 (honoured only where
// gemm_bf16_available()), A and B are rounded to bf16 and the product accumulates in fp32.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc, bool bf16 = false);

}  // namespace sap
