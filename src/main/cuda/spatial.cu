// Nearest / bilinear upsampling (forward and backward) and the k x k median filter.
// Twins: adv_upsample and adv_median_filter (advmia_spatial.h). The upsampling backward pass
// gathers: each input pixel visits the outputs that read it in raster order and adds their
// weights in the CPU's corner order, so it matches the CPU's scatter bit for bit, without atomics.
#include <cmath>
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

__device__ __forceinline__ double upsample_src(long o, long in, long out, bool ac) {
  if (ac) return out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0.0;
  double s = ((double)o + 0.5) * (double)in / (double)out - 0.5;
  return s < 0 ? 0 : s;
}

// The first input index an output reads along one axis (nearest: its pixel; bilinear: the lower corner).
__device__ __forceinline__ long lower_source(int mode, bool ac, long o, long in, long out) {
  if (mode == 0) return min((long)floor((double)o * in / out), in - 1);
  return min((long)upsample_src(o, in, out, ac), in - 1);
}

// Both are monotone in o, so the outputs reading input i form one range, found by binary search.
__device__ long first_output_at_least(int mode, bool ac, long target, long in, long out) {
  long lo = 0, hi = out;
  while (lo < hi) {
    long mid = (lo + hi) / 2;
    if (lower_source(mode, ac, mid, in, out) >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

template <class T> __global__ void upsample_fwd_kernel(int mode, bool ac, long H, long W, long OH, long OW, const T* x,
                                                       T* y, long total) {
  ADVC_GRID_STRIDE(t, total) {
    long ow = t % OW, oh = (t / OW) % OH, p = t / (OW * OH);
    const T* ip = x + p * H * W;
    if (mode == 0) {
      y[t] = ip[lower_source(0, ac, oh, H, OH) * W + lower_source(0, ac, ow, W, OW)];
    } else {
      double sh = upsample_src(oh, H, OH, ac), sw = upsample_src(ow, W, OW, ac);
      long h0 = min((long)sh, H - 1), w0 = min((long)sw, W - 1);
      long h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
      T lh = (T)(sh - h0), lw = (T)(sw - w0);
      T a00 = (1 - lh) * (1 - lw), a01 = (1 - lh) * lw, a10 = lh * (1 - lw), a11 = lh * lw;
      y[t] = a00 * ip[h0 * W + w0] + a01 * ip[h0 * W + w1] + a10 * ip[h1 * W + w0] + a11 * ip[h1 * W + w1];
    }
  }
}

template <class T> __global__ void upsample_bwd_kernel(int mode, bool ac, long H, long W, long OH, long OW, const T* gy,
                                                       T* gx, long total) {
  ADVC_GRID_STRIDE(t, total) {
    long iw = t % W, ih = (t / W) % H, p = t / (W * H);
    const T* gp = gy + p * OH * OW;
    // Bilinear outputs read input i as their lower corner (source i) or upper corner (source i - 1).
    long reach = mode == 0 ? 0 : 1;
    long oh0 = first_output_at_least(mode, ac, ih - reach, H, OH), oh1 = first_output_at_least(mode, ac, ih + 1, H, OH);
    long ow0 = first_output_at_least(mode, ac, iw - reach, W, OW), ow1 = first_output_at_least(mode, ac, iw + 1, W, OW);
    T acc = 0;
    for (long oh = oh0; oh < oh1; oh++)
      for (long ow = ow0; ow < ow1; ow++) {
        T v = gp[oh * OW + ow];
        if (mode == 0) {
          acc += v;  // every output in the range reads exactly this pixel
          continue;
        }
        double sh = upsample_src(oh, H, OH, ac), sw = upsample_src(ow, W, OW, ac);
        long h0 = min((long)sh, H - 1), w0 = min((long)sw, W - 1);
        long h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
        T lh = (T)(sh - h0), lw = (T)(sw - w0);
        if (h0 == ih && w0 == iw) acc += (1 - lh) * (1 - lw) * v;
        if (h0 == ih && w1 == iw) acc += (1 - lh) * lw * v;
        if (h1 == ih && w0 == iw) acc += lh * (1 - lw) * v;
        if (h1 == ih && w1 == iw) acc += lh * lw * v;
      }
    gx[t] = acc;
  }
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

constexpr long kMaxMedianK = 15;  // 225 values per window, held in thread-local memory

template <class T> __global__ void median_kernel(const T* x, T* y, long H, long W, long k, long total) {
  T win[kMaxMedianK * kMaxMedianK];
  const long r = k / 2;
  ADVC_GRID_STRIDE(t, total) {
    long w = t % W, h = (t / W) % H, p = t / (W * H);
    const T* xp = x + p * H * W;
    long n = 0;
    for (long dh = -r; dh <= r; dh++) {
      long hh = h + dh;
      hh = hh < 0 ? -hh : (hh >= H ? 2 * H - 2 - hh : hh);
      hh = min(max(hh, 0L), H - 1);
      for (long dw = -r; dw <= r; dw++) {
        long ww = w + dw;
        ww = ww < 0 ? -ww : (ww >= W ? 2 * W - 2 - ww : ww);
        ww = min(max(ww, 0L), W - 1);
        win[n++] = xp[hh * W + ww];
      }
    }
    // Partial selection sort up to the middle: the (n/2)-th smallest, the value nth_element picks.
    for (long i = 0; i <= n / 2; i++) {
      long m = i;
      for (long j = i + 1; j < n; j++)
        if (win[j] < win[m]) m = j;
      T tmp = win[i]; win[i] = win[m]; win[m] = tmp;
    }
    y[t] = win[n / 2];
  }
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
