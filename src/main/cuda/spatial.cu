// Nearest / bilinear upsampling (forward and backward) and the k x k median filter.
// Twins: adv_upsample and adv_median_filter (advmia_spatial.h). The upsampling backward pass
// gathers: each input pixel visits the outputs that read it in raster order and adds their
// weights in the CPU's corner order: the CPU scatter's summation order, without atomics.
// The per-element code lives in spatial_index.cuh, shared with the host emulation (emulate.cu).
#include "advmia_cuda_common.cuh"
#include "spatial_index.cuh"

namespace {
using namespace advc;

template <class T> __global__ void upsample_fwd_kernel(int mode, bool ac, long H, long W, long OH, long OW, const T* x,
                                                       T* y, long total) {
  ADVC_GRID_STRIDE(t, total) y[t] = upsample_fwd_element(mode, ac, H, W, OH, OW, x, t);
}

template <class T> __global__ void upsample_bwd_kernel(int mode, bool ac, long H, long W, long OH, long OW, const T* gy,
                                                       T* gx, long total) {
  ADVC_GRID_STRIDE(t, total) gx[t] = upsample_bwd_element(mode, ac, H, W, OH, OW, gy, t);
}

template <class T> int upsample_impl(bool backward, int mode, bool ac, long N, long C, long H, long W, long OH, long OW,
                                     long in, long out) {
  if (!backward) {
    long total = N * C * OH * OW;
    if (total == 0) return 0;
    upsample_fwd_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(mode, ac, H, W, OH, OW, ptr<const T>(in),
                                                                         ptr<T>(out), total);
  } else {
    long total = N * C * H * W;
    if (total == 0) return 0;
    upsample_bwd_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(mode, ac, H, W, OH, OW, ptr<const T>(in),
                                                                         ptr<T>(out), total);
  }
  return launched(backward ? "upsample_bwd" : "upsample_fwd");
}

template <class T> __global__ void median_kernel(const T* x, T* y, long H, long W, long k, long total) {
  ADVC_GRID_STRIDE(t, total) y[t] = median_element(x, H, W, k, t);
}

template <class T> int median_impl(long P, long H, long W, long k, long x, long y) {
  long total = P * H * W;
  if (total == 0) return 0;
  median_kernel<T><<<blocks_for(total, 128), 128, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), H, W, k, total);
  return launched("median_filter");
}

}  // namespace

int advc_upsample(int dt, int backward, int mode, int align_corners, long N, long C, long H, long W, long OH, long OW,
                  long in, long inn, long out, long outn) {
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
  ADVC_DISPATCH(name, dt, upsample_impl, backward != 0, mode, align_corners != 0, N, C, H, W, OH, OW, in, out);
}

int advc_median_filter(int dt, long P, long H, long W, long k, long x, long xn, long y, long yn) {
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
  ADVC_DISPATCH("median_filter", dt, median_impl, P, H, W, k, x, y);
}
