// GEMM through OpenBLAS's cblas, resolved at run time from the library that the bytedeco
// preset loaded, so we link against nothing at build time. OpenBLAS is kept single-threaded;
// we split work across our own thread pool (advmia_pool.h) so that convolution chunks and GEMM
// blocks share one set of threads instead of oversubscribing two cores.
#pragma once
#include <dlfcn.h>
#include <vector>
#include "advmia_common.h"
#include "advmia_pool.h"

namespace adv {

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
typedef void (*set_threads_fn)(int);

struct Blas {
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  set_threads_fn set_threads = nullptr;
};

inline Blas& blas() {
  static Blas b;
  return b;
}

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

// One single-threaded GEMM call: C = alpha * op(A) * op(B) + beta * C, row-major.
template <class T> inline void gemm_serial(bool ta, bool tb, long M, long N, long K, T alpha, const T* A, long lda,
                                           const T* B, long ldb, T beta, T* C, long ldc);

template <> inline void gemm_serial<float>(bool ta, bool tb, long M, long N, long K, float alpha, const float* A,
                                           long lda, const float* B, long ldb, float beta, float* C, long ldc) {
  blas().sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda,
               B, (int)ldb, beta, C, (int)ldc);
}

template <> inline void gemm_serial<double>(bool ta, bool tb, long M, long N, long K, double alpha, const double* A,
                                            long lda, const double* B, long ldb, double beta, double* C, long ldc) {
  blas().dgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda,
               B, (int)ldb, beta, C, (int)ldc);
}

// Splits C into column (or row) blocks, one per pool thread. Inside pool work it runs serially.
template <class T> inline void gemm_parallel(bool ta, bool tb, long M, long N, long K, T alpha, const T* A, long lda,
                                             const T* B, long ldb, T beta, T* C, long ldc) {
  int threads = pool_threads();
  double flops = 2.0 * M * N * K;
  if (threads <= 1 || flops < 2e6 || in_parallel()) {
    gemm_serial<T>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  bool split_n = N >= M;
  long extent = split_n ? N : M;
  // Keep blocks a multiple of 16 wide so each one stays on OpenBLAS's fast kernel edges.
  long block = ((extent + threads - 1) / threads + 15) / 16 * 16;
  long blocks = (extent + block - 1) / block;
  parallel_for(blocks, [&](long i) {
    long s = i * block, e = std::min(extent, s + block);
    if (split_n) {
      const T* Bs = tb ? B + s * ldb : B + s;
      gemm_serial<T>(ta, tb, M, e - s, K, alpha, A, lda, Bs, ldb, beta, C + s, ldc);
    } else {
      const T* As = ta ? A + s : A + s * lda;
      gemm_serial<T>(ta, tb, e - s, N, K, alpha, As, lda, B, ldb, beta, C + s * ldc, ldc);
    }
  });
}

// gemm_parallel, or gemm_serial when the caller already runs on the pool's threads.
template <class T> inline void gemm_auto(bool inner_parallel, bool ta, bool tb, long M, long N, long K, T alpha,
                                         const T* A, long lda, const T* B, long ldb, T beta, T* C, long ldc) {
  if (inner_parallel) gemm_parallel<T>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else gemm_serial<T>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class T> int gemm_impl(bool ta, bool tb, long M, long N, long K, double alpha, long A, long lda, long B,
                                 long ldb, double beta, long C, long ldc) {
  gemm_parallel<T>(ta, tb, M, N, K, (T)alpha, ptr<const T>(A), lda, ptr<const T>(B), ldb, (T)beta, ptr<T>(C), ldc);
  return 0;
}

// Per-thread scratch that grows to its high-water mark and is then reused: after warm-up,
// convolutions allocate nothing.
template <class T> inline T* scratch(int slot, long n) {
  static thread_local std::vector<T> bufs[4];
  std::vector<T>& b = bufs[slot];
  if ((long)b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace adv

inline int adv_init_blas(const char* path) {
  if (!path) return adv::fail("init_blas: null library path");
  void* h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!h) return adv::fail("init_blas: cannot open OpenBLAS at '%s': %s", path, dlerror());
  adv::Blas& b = adv::blas();
  b.sgemm = (adv::sgemm_fn)dlsym(h, "cblas_sgemm");
  b.dgemm = (adv::dgemm_fn)dlsym(h, "cblas_dgemm");
  b.set_threads = (adv::set_threads_fn)dlsym(h, "openblas_set_num_threads");
  if (!b.sgemm || !b.dgemm) return adv::fail("init_blas: '%s' has no cblas_sgemm/cblas_dgemm", path);
  if (b.set_threads) b.set_threads(1);
  return 0;
}

inline int adv_gemm(int dt, int ta, int tb, long M, long N, long K, double alpha, long A, long an, long lda, long B,
                    long bn, long ldb, double beta, long C, long cn, long ldc) {
  int rc = 0;
  const char* name = "gemm";
  if (!adv::blas().sgemm) return adv::fail("gemm: OpenBLAS was not initialised (adv_init_blas)");
  ADV_CHECK_NONNEG(name, "M", M);
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_NONNEG(name, "K", K);
  if (rc) return rc;
  if (M == 0 || N == 0) return 0;
  long arows = ta ? K : M, acols = ta ? M : K;
  long brows = tb ? N : K, bcols = tb ? K : N;
  if (lda < std::max(1L, acols) || ldb < std::max(1L, bcols) || ldc < std::max(1L, N))
    return adv::fail("gemm: leading dimensions (%ld, %ld, %ld) too small for %ldx%ldx%ld", lda, ldb, ldc, M, N, K);
  if (K > 0) {
    ADV_CHECK_BUF(name, "A", A, an, (arows - 1) * lda + acols);
    ADV_CHECK_BUF(name, "B", B, bn, (brows - 1) * ldb + bcols);
  }
  ADV_CHECK_BUF(name, "C", C, cn, (M - 1) * ldc + N);
  if (rc) return rc;
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return adv::fail("gemm: dimensions exceed 32-bit BLAS limits");
  ADV_DISPATCH(name, dt, adv::gemm_impl, ta != 0, tb != 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
