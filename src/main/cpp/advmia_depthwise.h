// Depthwise convolution (groups == in_channels == out_channels: one KH x KW filter per channel)
// for any kernel size, stride, padding and dilation: forward, backward-data, backward-filter.
//
// The direct loop (one output at a time, a bounds check per tap) ran at ~2 GFLOP/s per thread
// (0.4-0.7 in JMH) and made MobileNetV2 half as fast as PyTorch; this runs at 14-20 GFLOP/s per
// thread on its 8x8 to 32x32 planes (benchmarks/cpp/depthwise_bench.sh, benchmarks/README.md). Here each input plane is first copied, zero-padded, into a
// scratch buffer cut into sh*sw "phase planes" of Hq x Q elements: padded pixel (r, c) goes to
// phase (r % sh, c % sw) at row r / sh, column c / sw. In that buffer, tap (kh, kw) of output
// (oh, ow) sits at flat position oh*Q + ow + off[kh][kw], off a constant per tap, for every stride
// and dilation. So a tap is one unit-stride run over the flat index j = oh*Q + ow, without bounds
// checks or strided loads (stride 2 becomes 4 planes, not a gather), and the taps of a block of
// outputs accumulate in vector registers. The Q - OW columns at the end of each row are computed
// and thrown away (6% of the work on a 32x32 plane, 33% on a 4x4 one): cheaper than separate
// border code, which on MobileNetV2's small planes would be most of the plane.
//
// The padding is multiplied like any input (as im2col + GEMM does), not skipped.
#pragma once
#include "advmia_conv_geom.h"
#include "advmia_gemm.h"

// DwVec<double> passed by value would change the ABI without AVX; these helpers are inline.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace adv {

