// Elementwise, broadcast, copy and reduction kernels.
#pragma once
#include "advmia_common.h"
#include "advmia_pool.h"

namespace adv {

enum UnaryOp {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_ABS, U_SIGN, U_RELU, U_RELU6, U_LEAKY_RELU, U_SIGMOID,
  U_TANH, U_SQUARE, U_RECIPROCAL, U_AFFINE, U_CLAMP, U_POW, U_ROUND, U_COUNT
};

template <class T> inline T unary_value(int op, T x, T a, T b) {
  switch (op) {
    case U_NEG: return -x;
    case U_EXP: return std::exp(x);
    case U_LOG: return std::log(x);
    case U_SQRT: return std::sqrt(x);
    case U_ABS: return std::abs(x);
    case U_SIGN: return (T)((x > 0) - (x < 0));
    case U_RELU: return x > 0 ? x : (T)0;
    case U_RELU6: return x < 0 ? (T)0 : (x > 6 ? (T)6 : x);
    case U_LEAKY_RELU: return x > 0 ? x : a * x;
    case U_SIGMOID: return x >= 0 ? (T)1 / ((T)1 + std::exp(-x)) : std::exp(x) / ((T)1 + std::exp(x));
    case U_TANH: return std::tanh(x);
    case U_SQUARE: return x * x;
    case U_RECIPROCAL: return (T)1 / x;
    case U_AFFINE: return a * x + b;
    case U_CLAMP: return x < a ? a : (x > b ? b : x);
    case U_POW: return std::pow(x, a);
    case U_ROUND: return std::nearbyint(x);  // round half to even, like torch.round
  }
  return x;
}

// d f(x) / dx times gy, written with whichever of x and y = f(x) is cheaper.
template <class T> inline T unary_grad(int op, T x, T y, T gy, T a, T b) {
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
    case U_POW: return gy * a * std::pow(x, a - (T)1);
    case U_ROUND: return (T)0;
  }
  return gy;
}

// The op is a template parameter so that each loop compiles to straight-line vector code; a
// switch inside the loop kept GCC from vectorizing it (ReLU backward ran at ~3.5 GB/s).
template <int OP, class T> void unary_loop(const T* xp, T* yp, long n, T ta, T tb) {
  parallel_range(n, kParallelGrain, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) yp[i] = unary_value<T>(OP, xp[i], ta, tb);
  });
}

// HX / HY: whether x / y were passed (an op's derivative needs at most one of them).
template <int OP, bool HX, bool HY, class T> void unary_bwd_loop(const T* xp, const T* yp, const T* gyp, T* gxp, long n,
                                                                  T ta, T tb) {
  parallel_range(n, kParallelGrain, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) gxp[i] = unary_grad<T>(OP, HX ? xp[i] : (T)0, HY ? yp[i] : (T)0, gyp[i], ta, tb);
  });
}

template <int OP, class T> void unary_bwd_dispatch(const T* xp, const T* yp, const T* gyp, T* gxp, long n, T ta, T tb) {
  // ReLU's derivative reads only x: skip streaming y even when the caller passed it.
  const bool hx = xp != nullptr, hy = yp != nullptr && !(OP == U_RELU && hx);
  if (hx && hy) unary_bwd_loop<OP, true, true, T>(xp, yp, gyp, gxp, n, ta, tb);
  else if (hx) unary_bwd_loop<OP, true, false, T>(xp, yp, gyp, gxp, n, ta, tb);
  else if (hy) unary_bwd_loop<OP, false, true, T>(xp, yp, gyp, gxp, n, ta, tb);
  else unary_bwd_loop<OP, false, false, T>(xp, yp, gyp, gxp, n, ta, tb);
}

#define ADV_UNARY_CASES(M) \
  M(U_NEG) M(U_EXP) M(U_LOG) M(U_SQRT) M(U_ABS) M(U_SIGN) M(U_RELU) M(U_RELU6) M(U_LEAKY_RELU) M(U_SIGMOID) \
  M(U_TANH) M(U_SQUARE) M(U_RECIPROCAL) M(U_AFFINE) M(U_CLAMP) M(U_POW) M(U_ROUND)

