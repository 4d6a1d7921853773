// sgemm: oneDNN matmul primitives when oneDNN was found at build time, else OpenBLAS, else a
// portable blocked fallback. Row-major throughout, as the Tensor layer stores data.
#include "gemm.h"

#include <atomic>
#include <cpuid.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "parallel.h"

#ifdef SAP_HAVE_DNNL
#include <dnnl.hpp>
#ifdef __AVX512BF16__
#include <immintrin.h>
#endif

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int);
}
#elif defined(SAP_USE_BLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace sap {

const char* gemm_backend() {
#if defined(SAP_HAVE_DNNL)
  return "onednn";
#elif defined(SAP_USE_BLAS)
  return "openblas";
#else
  return "portable";
#endif
}

bool gemm_uses_blas() {
#if defined(SAP_HAVE_DNNL) || defined(SAP_USE_BLAS)
  return true;
#else
  return false;
#endif
}

#ifdef SAP_HAVE_DNNL
// AVX512_BF16 is CPUID leaf 7 sub-leaf 1, EAX bit 5; AVX512F also tells us the OS saves the
// ZMM state (GCC's check reads XGETBV).
static bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__builtin_cpu_supports("avx512f")) return false;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a >> 5) & 1u;
#else
  return false;
#endif
}
#endif

bool gemm_bf16_available() {
#ifdef SAP_HAVE_DNNL
  static const bool ok = cpu_has_avx512_bf16();
  return ok;
#else
  return false;
#endif
}

// Threads one product may use; 1 inside our own workers (batched small products, attention).
static std::atomic<int> g_gemm_threads{1};

void gemm_set_threads(int n) {
  g_gemm_threads.store(n < 1 ? 1 : n);
#if !defined(SAP_HAVE_DNNL) && defined(SAP_USE_BLAS)
  openblas_set_num_threads(n);
#endif
}

#ifdef SAP_HAVE_DNNL
namespace {

using dnnl::memory;

// A primitive depends on everything below; the thread count too, since oneDNN partitions work
// for the threads it sees at creation.
using Key = std::tuple<bool, bool, int, int, int, int, int, int, float, float, bool, int>;

struct Entry {
  dnnl::matmul prim;
  size_t scratch = 0;
  std::atomic<bool> usable{true};  // false when oneDNN only offers its slow reference kernel, or refused
};

const dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

std::mutex g_cache_mu;
std::map<Key, std::shared_ptr<Entry>> g_cache;
// Distinct shapes in one run are few (a model's layers, its attention heads); the bound only
// keeps a shape-varying caller (e.g. growing batches) from holding primitives forever.
constexpr size_t kCacheMax = 256;

std::shared_ptr<Entry> get_primitive(const Key& k) {
  {
    std::lock_guard<std::mutex> lock(g_cache_mu);
    auto it = g_cache.find(k);
    if (it != g_cache.end()) return it->second;
  }
  auto [ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, bf16, threads] = k;
  (void)threads;
  const auto in_dt = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory::desc a_md({M, K}, in_dt, ta ? memory::dims{1, lda} : memory::dims{lda, 1});
  memory::desc b_md({K, N}, in_dt, tb ? memory::dims{1, ldb} : memory::dims{ldb, 1});
  memory::desc c_md({M, N}, memory::data_type::f32, memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});
  if (beta != 0.f) {
    dnnl::post_ops po;
    po.append_sum(beta);
    attr.set_post_ops(po);
  }
  auto e = std::make_shared<Entry>();
  // Errors must not escape: sgemm also runs on our worker threads, where a throw terminates.
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, cpu_engine());
    e->usable = std::strstr(pd.impl_info_str(), "ref") == nullptr;
    e->scratch = pd.scratchpad_desc().get_size();
    e->prim = dnnl::matmul(pd);
    if (getenv("SAP_DNNL_VERBOSE"))
      fprintf(stderr, "sap: dnnl matmul %dx%dx%d%s -> %s\n", M, N, K, bf16 ? " bf16" : "", pd.impl_info_str());
  } catch (const dnnl::error&) {
    e->usable = false;
  }
  std::lock_guard<std::mutex> lock(g_cache_mu);
  if (g_cache.size() >= kCacheMax) g_cache.clear();
  g_cache.emplace(k, e);
  return e;
}

