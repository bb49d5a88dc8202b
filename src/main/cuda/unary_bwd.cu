// Derivatives of the unary ops. Twin: unary_grad in advmia_elementwise.h (same codes, same formulas).
#include "advmia_cuda_common.cuh"
#include "unary_ops.cuh"

namespace {
using namespace advc;

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

template <int OP, class T> __global__ void unary_bwd_kernel(const T* x, const T* y, const T* gy, T* gx, long n, T a, T b) {
  ADVC_GRID_STRIDE(i, n) gx[i] = unary_grad<T>(OP, x ? x[i] : (T)0, y ? y[i] : (T)0, gy[i], a, b);
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

}  // namespace

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

