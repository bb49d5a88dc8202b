// Elementwise kernels: unary ops and their derivatives, broadcasting binary ops, axpby, fill, cast.
// Twins: advmia_elementwise.h (same op codes, same formulas, same float/double types).
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

enum UnaryOp {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_ABS, U_SIGN, U_RELU, U_RELU6, U_LEAKY_RELU, U_SIGMOID,
  U_TANH, U_SQUARE, U_RECIPROCAL, U_AFFINE, U_CLAMP, U_POW, U_ROUND, U_COUNT
};

template <class T> __device__ __forceinline__ T unary_value(int op, T x, T a, T b) {
  switch (op) {
    case U_NEG: return -x;
    case U_EXP: return exp(x);
    case U_LOG: return log(x);
    case U_SQRT: return sqrt(x);
    case U_ABS: return fabs(x);
    case U_SIGN: return (T)((x > 0) - (x < 0));
    case U_RELU: return x > 0 ? x : (T)0;
    case U_RELU6: return x < 0 ? (T)0 : (x > 6 ? (T)6 : x);
    case U_LEAKY_RELU: return x > 0 ? x : a * x;
    case U_SIGMOID: return x >= 0 ? (T)1 / ((T)1 + exp(-x)) : exp(x) / ((T)1 + exp(x));
    case U_TANH: return tanh(x);
    case U_SQUARE: return x * x;
    case U_RECIPROCAL: return (T)1 / x;
    case U_AFFINE: return a * x + b;
    case U_CLAMP: return x < a ? a : (x > b ? b : x);
    case U_POW: return pow(x, a);
    case U_ROUND: return rint(x);  // round half to even, like torch.round and std::nearbyint
  }
  return x;
}

template <class T> __device__ __forceinline__ T unary_grad(int op, T x, T y, T gy, T a, T b) {
  switch (op) {
    case U_NEG: return -gy;
    case U_EXP: return gy * y;
    case U_LOG: return gy / x;
    case U_SQRT: return gy * (T)0.5 / y;
    case U_ABS: return gy * (T)((x > 0) - (x < 0));
    case U_SIGN: return (T)0;
    case U_RELU: return x > 0 ? gy : (T)0;
    case U_RELU6: return (x > 0 && x < 6) ? gy : (T)0;
    case U_LEAKY_RELU: return x > 0 ? gy : a * gy;
    case U_SIGMOID: return gy * y * ((T)1 - y);
    case U_TANH: return gy * ((T)1 - y * y);
    case U_SQUARE: return gy * (T)2 * x;
    case U_RECIPROCAL: return -gy * y * y;
    case U_AFFINE: return a * gy;
    case U_CLAMP: return (x >= a && x <= b) ? gy : (T)0;
    case U_POW: return gy * a * pow(x, a - (T)1);
    case U_ROUND: return (T)0;
  }
  return gy;
}

// The op is a template parameter so each instantiation is a straight-line kernel (no switch per element).
template <int OP, class T> __global__ void unary_kernel(const T* x, T* y, long n, T a, T b) {
  ADVC_GRID_STRIDE(i, n) y[i] = unary_value<T>(OP, x[i], a, b);
}

template <int OP, class T> __global__ void unary_bwd_kernel(const T* x, const T* y, const T* gy, T* gx, long n, T a, T b) {
  ADVC_GRID_STRIDE(i, n) gx[i] = unary_grad<T>(OP, x ? x[i] : (T)0, y ? y[i] : (T)0, gy[i], a, b);
}

#define ADVC_UNARY_CASES(M) \
  M(U_NEG) M(U_EXP) M(U_LOG) M(U_SQRT) M(U_ABS) M(U_SIGN) M(U_RELU) M(U_RELU6) M(U_LEAKY_RELU) M(U_SIGMOID) \
  M(U_TANH) M(U_SQUARE) M(U_RECIPROCAL) M(U_AFFINE) M(U_CLAMP) M(U_POW) M(U_ROUND)

template <class T> int unary_impl(int op, long x, long y, long n, double a, double b) {
  if (n == 0) return 0;
  const T ta = (T)a, tb = (T)b;
  switch (op) {
#define ADVC_CASE(OP) \
    case OP: unary_kernel<OP, T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), n, ta, tb); break;
    ADVC_UNARY_CASES(ADVC_CASE)
#undef ADVC_CASE
    default: return fail("unary: op code %d has no kernel", op);
  }
  return launched("unary");
}

