// Broadcasting binary ops (9), dense and strided. Twin: advmia_elementwise.h.
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

enum BinaryOp { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_GT, B_GE, B_EQ, B_COUNT };

template <class T> __device__ __forceinline__ T binary_value(int op, T a, T b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: return a > b ? a : b;
    case B_MIN: return a < b ? a : b;
    case B_GT: return (T)(a > b);
    case B_GE: return (T)(a >= b);
    case B_EQ: return (T)(a == b);
  }
  return a;
}

constexpr int kMaxDims = 8;

// Broadcast layout passed by value as a kernel parameter.
struct Layout {
  int ndim;
  long shape[kMaxDims], as[kMaxDims], bs[kMaxDims];
};

template <int OP, class T> __global__ void binary_dense_kernel(const T* a, const T* b, T* y, long n) {
  ADVC_GRID_STRIDE(i, n) y[i] = binary_value<T>(OP, a[i], b[i]);
}

template <int OP, class T> __global__ void binary_strided_kernel(const T* a, const T* b, T* y, long n, Layout L) {
  ADVC_GRID_STRIDE(i, n) {
    long rem = i, ao = 0, bo = 0;
    for (int d = L.ndim - 1; d >= 0; d--) {
      long idx = rem % L.shape[d];
      rem /= L.shape[d];
      ao += idx * L.as[d];
      bo += idx * L.bs[d];
    }
    y[i] = binary_value<T>(OP, a[ao], b[bo]);
  }
}

bool dense_strides(int ndim, const long* shape, const long* st) {
  long expect = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    if (shape[d] != 1 && st[d] != expect) return false;
    expect *= shape[d];
  }
  return true;
}

template <class T> int binary_impl(int op, long a, long b, long y, const Layout& L, long total) {
  const bool dense = dense_strides(L.ndim, L.shape, L.as) && dense_strides(L.ndim, L.shape, L.bs);
  const T* ap = ptr<const T>(a);
  const T* bp = ptr<const T>(b);
  T* yp = ptr<T>(y);
  switch (op) {
#define ADVC_CASE(OP)                                                                                         \
    case OP:                                                                                                 \
      if (dense) binary_dense_kernel<OP, T><<<blocks_for(total), kThreads, 0, stream()>>>(ap, bp, yp, total); \
      else binary_strided_kernel<OP, T><<<blocks_for(total), kThreads, 0, stream()>>>(ap, bp, yp, total, L);  \
      break;
    ADVC_CASE(B_ADD) ADVC_CASE(B_SUB) ADVC_CASE(B_MUL) ADVC_CASE(B_DIV) ADVC_CASE(B_MAX) ADVC_CASE(B_MIN)
    ADVC_CASE(B_GT) ADVC_CASE(B_GE) ADVC_CASE(B_EQ)
#undef ADVC_CASE
    default: return fail("binary: op code %d has no kernel", op);
  }
  return launched("binary");
}

}  // namespace

int advc_binary(int dt, int op, long a, long an, long b, long bn, long y, long yn, int ndim, long long* shape_ll,
                long long* as_ll, long long* bs_ll) {
  int rc = 0;
  const char* name = "binary";
  if (op < 0 || op >= B_COUNT) return fail("binary: unknown op code %d", op);
  if (ndim < 1 || ndim > kMaxDims) return fail("binary: rank %d outside 1..%d", ndim, kMaxDims);
  if (!shape_ll || !as_ll || !bs_ll) return fail("binary: null shape or stride array");
  Layout L;
  L.ndim = ndim;
  long total = 1, amax = 0, bmax = 0;
  for (int d = 0; d < ndim; d++) {
    L.shape[d] = (long)shape_ll[d];
    L.as[d] = (long)as_ll[d];
    L.bs[d] = (long)bs_ll[d];
    if (L.shape[d] < 0 || L.as[d] < 0 || L.bs[d] < 0) return fail("binary: negative extent or stride on axis %d", d);
    total *= L.shape[d];
    if (L.shape[d] > 0) { amax += (L.shape[d] - 1) * L.as[d]; bmax += (L.shape[d] - 1) * L.bs[d]; }
  }
  if (total == 0) return 0;
  ADVC_CHECK_BUF(name, "left operand", a, an, amax + 1);
  ADVC_CHECK_BUF(name, "right operand", b, bn, bmax + 1);
  ADVC_CHECK_BUF(name, "output", y, yn, total);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, binary_impl, op, a, b, y, L, total);
}