// Round-to-nearest-even fp32 -> bf16, as oneDNN's and PyTorch's conversions do; NaN stays NaN.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Packs a rows x cols strided fp32 matrix into dense bf16 (leading dim cols).
void pack_bf16(const float* src, int rows, int cols, int ld, uint16_t* dst, int threads) {
  auto body = [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* s = src + r * ld;
      uint16_t* d = dst + r * cols;
      int j = 0;
#ifdef __AVX512BF16__
      // The CPU's own rounding (nearest-even, as to_bf16), 16 values per instruction.
      for (; j + 16 <= cols; j += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(s + j)));
#endif
      for (; j < cols; ++j) d[j] = to_bf16(s[j]);
    }
  };
  // parallel_for splits over num_threads(); only spread when this product may use them all.
  if (threads > 1 && int64_t(rows) * cols >= (1 << 16))
    parallel_for(rows, std::max(1, rows / threads), body);
  else
    body(0, rows, 0);
}

thread_local std::vector<uint16_t> t_a16, t_b16;
thread_local std::vector<uint8_t> t_scratch;
thread_local std::unique_ptr<dnnl::stream> t_stream;

bool dnnl_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc, bool bf16) {
  const int threads = g_gemm_threads.load(std::memory_order_relaxed);
  // bf16 operands are repacked densely, so their leading dimensions are the packed ones.
  const int rowsA = ta ? K : M, colsA = ta ? M : K, rowsB = tb ? N : K, colsB = tb ? K : N;
  const int plda = bf16 ? colsA : lda, pldb = bf16 ? colsB : ldb;
  auto e = get_primitive(Key{ta, tb, M, N, K, plda, pldb, ldc, alpha, beta, bf16, threads});
  if (!e->usable) return false;
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  const void* a = A;
  const void* b = B;
  if (bf16) {
    t_a16.resize(size_t(rowsA) * colsA);
    t_b16.resize(size_t(rowsB) * colsB);
    pack_bf16(A, rowsA, colsA, lda, t_a16.data(), threads);
    pack_bf16(B, rowsB, colsB, ldb, t_b16.data(), threads);
    a = t_a16.data();
    b = t_b16.data();
  }
  if (t_scratch.size() < e->scratch) t_scratch.resize(e->scratch);
  try {
    if (!t_stream) t_stream = std::make_unique<dnnl::stream>(cpu_engine());
    const auto in_dt = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    const auto& eng = cpu_engine();
    memory am({{M, K}, in_dt, ta ? memory::dims{1, plda} : memory::dims{plda, 1}}, eng, const_cast<void*>(a));
    memory bm({{K, N}, in_dt, tb ? memory::dims{1, pldb} : memory::dims{pldb, 1}}, eng, const_cast<void*>(b));
    memory cm({{M, N}, memory::data_type::f32, memory::dims{ldc, 1}}, eng, C);
    memory sm({{int64_t(e->scratch)}, memory::data_type::u8, memory::dims{1}}, eng, t_scratch.data());
    e->prim.execute(*t_stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}});
    t_stream->wait();
  } catch (const dnnl::error&) {
    // oneDNN checks the arguments before it computes, so C is untouched; the caller falls back.
    e->usable = false;
    return false;
  }
  return true;
}

}  // namespace
#endif

#ifndef SAP_USE_BLAS
// C[M,N] = alpha * op(A) op(B) + beta * C. B is first copied to a K x N row-major panel so the
// inner loop runs over contiguous memory and vectorises. Also oneDNN's last resort, for shapes
// where it would pick its reference kernel.
static void fallback_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                           const float* B, int ldb, float beta, float* C, int ldc) {
  std::vector<float> Bp(size_t(K) * N);
  for (int p = 0; p < K; ++p)
    for (int j = 0; j < N; ++j) Bp[size_t(p) * N + j] = tb ? B[size_t(j) * ldb + p] : B[size_t(p) * ldb + j];
  const float* bp = Bp.data();
  const int threads = g_gemm_threads.load(std::memory_order_relaxed);
  parallel_for(M, threads > 1 ? 8 : M, [&](int64_t i0, int64_t i1, int) {
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
           int ldb, float beta, float* C, int ldc, bool bf16) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[size_t(i) * ldc + j] = beta == 0.f ? 0.f : beta * C[size_t(i) * ldc + j];
    return;
  }
#if defined(SAP_HAVE_DNNL)
  if (dnnl_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16 && gemm_bf16_available())) return;
  fallback_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#elif defined(SAP_USE_BLAS)
  (void)bf16;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
#else
  (void)bf16;
  fallback_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace sap