template <class T> int unary_impl(int op, long x, long y, long n, double a, double b) {
  const T* xp = ptr<const T>(x);
  T* yp = ptr<T>(y);
  const T ta = (T)a, tb = (T)b;
  switch (op) {
#define ADV_CASE(OP) case OP: unary_loop<OP, T>(xp, yp, n, ta, tb); break;
    ADV_UNARY_CASES(ADV_CASE)
#undef ADV_CASE
    default: return fail("unary: op code %d has no kernel", op);
  }
  return 0;
}

template <class T> int unary_bwd_impl(int op, long x, long y, long gy, long gx, long n, double a, double b) {
  const T* xp = ptr<const T>(x);
  const T* yp = ptr<const T>(y);
  const T* gyp = ptr<const T>(gy);
  T* gxp = ptr<T>(gx);
  const T ta = (T)a, tb = (T)b;
  switch (op) {
#define ADV_CASE(OP) case OP: unary_bwd_dispatch<OP, T>(xp, yp, gyp, gxp, n, ta, tb); break;
    ADV_UNARY_CASES(ADV_CASE)
#undef ADV_CASE
    default: return fail("unary: op code %d has no kernel", op);
  }
  return 0;
}

enum BinaryOp { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_GT, B_GE, B_EQ, B_COUNT };

template <class T> inline T binary_value(int op, T a, T b) {
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

// Whether an operand with these strides is laid out densely (row-major, no broadcast axis).
inline bool dense_strides(int ndim, const long* shape, const long* st) {
  long expect = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    if (shape[d] != 1 && st[d] != expect) return false;
    expect *= shape[d];
  }
  return true;
}

// The op is a template parameter (see unary_loop); dense operands take one flat loop.
template <int OP, class T> void binary_loop(const T* ap, const T* bp, T* yp, long rows, long inner, int ndim,
                                            const long* shape, const long* as, const long* bs) {
  const long total = rows * inner;
  if (dense_strides(ndim, shape, as) && dense_strides(ndim, shape, bs)) {
    parallel_range(total, kParallelGrain, [&](long i0, long i1) {
      for (long i = i0; i < i1; i++) yp[i] = binary_value<T>(OP, ap[i], bp[i]);
    });
    return;
  }
  const long ai = as[ndim - 1], bi = bs[ndim - 1];
  parallel_items(rows, inner, [&](long r) {
    long rem = r, ao = 0, bo = 0;
    for (int d = ndim - 2; d >= 0; d--) {
      long idx = rem % shape[d];
      rem /= shape[d];
      ao += idx * as[d];
      bo += idx * bs[d];
    }
    T* yr = yp + r * inner;
    const T* ar = ap + ao;
    const T* br = bp + bo;
    if (ai == 1 && bi == 1) {
      for (long i = 0; i < inner; i++) yr[i] = binary_value<T>(OP, ar[i], br[i]);
    } else if (ai == 1 && bi == 0) {
      const T bv = br[0];
      for (long i = 0; i < inner; i++) yr[i] = binary_value<T>(OP, ar[i], bv);
    } else if (ai == 0 && bi == 1) {
      const T av = ar[0];
      for (long i = 0; i < inner; i++) yr[i] = binary_value<T>(OP, av, br[i]);
    } else {
      for (long i = 0; i < inner; i++) yr[i] = binary_value<T>(OP, ar[i * ai], br[i * bi]);
    }
  });
}

template <class T> int binary_impl(int op, long a, long b, long y, int ndim, const long* shape,
                                   const long* as, const long* bs) {
  const T* ap = ptr<const T>(a);
  const T* bp = ptr<const T>(b);
  T* yp = ptr<T>(y);
  long inner = shape[ndim - 1];
  long rows = 1;
  for (int d = 0; d < ndim - 1; d++) rows *= shape[d];
  switch (op) {
#define ADV_CASE(OP) case OP: binary_loop<OP, T>(ap, bp, yp, rows, inner, ndim, shape, as, bs); break;
    ADV_CASE(B_ADD) ADV_CASE(B_SUB) ADV_CASE(B_MUL) ADV_CASE(B_DIV) ADV_CASE(B_MAX) ADV_CASE(B_MIN) ADV_CASE(B_GT)
    ADV_CASE(B_GE) ADV_CASE(B_EQ)
#undef ADV_CASE
  }
  return 0;
}

