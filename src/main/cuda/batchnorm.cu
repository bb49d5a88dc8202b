// Batch normalisation over [N, C, HW], forward (training and eval) and backward. Twin: bn_fwd_impl /
// bn_bwd_impl in advmia_spatial.h. CudaBackend sends the common training case to cuDNN; these
// kernels cover the rest (no affine parameters, eval-mode backward, eps below cuDNN's minimum,
// a missing gradient output) and serve as cuDNN's cross-check in the parity tests.
// One block per channel computes the statistics in double; an elementwise pass applies them.
#include <cmath>
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

template <class T> __global__ void bn_stats_kernel(bool training, const T* x, long N, long C, long HW, double momentum,
                                                   double eps, T* rm, T* rv, T* sm, T* si) {
  __shared__ double shared[33];
  const long c = blockIdx.x, M = N * HW;
  double mean, var;
  if (training) {
    double s = 0;
    for (long k = threadIdx.x; k < M; k += blockDim.x) s += (double)x[((k / HW) * C + c) * HW + k % HW];
    mean = block_sum(s, shared) / M;
    double q = 0;
    for (long k = threadIdx.x; k < M; k += blockDim.x) {
      double d = (double)x[((k / HW) * C + c) * HW + k % HW] - mean;
      q += d * d;
    }
    q = block_sum(q, shared);
    var = q / M;
    if (threadIdx.x == 0 && rm && rv) {
      rm[c] = (T)((1 - momentum) * rm[c] + momentum * mean);
      double unbiased = M > 1 ? q / (M - 1) : var;
      rv[c] = (T)((1 - momentum) * rv[c] + momentum * unbiased);
    }
  } else {
    mean = rm[c];
    var = rv[c];
  }
  if (threadIdx.x == 0) {
    sm[c] = (T)mean;
    si[c] = (T)(1.0 / sqrt(var + eps));
  }
}

template <class T> __global__ void bn_apply_kernel(const T* x, T* y, const T* gamma, const T* beta, const T* sm, const T* si,
                                                   long C, long HW, long total) {
  ADVC_GRID_STRIDE(i, total) {
    long c = (i / HW) % C;
    double mean = sm[c], inv = si[c], gam = gamma ? (double)gamma[c] : 1.0;
    T scale = (T)(gam * inv);
    T shift = (T)((beta ? (double)beta[c] : 0.0) - mean * gam * inv);
    y[i] = x[i] * scale + shift;
  }
}

// Per channel: sum(gy) and sum(gy * (x - mean)) in double, then the parameter gradients.
template <class T> __global__ void bn_bwd_sums_kernel(const T* x, const T* gy, const T* sm, const T* si, long N, long C,
                                                      long HW, T* gg, T* gb, double* sums) {
  __shared__ double shared[33];
  const long c = blockIdx.x, M = N * HW;
  const double mean = sm[c];
  double a = 0, b = 0;
  for (long k = threadIdx.x; k < M; k += blockDim.x) {
    long i = ((k / HW) * C + c) * HW + k % HW;
    a += gy[i];
    b += (double)gy[i] * ((double)x[i] - mean);
  }
  a = block_sum(a, shared);
  b = block_sum(b, shared);
  if (threadIdx.x == 0) {
    double sum_gy_xhat = b * (double)si[c];
    if (gg) gg[c] = (T)sum_gy_xhat;
    if (gb) gb[c] = (T)a;
    sums[2 * c] = a;
    sums[2 * c + 1] = sum_gy_xhat;
  }
}

template <class T> __global__ void bn_bwd_apply_kernel(bool training, const T* x, const T* gy, const T* gamma, const T* sm,
                                                       const T* si, const double* sums, T* gx, long N, long C, long HW,
                                                       long total) {
  ADVC_GRID_STRIDE(i, total) {
    long c = (i / HW) % C;
    const double mean = sm[c], inv = si[c], gam = gamma ? (double)gamma[c] : 1.0;
    if (training) {
      const double M = (double)(N * HW);
      const double k = gam * inv / M, kg = k * M, kx = k * sums[2 * c + 1] * inv, k0 = k * sums[2 * c];
      gx[i] = (T)(kg * (double)gy[i] - kx * ((double)x[i] - mean) - k0);
    } else {
      gx[i] = gy[i] * (T)(gam * inv);
    }
  }
}

// Per-channel sums for the backward pass, grown once to the widest layer (never inside a loop
// after the first pass over a model).
double* g_sums = nullptr;
long g_sums_channels = 0;

