// The pooling, upsampling and median kernels' per-element code (spatial_index.cuh) run on the host,
// one "thread" after another over host buffers. Not used by the backend: it lets
// CudaKernelEmulationTest check the kernels' index arithmetic against the CPU twins on machines
// without a GPU. Arguments are checked as in the device entry points.
#include "advmia_cuda_common.cuh"
#include "spatial_index.cuh"

namespace {
using namespace advc;

template <class T> int pool_fwd_host(const PoolGeom& g, long x, long y, long idx) {
  long total = g.N * g.C * g.OH * g.OW;
  for (long o = 0; o < total; o++) pool_fwd_element(g, ptr<const T>(x), ptr<T>(y), ptr<T>(idx), o);
  return 0;
}

template <class T> int pool_bwd_host(const PoolGeom& g, long gy, long idx, long gx) {
  long total = g.N * g.C * g.H * g.W, outs = g.N * g.C * g.OH * g.OW;
  if (g.kind == P_MAX) {
    for (long o = 0; o < outs; o++) {
      long v = (long)ptr<const T>(idx)[o];
      if (v < 0 || v >= g.H * g.W) return fail("pool2d_bwd: max-pool indices out of range for their plane");
    }
  }
  for (long i = 0; i < total; i++) ptr<T>(gx)[i] = pool_bwd_element(g, ptr<const T>(gy), ptr<const T>(idx), i);
  return 0;
}

template <class T> int upsample_host(bool backward, int mode, bool ac, long N, long C, long H, long W, long OH, long OW,
                                     long in, long out) {
  if (!backward) {
    for (long t = 0; t < N * C * OH * OW; t++) ptr<T>(out)[t] = upsample_fwd_element(mode, ac, H, W, OH, OW, ptr<const T>(in), t);
  } else {
    for (long t = 0; t < N * C * H * W; t++) ptr<T>(out)[t] = upsample_bwd_element(mode, ac, H, W, OH, OW, ptr<const T>(in), t);
  }
  return 0;
}

template <class T> int median_host(long P, long H, long W, long k, long x, long y) {
  for (long t = 0; t < P * H * W; t++) ptr<T>(y)[t] = median_element(ptr<const T>(x), H, W, k, t);
  return 0;
}

}  // namespace

#define ADVC_HOST_DISPATCH(opname, dtype, FN, ...)                                     \
  do {                                                                                 \
    switch (dtype) {                                                                   \
      case 0: return FN<float>(__VA_ARGS__);                                           \
      case 1: return FN<double>(__VA_ARGS__);                                          \
      default: return fail("%s: dtype code %d is neither float32 (0) nor float64 (1)", opname, dtype); \
    }                                                                                  \
  } while (0)

int advc_emulate_pool2d_fwd(int dt, long long* geom, long x, long xn, long y, long yn, long idx, long idxn) {
  PoolGeom g;
  if (int e = pool_geom("pool2d_fwd", geom, &g)) return e;
  int rc = 0;
  ADVC_CHECK_BUF("pool2d_fwd", "input", x, xn, g.N * g.C * g.H * g.W);
  ADVC_CHECK_BUF("pool2d_fwd", "output", y, yn, g.N * g.C * g.OH * g.OW);
  if (idx) ADVC_CHECK_BUF("pool2d_fwd", "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADVC_HOST_DISPATCH("pool2d_fwd", dt, pool_fwd_host, g, x, y, g.kind == P_MAX ? idx : 0);
}

int advc_emulate_pool2d_bwd(int dt, long long* geom, long gy, long gyn, long idx, long idxn, long gx, long gxn) {
  PoolGeom g;
  if (int e = pool_geom("pool2d_bwd", geom, &g)) return e;
  int rc = 0;
  ADVC_CHECK_BUF("pool2d_bwd", "output gradient", gy, gyn, g.N * g.C * g.OH * g.OW);
  ADVC_CHECK_BUF("pool2d_bwd", "input gradient", gx, gxn, g.N * g.C * g.H * g.W);
  if (g.kind == P_MAX) ADVC_CHECK_BUF("pool2d_bwd", "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADVC_HOST_DISPATCH("pool2d_bwd", dt, pool_bwd_host, g, gy, idx, gx);
}

int advc_emulate_upsample(int dt, int backward, int mode, int align_corners, long N, long C, long H, long W, long OH,
                          long OW, long in, long inn, long out, long outn) {
  int rc = 0;
  const char* name = backward ? "upsample_bwd" : "upsample_fwd";
  if (mode != 0 && mode != 1) return fail("%s: mode %d is neither nearest (0) nor bilinear (1)", name, mode);
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_POS(name, "H", H);
  ADVC_CHECK_POS(name, "W", W);
  ADVC_CHECK_POS(name, "OH", OH);
  ADVC_CHECK_POS(name, "OW", OW);
  long small = N * C * H * W, large = N * C * OH * OW;
  ADVC_CHECK_BUF(name, "input", in, inn, backward ? large : small);
  ADVC_CHECK_BUF(name, "output", out, outn, backward ? small : large);
  if (rc) return rc;
  ADVC_HOST_DISPATCH(name, dt, upsample_host, backward != 0, mode, align_corners != 0, N, C, H, W, OH, OW, in, out);
}

int advc_emulate_median_filter(int dt, long P, long H, long W, long k, long x, long xn, long y, long yn) {
  int rc = 0;
  ADVC_CHECK_NONNEG("median_filter", "planes", P);
  ADVC_CHECK_POS("median_filter", "H", H);
  ADVC_CHECK_POS("median_filter", "W", W);
  if (rc) return rc;
  if (k <= 0 || k % 2 == 0) return fail("median_filter: kernel size %ld must be odd and positive", k);
  if (k > kMaxMedianK) return fail("median_filter: kernel size %ld exceeds the CUDA kernel's limit of %ld", k, kMaxMedianK);
  ADVC_CHECK_BUF("median_filter", "input", x, xn, P * H * W);
  ADVC_CHECK_BUF("median_filter", "output", y, yn, P * H * W);
  if (rc) return rc;
  ADVC_HOST_DISPATCH("median_filter", dt, median_host, P, H, W, k, x, y);
}
