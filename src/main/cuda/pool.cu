// Max / average / adaptive-average pooling, forward and backward. Twin: advmia_spatial.h.
// The backward pass gathers (one thread per input pixel sums the outputs whose window holds it,
// in a fixed order) instead of scattering with atomics, so gradients are bit-reproducible.
#include <cmath>
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

enum PoolKind { P_MAX = 0, P_AVG, P_ADAPTIVE_AVG, P_COUNT };

struct PoolGeom {
  long N, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, count_include_pad, kind;
};

int pool_geom(const char* op, const long long* a, PoolGeom* g) {
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
__device__ __forceinline__ void pool_window(const PoolGeom& g, long oh, long ow, long* hs, long* he, long* ws, long* we,
                                            long* div) {
  if (g.kind == P_ADAPTIVE_AVG) {
    *hs = oh * g.H / g.OH;
    *he = ((oh + 1) * g.H + g.OH - 1) / g.OH;
    *ws = ow * g.W / g.OW;
    *we = ((ow + 1) * g.W + g.OW - 1) / g.OW;
    *div = (*he - *hs) * (*we - *ws);
    return;
  }
  long h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  long h1 = min(h0 + g.KH, g.H + g.ph), w1 = min(w0 + g.KW, g.W + g.pw);
  long padded = (h1 - h0) * (w1 - w0);
  *hs = max(h0, 0L);
  *ws = max(w0, 0L);
  *he = min(h1, g.H);
  *we = min(w1, g.W);
  *div = g.count_include_pad ? padded : (*he - *hs) * (*we - *ws);
}

template <class T> __global__ void pool_fwd_kernel(PoolGeom g, const T* x, T* y, T* idx, long total) {
  ADVC_GRID_STRIDE(o, total) {
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
          if (v > best || isnan(v)) { best = v; bi = h * g.W + w; }
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
}

// Range of outputs along one axis whose window can contain input position i (conservative; the
// caller re-checks each candidate against the exact window).
__device__ __forceinline__ void candidates(const PoolGeom& g, bool rows, long i, long* lo, long* hi) {
  long in = rows ? g.H : g.W, out = rows ? g.OH : g.OW;
  if (g.kind == P_ADAPTIVE_AVG) {
    *lo = max(0L, i * out / in - 1);
    *hi = min(out - 1, ((i + 1) * out + in - 1) / in);
    return;
  }
  long k = rows ? g.KH : g.KW, s = rows ? g.sh : g.sw, p = rows ? g.ph : g.pw;
  long a = i + p - k + 1;  // window start <= i + p - (k - 1) is needed: o * s >= a
  *lo = a <= 0 ? 0 : (a + s - 1) / s;
  *hi = min(out - 1, (i + p) / s);
}

template <class T> __global__ void pool_bwd_kernel(PoolGeom g, const T* gy, const T* idx, T* gx, long total) {
  ADVC_GRID_STRIDE(i, total) {
    long w = i % g.W, h = (i / g.W) % g.H, p = i / (g.W * g.H);
    long oh0, oh1, ow0, ow1;
    candidates(g, true, h, &oh0, &oh1);
    candidates(g, false, w, &ow0, &ow1);
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
    gx[i] = acc;
  }
}

// Every index must lie in its plane (the CPU twin fails the call; here the next sync reports it).
template <class T> __global__ void pool_index_check_kernel(const T* idx, long plane, long total, int* err) {
  ADVC_GRID_STRIDE(o, total) {
    long v = (long)idx[o];
    if (v < 0 || v >= plane) report(err, E_POOL_INDEX);
  }
}

template <class T> int pool_fwd_impl(const PoolGeom& g, long x, long y, long idx) {
  long total = g.N * g.C * g.OH * g.OW;
  if (total == 0) return 0;
  pool_fwd_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(g, ptr<const T>(x), ptr<T>(y), ptr<T>(idx), total);
  return launched("pool2d_fwd");
}

template <class T> int pool_bwd_impl(const PoolGeom& g, long gy, long idx, long gx) {
  long total = g.N * g.C * g.H * g.W, outs = g.N * g.C * g.OH * g.OW;
  if (total == 0) return 0;
  if (g.kind == P_MAX && outs > 0) {
    pool_index_check_kernel<T><<<blocks_for(outs), kThreads, 0, stream()>>>(ptr<const T>(idx), g.H * g.W, outs,
                                                                           device_error_word());
    if (launched("pool2d_bwd index check")) return -1;
  }
  pool_bwd_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(g, ptr<const T>(gy), ptr<const T>(idx), ptr<T>(gx), total);
  return launched("pool2d_bwd");
}

}  // namespace

int advc_pool2d_fwd(int dt, long long* geom, long x, long xn, long y, long yn, long idx, long idxn) {
  PoolGeom g;
  if (int e = pool_geom("pool2d_fwd", geom, &g)) return e;
  int rc = 0;
  const char* name = "pool2d_fwd";
  ADVC_CHECK_BUF(name, "input", x, xn, g.N * g.C * g.H * g.W);
  ADVC_CHECK_BUF(name, "output", y, yn, g.N * g.C * g.OH * g.OW);
  if (idx) ADVC_CHECK_BUF(name, "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, pool_fwd_impl, g, x, y, g.kind == P_MAX ? idx : 0);
}

int advc_pool2d_bwd(int dt, long long* geom, long gy, long gyn, long idx, long idxn, long gx, long gxn) {
  PoolGeom g;
  if (int e = pool_geom("pool2d_bwd", geom, &g)) return e;
  int rc = 0;
  const char* name = "pool2d_bwd";
  ADVC_CHECK_BUF(name, "output gradient", gy, gyn, g.N * g.C * g.OH * g.OW);
  ADVC_CHECK_BUF(name, "input gradient", gx, gxn, g.N * g.C * g.H * g.W);
  if (g.kind == P_MAX) ADVC_CHECK_BUF(name, "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, pool_bwd_impl, g, gy, idx, gx);
}
