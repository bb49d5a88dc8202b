// Pooling, upsampling and batch normalisation over NCHW tensors.
#pragma once
#include "advmia_common.h"
#include "advmia_elementwise.h"
#include "advmia_pool.h"
#include "advmia_window_max.h"

namespace adv {

enum PoolKind { P_MAX = 0, P_AVG, P_ADAPTIVE_AVG, P_COUNT };

struct PoolGeom {
  long N, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, count_include_pad, kind;
};
constexpr int kPoolGeomLen = 14;

inline int pool_geom(const char* op, const long* a, PoolGeom* g) {
  if (!a) return fail("%s: null geometry array", op);
  *g = PoolGeom{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]};
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

// The input window [hs, he) x [ws, we) of output (oh, ow), clipped to the image; `div` is
// the average's divisor with PyTorch's count_include_pad convention.
inline void pool_window(const PoolGeom& g, long oh, long ow, long* hs, long* he, long* ws, long* we, long* div) {
  if (g.kind == P_ADAPTIVE_AVG) {
    *hs = oh * g.H / g.OH;
    *he = ((oh + 1) * g.H + g.OH - 1) / g.OH;
    *ws = ow * g.W / g.OW;
    *we = ((ow + 1) * g.W + g.OW - 1) / g.OW;
    *div = (*he - *hs) * (*we - *ws);
    return;
  }
  long h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  long h1 = std::min(h0 + g.KH, g.H + g.ph), w1 = std::min(w0 + g.KW, g.W + g.pw);
  long padded = (h1 - h0) * (w1 - w0);
  *hs = std::max(h0, 0L);
  *ws = std::max(w0, 0L);
  *he = std::min(h1, g.H);
  *we = std::min(w1, g.W);
  *div = g.count_include_pad ? padded : (*he - *hs) * (*we - *ws);
}

// 2x2 max pooling with stride 2 and no padding (every window inside the image): the same
// comparisons as the general loop, in the same order, without pool_window per output.
template <class T> inline bool maxpool2x2_fast(const PoolGeom& g) {
  return g.kind == P_MAX && g.KH == 2 && g.KW == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
         2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

// Eight lanes of T as one GCC vector, for the branchless 2x2 max-pool below.
template <class T> struct PoolVecOf {
  typedef T type __attribute__((vector_size(8 * sizeof(T))));
};

// Eight windows of one output row at a time, branchless: the comparisons in scalar order become
// lane masks ("v > best or v is NaN" takes v, as in the scalar loop, so results and indices are
// identical). On a ReLU'd input most comparisons are ties and the scalar branches predict well;
// on raw convolution outputs (SmallCNN pools before its ReLU, see SmallCnn.forward) they are
// coin flips, and the scalar loop ran at ~3 GB/s.
template <class T> inline long maxpool2x2_row8(const T* r0, const T* r1, long W, long OW, T base, T* yr, T* ir) {
  typedef typename PoolVecOf<T>::type V;
  V lane;
  for (int l = 0; l < 8; l++) lane[l] = (T)(2 * l);
  long ow = 0;
  for (; ow + 8 <= OW; ow += 8) {
    V p0, p1, q0, q1;
    std::memcpy(&p0, r0 + 2 * ow, sizeof p0);
    std::memcpy(&p1, r0 + 2 * ow + 8, sizeof p1);
    std::memcpy(&q0, r1 + 2 * ow, sizeof q0);
    std::memcpy(&q1, r1 + 2 * ow + 8, sizeof q1);
    const V a = __builtin_shufflevector(p0, p1, 0, 2, 4, 6, 8, 10, 12, 14);
    const V b = __builtin_shufflevector(p0, p1, 1, 3, 5, 7, 9, 11, 13, 15);
    const V c = __builtin_shufflevector(q0, q1, 0, 2, 4, 6, 8, 10, 12, 14);
    const V d = __builtin_shufflevector(q0, q1, 1, 3, 5, 7, 9, 11, 13, 15);
    const V i0 = lane + (base + (T)(2 * ow));
    V best, bi;
    window_max4<V, T>(a, b, c, d, i0, W, &best, &bi);
    std::memcpy(yr + ow, &best, sizeof best);
    if (ir) std::memcpy(ir + ow, &bi, sizeof bi);
  }
  return ow;
}

template <class T> void maxpool2x2_fwd(const PoolGeom& g, const T* x, T* y, T* idx) {
  const long HW = g.H * g.W, OHW = g.OH * g.OW, W = g.W;
  parallel_items(g.N * g.C, 4 * OHW, [&](long p) {
    const T* xp = x + p * HW;
    T* yp = y + p * OHW;
    T* ip = idx ? idx + p * OHW : nullptr;
    for (long oh = 0; oh < g.OH; oh++) {
      const T* r0 = xp + 2 * oh * W;
      const T* r1 = r0 + W;
      const long v8 = maxpool2x2_row8<T>(r0, r1, W, g.OW, (T)(2 * oh * W), yp + oh * g.OW,
                                         ip ? ip + oh * g.OW : nullptr);
      for (long ow = v8; ow < g.OW; ow++) {
        const long i0 = 2 * oh * W + 2 * ow;
        T best = r0[2 * ow];
        long bi = i0;
        T v = r0[2 * ow + 1];
        if (v > best || std::isnan(v)) { best = v; bi = i0 + 1; }
        v = r1[2 * ow];
        if (v > best || std::isnan(v)) { best = v; bi = i0 + W; }
        v = r1[2 * ow + 1];
        if (v > best || std::isnan(v)) { best = v; bi = i0 + W + 1; }
        yp[oh * g.OW + ow] = best;
        if (ip) ip[oh * g.OW + ow] = (T)bi;
      }
    }
  });
}

template <class T> int pool_fwd_impl(const PoolGeom& g, long xa, long ya, long ia) {
  const T* x = ptr<const T>(xa);
  T* y = ptr<T>(ya);
  T* idx = ptr<T>(ia);
  if (maxpool2x2_fast<T>(g)) {
    maxpool2x2_fwd<T>(g, x, y, idx);
    return 0;
  }
  const long HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_items(g.N * g.C, HW + OHW, [&](long p) {
    const T* xp = x + p * HW;
    for (long oh = 0; oh < g.OH; oh++)
      for (long ow = 0; ow < g.OW; ow++) {
        long hs, he, ws, we, div;
        pool_window(g, oh, ow, &hs, &he, &ws, &we, &div);
        long o = p * OHW + oh * g.OW + ow;
        if (g.kind == P_MAX) {
          T best = -std::numeric_limits<T>::infinity();
          long bi = hs * g.W + ws;
          for (long h = hs; h < he; h++)
            for (long w = ws; w < we; w++) {
              T v = xp[h * g.W + w];
              if (v > best || std::isnan(v)) { best = v; bi = h * g.W + w; }
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
  });
  return 0;
}

template <class T> int pool_bwd_impl(const PoolGeom& g, long gya, long ia, long gxa) {
  const T* gy = ptr<const T>(gya);
  const T* idx = ptr<const T>(ia);
  T* gx = ptr<T>(gxa);
  const long HW = g.H * g.W, OHW = g.OH * g.OW;
  std::atomic<int> bad{0};
  parallel_items(g.N * g.C, HW + OHW, [&](long p) {
    T* gp = gx + p * HW;
    std::fill(gp, gp + HW, (T)0);
    if (g.kind == P_MAX) {
      // Locals, not the captured references: GCC cannot tell that the stores into gp leave the
      // captured geometry and pointers unchanged, and reloaded them for every element (~25
      // instructions per element; the scatter was ~3 % of a SmallCNN PGD step, 4x its cost with
      // locals in a standalone loop).
      const T* gyp = gy + p * OHW;
      const T* ip = idx + p * OHW;
      const long n = OHW, hw = HW;
      bool ok = true;
      for (long o = 0; o < n; o++) {
        const long i = (long)ip[o];
        if (i < 0 || i >= hw) {
          ok = false;
          continue;
        }
        gp[i] += gyp[o];
      }
      if (!ok) bad.store(1, std::memory_order_relaxed);
      return;
    }
    for (long oh = 0; oh < g.OH; oh++)
      for (long ow = 0; ow < g.OW; ow++) {
        const long o = p * OHW + oh * g.OW + ow;
        long hs, he, ws, we, div;
        pool_window(g, oh, ow, &hs, &he, &ws, &we, &div);
        if (div <= 0) continue;
        T v = gy[o] / (T)div;
        for (long h = hs; h < he; h++)
          for (long w = ws; w < we; w++) gp[h * g.W + w] += v;
      }
  });
  return bad.load() ? fail("pool2d_bwd: max-pool indices out of range for a %ldx%ld plane", g.H, g.W) : 0;
}

// Source coordinate of output index o along an axis of in -> out pixels, PyTorch's convention.
inline double upsample_src(long o, long in, long out, bool align_corners) {
  if (align_corners) return out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0.0;
  double s = ((double)o + 0.5) * (double)in / (double)out - 0.5;
  return s < 0 ? 0 : s;
}

template <class T> int upsample_impl(bool backward, int mode, bool ac, long N, long C, long H, long W, long OH, long OW,
                                     long ina, long outa) {
  // forward: in = x (H x W), out = y (OH x OW); backward: in = gy (OH x OW), out = gx (H x W).
  const T* in = ptr<const T>(ina);
  T* out = ptr<T>(outa);
  const long HW = H * W, OHW = OH * OW;
  parallel_items(N * C, HW + OHW, [&](long p) {
    const T* ip = in + p * (backward ? OHW : HW);
    T* op = out + p * (backward ? HW : OHW);
    if (backward) std::fill(op, op + HW, (T)0);
    for (long oh = 0; oh < OH; oh++)
      for (long ow = 0; ow < OW; ow++) {
        long o = oh * OW + ow;
        if (mode == 0) {
          long ih = std::min((long)std::floor((double)oh * H / OH), H - 1);
          long iw = std::min((long)std::floor((double)ow * W / OW), W - 1);
          if (backward) op[ih * W + iw] += ip[o];
          else op[o] = ip[ih * W + iw];
        } else {
          double sh = upsample_src(oh, H, OH, ac), sw = upsample_src(ow, W, OW, ac);
          long h0 = std::min((long)sh, H - 1), w0 = std::min((long)sw, W - 1);
          long h1 = std::min(h0 + 1, H - 1), w1 = std::min(w0 + 1, W - 1);
          T lh = (T)(sh - h0), lw = (T)(sw - w0);
          T a00 = (1 - lh) * (1 - lw), a01 = (1 - lh) * lw, a10 = lh * (1 - lw), a11 = lh * lw;
          if (backward) {
            T v = ip[o];
            op[h0 * W + w0] += a00 * v;
            op[h0 * W + w1] += a01 * v;
            op[h1 * W + w0] += a10 * v;
            op[h1 * W + w1] += a11 * v;
          } else {
            op[o] = a00 * ip[h0 * W + w0] + a01 * ip[h0 * W + w1] + a10 * ip[h1 * W + w0] + a11 * ip[h1 * W + w1];
          }
        }
      }
  });
  return 0;
}

// Batch norm walks blocks of channels image-major: for each image the block's planes are one
// contiguous run of cb*HW elements. Walking one channel at a time instead reads N planes C*HW
// elements apart; on MobileNetV2's 4x4 and 8x8 planes (one or four cache lines) each of those is a
// separate miss the prefetcher cannot follow, and the kernel waited on memory. The block is sized
// so that the arrays it re-reads (x for the variance and normalise passes, x / gy / y for the
// backward's second pass) come back from L2 rather than memory. Each channel's sums still add one
// plane at a time in image order, so the result does not depend on the block size or the thread
// count.
constexpr long kBnMaxBlock = 64;

inline long bn_channel_block(long N, long C, long HW, long arrays, long elem) {
  const long budget = 512L * 1024;  // half of a 2 MiB L2: leaves room for the other streams
  long cb = budget / std::max(1L, N * HW * arrays * elem);
  cb = std::max(1L, std::min(cb, kBnMaxBlock));
  // Keep every thread busy on narrow layers; the block size does not change the result.
  const long threads = pool_threads();
  cb = std::min(cb, std::max(1L, (C + threads - 1) / threads));
  return std::min(cb, C);
}

// The fused activation (U_RELU / U_RELU6, or -1 for none) applied to a normalised value.
template <int ACT, class T> inline T bn_act(T v) {
  if (ACT == U_RELU) return v > 0 ? v : (T)0;
  if (ACT == U_RELU6) return v < 0 ? (T)0 : (v > 6 ? (T)6 : v);
  return v;
}

// The gradient that reaches the normalised value, given the activation's output y: exact for
// these two activations (y > 0 iff the input was > 0, y < 6 iff it was < 6).
template <int ACT, class T> inline T bn_act_grad(T g, T y) {
  if (ACT == U_RELU) return y > 0 ? g : (T)0;
  // Two selects rather than one on (y > 0 && y < 6): GCC treated the short circuit as control
  // flow and left the backward's loops scalar (the training backward ran 4x slower).
  if (ACT == U_RELU6) {
    const T h = y > 0 ? g : (T)0;
    return y < 6 ? h : (T)0;
  }
  return g;
}

// Training mode normalises with batch statistics and updates the running ones; eval mode uses
// the running ones. Both save (mean, 1/std) for the backward pass. ACT is applied to the output
// in the same pass, so a following ReLU / ReLU6 costs no extra read and write of the tensor.
template <int ACT, class T> int bn_fwd_act(bool training, long N, long C, long HW, double momentum, double eps,
                                           long xa, long ga, long ba, long rma, long rva, long ya, long sma,
                                           long sia) {
  const T* x = ptr<const T>(xa);
  const T* gamma = ptr<const T>(ga);
  const T* beta = ptr<const T>(ba);
  T* rm = ptr<T>(rma);
  T* rv = ptr<T>(rva);
  T* y = ptr<T>(ya);
  T* sm = ptr<T>(sma);
  T* si = ptr<T>(sia);
  const long M = N * HW;
  const long cb = bn_channel_block(N, C, HW, 1, (long)sizeof(T));
  const long blocks = (C + cb - 1) / cb;
  parallel_items(blocks, 3 * M * cb, [&](long b) {
    const long c0 = b * cb, nc = std::min(cb, C - c0);
    double mean[kBnMaxBlock], acc[kBnMaxBlock];
    T scale[kBnMaxBlock], shift[kBnMaxBlock];
    if (training) {
      // Double accumulators, vectorized across lanes (omp simd permits the reassociation);
      // a sequential double sum ran at one add per 4 cycles and dominated this kernel.
      for (long j = 0; j < nc; j++) acc[j] = 0;
      for (long n = 0; n < N; n++) {
        const T* p0 = x + (n * C + c0) * HW;
        for (long j = 0; j < nc; j++) {
          const T* p = p0 + j * HW;
          double s = 0;
#pragma omp simd reduction(+ : s)
          for (long i = 0; i < HW; i++) s += p[i];
          acc[j] += s;
        }
      }
      for (long j = 0; j < nc; j++) { mean[j] = acc[j] / M; acc[j] = 0; }
      for (long n = 0; n < N; n++) {
        const T* p0 = x + (n * C + c0) * HW;
        for (long j = 0; j < nc; j++) {
          const T* p = p0 + j * HW;
          const double mu = mean[j];
          double q = 0;
#pragma omp simd reduction(+ : q)
          for (long i = 0; i < HW; i++) { double d = p[i] - mu; q += d * d; }
          acc[j] += q;
        }
      }
    }
    for (long j = 0; j < nc; j++) {
      const long c = c0 + j;
      double mu, var;
      if (training) {
        mu = mean[j];
        var = acc[j] / M;
        if (rm && rv) {
          rm[c] = (T)((1 - momentum) * rm[c] + momentum * mu);
          double unbiased = M > 1 ? acc[j] / (M - 1) : var;
          rv[c] = (T)((1 - momentum) * rv[c] + momentum * unbiased);
        }
      } else {
        mu = rm[c];
        var = rv[c];
      }
      double inv = 1.0 / std::sqrt(var + eps);
      sm[c] = (T)mu;
      si[c] = (T)inv;
      scale[j] = (T)((gamma ? gamma[c] : 1.0) * inv);
      shift[j] = (T)((beta ? beta[c] : 0.0) - mu * (gamma ? gamma[c] : 1.0) * inv);
    }
    for (long n = 0; n < N; n++) {
      const T* p0 = x + (n * C + c0) * HW;
      T* q0 = y + (n * C + c0) * HW;
      for (long j = 0; j < nc; j++) {
        const T* p = p0 + j * HW;
        T* q = q0 + j * HW;
        const T sc = scale[j], sh = shift[j];
#pragma omp simd
        for (long i = 0; i < HW; i++) q[i] = bn_act<ACT, T>(p[i] * sc + sh);
      }
    }
  });
  return 0;
}

template <class T> int bn_fwd_impl(bool training, int act, long N, long C, long HW, double momentum, double eps,
                                   long xa, long ga, long ba, long rma, long rva, long ya, long sma, long sia) {
  switch (act) {
    case U_RELU: return bn_fwd_act<U_RELU, T>(training, N, C, HW, momentum, eps, xa, ga, ba, rma, rva, ya, sma, sia);
    case U_RELU6: return bn_fwd_act<U_RELU6, T>(training, N, C, HW, momentum, eps, xa, ga, ba, rma, rva, ya, sma, sia);
    default: return bn_fwd_act<-1, T>(training, N, C, HW, momentum, eps, xa, ga, ba, rma, rva, ya, sma, sia);
  }
}

// gy is the gradient of the activation's output y (ACT >= 0; y unused otherwise): the mask is
// applied as gy is read, so the fused activation's backward needs no tensor of its own.
template <int ACT, class T> int bn_bwd_act(bool training, long N, long C, long HW, long xa, long ya, long gya, long ga,
                                           long sma, long sia, long gxa, long gga, long gba) {
  const T* x = ptr<const T>(xa);
  const T* yv = ptr<const T>(ya);
  const T* gy = ptr<const T>(gya);
  const T* gamma = ptr<const T>(ga);
  const T* sm = ptr<const T>(sma);
  const T* si = ptr<const T>(sia);
  T* gx = ptr<T>(gxa);
  T* gg = ptr<T>(gga);
  T* gb = ptr<T>(gba);
  const long M = N * HW;
  const bool sums = training || gg || gb;
  const long arrays = (sums ? 2 : 1) + (ACT >= 0 ? 1 : 0);
  const long cb = bn_channel_block(N, C, HW, arrays, (long)sizeof(T));
  const long blocks = (C + cb - 1) / cb;
  parallel_items(blocks, 4 * M * cb, [&](long b) {
    const long c0 = b * cb, nc = std::min(cb, C - c0);
    double sgy[kBnMaxBlock], sxc[kBnMaxBlock];
    for (long j = 0; j < nc; j++) { sgy[j] = 0; sxc[j] = 0; }
    // An eval-mode input gradient (every attack step) needs neither sum: skipping the pass saves
    // a full read of x and gy per layer.
    if (sums) {
      T* mbuf = ACT >= 0 && !gx ? scratch_row<T>(HW) : nullptr;
      for (long n = 0; n < N; n++) {
        const long off = (n * C + c0) * HW;
        for (long j = 0; j < nc; j++) {
          const T* gp = gy + off + j * HW;
          const T* xp = x + off + j * HW;
          const T* yp = ACT >= 0 ? yv + off + j * HW : nullptr;
          const double mean = sm[c0 + j];
          // sum(gy * xhat) = inv * sum(gy * (x - mean)): the scale comes out of the loop.
          // The masked gradient is written out first (into gx's plane, which the second pass
          // reads back from cache and overwrites): with the mask's selects inside the float64
          // reduction GCC left the loop scalar.
          const T* g = gp;
          if (ACT >= 0) {
            T* dst = gx ? gx + off + j * HW : mbuf;
#pragma omp simd
            for (long i = 0; i < HW; i++) dst[i] = bn_act_grad<ACT, T>(gp[i], yp[i]);
            g = dst;
          }
          double s_gy = 0, s_xc = 0;
#pragma omp simd reduction(+ : s_gy, s_xc)
          for (long i = 0; i < HW; i++) {
            s_gy += g[i];
            s_xc += (double)g[i] * ((double)xp[i] - mean);
          }
          sgy[j] += s_gy;
          sxc[j] += s_xc;
        }
      }
    }
    for (long j = 0; j < nc; j++) {
      const double sum_gy_xhat = sxc[j] * (double)si[c0 + j];
      if (gg) gg[c0 + j] = (T)sum_gy_xhat;
      if (gb) gb[c0 + j] = (T)sgy[j];
    }
    if (!gx) return;
    for (long n = 0; n < N; n++) {
      const long off = (n * C + c0) * HW;
      for (long j = 0; j < nc; j++) {
        const long c = c0 + j;
        const T* gp = gy + off + j * HW;
        const T* xp = x + off + j * HW;
        const T* yp = ACT >= 0 ? yv + off + j * HW : nullptr;
        T* op = gx + off + j * HW;
        const double mean = sm[c], inv = si[c];
        const double gam = gamma ? gamma[c] : 1.0;
        if (training) {
          // k * (M * gy - sum_gy - xhat * sum_gy_xhat), with the per-channel factors hoisted.
          const double sum_gy_xhat = sxc[j] * inv;
          const double k = gam * inv / M, kg = k * M, kx = k * sum_gy_xhat * inv, k0 = k * sgy[j];
          // Training always ran the sum pass, which left the masked gradient in op.
          const T* g = ACT >= 0 ? op : gp;
#pragma omp simd
          for (long i = 0; i < HW; i++) op[i] = (T)(kg * (double)g[i] - kx * ((double)xp[i] - mean) - k0);
        } else {
          const T k = (T)(gam * inv);
#pragma omp simd
          for (long i = 0; i < HW; i++) {
            const T g = ACT >= 0 ? bn_act_grad<ACT, T>(gp[i], yp[i]) : gp[i];
            op[i] = g * k;
          }
        }
      }
    }
  });
  return 0;
}

template <class T> int bn_bwd_impl(bool training, int act, long N, long C, long HW, long xa, long ya, long gya,
                                   long ga, long sma, long sia, long gxa, long gga, long gba) {
  switch (act) {
    case U_RELU: return bn_bwd_act<U_RELU, T>(training, N, C, HW, xa, ya, gya, ga, sma, sia, gxa, gga, gba);
    case U_RELU6: return bn_bwd_act<U_RELU6, T>(training, N, C, HW, xa, ya, gya, ga, sma, sia, gxa, gga, gba);
    default: return bn_bwd_act<-1, T>(training, N, C, HW, xa, ya, gya, ga, sma, sia, gxa, gga, gba);
  }
}

}  // namespace adv

// geom = {N, C, H, W, KH, KW, stride_h, stride_w, pad_h, pad_w, OH, OW, count_include_pad, kind}
// idx (max pooling only; may be 0 when no backward pass follows) receives the argmax within each plane.
inline int adv_pool2d_fwd(int dt, long long* geom_ll, long x, long xn, long y, long yn, long idx, long idxn) {
  adv::PoolGeom g;
  const long* geom = reinterpret_cast<const long*>(geom_ll);
  int rc = adv::pool_geom("pool2d_fwd", geom, &g);
  if (rc) return rc;
  ADV_CHECK_BUF("pool2d_fwd", "input", x, xn, g.N * g.C * g.H * g.W);
  ADV_CHECK_BUF("pool2d_fwd", "output", y, yn, g.N * g.C * g.OH * g.OW);
  if (idx) ADV_CHECK_BUF("pool2d_fwd", "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADV_DISPATCH("pool2d_fwd", dt, adv::pool_fwd_impl, g, x, y, g.kind == adv::P_MAX ? idx : 0);
}

inline int adv_pool2d_bwd(int dt, long long* geom_ll, long gy, long gyn, long idx, long idxn, long gx, long gxn) {
  adv::PoolGeom g;
  const long* geom = reinterpret_cast<const long*>(geom_ll);
  int rc = adv::pool_geom("pool2d_bwd", geom, &g);
  if (rc) return rc;
  ADV_CHECK_BUF("pool2d_bwd", "output gradient", gy, gyn, g.N * g.C * g.OH * g.OW);
  if (g.kind == adv::P_MAX) ADV_CHECK_BUF("pool2d_bwd", "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  ADV_CHECK_BUF("pool2d_bwd", "input gradient", gx, gxn, g.N * g.C * g.H * g.W);
  if (rc) return rc;
  ADV_DISPATCH("pool2d_bwd", dt, adv::pool_bwd_impl, g, gy, idx, gx);
}

// mode 0 = nearest, 1 = bilinear. Forward reads x (H x W) and writes y (OH x OW); backward
// reads gy (OH x OW) and writes gx (H x W).
inline int adv_upsample(int dt, int backward, int mode, int align_corners, long N, long C, long H, long W, long OH,
                        long OW, long in, long inn, long out, long outn) {
  int rc = 0;
  const char* name = backward ? "upsample_bwd" : "upsample_fwd";
  if (mode != 0 && mode != 1) return adv::fail("%s: mode %d is neither nearest (0) nor bilinear (1)", name, mode);
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "C", C);
  ADV_CHECK_POS(name, "H", H);
  ADV_CHECK_POS(name, "W", W);
  ADV_CHECK_POS(name, "OH", OH);
  ADV_CHECK_POS(name, "OW", OW);
  long small = N * C * H * W, large = N * C * OH * OW;
  ADV_CHECK_BUF(name, "input", in, inn, backward ? large : small);
  ADV_CHECK_BUF(name, "output", out, outn, backward ? small : large);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::upsample_impl, backward != 0, mode, align_corners != 0, N, C, H, W, OH, OW, in, out);
}

// gamma/beta may be 0 (no affine); running stats may be 0 in training without tracking.
// cn is the smallest length among the per-channel buffers passed (gamma, beta, running and saved
// statistics); each must hold C values. act: -1 for none, or U_RELU / U_RELU6 applied to y in the
// same pass.
inline int adv_batchnorm_fwd(int dt, int training, int act, long N, long C, long HW, long cn, double momentum,
                             double eps, long x, long xn, long gamma, long beta, long rmean, long rvar, long y, long yn,
                             long smean, long sinv) {
  int rc = 0;
  const char* name = "batchnorm_fwd";
  if (act != -1 && act != adv::U_RELU && act != adv::U_RELU6)
    return adv::fail("batchnorm_fwd: activation code %d is none of -1, ReLU (%d), ReLU6 (%d)", act, adv::U_RELU,
                     adv::U_RELU6);
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "C", C);
  ADV_CHECK_POS(name, "HW", HW);
  if (rc) return rc;
  if (training && N * HW < 2) return adv::fail("batchnorm_fwd: training needs more than one value per channel (got N*H*W=%ld)", N * HW);
  if (!training && (!rmean || !rvar)) return adv::fail("batchnorm_fwd: eval mode needs running statistics");
  if (!smean || !sinv) return adv::fail("batchnorm_fwd: null buffers for saved statistics");
  if (cn < C) return adv::fail("batchnorm_fwd: per-channel buffers hold %ld values, need C=%ld", cn, C);
  ADV_CHECK_BUF(name, "input", x, xn, N * C * HW);
  ADV_CHECK_BUF(name, "output", y, yn, N * C * HW);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::bn_fwd_impl, training != 0, act, N, C, HW, momentum, eps, x, gamma, beta, rmean, rvar, y,
               smean, sinv);
}

// cn: the smallest length among the per-channel buffers passed (gamma, saved statistics, ggamma,
// gbeta). gx, ggamma and gbeta may be 0 to skip them. act (-1, U_RELU or U_RELU6) names the
// activation fused into the forward pass; with one, gy is the gradient of its output y, from
// which the mask is read.
inline int adv_batchnorm_bwd(int dt, int training, int act, long N, long C, long HW, long cn, long x, long xn, long y,
                             long yn, long gy, long gyn, long gamma, long smean, long sinv, long gx, long gxn,
                             long ggamma, long gbeta) {
  int rc = 0;
  const char* name = "batchnorm_bwd";
  if (act != -1 && act != adv::U_RELU && act != adv::U_RELU6)
    return adv::fail("batchnorm_bwd: activation code %d is none of -1, ReLU (%d), ReLU6 (%d)", act, adv::U_RELU,
                     adv::U_RELU6);
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "C", C);
  ADV_CHECK_POS(name, "HW", HW);
  ADV_CHECK_BUF(name, "input", x, xn, N * C * HW);
  if (act != -1) ADV_CHECK_BUF(name, "activation output", y, yn, N * C * HW);
  ADV_CHECK_BUF(name, "output gradient", gy, gyn, N * C * HW);
  if (gx) ADV_CHECK_BUF(name, "input gradient", gx, gxn, N * C * HW);
  if (rc) return rc;
  if (!smean || !sinv) return adv::fail("batchnorm_bwd: null saved statistics");
  if (cn < C) return adv::fail("batchnorm_bwd: per-channel buffers hold %ld values, need C=%ld", cn, C);
  ADV_DISPATCH(name, dt, adv::bn_bwd_impl, training != 0, act, N, C, HW, x, y, gy, gamma, smean, sinv, gx, ggamma,
               gbeta);
}

// out[p, o] = src[p, idx[p, o]] over P planes: the backward of max-unpooling (and forward of
// gathering pooled positions). Indices are validated against the plane size.
template <class T> int gather_planes_impl(long P, long S, long O, long srca, long idxa, long outa) {
  const T* src = adv::ptr<const T>(srca);
  const T* idx = adv::ptr<const T>(idxa);
  T* out = adv::ptr<T>(outa);
  std::atomic<int> bad{0};
  adv::parallel_items(P, O, [&](long p) {
    for (long o = 0; o < O; o++) {
      double v = idx[p * O + o];
      if (!(v >= 0) || v >= (double)S) { bad.store(1, std::memory_order_relaxed); out[p * O + o] = 0; continue; }
      out[p * O + o] = src[p * S + (long)v];
    }
  });
  return bad.load() ? adv::fail("gather_planes: an index is outside a plane of %ld elements", S) : 0;
}

inline int adv_gather_planes(int dt, long P, long S, long O, long src, long srcn, long idx, long idxn, long out,
                             long outn) {
  int rc = 0;
  const char* name = "gather_planes";
  ADV_CHECK_NONNEG(name, "planes", P);
  ADV_CHECK_POS(name, "plane size", S);
  ADV_CHECK_NONNEG(name, "outputs per plane", O);
  ADV_CHECK_BUF(name, "source", src, srcn, P * S);
  ADV_CHECK_BUF(name, "indices", idx, idxn, P * O);
  ADV_CHECK_BUF(name, "output", out, outn, P * O);
  if (rc) return rc;
  ADV_DISPATCH(name, dt, gather_planes_impl, P, S, O, src, idx, out);
}

// k x k median filter per plane with reflect-101 borders (OpenCV's medianBlur convention,
// BORDER_REFLECT_101), k odd. Used by the median-filter preprocessing defense.
template <class T> int median_impl(long P, long H, long W, long k, long xa, long ya) {
  const T* x = adv::ptr<const T>(xa);
  T* y = adv::ptr<T>(ya);
  const long r = k / 2;
  adv::parallel_for(P, [&](long p) {
    T* win = adv::scratch_row<T>(k * k);
    const T* xp = x + p * H * W;
    for (long h = 0; h < H; h++)
      for (long w = 0; w < W; w++) {
        long n = 0;
        for (long dh = -r; dh <= r; dh++) {
          long hh = h + dh;
          hh = hh < 0 ? -hh : (hh >= H ? 2 * H - 2 - hh : hh);
          hh = std::min(std::max(hh, 0L), H - 1);
          for (long dw = -r; dw <= r; dw++) {
            long ww = w + dw;
            ww = ww < 0 ? -ww : (ww >= W ? 2 * W - 2 - ww : ww);
            ww = std::min(std::max(ww, 0L), W - 1);
            win[n++] = xp[hh * W + ww];
          }
        }
        std::nth_element(win, win + n / 2, win + n);
        y[p * H * W + h * W + w] = win[n / 2];
      }
  });
  return 0;
}

inline int adv_median_filter(int dt, long P, long H, long W, long k, long x, long xn, long y, long yn) {
  int rc = 0;
  ADV_CHECK_NONNEG("median_filter", "planes", P);
  ADV_CHECK_POS("median_filter", "H", H);
  ADV_CHECK_POS("median_filter", "W", W);
  if (rc) return rc;
  if (k <= 0 || k % 2 == 0) return adv::fail("median_filter: kernel size %ld must be odd and positive", k);
  ADV_CHECK_BUF("median_filter", "input", x, xn, P * H * W);
  ADV_CHECK_BUF("median_filter", "output", y, yn, P * H * W);
  if (rc) return rc;
  ADV_DISPATCH("median_filter", dt, median_impl, P, H, W, k, x, y);
}
