// Per-element code of the pooling, upsampling and median kernels, compiled for the device (the
// kernels in pool.cu and spatial.cu) and for the host (emulate.cu), so the index arithmetic, the
// trickiest part of these kernels, is checked against the CPU twins on machines without a GPU.
#pragma once
#include <cmath>
#include "advmia_cuda_common.cuh"

#define ADVC_HD __host__ __device__ __forceinline__

namespace advc {

ADVC_HD long lmin(long a, long b) { return a < b ? a : b; }
ADVC_HD long lmax(long a, long b) { return a > b ? a : b; }

enum PoolKind { P_MAX = 0, P_AVG, P_ADAPTIVE_AVG, P_COUNT };

struct PoolGeom {
  long N, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, count_include_pad, kind;
};

// Reads and checks geom = {N, C, H, W, KH, KW, stride_h, stride_w, pad_h, pad_w, OH, OW,
// count_include_pad, kind} (the CPU's pool_geom rules).
inline int pool_geom(const char* op, const long long* a, PoolGeom* g) {
  if (!a) return fail("%s: null geometry array", op);
  *g = PoolGeom{(long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5], (long)a[6],
                (long)a[7], (long)a[8], (long)a[9], (long)a[10], (long)a[11], (long)a[12], (long)a[13]};
  if (g->kind < 0 || g->kind >= P_COUNT) return fail("%s: unknown pool kind %ld", op, g->kind);
  if (g->N < 0 || g->C <= 0 || g->H <= 0 || g->W <= 0 || g->OH <= 0 || g->OW <= 0)
    return fail("%s: sizes must be positive (C=%ld H=%ld W=%ld OH=%ld OW=%ld)", op, g->C, g->H, g->W, g->OH, g->OW);
  if (g->kind != P_ADAPTIVE_AVG) {
    if (g->KH <= 0 || g->KW <= 0 || g->sh <= 0 || g->sw <= 0 || g->ph < 0 || g->pw < 0)
      return fail("%s: kernel and stride must be positive, padding non-negative", op);
    if (2 * g->ph > g->KH || 2 * g->pw > g->KW) return fail("%s: padding must be at most half the kernel", op);
  }
  return 0;
}

// The window of output (oh, ow), clipped to the image, and the average's divisor: pool_window on the CPU.
ADVC_HD void pool_window(const PoolGeom& g, long oh, long ow, long* hs, long* he, long* ws, long* we, long* div) {
  if (g.kind == P_ADAPTIVE_AVG) {
    *hs = oh * g.H / g.OH;
    *he = ((oh + 1) * g.H + g.OH - 1) / g.OH;
    *ws = ow * g.W / g.OW;
    *we = ((ow + 1) * g.W + g.OW - 1) / g.OW;
    *div = (*he - *hs) * (*we - *ws);
    return;
  }
  long h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  long h1 = lmin(h0 + g.KH, g.H + g.ph), w1 = lmin(w0 + g.KW, g.W + g.pw);
  long padded = (h1 - h0) * (w1 - w0);
  *hs = lmax(h0, 0L);
  *ws = lmax(w0, 0L);
  *he = lmin(h1, g.H);
  *we = lmin(w1, g.W);
  *div = g.count_include_pad ? padded : (*he - *hs) * (*we - *ws);
}

// Output element o (flat over N, C, OH, OW) of the forward pass; idx (max only) may be null.
template <class T> ADVC_HD void pool_fwd_element(const PoolGeom& g, const T* x, T* y, T* idx, long o) {
  long ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
  const T* xp = x + p * g.H * g.W;
  long hs, he, ws, we, div;
  pool_window(g, oh, ow, &hs, &he, &ws, &we, &div);
  if (g.kind == P_MAX) {
    T best = -INFINITY;
    long bi = hs * g.W + ws;
    for (long h = hs; h < he; h++)
      for (long w = ws; w < we; w++) {
        T v = xp[h * g.W + w];
        if (v > best || v != v) { best = v; bi = h * g.W + w; }
      }
    y[o] = best;
    if (idx) idx[o] = (T)bi;
  } else {
    T acc = 0;
    for (long h = hs; h < he; h++)
      for (long w = ws; w < we; w++) acc += xp[h * g.W + w];
    y[o] = div > 0 ? acc / (T)div : (T)0;
  }
}

// Range of outputs along one axis whose window can contain input position i (conservative; the
// caller re-checks each candidate against the exact window).
ADVC_HD void pool_candidates(const PoolGeom& g, bool rows, long i, long* lo, long* hi) {
  long in = rows ? g.H : g.W, out = rows ? g.OH : g.OW;
  if (g.kind == P_ADAPTIVE_AVG) {
    *lo = lmax(0L, i * out / in - 1);
    *hi = lmin(out - 1, ((i + 1) * out + in - 1) / in);
    return;
  }
  long k = rows ? g.KH : g.KW, s = rows ? g.sh : g.sw, p = rows ? g.ph : g.pw;
  long a = i + p - k + 1;  // a window starting at o * s - p reaches i when o * s >= a
  *lo = a <= 0 ? 0 : (a + s - 1) / s;
  *hi = lmin(out - 1, (i + p) / s);
}

// Input element i (flat over N, C, H, W) of the backward pass: the sum over the outputs whose
// window holds it, in raster order (the order in which the CPU's scatter adds them).
template <class T> ADVC_HD T pool_bwd_element(const PoolGeom& g, const T* gy, const T* idx, long i) {
  long w = i % g.W, h = (i / g.W) % g.H, p = i / (g.W * g.H);
  long oh0, oh1, ow0, ow1;
  pool_candidates(g, true, h, &oh0, &oh1);
  pool_candidates(g, false, w, &ow0, &ow1);
  const T* gyp = gy + p * g.OH * g.OW;
  const T* ip = idx ? idx + p * g.OH * g.OW : nullptr;
  const long here = h * g.W + w;
  T acc = 0;
  for (long oh = oh0; oh <= oh1; oh++)
    for (long ow = ow0; ow <= ow1; ow++) {
      long hs, he, ws, we, div;
      pool_window(g, oh, ow, &hs, &he, &ws, &we, &div);
      if (h < hs || h >= he || w < ws || w >= we) continue;
      long o = oh * g.OW + ow;
      if (g.kind == P_MAX) {
        if ((long)ip[o] == here) acc += gyp[o];
      } else if (div > 0) {
        acc += gyp[o] / (T)div;
      }
    }
  return acc;
}

ADVC_HD double upsample_src(long o, long in, long out, bool ac) {
  if (ac) return out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0.0;
  double s = ((double)o + 0.5) * (double)in / (double)out - 0.5;
  return s < 0 ? 0 : s;
}

// The first input index an output reads along one axis (nearest: its pixel; bilinear: the lower corner).
ADVC_HD long lower_source(int mode, bool ac, long o, long in, long out) {
  if (mode == 0) return lmin((long)floor((double)o * in / out), in - 1);
  return lmin((long)upsample_src(o, in, out, ac), in - 1);
}

// Both are monotone in o, so the outputs reading input i form one range, found by binary search.
ADVC_HD long first_output_at_least(int mode, bool ac, long target, long in, long out) {
  long lo = 0, hi = out;
  while (lo < hi) {
    long mid = (lo + hi) / 2;
    if (lower_source(mode, ac, mid, in, out) >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

template <class T> ADVC_HD T upsample_fwd_element(int mode, bool ac, long H, long W, long OH, long OW, const T* x, long t) {
  long ow = t % OW, oh = (t / OW) % OH, p = t / (OW * OH);
  const T* ip = x + p * H * W;
  if (mode == 0) return ip[lower_source(0, ac, oh, H, OH) * W + lower_source(0, ac, ow, W, OW)];
  double sh = upsample_src(oh, H, OH, ac), sw = upsample_src(ow, W, OW, ac);
  long h0 = lmin((long)sh, H - 1), w0 = lmin((long)sw, W - 1);
  long h1 = lmin(h0 + 1, H - 1), w1 = lmin(w0 + 1, W - 1);
  T lh = (T)(sh - h0), lw = (T)(sw - w0);
  T a00 = (1 - lh) * (1 - lw), a01 = (1 - lh) * lw, a10 = lh * (1 - lw), a11 = lh * lw;
  return a00 * ip[h0 * W + w0] + a01 * ip[h0 * W + w1] + a10 * ip[h1 * W + w0] + a11 * ip[h1 * W + w1];
}

// Input pixel t of the backward pass: the outputs that read it, in raster order, each adding its
// corner weights in the CPU's corner order: the CPU scatter's summation order (results can still
// differ in the last bit where one compiler contracts a multiply-add into an FMA and the other not).
template <class T> ADVC_HD T upsample_bwd_element(int mode, bool ac, long H, long W, long OH, long OW, const T* gy, long t) {
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
      long h0 = lmin((long)sh, H - 1), w0 = lmin((long)sw, W - 1);
      long h1 = lmin(h0 + 1, H - 1), w1 = lmin(w0 + 1, W - 1);
      T lh = (T)(sh - h0), lw = (T)(sw - w0);
      if (h0 == ih && w0 == iw) acc += (1 - lh) * (1 - lw) * v;
      if (h0 == ih && w1 == iw) acc += (1 - lh) * lw * v;
      if (h1 == ih && w0 == iw) acc += lh * (1 - lw) * v;
      if (h1 == ih && w1 == iw) acc += lh * lw * v;
    }
  return acc;
}

constexpr long kMaxMedianK = 15;  // 225 values per window, held in thread-local memory

// Output pixel t of the k x k median filter (reflect-101 borders): the (n/2)-th smallest of the
// window, the value std::nth_element picks on the CPU.
template <class T> ADVC_HD T median_element(const T* x, long H, long W, long k, long t) {
  T win[kMaxMedianK * kMaxMedianK];
  const long r = k / 2;
  long w = t % W, h = (t / W) % H, p = t / (W * H);
  const T* xp = x + p * H * W;
  long n = 0;
  for (long dh = -r; dh <= r; dh++) {
    long hh = h + dh;
    hh = hh < 0 ? -hh : (hh >= H ? 2 * H - 2 - hh : hh);
    hh = lmin(lmax(hh, 0L), H - 1);
    for (long dw = -r; dw <= r; dw++) {
      long ww = w + dw;
      ww = ww < 0 ? -ww : (ww >= W ? 2 * W - 2 - ww : ww);
      ww = lmin(lmax(ww, 0L), W - 1);
      win[n++] = xp[hh * W + ww];
    }
  }
  for (long i = 0; i <= n / 2; i++) {
    long m = i;
    for (long j = i + 1; j < n; j++)
      if (win[j] < win[m]) m = j;
    T tmp = win[i]; win[i] = win[m]; win[m] = tmp;
  }
  return win[n / 2];
}

}  // namespace advc