template <class T> int axpby_impl(long x, long y, long out, long n, double a, double b) {
  const T* xp = ptr<const T>(x);
  const T* yp = ptr<const T>(y);
  T* op = ptr<T>(out);
  const T ta = (T)a, tb = (T)b;
  parallel_range(n, kParallelGrain, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) op[i] = ta * xp[i] + tb * yp[i];
  });
  return 0;
}

template <class T> int fill_impl(long y, long n, double v) {
  T* yp = ptr<T>(y);
  const T tv = (T)v;
  parallel_range(n, kParallelGrain, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) yp[i] = tv;
  });
  return 0;
}

template <class T> int copy_block_impl(long src, long soff, long sstride, long dst, long doff, long dstride,
                                       long rows, long cols) {
  const T* sp = ptr<const T>(src) + soff;
  T* dp = ptr<T>(dst) + doff;
  parallel_items(rows, cols, [&](long r) {
    std::memcpy(dp + r * dstride, sp + r * sstride, sizeof(T) * cols);
  });
  return 0;
}

enum ReduceOp { R_SUM = 0, R_MEAN, R_MAX, R_MIN, R_SUMSQ, R_ABSSUM, R_ABSMAX, R_COUNT };

template <class T> inline double reduce_row(int op, const T* x, long n, long stride) {
  double acc;
  switch (op) {
    case R_MAX: acc = -std::numeric_limits<double>::infinity(); break;
    case R_MIN: acc = std::numeric_limits<double>::infinity(); break;
    default: acc = 0;
  }
  for (long k = 0; k < n; k++) {
    double v = (double)x[k * stride];
    switch (op) {
      case R_SUM: case R_MEAN: acc += v; break;
      case R_MAX: acc = v > acc ? v : acc; break;
      case R_MIN: acc = v < acc ? v : acc; break;
      case R_SUMSQ: acc += v * v; break;
      case R_ABSSUM: acc += std::abs(v); break;
      case R_ABSMAX: acc = std::abs(v) > acc ? std::abs(v) : acc; break;
    }
    if (std::isnan(v) && (op == R_MAX || op == R_MIN || op == R_ABSMAX)) acc = v;
  }
  if (op == R_MEAN) acc /= (double)n;
  return acc;
}

// y[o, i] = reduce over k of x[o, k, i]: every single-axis reduction is this after a reshape.
template <class T> int reduce_impl(int op, long x, long y, long outer, long n, long inner) {
  const T* xp = ptr<const T>(x);
  T* yp = ptr<T>(y);
  long total = outer * inner;
  parallel_items(total, n, [&](long t) {
    long o = t / inner, i = t % inner;
    yp[t] = (T)reduce_row<T>(op, xp + o * n * inner + i, n, inner);
  });
  return 0;
}

template <class T> int argmax_impl(long x, long y, long rows, long cols) {
  const T* xp = ptr<const T>(x);
  T* yp = ptr<T>(y);
  parallel_items(rows, cols, [&](long r) {
    const T* xr = xp + r * cols;
    long best = 0;
    for (long c = 1; c < cols; c++)
      if (xr[c] > xr[best]) best = c;
    yp[r] = (T)best;
  });
  return 0;
}

template <class T> long count_nonfinite_impl(long x, long n) {
  const T* xp = ptr<const T>(x);
  std::atomic<long> bad{0};
  parallel_range(n, kParallelGrain, [&](long i0, long i1) {
    long b = 0;
    for (long i = i0; i < i1; i++) b += !std::isfinite(xp[i]);
    if (b) bad.fetch_add(b, std::memory_order_relaxed);
  });
  return bad.load();
}

}  // namespace adv

inline int adv_unary(int dt, int op, long x, long xn, long y, long yn, long n, double a, double b) {
  int rc = 0;
  const char* name = "unary";
  if (op < 0 || op >= adv::U_COUNT) return adv::fail("unary: unknown op code %d", op);
  ADV_CHECK_NONNEG(name, "n", n);
  ADV_CHECK_BUF(name, "input", x, xn, n);
  ADV_CHECK_BUF(name, "output", y, yn, n);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::unary_impl, op, x, y, n, a, b);
}

