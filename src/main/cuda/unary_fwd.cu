// Elementwise unary ops (17). Twin: unary_value in advmia_elementwise.h (same codes, same formulas).
#include "advmia_cuda_common.cuh"
#include "unary_ops.cuh"

namespace {
using namespace advc;

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

// The op is a template parameter so each instantiation is a straight-line kernel (no switch per element).
template <int OP, class T> __global__ void unary_kernel(const T* x, T* y, long n, T a, T b) {
  ADVC_GRID_STRIDE(i, n) y[i] = unary_value<T>(OP, x[i], a, b);
}

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

