// Elementwise axpby, fill and cast. Twin: advmia_elementwise.h. (Unary ops: unary.cu; binary: binary.cu.)
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

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
