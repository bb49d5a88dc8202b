// Shared plumbing of the CUDA kernel library: error reporting, the engine's stream, deferred
// device-side errors, host-side argument checks (the same rules as advmia_common.h on the CPU),
// dtype dispatch and launch helpers. Every exported entry point validates its arguments on the
// host before it launches anything and returns 0, or -1 with a message in advc_last_error().
#pragma once
#include <cuda_runtime.h>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include "advmia_cuda.h"

namespace advc {

int fail(const char* fmt, ...);
int check(cudaError_t e, const char* what);

// The stream every kernel, copy and library call of the engine is queued on (one per process:
// one engine context), created by advc_init.
cudaStream_t stream();

// Makes the engine's device current on the calling thread (JNI calls come from any Java thread).
int ensure_device();

// Kernels that find bad data (a label outside [0, C), a pooling index outside its plane) cannot
// return an error: they write a code into this word of mapped host memory, and the next
// synchronising call (advc_synchronize, a copy to the host) reports it. Reading it needs no copy.
int* device_error_word();

enum DeviceError {
  E_NONE = 0, E_CE_LABEL, E_MARGIN_LABEL, E_DLR_LABEL, E_POOL_INDEX, E_GATHER_INDEX, E_COUNT
};

// A plain volatile store, not an atomic: atomics on mapped host memory depend on the platform's PCIe
// support, and any non-zero code is an error, so a race between two reporting threads is harmless.
__device__ __forceinline__ void report(int* err, int code) { *(volatile int*)err = code; }

inline bool check_buf(const char* op, const char* name, long addr, long len, long need, int* rc) {
  if (*rc != 0) return false;
  if (need < 0) { *rc = fail("%s: %s needs a negative element count (%ld)", op, name, need); return false; }
  if (need == 0) return true;
  if (addr == 0) { *rc = fail("%s: %s is a null pointer", op, name); return false; }
  if (len < need) {
    *rc = fail("%s: %s holds %ld elements but the op needs %ld", op, name, len, need);
    return false;
  }
  return true;
}

inline bool check_pos(const char* op, const char* name, long v, int* rc) {
  if (*rc != 0) return false;
  if (v <= 0) { *rc = fail("%s: %s must be positive, got %ld", op, name, v); return false; }
  return true;
}

inline bool check_nonneg(const char* op, const char* name, long v, int* rc) {
  if (*rc != 0) return false;
  if (v < 0) { *rc = fail("%s: %s must be >= 0, got %ld", op, name, v); return false; }
  return true;
}

template <class T> inline T* ptr(long addr) { return reinterpret_cast<T*>(addr); }

constexpr int kThreads = 256;

// Grid size for a grid-stride loop over n items: enough blocks to fill the GPU, never more than
// the items need (the loop covers the rest).
inline unsigned blocks_for(long n, int threads = kThreads) {
  long b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  return (unsigned)(b > 65535L * 8 ? 65535L * 8 : b);
}

#define ADVC_GRID_STRIDE(i, n) \
  for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < (n); i += (long)gridDim.x * blockDim.x)

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// shared must hold 33 doubles. The order is fixed by the launch shape, so results are
// reproducible run to run.
__device__ __forceinline__ double block_sum(double v, double* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) s += shared[w];
    shared[32] = s;
  }
  __syncthreads();
  double s = shared[32];
  __syncthreads();
  return s;
}

// Launch-error check after a kernel; asynchronous faults surface at the next synchronisation.
inline int launched(const char* what) { return check(cudaGetLastError(), what); }

}  // namespace advc

#define ADVC_CHECK_BUF(op, name, addr, len, need) advc::check_buf(op, name, addr, len, need, &rc)
#define ADVC_CHECK_POS(op, name, v) advc::check_pos(op, name, v, &rc)
#define ADVC_CHECK_NONNEG(op, name, v) advc::check_nonneg(op, name, v, &rc)

// Instantiates FN<float> or FN<double> from a runtime dtype code (0 = float32, 1 = float64),
// after checking the code and making the engine's device current.
#define ADVC_DISPATCH(opname, dtype, FN, ...)                                         \
  do {                                                                                \
    if ((dtype) != 0 && (dtype) != 1)                                                 \
      return advc::fail("%s: dtype code %d is neither float32 (0) nor float64 (1)", opname, dtype); \
    if (int e_ = advc::ensure_device()) return e_;                                    \
    switch (dtype) {                                                                  \
      case 0: return FN<float>(__VA_ARGS__);                                          \
      case 1: return FN<double>(__VA_ARGS__);                                         \
      default: return advc::fail("%s: dtype code %d is neither float32 (0) nor float64 (1)", opname, dtype); \
    }                                                                                 \
  } while (0)