// One AVX2 register of T (8 floats or 4 doubles). Written on GCC vectors rather than left to the
// auto-vectorizer so that a block's accumulators stay in registers across the tap loop, whose
// trip count is only known at run time.
template <class T> struct DwVecOf {
  typedef T type __attribute__((vector_size(32)));
};
template <class T> using DwVec = typename DwVecOf<T>::type;
template <class T> constexpr long dw_lanes() { return 32 / sizeof(T); }
template <class T> inline DwVec<T> dw_load(const T* p) {
  DwVec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T> inline void dw_store(T* p, const DwVec<T>& v) { std::memcpy(p, &v, sizeof v); }
template <class T> inline DwVec<T> dw_splat(T v) {
  DwVec<T> r;
  for (long l = 0; l < dw_lanes<T>(); l++) r[l] = v;
  return r;
}
inline long dw_round_up(long n, long m) { return (n + m - 1) / m * m; }

// Where everything lives in the phase-plane buffer of one geometry (see the file comment).
struct DwLayout {
  long Hq, Q, phases, plane, taps;
  std::vector<long> off;    // per tap kh*KW + kw: phase * plane + offset within the phase plane
  std::vector<long> local;  // per tap: the offset within its phase plane
  long span;                // the largest `local`
  long flat_out;            // OH * Q: the flat outputs computed per plane, thrown-away columns included
  long padded;              // buffer length: the phase planes plus what the last vector block reads past them
  std::vector<long> row_at, col_first, col_at;  // where dw_pack puts the pixels (see there)
};

inline DwLayout dw_layout(const ConvGeom& g, long lanes) {
  DwLayout d;
  d.Hq = (g.H + 2 * g.ph + g.sh - 1) / g.sh;
  d.Q = (g.W + 2 * g.pw + g.sw - 1) / g.sw;
  d.phases = g.sh * g.sw;
  d.plane = d.Hq * d.Q;
  d.taps = g.KH * g.KW;
  d.off.resize(d.taps);
  d.local.resize(d.taps);
  d.span = 0;
  long max_off = 0;
  for (long kh = 0; kh < g.KH; kh++)
    for (long kw = 0; kw < g.KW; kw++) {
      const long r = kh * g.dh, c = kw * g.dw, t = kh * g.KW + kw;
      d.local[t] = (r / g.sh) * d.Q + c / g.sw;
      d.off[t] = ((r % g.sh) * g.sw + c % g.sw) * d.plane + d.local[t];
      d.span = std::max(d.span, d.local[t]);
      max_off = std::max(max_off, d.off[t]);
    }
  d.flat_out = g.OH * d.Q;
  d.padded = std::max(d.phases * d.plane, dw_round_up(d.flat_out, lanes) + max_off) + lanes;
  d.row_at.resize(g.H);
  for (long ih = 0; ih < g.H; ih++) {
    const long r = ih + g.ph;
    d.row_at[ih] = (r % g.sh) * g.sw * d.plane + (r / g.sh) * d.Q + (g.sw == 1 ? g.pw : 0);
  }
  d.col_first.resize(g.sw);
  d.col_at.resize(g.sw);
  for (long b = 0; b < g.sw; b++) {
    d.col_first[b] = ((b - g.pw) % g.sw + g.sw) % g.sw;  // the first column with (iw + pw) % sw == b
    d.col_at[b] = b * d.plane + (d.col_first[b] + g.pw) / g.sw;
  }
  return d;
}

// Stride 2 (MobileNetV2's down-sampling layers): splitting a row into its even and odd columns
// one pixel at a time took longer than the convolution of the plane; two loads and two
// shuffles split 2L pixels.
template <class T> struct DwMaskOf;
template <> struct DwMaskOf<float> {
  typedef int32_t type __attribute__((vector_size(32)));
};
template <> struct DwMaskOf<double> {
  typedef int64_t type __attribute__((vector_size(32)));
};

// ev[k] = src[2k], od[k] = src[2k + 1] over a row of W pixels.
template <class T> inline void dw_split2(const T* src, long W, T* ev, T* od) {
  constexpr long L = dw_lanes<T>();
  using M = typename DwMaskOf<T>::type;
  M me, mo;
  if constexpr (L == 8) {
    me = (M){0, 2, 4, 6, 8, 10, 12, 14};
    mo = (M){1, 3, 5, 7, 9, 11, 13, 15};
  } else {
    me = (M){0, 2, 4, 6};
    mo = (M){1, 3, 5, 7};
  }
  long k = 0;
  for (; 2 * k + 2 * L <= W; k += L) {
    const DwVec<T> a = dw_load(src + 2 * k), b = dw_load(src + 2 * k + L);
    dw_store(ev + k, __builtin_shuffle(a, b, me));
    dw_store(od + k, __builtin_shuffle(a, b, mo));
  }
  for (long iw = 2 * k; iw < W; iw += 2) ev[iw >> 1] = src[iw];
  for (long iw = 2 * k + 1; iw < W; iw += 2) od[iw >> 1] = src[iw];
}

// The inverse: dst[2k] = ev[k], dst[2k + 1] = od[k].
template <class T> inline void dw_merge2(const T* ev, const T* od, long W, T* dst) {
  constexpr long L = dw_lanes<T>();
  using M = typename DwMaskOf<T>::type;
  M lo, hi;
  if constexpr (L == 8) {
    lo = (M){0, 8, 1, 9, 2, 10, 3, 11};
    hi = (M){4, 12, 5, 13, 6, 14, 7, 15};
  } else {
    lo = (M){0, 4, 1, 5};
    hi = (M){2, 6, 3, 7};
  }
  long k = 0;
  for (; 2 * k + 2 * L <= W; k += L) {
    const DwVec<T> e = dw_load(ev + k), o = dw_load(od + k);
    dw_store(dst + 2 * k, __builtin_shuffle(e, o, lo));
    dw_store(dst + 2 * k + L, __builtin_shuffle(e, o, hi));
  }
  for (long iw = 2 * k; iw < W; iw += 2) dst[iw] = ev[iw >> 1];
  for (long iw = 2 * k + 1; iw < W; iw += 2) dst[iw] = od[iw >> 1];
}

// Copies one input plane into the phase-plane buffer P, whose padding (and the positions no
// pixel maps to) the caller has zeroed; the positions written are the same for every plane.
// Input row ih starts at P + row_at[ih]; with stride sw > 1 its columns iw = col_first[b],
// col_first[b] + sw, ... go to consecutive positions from col_at[b] on (phase b of the row). These
// are precomputed because a division per row, let alone per pixel, costs more than a small
// plane's convolution.
template <class T> void dw_pack(const ConvGeom& g, const DwLayout& d, const T* x, T* P) {
  for (long ih = 0; ih < g.H; ih++) {
    T* prow = P + d.row_at[ih];
    const T* xr = x + ih * g.W;
    if (g.sw == 1) {
      for (long iw = 0; iw < g.W; iw++) prow[iw] = xr[iw];
      continue;
    }
    if (g.sw == 2) {  // column 0 lands in phase pw % 2, column 1 in the other
      const long be = g.pw & 1;
      dw_split2(xr, g.W, prow + d.col_at[be], prow + d.col_at[1 - be]);
      continue;
    }
    for (long b = 0; b < g.sw; b++) {
      T* dst = prow + d.col_at[b];
      for (long iw = d.col_first[b], q = 0; iw < g.W; iw += g.sw, q++) dst[q] = xr[iw];
    }
  }
}

// The inverse of dw_pack: reads one plane's pixels back out of the buffer.
template <class T> void dw_unpack(const ConvGeom& g, const DwLayout& d, const T* P, T* x) {
  for (long ih = 0; ih < g.H; ih++) {
    const T* prow = P + d.row_at[ih];
    T* xr = x + ih * g.W;
    if (g.sw == 1) {
      for (long iw = 0; iw < g.W; iw++) xr[iw] = prow[iw];
      continue;
    }
    if (g.sw == 2) {
      const long be = g.pw & 1;
      dw_merge2(prow + d.col_at[be], prow + d.col_at[1 - be], g.W, xr);
      continue;
    }
    for (long b = 0; b < g.sw; b++) {
      const T* src = prow + d.col_at[b];
      for (long iw = d.col_first[b], q = 0; iw < g.W; iw += g.sw, q++) xr[iw] = src[q];
    }
  }
}

// out[j..j+NV*L) = init + sum_k wt[k] * src[j + off[k] ..], NV vectors held in registers.
// NV = 8 keeps 8 independent FMA chains in flight (latency 4, two issued per cycle).
template <class T, int NV> inline void dw_taps_block(T* out, const T* src, const long* off, const T* wt, long taps,
                                                     T init) {
  constexpr long L = dw_lanes<T>();
  DwVec<T> acc[NV];
  const DwVec<T> iv = dw_splat(init);
  for (int v = 0; v < NV; v++) acc[v] = iv;
  for (long k = 0; k < taps; k++) {
    const T* s = src + off[k];
    const DwVec<T> wv = dw_splat(wt[k]);
    for (int v = 0; v < NV; v++) acc[v] += wv * dw_load(s + v * L);
  }
  for (int v = 0; v < NV; v++) dw_store(out + v * L, acc[v]);
}

// out[j] = init + sum_k wt[k] * src[j + off[k]] for j in [0, n) rounded up to a whole vector: out
// and src must have room for that rounding.
template <class T> void dw_taps(T* out, long n, const T* src, const long* off, const T* wt, long taps, T init) {
  constexpr long L = dw_lanes<T>();
  long j = 0;
  for (; j + 8 * L <= n; j += 8 * L) dw_taps_block<T, 8>(out + j, src + j, off, wt, taps, init);
  if (j + 4 * L <= n) {
    dw_taps_block<T, 4>(out + j, src + j, off, wt, taps, init);
    j += 4 * L;
  }
  if (j + 2 * L <= n) {
    dw_taps_block<T, 2>(out + j, src + j, off, wt, taps, init);
    j += 2 * L;
  }
  for (; j < n; j += L) dw_taps_block<T, 1>(out + j, src + j, off, wt, taps, init);
}

// acc[k] += g[j] * src[j + off[k]] lane-wise over j in [0, n) (n a multiple of L), NT taps at once
// so that each load of g serves NT FMAs.
template <class T, int NT> inline void dw_dots_n(const T* g, long n, const T* src, const long* off, DwVec<T>* acc) {
  constexpr long L = dw_lanes<T>();
  DwVec<T> a[NT];
  const T* s[NT];
  for (int k = 0; k < NT; k++) {
    a[k] = acc[k];
    s[k] = src + off[k];
  }
  for (long j = 0; j < n; j += L) {
    const DwVec<T> gv = dw_load(g + j);
    for (int k = 0; k < NT; k++) a[k] += gv * dw_load(s[k] + j);
  }
  for (int k = 0; k < NT; k++) acc[k] = a[k];
}

template <class T> void dw_dots(const T* g, long n, const T* src, const long* off, long taps, DwVec<T>* acc) {
  for (long k0 = 0; k0 < taps; k0 += 9) {
    const long* o = off + k0;
    DwVec<T>* a = acc + k0;
    switch (std::min(9L, taps - k0)) {
      case 1: dw_dots_n<T, 1>(g, n, src, o, a); break;
      case 2: dw_dots_n<T, 2>(g, n, src, o, a); break;
      case 3: dw_dots_n<T, 3>(g, n, src, o, a); break;
      case 4: dw_dots_n<T, 4>(g, n, src, o, a); break;
      case 5: dw_dots_n<T, 5>(g, n, src, o, a); break;
      case 6: dw_dots_n<T, 6>(g, n, src, o, a); break;
      case 7: dw_dots_n<T, 7>(g, n, src, o, a); break;
      case 8: dw_dots_n<T, 8>(g, n, src, o, a); break;
      default: dw_dots_n<T, 9>(g, n, src, o, a); break;
    }
  }
}

// Asks for the next plane while this one is computed: a plane is at most a few pages, so the
// hardware prefetcher, which stops at page boundaries, would start on each one cold.
template <class T> inline void dw_prefetch(const T* p, long n, bool write = false) {
  constexpr long step = 64 / sizeof(T);
  if (write)
    for (long i = 0; i < n; i += step) __builtin_prefetch(p + i, 1);
  else
    for (long i = 0; i < n; i += step) __builtin_prefetch(p + i, 0);
}

// ---- Tiny planes: channels in the vector lanes --------------------------------------------
// On planes of 16 outputs or fewer (MobileNetV2's 4x4 layers and its 8x8 -> 4x4 stride-2 layer)
// the flat runs above are 1-3 vectors long and per-plane overhead dominates (~150 cycles for 288
// flops; 3-6 GFLOP/s). There, L neighbouring channels of one image (consecutive planes in
// memory) are staged channels-last in a zero-padded buffer, one vector per padded pixel, so each
// tap of each output is one vector FMA with the L channels' weights, for any stride and
// dilation, without bounds checks; results are scattered back to the planes. On 8x8 outputs the
// scalar staging and scatter cost more than they save (MobileNetV2's 384-channel 8x8 layer,
// one thread: 1.8 -> 3.1 ms forward), hence the limit of 16 outputs.
inline bool dw_use_lanes(const ConvGeom& g) { return g.OHW() <= 16 && g.HW() <= 64; }

struct DwLanes {
  long Hp, Wp, taps, npix;  // padded plane, taps, outputs rounded up to whole groups of 8
  std::vector<long> toff;   // per tap: offset of its pixel from the output's window corner
  std::vector<long> pbase;  // per output (npix of them): its window corner (0 for the padding)
};

inline DwLanes dw_lanes_layout(const ConvGeom& g) {
  DwLanes d;
  d.Hp = g.H + 2 * g.ph;
  d.Wp = g.W + 2 * g.pw;
  d.taps = g.KH * g.KW;
  d.toff.resize(d.taps);
  for (long kh = 0; kh < g.KH; kh++)
    for (long kw = 0; kw < g.KW; kw++) d.toff[kh * g.KW + kw] = kh * g.dh * d.Wp + kw * g.dw;
  d.npix = dw_round_up(g.OHW(), 8);
  d.pbase.assign(d.npix, 0);
  for (long oh = 0; oh < g.OH; oh++)
    for (long ow = 0; ow < g.OW; ow++) d.pbase[oh * g.OW + ow] = oh * g.sh * d.Wp + ow * g.sw;
  return d;
}

// buf[((ih + ph) * Wp + iw + pw) * L + ch] = x[ch][ih][iw] for the cn (<= L) planes from x on.
template <class T> inline void dw_lanes_stage(const ConvGeom& g, const DwLanes& d, const T* x, long cn, T* buf) {
  constexpr long L = dw_lanes<T>();
  for (long ch = 0; ch < cn; ch++) {
    const T* xp = x + ch * g.HW();
    for (long ih = 0; ih < g.H; ih++) {
      T* row = buf + ((ih + g.ph) * d.Wp + g.pw) * L + ch;
      for (long iw = 0; iw < g.W; iw++) row[iw * L] = xp[ih * g.W + iw];
    }
  }
}

// out[s*L ..] = init + sum_t wv[t] * buf[(pbase[s] + toff[t]) * L ..] for the npix outputs, 8 at a
// time so that 8 independent FMA chains hide the latency.
template <class T> inline void dw_lanes_taps(const DwLanes& d, const T* buf, const DwVec<T>* wv, DwVec<T> init,
                                             T* out) {
  constexpr long L = dw_lanes<T>();
  for (long s0 = 0; s0 < d.npix; s0 += 8) {
    DwVec<T> acc[8];
    const T* base[8];
    for (int i = 0; i < 8; i++) {
      acc[i] = init;
      base[i] = buf + d.pbase[s0 + i] * L;
    }
    for (long t = 0; t < d.taps; t++) {
      const long o = d.toff[t] * L;
      for (int i = 0; i < 8; i++) acc[i] += wv[t] * dw_load(base[i] + o);
    }
    for (int i = 0; i < 8; i++) dw_store(out + (s0 + i) * L, acc[i]);
  }
}

// Items are (image, block of L channels); lanes past C in the last block compute on stale data
// and are never stored.
template <class T> void depthwise_fwd_lanes(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  constexpr long L = dw_lanes<T>();
  const DwLanes d = dw_lanes_layout(g);
  const long taps = d.taps, blocks = (g.C + L - 1) / L, OHW = g.OHW(), HW = g.HW();
  const long blen = d.Hp * d.Wp * L + L;
  parallel_items(g.N * blocks, L * OHW * taps, [&](long item) {
    const long n = item / blocks, c0 = (item % blocks) * L, cn = std::min(L, g.C - c0);
    T* buf = scratch<T>(0, blen);
    T* out = scratch<T>(1, d.npix * L);
    DwVec<T>* wv = scratch<DwVec<T>>(2, taps);
    // Items of a thread's run reuse the buffer: only its padding must be zero, and the staged
    // pixels overwrite the rest. Zeroing it per item costs less than tracking which run it is.
    std::fill(buf, buf + blen, (T)0);
    for (long t = 0; t < taps; t++)
      for (long l = 0; l < L; l++) wv[t][l] = l < cn ? w[(c0 + l) * taps + t] : (T)0;
    DwVec<T> bias = (DwVec<T>){};
    if (b)
      for (long l = 0; l < cn; l++) bias[l] = b[c0 + l];
    dw_lanes_stage(g, d, x + (n * g.C + c0) * HW, cn, buf);
    dw_lanes_taps(d, buf, wv, bias, out);
    for (long ch = 0; ch < cn; ch++) {
      T* yp = y + (n * g.C + c0 + ch) * OHW;
      for (long s = 0; s < OHW; s++) yp[s] = out[s * L + ch];
    }
  });
}

// The adjoint: each output's gradient (L channels) is scattered into the padded buffer through
// its taps, then the interior is copied back out.
template <class T> void depthwise_bwd_data_lanes(const ConvGeom& g, const T* gy, const T* w, T* gx) {
  constexpr long L = dw_lanes<T>();
  const DwLanes d = dw_lanes_layout(g);
  const long taps = d.taps, blocks = (g.C + L - 1) / L, OHW = g.OHW(), HW = g.HW();
  const long blen = d.Hp * d.Wp * L + L;
  parallel_items(g.N * blocks, L * OHW * taps, [&](long item) {
    const long n = item / blocks, c0 = (item % blocks) * L, cn = std::min(L, g.C - c0);
    T* buf = scratch<T>(0, blen);
    T* gv = scratch<T>(1, d.npix * L);
    DwVec<T>* wv = scratch<DwVec<T>>(2, taps);
    std::fill(buf, buf + blen, (T)0);
    for (long t = 0; t < taps; t++)
      for (long l = 0; l < L; l++) wv[t][l] = l < cn ? w[(c0 + l) * taps + t] : (T)0;
    for (long ch = 0; ch < cn; ch++) {
      const T* gp = gy + (n * g.C + c0 + ch) * OHW;
      for (long s = 0; s < OHW; s++) gv[s * L + ch] = gp[s];
    }
    for (long s = 0; s < OHW; s++) {
      const DwVec<T> v = dw_load(gv + s * L);
      T* base = buf + d.pbase[s] * L;
      for (long t = 0; t < taps; t++) {
        T* q = base + d.toff[t] * L;
        dw_store(q, dw_load(q) + wv[t] * v);
      }
    }
    for (long ch = 0; ch < cn; ch++) {
      T* gp = gx + (n * g.C + c0 + ch) * HW;
      for (long ih = 0; ih < g.H; ih++) {
        const T* row = buf + ((ih + g.ph) * d.Wp + g.pw) * L + ch;
        for (long iw = 0; iw < g.W; iw++) gp[ih * g.W + iw] = row[iw * L];
      }
    }
  });
}

// Filter gradient: per block of L channels, acc[t] += gy[s] * x-window[s, t] over outputs and
// images, 4 partial sums per tap (independent FMA chains), flushed into float64 every few hundred
// terms per lane; images split into fixed parts (summed in order) when there are few blocks.
template <class T> void depthwise_bwd_filter_lanes(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  constexpr long L = dw_lanes<T>();
  const DwLanes d = dw_lanes_layout(g);
  const long taps = d.taps, blocks = (g.C + L - 1) / L, OHW = g.OHW(), HW = g.HW(), N = g.N, C = g.C;
  const long threads = pool_threads();
  const long parts = blocks >= 4 * threads ? 1 : std::max(1L, std::min(N, (4 * threads + blocks - 1) / blocks));
  const long blen = d.Hp * d.Wp * L + L;
  const long flush = std::max(1L, 256 / OHW);  // images between flushes into float64
  std::vector<double> sums(parts * C * taps, 0.0);
  parallel_items(blocks * parts, (N / parts + 1) * L * OHW * taps, [&](long item) {
    const long c0 = (item % blocks) * L, cn = std::min(L, C - c0), part = item / blocks;
    const long n0 = part * N / parts, n1 = (part + 1) * N / parts;
    T* buf = scratch<T>(0, blen);
    T* gv = scratch<T>(1, d.npix * L);
    std::vector<DwVec<T>> acc(taps);
    std::fill(buf, buf + blen, (T)0);
    std::fill(gv, gv + d.npix * L, (T)0);
    auto drain = [&]() {
      for (long t = 0; t < taps; t++) {
        for (long l = 0; l < cn; l++) sums[(part * C + c0 + l) * taps + t] += acc[t][l];
        acc[t] = (DwVec<T>){};
      }
    };
    for (long n = n0; n < n1; n++) {
      dw_lanes_stage(g, d, x + (n * C + c0) * HW, cn, buf);
      for (long ch = 0; ch < cn; ch++) {
        const T* gp = gy + (n * C + c0 + ch) * OHW;
        for (long s = 0; s < OHW; s++) gv[s * L + ch] = gp[s];
      }
      // Outputs past OHW (up to npix) have gv == 0 and read the buffer's start: they add zeros.
      for (long t = 0; t < taps; t++) {
        DwVec<T> a[4] = {acc[t], (DwVec<T>){}, (DwVec<T>){}, (DwVec<T>){}};
        const long o = d.toff[t] * L;
        for (long s = 0; s < d.npix; s += 4)
          for (int i = 0; i < 4; i++) a[i] += dw_load(gv + (s + i) * L) * dw_load(buf + d.pbase[s + i] * L + o);
        acc[t] = (a[0] + a[1]) + (a[2] + a[3]);
      }
      if ((n - n0 + 1) % flush == 0) drain();
    }
    drain();
  });
  parallel_items(C, parts * taps, [&](long c) {
    for (long k = 0; k < taps; k++) {
      double v = 0;
      for (long part = 0; part < parts; part++) v += sums[(part * C + c) * taps + k];
      gw[c * taps + k] = (T)v;
    }
  });
}

// Planes per parallel block: about kParallelGrain elements of work each, as parallel_items does.
inline long dw_grain(const ConvGeom& g) { return std::max(1L, kParallelGrain / std::max(1L, g.OHW() * g.KH * g.KW)); }

template <class T> void depthwise_fwd(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  if (dw_use_lanes(g)) return depthwise_fwd_lanes(g, x, w, b, y);
  constexpr long L = dw_lanes<T>();
  const DwLayout d = dw_layout(g, L);
  const long taps = d.taps, Q = d.Q, OW = g.OW, HW = g.HW(), OHW = g.OHW(), planes = g.N * g.C;
  parallel_range(planes, dw_grain(g), [&](long p0, long p1) {
    T* P = scratch<T>(0, d.padded);
    T* O = scratch<T>(1, dw_round_up(d.flat_out, L));
    std::fill(P, P + d.padded, (T)0);
    for (long p = p0; p < p1; p++) {
      const long c = p % g.C;
      if (p + 1 < planes) {
        dw_prefetch(x + (p + 1) * HW, HW);
        dw_prefetch(y + (p + 1) * OHW, OHW, true);
      }
      dw_pack(g, d, x + p * HW, P);
      dw_taps(O, d.flat_out, P, d.off.data(), w + c * taps, taps, b ? b[c] : (T)0);
      T* yp = y + p * OHW;
      for (long oh = 0; oh < g.OH; oh++)
        for (long ow = 0; ow < OW; ow++) yp[oh * OW + ow] = O[oh * Q + ow];
    }
  });
}

// The adjoint of depthwise_fwd, computed as a gather so that it vectorizes like the forward:
// with gy laid out on the flat index (zero in the thrown-away columns and outside), the
// gradient of phase plane p at position m is sum over the taps t in that phase of
// w[t] * gy_flat[m - local[t]]; the input gradient is then unpacked from the phase planes.
template <class T> void depthwise_bwd_data(const ConvGeom& g, const T* gy, const T* w, T* gx) {
  if (dw_use_lanes(g)) return depthwise_bwd_data_lanes(g, gy, w, gx);
  constexpr long L = dw_lanes<T>();
  const DwLayout d = dw_layout(g, L);
  const long taps = d.taps, Q = d.Q, OW = g.OW, F = d.span, HW = g.HW(), OHW = g.OHW(), planes = g.N * g.C;
  // Taps grouped by phase, each with its offset into the gradient buffer G (gy_flat shifted by F).
  std::vector<long> order, goff, begin(d.phases + 1, 0);
  for (long ph = 0; ph < d.phases; ph++) {
    begin[ph] = (long)order.size();
    for (long t = 0; t < taps; t++)
      if (d.off[t] - d.local[t] == ph * d.plane) {
        order.push_back(t);
        goff.push_back(F - d.local[t]);
      }
  }
  begin[d.phases] = taps;
  const long glen = F + d.plane + L, plen = d.phases * d.plane + L;
  parallel_range(planes, dw_grain(g), [&](long p0, long p1) {
    T* G = scratch<T>(0, glen);
    T* Pg = scratch<T>(1, plen);
    T* wt = scratch<T>(2, taps);
    std::fill(G, G + glen, (T)0);
    for (long p = p0; p < p1; p++) {
      const long c = p % g.C;
      if (p + 1 < planes) {
        dw_prefetch(gy + (p + 1) * OHW, OHW);
        dw_prefetch(gx + (p + 1) * HW, HW, true);
      }
      const T* gp = gy + p * OHW;
      for (long oh = 0; oh < g.OH; oh++)
        for (long ow = 0; ow < OW; ow++) G[F + oh * Q + ow] = gp[oh * OW + ow];
      for (long k = 0; k < taps; k++) wt[k] = w[c * taps + order[k]];
      // In phase order: a plane's vector rounding spills into the start of the next one, which
      // is then computed (or zeroed) over it.
      for (long ph = 0; ph < d.phases; ph++) {
        T* out = Pg + ph * d.plane;
        const long k0 = begin[ph], nk = begin[ph + 1] - k0;
        if (nk == 0) std::fill(out, out + d.plane, (T)0);  // a stride larger than the kernel's reach
        else dw_taps(out, d.plane, G, goff.data() + k0, wt + k0, nk, (T)0);
      }
      dw_unpack(g, d, Pg, gx + p * HW);
    }
  });
}

// Per channel, sum over images of the dot products of gy_flat with each tap's shifted input
// run. Lane-wise partial sums in T are flushed into float64 every few hundred terms per lane, so
// a float32 filter gradient over a whole batch (64K terms per tap at 32x32) keeps its accuracy.
// A work item is a block of neighbouring channels over a range of images, visited image-major so
// that it reads runs of cb consecutive planes: one channel's planes of successive images lie
// C*H*W apart, and on 4x4 and 8x8 planes that stride made the kernel wait on memory (2x slower).
// With fewer blocks than the threads can share, the images are split into fixed parts whose sums
// are added in part order, so the result does not depend on which thread ran what.
template <class T> void depthwise_bwd_filter(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  if (dw_use_lanes(g)) return depthwise_bwd_filter_lanes(g, x, gy, gw);
  constexpr long L = dw_lanes<T>();
  const DwLayout d = dw_layout(g, L);
  const long taps = d.taps, Q = d.Q, OW = g.OW, C = g.C, N = g.N, HW = g.HW(), OHW = g.OHW();
  const long threads = pool_threads();
  const long cb = std::max(1L, std::min(2048 / HW, (C + 4 * threads - 1) / (4 * threads)));
  const long blocks = (C + cb - 1) / cb;
  const long parts = blocks >= 4 * threads ? 1 : std::max(1L, std::min(N, (4 * threads + blocks - 1) / blocks));
  const long glen = dw_round_up(d.flat_out, L);
  const long flush = std::max(1L, 256 * L / glen);  // images between flushes into float64
  std::vector<double> sums(parts * C * taps, 0.0);
  parallel_items(blocks * parts, (N / parts + 1) * cb * OHW * taps, [&](long item) {
    const long c0 = (item % blocks) * cb, c1 = std::min(C, c0 + cb), part = item / blocks;
    const long n0 = part * N / parts, n1 = (part + 1) * N / parts;
    T* P = scratch<T>(0, d.padded);
    T* G = scratch<T>(1, glen);
    std::vector<DwVec<T>> acc((c1 - c0) * taps);
    std::fill(P, P + d.padded, (T)0);
    std::fill(G, G + glen, (T)0);
    auto drain = [&]() {
      for (long c = c0; c < c1; c++) {
        double* s = sums.data() + (part * C + c) * taps;
        for (long k = 0; k < taps; k++) {
          DwVec<T>& a = acc[(c - c0) * taps + k];
          double v = 0;
          for (long l = 0; l < L; l++) v += a[l];
          s[k] += v;
          a = (DwVec<T>){};
        }
      }
    };
    for (long n = n0; n < n1; n++) {
      for (long c = c0; c < c1; c++) {
        const long p = n * C + c;
        const long q = c + 1 < c1 ? p + 1 : p + C - (c1 - c0) + 1;  // the next plane this item reads
        if (q < N * C) {
          dw_prefetch(x + q * HW, HW);
          dw_prefetch(gy + q * OHW, OHW);
        }
        dw_pack(g, d, x + p * HW, P);
        const T* gp = gy + p * OHW;
        for (long oh = 0; oh < g.OH; oh++)
          for (long ow = 0; ow < OW; ow++) G[oh * Q + ow] = gp[oh * OW + ow];
        dw_dots(G, glen, P, d.off.data(), taps, acc.data() + (c - c0) * taps);
      }
      if ((n - n0 + 1) % flush == 0) drain();
    }
    drain();
  });
  parallel_items(C, parts * taps, [&](long c) {
    for (long k = 0; k < taps; k++) {
      double v = 0;
      for (long part = 0; part < parts; part++) v += sums[(part * C + c) * taps + k];
      gw[c * taps + k] = (T)v;
    }
  });
}

}  // namespace adv