// x or y may be 0 when the op's derivative does not use it.
inline int adv_unary_bwd(int dt, int op, long x, long xn, long y, long yn, long gy, long gyn, long gx, long gxn,
                         long n, double a, double b) {
  int rc = 0;
  const char* name = "unary_bwd";
  if (op < 0 || op >= adv::U_COUNT) return adv::fail("unary_bwd: unknown op code %d", op);
  ADV_CHECK_NONNEG(name, "n", n);
  if (x) ADV_CHECK_BUF(name, "input", x, xn, n);
  if (y) ADV_CHECK_BUF(name, "output", y, yn, n);
  ADV_CHECK_BUF(name, "output gradient", gy, gyn, n);
  ADV_CHECK_BUF(name, "input gradient", gx, gxn, n);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::unary_bwd_impl, op, x, y, gy, gx, n, a, b);
}

// Broadcasting binary op: strides are in elements, 0 along a broadcast axis.
inline int adv_binary(int dt, int op, long a, long an, long b, long bn, long y, long yn, int ndim,
                      long long* shape_ll, long long* as_ll, long long* bs_ll) {
  // JNI's jlong is long long; on LP64 Linux it has long's size and representation.
  static_assert(sizeof(long long) == sizeof(long), "LP64 expected");
  const long* shape = reinterpret_cast<const long*>(shape_ll);
  const long* as = reinterpret_cast<const long*>(as_ll);
  const long* bs = reinterpret_cast<const long*>(bs_ll);
  int rc = 0;
  const char* name = "binary";
  if (op < 0 || op >= adv::B_COUNT) return adv::fail("binary: unknown op code %d", op);
  if (ndim < 1 || ndim > adv::kMaxDims) return adv::fail("binary: rank %d outside 1..%d", ndim, adv::kMaxDims);
  if (!shape || !as || !bs) return adv::fail("binary: null shape or stride array");
  long total = 1, amax = 0, bmax = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0 || as[d] < 0 || bs[d] < 0) return adv::fail("binary: negative extent or stride on axis %d", d);
    total *= shape[d];
    if (shape[d] > 0) { amax += (shape[d] - 1) * as[d]; bmax += (shape[d] - 1) * bs[d]; }
  }
  if (total == 0) return 0;
  ADV_CHECK_BUF(name, "left operand", a, an, amax + 1);
  ADV_CHECK_BUF(name, "right operand", b, bn, bmax + 1);
  ADV_CHECK_BUF(name, "output", y, yn, total);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::binary_impl, op, a, b, y, ndim, shape, as, bs);
}

inline int adv_axpby(int dt, long x, long xn, long y, long yn, long out, long outn, long n, double a, double b) {
  int rc = 0;
  const char* name = "axpby";
  ADV_CHECK_NONNEG(name, "n", n);
  ADV_CHECK_BUF(name, "x", x, xn, n);
  ADV_CHECK_BUF(name, "y", y, yn, n);
  ADV_CHECK_BUF(name, "output", out, outn, n);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::axpby_impl, x, y, out, n, a, b);
}

inline int adv_fill(int dt, long y, long yn, long n, double v) {
  int rc = 0;
  ADV_CHECK_NONNEG("fill", "n", n);
  ADV_CHECK_BUF("fill", "output", y, yn, n);
  if (rc) return rc;
  ADV_DISPATCH("fill", dt, adv::fill_impl, y, n, v);
}

// Copies a rows x cols block between two row-strided layouts: slices, concatenation, splits.
inline int adv_copy_block(int dt, long src, long sn, long soff, long sstride, long dst, long dn, long doff,
                          long dstride, long rows, long cols) {
  int rc = 0;
  const char* name = "copy_block";
  ADV_CHECK_NONNEG(name, "rows", rows);
  ADV_CHECK_NONNEG(name, "cols", cols);
  ADV_CHECK_NONNEG(name, "source offset", soff);
  ADV_CHECK_NONNEG(name, "destination offset", doff);
  if (rc) return rc;
  if (rows == 0 || cols == 0) return 0;
  if (sstride < cols || dstride < cols) return adv::fail("copy_block: row strides (%ld, %ld) shorter than a row (%ld)", sstride, dstride, cols);
  ADV_CHECK_BUF(name, "source", src, sn, soff + (rows - 1) * sstride + cols);
  ADV_CHECK_BUF(name, "destination", dst, dn, doff + (rows - 1) * dstride + cols);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::copy_block_impl, src, soff, sstride, dst, doff, dstride, rows, cols);
}

