// Single-axis reductions, row argmax and the non-finite count. Twins: advmia_elementwise.h.
// Accumulation is in double like the CPU; a NaN propagates through max/min/absmax as there.
#include <cmath>
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

enum ReduceOp { R_SUM = 0, R_MEAN, R_MAX, R_MIN, R_SUMSQ, R_ABSSUM, R_ABSMAX, R_COUNT };

__device__ __forceinline__ double reduce_init(int op) {
  return op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : 0.0;
}

__device__ __forceinline__ double reduce_step(int op, double acc, double v) {
  double r;
  switch (op) {
    case R_MAX: r = v > acc ? v : acc; break;
    case R_MIN: r = v < acc ? v : acc; break;
    case R_SUMSQ: r = acc + v * v; break;
    case R_ABSSUM: r = acc + fabs(v); break;
    case R_ABSMAX: r = fabs(v) > acc ? fabs(v) : acc; break;
    default: r = acc + v;
  }
  if (isnan(v) && (op == R_MAX || op == R_MIN || op == R_ABSMAX)) r = v;
  return r;
}

// Combining two partial results of the same op (sums add, extrema compare, NaN wins).
__device__ __forceinline__ double reduce_merge(int op, double a, double b) {
  if (op == R_MAX || op == R_ABSMAX) return isnan(a) || isnan(b) ? (isnan(a) ? a : b) : (b > a ? b : a);
  if (op == R_MIN) return isnan(a) || isnan(b) ? (isnan(a) ? a : b) : (b < a ? b : a);
  return a + b;
}

// One thread per output, walking the reduced axis in order: the CPU's exact summation order.
template <class T> __global__ void reduce_rows_kernel(const T* x, T* y, long n, long inner, long total, int op) {
  ADVC_GRID_STRIDE(t, total) {
    long o = t / inner, i = t % inner;
    const T* p = x + o * n * inner + i;
    double acc = reduce_init(op);
    for (long k = 0; k < n; k++) acc = reduce_step(op, acc, (double)p[k * inner]);
    if (op == R_MEAN) acc /= (double)n;
    y[t] = (T)acc;
  }
}

// One block per output, for few outputs over a long axis (a whole-tensor sum): a fixed-shape tree.
template <class T> __global__ void reduce_block_kernel(const T* x, T* y, long n, long inner, int op) {
  __shared__ double shared[kThreads];
  long t = blockIdx.x, o = t / inner, i = t % inner;
  const T* p = x + o * n * inner + i;
  double acc = reduce_init(op);
  for (long k = threadIdx.x; k < n; k += blockDim.x) acc = reduce_step(op, acc, (double)p[k * inner]);
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) shared[threadIdx.x] = reduce_merge(op, shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    double r = shared[0];
    if (op == R_MEAN) r /= (double)n;
    y[t] = (T)r;
  }
}

template <class T> int reduce_impl(int op, long x, long y, long outer, long n, long inner) {
  long total = outer * inner;
  if (total == 0) return 0;
  if (total < 2048 && n >= 1024 && total <= 0x7fffffffL) {
    reduce_block_kernel<T><<<(unsigned)total, kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), n, inner, op);
  } else {
    reduce_rows_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), n, inner, total, op);
  }
  return launched("reduce");
}

// First index of the maximum (strict >, so ties keep the lowest index and NaN never wins), as on the CPU.
template <class T> __global__ void argmax_kernel(const T* x, T* y, long rows, long cols) {
  ADVC_GRID_STRIDE(r, rows) {
    const T* xr = x + r * cols;
    long best = 0;
    for (long c = 1; c < cols; c++)
      if (xr[c] > xr[best]) best = c;
    y[r] = (T)best;
  }
}

template <class T> int argmax_impl(long x, long y, long rows, long cols) {
  if (rows == 0) return 0;
  argmax_kernel<T><<<blocks_for(rows), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), rows, cols);
  return launched("argmax");
}

template <class T> __global__ void nonfinite_kernel(const T* x, long n, unsigned long long* count) {
  unsigned long long local = 0;
  ADVC_GRID_STRIDE(i, n) local += !isfinite(x[i]);
  if (local) atomicAdd(count, local);  // integer adds commute: the count is exact in any order
}

unsigned long long* g_count_device = nullptr;

}  // namespace

int advc_reduce(int dt, int op, long x, long xn, long y, long yn, long outer, long n, long inner) {
  int rc = 0;
  const char* name = "reduce";
  if (op < 0 || op >= R_COUNT) return fail("reduce: unknown op code %d", op);
  ADVC_CHECK_NONNEG(name, "outer", outer);
  ADVC_CHECK_POS(name, "reduced extent", n);
  ADVC_CHECK_NONNEG(name, "inner", inner);
  ADVC_CHECK_BUF(name, "input", x, xn, outer * n * inner);
  ADVC_CHECK_BUF(name, "output", y, yn, outer * inner);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, reduce_impl, op, x, y, outer, n, inner);
}

int advc_argmax(int dt, long x, long xn, long y, long yn, long rows, long cols) {
  int rc = 0;
  ADVC_CHECK_NONNEG("argmax", "rows", rows);
  ADVC_CHECK_POS("argmax", "cols", cols);
  ADVC_CHECK_BUF("argmax", "input", x, xn, rows * cols);
  ADVC_CHECK_BUF("argmax", "output", y, yn, rows);
  if (rc) return rc;
  ADVC_DISPATCH("argmax", dt, argmax_impl, x, y, rows, cols);
}

long advc_count_nonfinite(int dt, long x, long xn, long n) {
  int rc = 0;
  ADVC_CHECK_NONNEG("count_nonfinite", "n", n);
  ADVC_CHECK_BUF("count_nonfinite", "input", x, xn, n);
  if (rc) return -1;
  if (dt != 0 && dt != 1) {
    fail("count_nonfinite: dtype code %d is neither float32 (0) nor float64 (1)", dt);
    return -1;
  }
  if (ensure_device()) return -1;
  if (!g_count_device && check(cudaMalloc(&g_count_device, sizeof(unsigned long long)), "count_nonfinite")) return -1;
  if (check(cudaMemsetAsync(g_count_device, 0, sizeof(unsigned long long), stream()), "count_nonfinite")) return -1;
  if (n > 0) {
    if (dt == 0) nonfinite_kernel<float><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<const float>(x), n, g_count_device);
    else nonfinite_kernel<double><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<const double>(x), n, g_count_device);
    if (launched("count_nonfinite")) return -1;
  }
  unsigned long long count = 0;
  if (check(cudaMemcpyAsync(&count, g_count_device, sizeof count, cudaMemcpyDeviceToHost, stream()), "count_nonfinite"))
    return -1;
  if (advc_synchronize()) return -1;
  return (long)count;
}
