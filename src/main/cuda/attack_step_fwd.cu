// Fused attack step on the GPU: step (sign or normalised gradient), projection onto the eps-ball
// around x0, and clipping to the box, in one pass over the data. The CPU twin is
// adv::attack_step_impl in src/main/cpp/advmia_update.h; CudaAttackStepTest compares the two.
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdarg>
#include "advmia_cuda.h"

namespace {

char g_error[1024];

int fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  return -1;
}

int check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return 0;
  return fail("%s: %s", what, cudaGetErrorString(e));
}

constexpr int kThreads = 256;

// One thread per element; L-inf needs no cross-element state.
__global__ void linf_step(long total, const float* x0, float* x, const float* g, float alpha, float eps, float lo,
                          float hi) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  if (i >= total) return;
  float v = x[i];
  if (g) v += alpha * (float)((g[i] > 0.f) - (g[i] < 0.f));
  float l = fmaxf(x0[i] - eps, lo), h = fminf(x0[i] + eps, hi);
  x[i] = fminf(fmaxf(v, l), h);
}

// One block per sample: two block reductions (gradient norm, then perturbation norm).
__device__ double block_sum(double v, double* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double s = 0;
  if (threadIdx.x == 0) {
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) s += shared[w];
    shared[32] = s;
  }
  __syncthreads();
  s = shared[32];
  __syncthreads();
  return s;
}

__global__ void l2_step(long D, const float* x0, float* x, const float* g, float alpha, float eps, float lo, float hi) {
  __shared__ double shared[33];
  const long base = blockIdx.x * D;
  double scale = 0;
  if (g) {
    double gn = 0;
    for (long i = threadIdx.x; i < D; i += blockDim.x) gn += (double)g[base + i] * g[base + i];
    gn = block_sum(gn, shared);
    scale = alpha / (sqrt(gn) + 1e-12);
  }
  double dn = 0;
  for (long i = threadIdx.x; i < D; i += blockDim.x) {
    double d = (double)x[base + i] + (g ? scale * g[base + i] : 0.0) - x0[base + i];
    dn += d * d;
  }
  dn = sqrt(block_sum(dn, shared));
  double shrink = dn > eps ? eps / dn : 1.0;
  for (long i = threadIdx.x; i < D; i += blockDim.x) {
    double v = x0[base + i] + ((double)x[base + i] + (g ? scale * g[base + i] : 0.0) - x0[base + i]) * shrink;
    x[base + i] = (float)fmin(fmax(v, (double)lo), (double)hi);
  }
}

}  // namespace

const char* advc_last_error() { return g_error; }

int advc_device_count() {
  int n = 0;  // left unset when the driver is missing (cudaErrorInsufficientDriver)
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

long advc_malloc(long bytes) {
  if (bytes <= 0) return 0;
  void* p = nullptr;
  if (check(cudaMalloc(&p, (size_t)bytes), "cudaMalloc")) return 0;
  return (long)p;
}

int advc_free(long addr) { return addr ? check(cudaFree((void*)addr), "cudaFree") : 0; }

int advc_memcpy(long dst, long src, long bytes, int kind) {
  if (bytes < 0) return fail("memcpy: negative byte count %ld", bytes);
  if (bytes == 0) return 0;
  if (!dst || !src) return fail("memcpy: null pointer");
  cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice : kind == 1 ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  if (kind < 0 || kind > 2) return fail("memcpy: unknown direction %d", kind);
  return check(cudaMemcpy((void*)dst, (const void*)src, (size_t)bytes, k), "cudaMemcpy");
}

int advc_synchronize() { return check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

int advc_attack_step(int norm, long N, long D, long x0, long x0n, long x, long xn, long g, long gn, double alpha,
                     double eps, double lo, double hi) {
  if (norm != 0 && norm != 1) return fail("attack_step: unknown norm code %d", norm);
  if (N < 0 || D <= 0) return fail("attack_step: bad shape N=%ld D=%ld", N, D);
  long total = N * D;
  if (total == 0) return 0;
  if (!x0 || !x) return fail("attack_step: null clean or adversarial input");
  if (x0n < total || xn < total || (g && gn < total))
    return fail("attack_step: buffers hold (%ld, %ld, %ld) elements, need %ld", x0n, xn, gn, total);
  if (!(lo <= hi)) return fail("attack_step: box [%g, %g] is empty", lo, hi);
  if (!(eps >= 0)) return fail("attack_step: eps %g must be >= 0", eps);
  if (norm == 0) {
    long blocks = (total + kThreads - 1) / kThreads;
    linf_step<<<(unsigned)blocks, kThreads>>>(total, (const float*)x0, (float*)x, (const float*)g, (float)alpha,
                                              (float)eps, (float)lo, (float)hi);
  } else {
    l2_step<<<(unsigned)N, kThreads>>>(D, (const float*)x0, (float*)x, (const float*)g, (float)alpha, (float)eps,
                                       (float)lo, (float)hi);
  }
  return check(cudaGetLastError(), "attack_step launch");
}