inline int adv_cast(int sdt, long src, long sn, int ddt, long dst, long dn, long n) {
  int rc = 0;
  ADV_CHECK_NONNEG("cast", "n", n);
  ADV_CHECK_BUF("cast", "source", src, sn, n);
  ADV_CHECK_BUF("cast", "destination", dst, dn, n);
  if (rc) return rc;
  if ((sdt != 0 && sdt != 1) || (ddt != 0 && ddt != 1)) return adv::fail("cast: dtype codes %d -> %d unsupported", sdt, ddt);
  adv::parallel_range(n, adv::kParallelGrain, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      double v = sdt == 0 ? (double)adv::ptr<const float>(src)[i] : adv::ptr<const double>(src)[i];
      if (ddt == 0) adv::ptr<float>(dst)[i] = (float)v; else adv::ptr<double>(dst)[i] = v;
    }
  });
  return 0;
}

inline int adv_reduce(int dt, int op, long x, long xn, long y, long yn, long outer, long n, long inner) {
  int rc = 0;
  const char* name = "reduce";
  if (op < 0 || op >= adv::R_COUNT) return adv::fail("reduce: unknown op code %d", op);
  ADV_CHECK_NONNEG(name, "outer", outer);
  ADV_CHECK_POS(name, "reduced extent", n);
  ADV_CHECK_NONNEG(name, "inner", inner);
  ADV_CHECK_BUF(name, "input", x, xn, outer * n * inner);
  ADV_CHECK_BUF(name, "output", y, yn, outer * inner);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::reduce_impl, op, x, y, outer, n, inner);
}

inline int adv_argmax(int dt, long x, long xn, long y, long yn, long rows, long cols) {
  int rc = 0;
  ADV_CHECK_NONNEG("argmax", "rows", rows);
  ADV_CHECK_POS("argmax", "cols", cols);
  ADV_CHECK_BUF("argmax", "input", x, xn, rows * cols);
  ADV_CHECK_BUF("argmax", "output", y, yn, rows);
  if (rc) return rc;
  ADV_DISPATCH("argmax", dt, adv::argmax_impl, x, y, rows, cols);
}

// Returns the number of NaN/Inf values, or -1 on a bad argument.
inline long adv_count_nonfinite(int dt, long x, long xn, long n) {
  int rc = 0;
  ADV_CHECK_NONNEG("count_nonfinite", "n", n);
  ADV_CHECK_BUF("count_nonfinite", "input", x, xn, n);
  if (rc) return -1;
  if (dt == 0) return adv::count_nonfinite_impl<float>(x, n);
  if (dt == 1) return adv::count_nonfinite_impl<double>(x, n);
  adv::fail("count_nonfinite: dtype code %d is neither float32 (0) nor float64 (1)", dt);
  return -1;
}

// y[b, c, r] = x[b, r, c]: batched 2-D transpose (NCHW <-> NHWC and friends), blocked for cache.
template <class T> int transpose_impl(long B, long R, long C, long xa, long ya) {
  const T* x = adv::ptr<const T>(xa);
  T* y = adv::ptr<T>(ya);
  constexpr long kBlock = 32;
  long tiles_r = (R + kBlock - 1) / kBlock, tiles_c = (C + kBlock - 1) / kBlock;
  adv::parallel_items(B * tiles_r * tiles_c, kBlock * kBlock, [&](long t) {
    long b = t / (tiles_r * tiles_c), rem = t % (tiles_r * tiles_c);
    long r0 = (rem / tiles_c) * kBlock, c0 = (rem % tiles_c) * kBlock;
    const T* xb = x + b * R * C;
    T* yb = y + b * R * C;
    for (long r = r0; r < std::min(R, r0 + kBlock); r++)
      for (long c = c0; c < std::min(C, c0 + kBlock); c++) yb[c * R + r] = xb[r * C + c];
  });
  return 0;
}

inline int adv_transpose(int dt, long B, long R, long C, long x, long xn, long y, long yn) {
  int rc = 0;
  ADV_CHECK_NONNEG("transpose", "batch", B);
  ADV_CHECK_NONNEG("transpose", "rows", R);
  ADV_CHECK_NONNEG("transpose", "cols", C);
  ADV_CHECK_BUF("transpose", "input", x, xn, B * R * C);
  ADV_CHECK_BUF("transpose", "output", y, yn, B * R * C);
  if (rc) return rc;
  ADV_DISPATCH("transpose", dt, transpose_impl, B, R, C, x, y);
}