template <class T> int unary_bwd_impl(int op, long x, long y, long gy, long gx, long n, double a, double b) {
  if (n == 0) return 0;
  const T ta = (T)a, tb = (T)b;
  switch (op) {
#define ADVC_CASE(OP)                                                                                  \
    case OP: unary_bwd_kernel<OP, T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<const T>(y), \
                                                                               ptr<const T>(gy), ptr<T>(gx), n, ta, tb); break;
    ADVC_UNARY_CASES(ADVC_CASE)
#undef ADVC_CASE
    default: return fail("unary_bwd: op code %d has no kernel", op);
  }
  return launched("unary_bwd");
}

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

template <class T> __global__ void axpby_kernel(const T* x, const T* y, T* out, long n, T a, T b) {
  ADVC_GRID_STRIDE(i, n) out[i] = a * x[i] + b * y[i];
}

template <class T> int axpby_impl(long x, long y, long out, long n, double a, double b) {
  if (n == 0) return 0;
  axpby_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<const T>(y), ptr<T>(out), n, (T)a, (T)b);
  return launched("axpby");
}

template <class T> __global__ void fill_kernel(T* y, long n, T v) {
  ADVC_GRID_STRIDE(i, n) y[i] = v;
}

template <class T> int fill_impl(long y, long n, double v) {
  if (n == 0) return 0;
  fill_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<T>(y), n, (T)v);
  return launched("fill");
}

template <class S, class D> __global__ void cast_kernel(const S* src, D* dst, long n) {
  ADVC_GRID_STRIDE(i, n) dst[i] = (D)src[i];
}

}  // namespace

int advc_unary(int dt, int op, long x, long xn, long y, long yn, long n, double a, double b) {
  int rc = 0;
  const char* name = "unary";
  if (op < 0 || op >= U_COUNT) return fail("unary: unknown op code %d", op);
  ADVC_CHECK_NONNEG(name, "n", n);
  ADVC_CHECK_BUF(name, "input", x, xn, n);
  ADVC_CHECK_BUF(name, "output", y, yn, n);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, unary_impl, op, x, y, n, a, b);
}

int advc_unary_bwd(int dt, int op, long x, long xn, long y, long yn, long gy, long gyn, long gx, long gxn, long n,
                   double a, double b) {
  int rc = 0;
  const char* name = "unary_bwd";
  if (op < 0 || op >= U_COUNT) return fail("unary_bwd: unknown op code %d", op);
  ADVC_CHECK_NONNEG(name, "n", n);
  if (x) ADVC_CHECK_BUF(name, "input", x, xn, n);
  if (y) ADVC_CHECK_BUF(name, "output", y, yn, n);
  ADVC_CHECK_BUF(name, "output gradient", gy, gyn, n);
  ADVC_CHECK_BUF(name, "input gradient", gx, gxn, n);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, unary_bwd_impl, op, x, y, gy, gx, n, a, b);
}

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

int advc_axpby(int dt, long x, long xn, long y, long yn, long out, long outn, long n, double a, double b) {
  int rc = 0;
  const char* name = "axpby";
  ADVC_CHECK_NONNEG(name, "n", n);
  ADVC_CHECK_BUF(name, "x", x, xn, n);
  ADVC_CHECK_BUF(name, "y", y, yn, n);
  ADVC_CHECK_BUF(name, "output", out, outn, n);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, axpby_impl, x, y, out, n, a, b);
}

int advc_fill(int dt, long y, long yn, long n, double v) {
  int rc = 0;
  ADVC_CHECK_NONNEG("fill", "n", n);
  ADVC_CHECK_BUF("fill", "output", y, yn, n);
  if (rc) return rc;
  ADVC_DISPATCH("fill", dt, fill_impl, y, n, v);
}

int advc_cast(int sdt, long src, long sn, int ddt, long dst, long dn, long n) {
  int rc = 0;
  ADVC_CHECK_NONNEG("cast", "n", n);
  ADVC_CHECK_BUF("cast", "source", src, sn, n);
  ADVC_CHECK_BUF("cast", "destination", dst, dn, n);
  if (rc) return rc;
  if ((sdt != 0 && sdt != 1) || (ddt != 0 && ddt != 1)) return fail("cast: dtype codes %d -> %d unsupported", sdt, ddt);
  if (n == 0) return 0;
  if (ensure_device()) return -1;
  unsigned g = blocks_for(n);
  if (sdt == 0 && ddt == 0) cast_kernel<float, float><<<g, kThreads, 0, stream()>>>(ptr<const float>(src), ptr<float>(dst), n);
  else if (sdt == 0) cast_kernel<float, double><<<g, kThreads, 0, stream()>>>(ptr<const float>(src), ptr<double>(dst), n);
  else if (ddt == 0) cast_kernel<double, float><<<g, kThreads, 0, stream()>>>(ptr<const double>(src), ptr<float>(dst), n);
  else cast_kernel<double, double><<<g, kThreads, 0, stream()>>>(ptr<const double>(src), ptr<double>(dst), n);
  return launched("cast");
}