template <class T> int bn_fwd_impl(bool training, long N, long C, long HW, double momentum, double eps, long x, long gamma,
                                   long beta, long rm, long rv, long y, long sm, long si) {
  if (C > 0x7fffffffL) return fail("batchnorm_fwd: %ld channels exceed one grid", C);
  bn_stats_kernel<T><<<(unsigned)C, kThreads, 0, stream()>>>(training, ptr<const T>(x), N, C, HW, momentum, eps,
                                                             ptr<T>(rm), ptr<T>(rv), ptr<T>(sm), ptr<T>(si));
  if (launched("batchnorm_fwd statistics")) return -1;
  long total = N * C * HW;
  if (total == 0) return 0;
  bn_apply_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), ptr<const T>(gamma),
                                                                   ptr<const T>(beta), ptr<const T>(sm), ptr<const T>(si),
                                                                   C, HW, total);
  return launched("batchnorm_fwd");
}

template <class T> int bn_bwd_impl(bool training, long N, long C, long HW, long x, long gy, long gamma, long sm, long si,
                                   long gx, long gg, long gb) {
  if (C > 0x7fffffffL) return fail("batchnorm_bwd: %ld channels exceed one grid", C);
  if (C > g_sums_channels) {
    if (g_sums) cudaFree(g_sums);
    g_sums = nullptr;
    g_sums_channels = 0;
    if (check(cudaMalloc(&g_sums, 2 * C * sizeof(double)), "batchnorm_bwd scratch")) return -1;
    g_sums_channels = C;
  }
  bn_bwd_sums_kernel<T><<<(unsigned)C, kThreads, 0, stream()>>>(ptr<const T>(x), ptr<const T>(gy), ptr<const T>(sm),
                                                                ptr<const T>(si), N, C, HW, ptr<T>(gg), ptr<T>(gb), g_sums);
  if (launched("batchnorm_bwd sums")) return -1;
  long total = N * C * HW;
  if (!gx || total == 0) return 0;
  bn_bwd_apply_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(training, ptr<const T>(x), ptr<const T>(gy),
      ptr<const T>(gamma), ptr<const T>(sm), ptr<const T>(si), g_sums, ptr<T>(gx), N, C, HW, total);
  return launched("batchnorm_bwd");
}

}  // namespace

int advc_batchnorm_fwd(int dt, int training, long N, long C, long HW, long cn, double momentum, double eps, long x,
                       long xn, long gamma, long beta, long rmean, long rvar, long y, long yn, long smean, long sinv) {
  int rc = 0;
  const char* name = "batchnorm_fwd";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_POS(name, "HW", HW);
  if (rc) return rc;
  if (training && N * HW < 2)
    return fail("batchnorm_fwd: training needs more than one value per channel (got N*H*W=%ld)", N * HW);
  if (!training && (!rmean || !rvar)) return fail("batchnorm_fwd: eval mode needs running statistics");
  if (!smean || !sinv) return fail("batchnorm_fwd: null buffers for saved statistics");
  if (cn < C) return fail("batchnorm_fwd: per-channel buffers hold %ld values, need C=%ld", cn, C);
  ADVC_CHECK_BUF(name, "input", x, xn, N * C * HW);
  ADVC_CHECK_BUF(name, "output", y, yn, N * C * HW);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, bn_fwd_impl, training != 0, N, C, HW, momentum, eps, x, gamma, beta, rmean, rvar, y, smean, sinv);
}

int advc_batchnorm_bwd(int dt, int training, long N, long C, long HW, long cn, long x, long xn, long gy, long gyn,
                       long gamma, long smean, long sinv, long gx, long gxn, long ggamma, long gbeta) {
  int rc = 0;
  const char* name = "batchnorm_bwd";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_POS(name, "HW", HW);
  ADVC_CHECK_BUF(name, "input", x, xn, N * C * HW);
  ADVC_CHECK_BUF(name, "output gradient", gy, gyn, N * C * HW);
  if (gx) ADVC_CHECK_BUF(name, "input gradient", gx, gxn, N * C * HW);
  if (rc) return rc;
  if (!smean || !sinv) return fail("batchnorm_bwd: null saved statistics");
  if (cn < C) return fail("batchnorm_bwd: per-channel buffers hold %ld values, need C=%ld", cn, C);
  ADVC_DISPATCH(name, dt, bn_bwd_impl, training != 0, N, C, HW, x, gy, gamma, smean, sinv, gx, ggamma, gbeta);
}
