// 2-D convolution (stride, padding, dilation, groups) as im2col + GEMM over chunks of images,
// with a direct kernel for depthwise convolutions (advmia_depthwise.h), where a GEMM of K = 9 would be
// mostly overhead.
// 3x3 stride-1 layers go through Winograd F(2x2, 3x3) (advmia_winograd.h) or F(4x4, 3x3)
// (advmia_winograd4.h) where that is faster, chosen per layer and direction (wino4_wins_*).
// Transposed convolution needs no kernels of its own: its forward is this backward-data.
#pragma once
#include "advmia_gemm.h"
#include "advmia_winograd_kernels.h"
#include "advmia_spatial.h"
#include "advmia_conv_geom.h"
#include "advmia_depthwise.h"

namespace adv {

// How a convolution is cut into GEMMs. The column buffer (K rows, one column per output
// pixel) should stay in L2 (2 MB here) while each GEMM keeps at least ADV_CONV_MIN_COLS columns,
// below which OpenBLAS runs thin. So: images whose columns exceed ADV_CONV_COL_BUDGET elements are
// cut into equal tiles of output rows (if the tiles keep >= ADV_CONV_MIN_COLS columns); smaller
// images are batched, `nb` per GEMM, up to the budget or up to ADV_CONV_MIN_COLS columns,
// whichever is more. Measured (one thread, CPU ms for forward / backward-data / backward-filter;
// see benchmarks/README.md): ResNet-18's 64-channel layer (K = 576, 1024 pixels) 50 / 44 / 52 with
// whole images and 45 / 43 / 48 in tiles; SmallCNN's conv2 (K = 288, 576 pixels) is fastest one
// image at a time; a 512-channel 4x4 layer needs >= 256 columns (16 images) or it runs 3x slower.
#ifndef ADV_CONV_COL_BUDGET
#define ADV_CONV_COL_BUDGET (256L * 1024)
#endif
#ifndef ADV_CONV_MIN_COLS
#define ADV_CONV_MIN_COLS 256L
#endif

struct ConvPlan {
  long nb;      // images per chunk
  long rows;    // output rows per GEMM when nb == 1 (== OH: whole images)
  long chunks;  // ceil(N / nb)
};

inline ConvPlan conv_plan(const ConvGeom& g) {
  const long K = g.K(), OHW = g.OHW(), N = std::max(1L, g.N), colsz = K * OHW;
  ConvPlan p{1, g.OH, 0};
  if (colsz > ADV_CONV_COL_BUDGET && OHW >= 2 * ADV_CONV_MIN_COLS && !g.pointwise()) {
    long tiles = std::min((colsz + ADV_CONV_COL_BUDGET - 1) / ADV_CONV_COL_BUDGET, OHW / ADV_CONV_MIN_COLS);
    tiles = std::min(tiles, g.OH);
    p.rows = (g.OH + tiles - 1) / tiles;
  } else {
    // Thin-K layers (a network's first convolution: K = C*KH*KW = 9 or 27) do too little work
    // per output element to pay for batching's extra copy of the output: only reach MIN_COLS.
    long by_cache = K < 64 ? 0 : ADV_CONV_COL_BUDGET / colsz;
    long by_cols = (ADV_CONV_MIN_COLS + OHW - 1) / OHW;
    p.nb = std::min(N, std::max(1L, std::max(by_cache, by_cols)));
  }
  // With few chunks, even them out so that no thread gets one more than the others.
  const long threads = pool_threads();
  p.chunks = (N + p.nb - 1) / p.nb;
  if (threads > 1 && p.chunks > threads && p.chunks < 4 * threads) {
    long c = (p.chunks + threads - 1) / threads * threads;
    p.nb = (N + c - 1) / c;
    p.chunks = (N + p.nb - 1) / p.nb;
  }
  return p;
}

// A pointwise (1x1) convolution is one GEMM per image over its OHW pixels. OpenBLAS packs the
// whole right-hand operand (an image's channels x pixels) on every call, which for few output
// channels costs more than the multiplies (MobileNetV2's 144 -> 24 projection: `sgemm_itcopy` 38 %
// of its forward); in blocks of kPointwiseCols columns it takes its small-matrix path instead.
// Measured (one thread, 16 images): 24x1024x144 68 -> 97 GFLOP/s, 32x1024x192 59 -> 97,
// 144x1024x24 90 -> 117, 192x256x32 106 -> 140, never slower (benchmarks/README.md). Each block is
// one whole GEMM on one thread, so results do not depend on the thread count.
constexpr long kPointwiseCols = 128;
template <class T> void pointwise_gemm(bool parallel, bool ta, long M, long N, long K, const T* A, long lda,
                                       const T* B, long ldb, T* C, long ldc) {
  const long blocks = (N + kPointwiseCols - 1) / kPointwiseCols;
  parallel_for(blocks, [&](long j) {
    const long s = j * kPointwiseCols;
    gemm_serial<T>(ta, false, M, std::min(kPointwiseCols, N - s), K, (T)1, A, lda, B + s, ldb, (T)0, C + s, ldc);
  }, parallel && blocks > 1);
}

// The output columns ow in [*lo, *hi) whose input column iw0 + ow * sw lies inside [0, W);
// the others read padding. Lets im2col and col2im run branch-free (vectorizable) inner loops.
inline void valid_cols(const ConvGeom& g, long iw0, long* lo, long* hi) {
  long l = iw0 >= 0 ? 0 : (-iw0 + g.sw - 1) / g.sw;
  long h = g.W - 1 - iw0 < 0 ? 0 : (g.W - 1 - iw0) / g.sw + 1;
  l = std::min(l, g.OW);
  *lo = l;
  *hi = std::max(l, std::min(h, g.OW));
}

// Stride 1 with output width == input width ("same" padding, e.g. every 3x3 pad-1 conv of
// ResNet): consecutive output rows of one kernel tap read consecutive input rows at a fixed
// column shift, so a tap's columns are one contiguous copy of the input plane. Measured
// (one thread, non-GEMM time of ResNet-18's convolutions): see benchmarks/README.md.
inline bool same_width(const ConvGeom& g) {
  return g.sh == 1 && g.sw == 1 && g.OW == g.W && std::abs(g.dw * (g.KW - 1) - g.pw) < g.W && g.pw < g.W;
}

// Output rows [*a, *b) within [oh0, oh1) whose input row for tap kh is inside the image (stride 1).
inline void valid_rows(const ConvGeom& g, long kh, long oh0, long oh1, long* a, long* b) {
  const long off = kh * g.dh - g.ph;  // ih = oh + off
  *a = std::min(oh1, std::max(oh0, -off));
  *b = std::min(oh1, g.H - off);
  if (*b < *a) *b = *a;
}

// col[(c*KH+kh)*KW+kw, col0 + (oh-oh0)*OW+ow] = x[c0+c, ih, iw] (0 outside), for one image's
// output rows [oh0, oh1).
template <class T> void im2col(const ConvGeom& g, const T* x, long c0, T* col, long ldcol, long col0, long oh0,
                               long oh1) {
  const long Cg = g.Cg(), OW = g.OW, sw = g.sw;
  for (long c = 0; c < Cg; c++) {
    const T* xc = x + (c0 + c) * g.HW();
    for (long kh = 0; kh < g.KH; kh++)
      for (long kw = 0; kw < g.KW; kw++) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * ldcol + col0;
        const long iw0 = kw * g.dw - g.pw;
        long lo, hi;
        valid_cols(g, iw0, &lo, &hi);
        if (same_width(g)) {
          // Rows [a, b) read input rows a - ph + kh*dh ...: one contiguous block shifted by iw0,
          // copied at once; the columns that wrapped into a neighbouring row are then zeroed.
          long a, b;
          valid_rows(g, kh, oh0, oh1, &a, &b);
          std::fill(row, row + (a - oh0) * OW, (T)0);
          std::fill(row + (b - oh0) * OW, row + (oh1 - oh0) * OW, (T)0);
          if (a >= b) continue;
          T* dst = row + (a - oh0) * OW;
          const T* src = xc + (a - g.ph + kh * g.dh) * g.W + iw0;
          std::memcpy(dst + lo, src + lo, sizeof(T) * ((b - a) * OW - lo - (OW - hi)));
          if (lo > 0 || hi < OW)
            for (long r = 0; r < b - a; r++) {
              for (long ow = 0; ow < lo; ow++) dst[r * OW + ow] = 0;
              for (long ow = hi; ow < OW; ow++) dst[r * OW + ow] = 0;
            }
          continue;
        }
        for (long oh = oh0; oh < oh1; oh++) {
          const long ih = oh * g.sh - g.ph + kh * g.dh;
          T* out = row + (oh - oh0) * OW;
          if (ih < 0 || ih >= g.H) {
            std::fill(out, out + OW, (T)0);
            continue;
          }
          const T* xr = xc + ih * g.W + iw0;
          for (long ow = 0; ow < lo; ow++) out[ow] = 0;
          if (sw == 1) {
            std::memcpy(out + lo, xr + lo, sizeof(T) * (hi - lo));  // beat the vectorized loop by ~10%
          } else {
            for (long ow = lo; ow < hi; ow++) out[ow] = xr[ow * sw];
          }
          for (long ow = hi; ow < OW; ow++) out[ow] = 0;
        }
      }
  }
}

// The adjoint of im2col: accumulates the columns of output rows [oh0, oh1) back into one
// image's channels [c0, c0+Cg).
// (col is scratch: the same-width path zeroes its padding taps in place.)
template <class T> void col2im(const ConvGeom& g, T* col, long ldcol, long col0, T* x, long c0, long oh0, long oh1) {
  const long Cg = g.Cg(), OW = g.OW, sw = g.sw;
  for (long c = 0; c < Cg; c++) {
    T* xc = x + (c0 + c) * g.HW();
    for (long kh = 0; kh < g.KH; kh++)
      for (long kw = 0; kw < g.KW; kw++) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * ldcol + col0;
        const long iw0 = kw * g.dw - g.pw;
        long lo, hi;
        valid_cols(g, iw0, &lo, &hi);
        if (same_width(g)) {
          // As in im2col: zero the taps that fall in the padding, then one contiguous add.
          long a, b;
          valid_rows(g, kh, oh0, oh1, &a, &b);
          if (a >= b) continue;
          T* in = row + (a - oh0) * OW;
          if (lo > 0 || hi < OW)
            for (long r = 0; r < b - a; r++) {
              for (long ow = 0; ow < lo; ow++) in[r * OW + ow] = 0;
              for (long ow = hi; ow < OW; ow++) in[r * OW + ow] = 0;
            }
          T* dst = xc + (a - g.ph + kh * g.dh) * g.W + iw0;
          const long end = (b - a) * OW - (OW - hi);
          for (long j = lo; j < end; j++) dst[j] += in[j];
          continue;
        }
        for (long oh = oh0; oh < oh1; oh++) {
          const long ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* xr = xc + ih * g.W + iw0;
          const T* in = row + (oh - oh0) * OW;
          if (sw == 1) {
            for (long ow = lo; ow < hi; ow++) xr[ow] += in[ow];
          } else {
            for (long ow = lo; ow < hi; ow++) xr[ow * sw] += in[ow];
          }
        }
      }
  }
}

// kConvWinograd forces F(2x2, 3x3), kConvWinograd4 F(4x4, 3x3).
enum ConvAlgo { kConvAuto = 0, kConvIm2col = 1, kConvWinograd = 2, kConvWinograd4 = 3 };

// Which convolutions the Winograd path can compute.
inline bool wino_fits_fwd(const ConvGeom& g) {
  return g.KH == 3 && g.KW == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1;
}
// Backward-data pads the output gradient by 2 - pad, so pad must be <= 2.
inline bool wino_fits_bwd_data(const ConvGeom& g) { return wino_fits_fwd(g) && g.ph <= 2 && g.pw <= 2; }

// The instruction set the Winograd kernels run with (advmia_winograd_kernels.h): AVX-512 where the
// CPU has F, VL, BW and DQ, else AVX2. Tests force either (adv_set_wino_isa: 256 or 512; 0 = the
// CPU's choice), so that both compiled copies are checked on an AVX-512 machine.
inline bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  return has;
}
inline int& wino_isa_override() {
  static int bits = 0;
  return bits;
}
inline bool wino_avx512() { return wino_isa_override() ? wino_isa_override() == 512 : cpu_has_avx512(); }

// tile: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3).
template <class T> void wino_fwd(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, bool relu_in, int tile,
                                 T* pool_idx = nullptr) {
  if (wino_avx512()) avx512::winograd_forward<T>(g, x, w, b, y, relu_in, tile, pool_idx);
  else avx2::winograd_forward<T>(g, x, w, b, y, relu_in, tile, pool_idx);
}

template <class T> void wino_bwd_data(const ConvGeom& g, const T* gy, const T* w, T* gx, const T* mask, int tile) {
  if (wino_avx512()) avx512::winograd_backward_data<T>(g, gy, w, gx, mask, tile);
  else avx2::winograd_backward_data<T>(g, gy, w, gx, mask, tile);
}

template <class T> bool wino_bwd_data_filter(const ConvGeom& g, const T* x, const T* gy, const T* U, T* gx,
                                             const T* mask, T* dU_acc, bool accumulate, bool relu_in) {
  if (wino_avx512())
    return avx512::winograd_backward_data_filter<T>(g, x, gy, U, gx, mask, dU_acc, accumulate, relu_in);
  return avx2::winograd_backward_data_filter<T>(g, x, gy, U, gx, mask, dU_acc, accumulate, relu_in);
}

template <class T> void wino_bwd_filter_any(const ConvGeom& g, const T* x, const T* gy, T* gw, bool relu_in, int tile) {
  if (wino_avx512()) avx512::winograd_backward_filter<T>(g, x, gy, gw, relu_in, tile);
  else avx2::winograd_backward_filter<T>(g, x, gy, gw, relu_in, tile);
}

// ---- a ReLU fused into the convolution that consumes it -------------------------------------
// conv(relu(x)): the Winograd path rectifies the input as it reads it (and masks the input
// gradient as it writes it), so the ReLU's output and its gradient never pass through memory;
// the other paths (im2col, depthwise, and tests forcing them) go through these two helpers.

// relu(x) in a buffer of the calling thread that grows to its high-water mark once; read by the
// pool's threads during the one convolution that follows.
template <class T> const T* relu_copy(const T* x, long n) {
  static thread_local std::vector<T> buf;
  if ((long)buf.size() < n) buf.resize(n);
  T* r = buf.data();
  parallel_range(n, kParallelGrain, [&](long b, long e) {
    for (long i = b; i < e; i++) r[i] = x[i] > 0 ? x[i] : (T)0;
  });
  return r;
}

// gx[i] = 0 where mask[i] <= 0 (the ReLU's backward, applied in place).
template <class T> void relu_mask(T* gx, const T* mask, long n) {
  parallel_range(n, kParallelGrain, [&](long b, long e) {
    for (long i = b; i < e; i++) gx[i] = mask[i] > 0 ? gx[i] : (T)0;
  });
}

// Where Winograd is faster than im2col + GEMM. Measured per layer, one thread (see
// benchmarks/README.md, benchmarks/cpp/conv_bench.cpp): every 3x3 stride-1 layer of SmallCNN and
// ResNet-18 with >= 32 channels in and out gains 1.1-2.1x in each direction (SmallCNN's conv3
// backward-filter breaks even), and so do 16 -> 16 layers (1.06-1.9x, 8x8 and 32x32 images); an
// 8 -> 32 layer loses in both backward directions (0.8-0.95x), and the thin first layers (1 or 3
// input channels: GEMMs with a contraction of 1-3, or 1-3 rows for backward-data) run 2-5x slower.
inline bool wino_wins(const ConvGeom& g) { return g.C >= 16 && g.Cout >= 16; }
inline bool wino_wins_fwd(const ConvGeom& g) { return wino_fits_fwd(g) && wino_wins(g); }
inline bool wino_wins_bwd_data(const ConvGeom& g) { return wino_fits_bwd_data(g) && wino_wins(g); }
inline bool wino_wins_bwd_filter(const ConvGeom& g) { return wino_fits_fwd(g) && wino_wins(g); }

// F(4x4) instead of F(2x2), per direction, where AUTO takes Winograd. F(4x4) needs 2.25 GEMM
// multiplies per output instead of 4, and its 36 GEMMs ran 1.5-1.8x faster than F(2x2)'s 16 on
// every wide layer (one thread); its transforms cost more per output (6x6 tiles, 36 values live
// per vector of tiles), and partial tiles waste both: a 10x10 output computes 12x12 (1.44x).
// Measured F(2x2) time / F(4x4) time (benchmarks/cpp/conv_bench.cpp, one thread, CPU time;
// benchmarks/README.md, "Winograd F(4x4, 3x3)" and "AVX-512 registers for the Winograd kernels"),
// forward / backward-data / backward-filter, AVX2 copy (AVX-512 copy):
//   SmallCNN conv2 32->32, 24x24 out (26x26 in):  1.19 / 1.03 / 1.19  (1.30 / 1.11 / 1.52)
//            conv3 32->64, 10x10 out (12x12 in):  1.09 / 1.40 / 1.18  (1.21 / 1.50 / 1.47)
//            conv4 64->64,  8x8 out (10x10 in):   1.73 / 1.01 / 1.64  (1.82 / 1.10 / 1.97)
//   ResNet-18 64-256 channels, 32x32, 16x16, 8x8: 1.30-1.54 in every direction
//             512 channels, 4x4 (one tile per image): 1.25 / 1.09 / 1.20
// So F(4x4) for the forward where partial tiles compute at most 1.44x the real outputs (the 10x10
// case still gains 1.09-1.21x), and for backward-filter everywhere. Backward-data takes F(4x4) only
// where partial tiles compute at most 1.2x the real outputs (its output, the layer's input, at
// least 8x8), although the 10x10 case gains 1.01-1.10x there too: with 1.44x AttackParityTest
// (float64 FGSM against PyTorch, SmallCNN on 17x16 inputs) failed by one FGSM step. Cause (checked
// with a C++ harness): an input position that no output depends on (there the row and column that
// a 2x2 pool's floor drops after a 15x14 convolution output) has an exactly zero gradient; im2col
// and F(2x2) return 0 there (3584 of 26880 positions in the check), F(4x4), whose 6x6 tiles mix in
// nonzero neighbours, returns rounding noise at 1587 of them, and FGSM's sign steps on it. (Taking
// 1.44x only under a fused even-sized pool, which drops nothing, would make the fused and the
// layer-by-layer backward differ, which SmallCnnFusedConvTest requires to be bit-identical.)
//
// Backward-data also takes F(4x4) where its adjoint form (wino4_bwd_data_adjoint: the forward's
// tiles, B [sum U^T .* (A gY A^T)] B^T added into the input) has fewer tiles than the
// full-convolution form: SmallCNN conv2 (36 tiles per image instead of 49), 8.1 ms against 9.2-9.7,
// and conv4 (8x8 out of 10x10: 4 instead of 9, and the 25 of the F(2x2) it took before), 2.6-2.7
// ms against 5.7-6.0 (one thread, wino4_adjoint_fits). That form zeroes the
// input rows and columns that no non-zero output gradient reaches, so the exposure above does not
// apply to it (WinogradF4ConvolutionTest.adjointBackwardDataIsExactlyZeroWhereNoGradientReaches).
inline bool wino4_waste_ok(long OH, long OW, long max_percent) {
  const long computed = (OH + 3) / 4 * 4 * ((OW + 3) / 4 * 4);
  return 100 * computed <= max_percent * OH * OW;
}
inline bool wino4_wins_fwd(const ConvGeom& g) { return wino4_waste_ok(g.OH, g.OW, 144); }
inline bool wino4_wins_bwd_data(const ConvGeom& g) {
  return (wino4_waste_ok(g.H, g.W, 120) && g.H >= 8 && g.W >= 8) ||
         avx2::wino4_adjoint_fits(avx2::Wino4Shape{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW});
}
inline bool wino4_wins_bwd_filter(const ConvGeom&) { return true; }

// Tests set this (adv_set_wino_tile) to run AUTO's Winograd layers with one tile size, so that the
// autograd path can be checked through each kernel: 0 (the measured choice), 2 or 4.
inline int& wino_tile_override() {
  static int tile = 0;
  return tile;
}

// The Winograd tile size (2 or 4) a call takes, or 0 for im2col: forced by algo, or AUTO's choice
// (wins: Winograd beats im2col here; wins4: F(4x4) beats F(2x2)).
inline int wino_tile(const ConvGeom& g, int algo, bool wins, bool wins4) {
  if (g.depthwise()) return 0;
  if (algo == kConvWinograd) return 2;
  if (algo == kConvWinograd4) return 4;
  if (algo != kConvAuto || !wins) return 0;
  if (wino_tile_override()) return wino_tile_override();
  return wins4 ? 4 : 2;
}

// ---- a 2x2 / stride-2 max-pool fused into the convolution that feeds it ----------------------
// pool2x2(conv(x or relu(x)) + b) and the pool's argmax indices (as pool2d_fwd writes them,
// positions in the convolution's OH x OW plane). The Winograd path pools in its output transform,
// so the convolution's output never goes to memory; the other paths convolve into a scratch
// buffer of the calling thread (grown once) and pool that.
inline bool conv_pool_fits(const ConvGeom& g) { return g.OH % 2 == 0 && g.OW % 2 == 0; }

template <class T> int conv_fwd_impl(const ConvGeom& g, long xa, long wa, long ba, long ya, int algo, int relu_in);

template <class T> int conv_pool_fwd_impl(const ConvGeom& g, long xa, long wa, long ba, long ya, long ia, int algo,
                                          int relu_in) {
  if (g.N == 0) return 0;
  if (const int tile = wino_tile(g, algo, wino_wins_fwd(g), wino4_wins_fwd(g))) {
    wino_fwd<T>(g, ptr<const T>(xa), ptr<const T>(wa), ptr<const T>(ba), ptr<T>(ya), relu_in != 0, tile, ptr<T>(ia));
    return 0;
  }
  static thread_local std::vector<T> buf;
  const long n = g.N * g.Cout * g.OHW();
  if ((long)buf.size() < n) buf.resize(n);
  int rc = conv_fwd_impl<T>(g, xa, wa, ba, (long)buf.data(), algo, relu_in);
  if (rc) return rc;
  PoolGeom pg{g.N, g.Cout, g.OH, g.OW, 2, 2, 2, 2, 0, 0, g.OH / 2, g.OW / 2, 0, P_MAX};
  maxpool2x2_fwd<T>(pg, buf.data(), ptr<T>(ya), ptr<T>(ia));
  return 0;
}

// relu_in: y = conv(relu(x)) + b.
template <class T> int conv_fwd_impl(const ConvGeom& g, long xa, long wa, long ba, long ya, int algo, int relu_in) {
  const T* x = ptr<const T>(xa);
  const T* w = ptr<const T>(wa);
  const T* b = ptr<const T>(ba);
  T* y = ptr<T>(ya);
  if (g.N == 0) return 0;
  if (const int tile = wino_tile(g, algo, wino_wins_fwd(g), wino4_wins_fwd(g))) {
    wino_fwd<T>(g, x, w, b, y, relu_in != 0, tile);
    return 0;
  }
  if (relu_in) x = relu_copy<T>(x, g.N * g.C * g.HW());
  if (g.depthwise()) { depthwise_fwd<T>(g, x, w, b, y); return 0; }
  const long Cg = g.Cg(), Cog = g.Cog(), K = g.K(), HW = g.HW(), OHW = g.OHW();
  const ConvPlan plan = conv_plan(g);
  const long nb = plan.nb, chunks = plan.chunks;
  const int threads = pool_threads();
  const bool outer = chunks >= threads && threads > 1;
  parallel_for(chunks, [&](long ch) {
    long n0 = ch * nb, cnt = std::min(nb, g.N - n0);
    for (long grp = 0; grp < g.groups; grp++) {
      const T* wg = w + grp * Cog * K;
      if (cnt == 1) {
        T* yo = y + (n0 * g.Cout + grp * Cog) * OHW;
        if (g.pointwise()) {
          pointwise_gemm<T>(!outer, false, Cog, OHW, K, wg, K, x + (n0 * g.C + grp * Cg) * HW, HW, yo, OHW);
          continue;
        }
        // Output-row tiles; each GEMM writes its rows of y in place (ldc = OH*OW).
        for (long oh0 = 0; oh0 < g.OH; oh0 += plan.rows) {
          const long oh1 = std::min(g.OH, oh0 + plan.rows), cols = (oh1 - oh0) * g.OW;
          T* col = scratch<T>(0, K * cols);
          im2col<T>(g, x + n0 * g.C * HW, grp * Cg, col, cols, 0, oh0, oh1);
          gemm_auto<T>(!outer, false, false, Cog, cols, K, 1, wg, K, col, cols, 0, yo + oh0 * g.OW, OHW);
        }
        continue;
      }
      const long ld = cnt * OHW;
      T* col = scratch<T>(0, K * ld);
      for (long i = 0; i < cnt; i++) im2col<T>(g, x + (n0 + i) * g.C * HW, grp * Cg, col, ld, i * OHW, 0, g.OH);
      T* tmp = scratch<T>(1, Cog * ld);
      gemm_auto<T>(!outer, false, false, Cog, ld, K, 1, wg, K, col, ld, 0, tmp, ld);
      for (long i = 0; i < cnt; i++)
        for (long co = 0; co < Cog; co++)
          std::memcpy(y + ((n0 + i) * g.Cout + grp * Cog + co) * OHW, tmp + co * ld + i * OHW, sizeof(T) * OHW);
    }
    if (b)
      for (long i = 0; i < cnt; i++)
        for (long co = 0; co < g.Cout; co++) {
          T* yo = y + ((n0 + i) * g.Cout + co) * OHW;
          const T bv = b[co];
          for (long s = 0; s < OHW; s++) yo[s] += bv;
        }
  }, outer);
  return 0;
}

// mask (0, or the forward input x of conv(relu(x))): gx is the gradient with respect to x, i.e.
// zero where x <= 0.
template <class T> int conv_bwd_data_impl(const ConvGeom& g, long gya, long wa, long gxa, int algo, long maska) {
  const T* gy = ptr<const T>(gya);
  const T* w = ptr<const T>(wa);
  T* gx = ptr<T>(gxa);
  const T* mask = ptr<const T>(maska);
  if (g.N == 0) return 0;
  if (const int tile = wino_tile(g, algo, wino_wins_bwd_data(g), wino4_wins_bwd_data(g))) {
    wino_bwd_data<T>(g, gy, w, gx, mask, tile);
    return 0;
  }
  if (mask) {
    conv_bwd_data_impl<T>(g, gya, wa, gxa, algo, 0);
    relu_mask<T>(gx, mask, g.N * g.C * g.HW());
    return 0;
  }
  if (g.depthwise()) { depthwise_bwd_data<T>(g, gy, w, gx); return 0; }
  const long Cg = g.Cg(), Cog = g.Cog(), K = g.K(), HW = g.HW(), OHW = g.OHW();
  const ConvPlan plan = conv_plan(g);
  const long nb = plan.nb, chunks = plan.chunks;
  const int threads = pool_threads();
  const bool outer = chunks >= threads && threads > 1;
  parallel_for(chunks, [&](long ch) {
    long n0 = ch * nb, cnt = std::min(nb, g.N - n0);
    if (!g.pointwise() || cnt > 1) std::fill(gx + n0 * g.C * HW, gx + (n0 + cnt) * g.C * HW, (T)0);
    for (long grp = 0; grp < g.groups; grp++) {
      const T* wg = w + grp * Cog * K;
      if (cnt == 1) {
        const T* gyb = gy + (n0 * g.Cout + grp * Cog) * OHW;
        if (g.pointwise()) {
          pointwise_gemm<T>(!outer, true, K, OHW, Cog, wg, K, gyb, OHW, gx + (n0 * g.C + grp * Cg) * HW, HW);
          continue;
        }
        // Output-row tiles, one after another (tiles of one image overlap in the input rows
        // that col2im accumulates into, so they stay on one thread).
        for (long oh0 = 0; oh0 < g.OH; oh0 += plan.rows) {
          const long oh1 = std::min(g.OH, oh0 + plan.rows), cols = (oh1 - oh0) * g.OW;
          T* col = scratch<T>(0, K * cols);
          gemm_auto<T>(!outer, true, false, K, cols, Cog, 1, wg, K, gyb + oh0 * g.OW, OHW, 0, col, cols);
          col2im<T>(g, col, cols, 0, gx + n0 * g.C * HW, grp * Cg, oh0, oh1);
        }
        continue;
      }
      const long ld = cnt * OHW;
      T* tmp = scratch<T>(1, Cog * ld);
      for (long i = 0; i < cnt; i++)
        for (long co = 0; co < Cog; co++)
          std::memcpy(tmp + co * ld + i * OHW, gy + ((n0 + i) * g.Cout + grp * Cog + co) * OHW, sizeof(T) * OHW);
      T* col = scratch<T>(0, K * ld);
      gemm_auto<T>(!outer, true, false, K, ld, Cog, 1, wg, K, tmp, ld, 0, col, ld);
      for (long i = 0; i < cnt; i++) col2im<T>(g, col, ld, i * OHW, gx + (n0 + i) * g.C * HW, grp * Cg, 0, g.OH);
    }
  }, outer);
  return 0;
}

// Whether to accumulate the filter gradient transposed, per group [K x Cog]: with few output
// channels OpenBLAS runs col[K x cols] * gy^T (M = K, N = Cog) 7-23% faster than gy * col^T
// (M = Cog, N = K) (SmallCNN conv2 124 vs 101 GFLOP/s, ResNet's 128-channel layer 178 vs 153),
// and the final transpose touches only the weight gradient. With 256+ channels the GEMMs run
// alike and the transpose of a large gradient costs more than it saves (measured).
inline bool bwd_filter_transposed(const ConvGeom& g) { return g.Cog() <= 128; }

// C[M x N] (+)= A * B^T in one of the two layouts (see bwd_filter_transposed): gy is [Cog x n]
// with leading dimension ldg, col is [K x n] with leading dimension ldc.
template <class T> inline void bwd_filter_gemm(bool transposed, bool inner_parallel, long Cog, long K, long n,
                                               const T* gy, long ldg, const T* col, long ldc, T beta, T* gw) {
  if (transposed) gemm_auto<T>(inner_parallel, false, true, K, Cog, n, 1, col, ldc, gy, ldg, beta, gw, Cog);
  else gemm_auto<T>(inner_parallel, false, true, Cog, K, n, 1, gy, ldg, col, ldc, beta, gw, K);
}

// Adds one chunk's filter gradient to gw (in the layout bwd_filter_transposed picks), or
// (overwrite) stores it there, so that a thread's first chunk needs no zero-filled buffer.
// gbacc (if not null): each output channel's sum of gy over the chunk's images added to it, in
// the pass that copies gy for the GEMM where there is one (the bias gradient's separate pass over
// gy cost 2 % of a SmallCNN training step: conv1's gy is 11 MB at batch 128).
template <class T> void conv_bwd_filter_chunk(const ConvGeom& g, const ConvPlan& plan, const T* x, const T* gy, T* gwt,
                                              long n0, long cnt, bool inner_parallel, bool overwrite,
                                              double* gbacc = nullptr) {
  const long Cg = g.Cg(), Cog = g.Cog(), K = g.K(), HW = g.HW(), OHW = g.OHW();
  const T beta0 = overwrite ? (T)0 : (T)1;
  const bool tr = bwd_filter_transposed(g);
  for (long grp = 0; grp < g.groups; grp++) {
    T* gwg = gwt + grp * Cog * K;
    if (cnt == 1) {
      const T* gyb = gy + (n0 * g.Cout + grp * Cog) * OHW;
      if (gbacc)
        for (long co = 0; co < Cog; co++) {
          double acc = 0;
          const T* p = gyb + co * OHW;
#pragma omp simd reduction(+ : acc)
          for (long i = 0; i < OHW; i++) acc += p[i];
          gbacc[grp * Cog + co] += acc;
        }
      if (g.pointwise()) {
        bwd_filter_gemm<T>(tr, inner_parallel, Cog, K, OHW, gyb, OHW, x + (n0 * g.C + grp * Cg) * HW, HW, beta0, gwg);
        continue;
      }
      for (long oh0 = 0; oh0 < g.OH; oh0 += plan.rows) {
        const long oh1 = std::min(g.OH, oh0 + plan.rows), cols = (oh1 - oh0) * g.OW;
        T* col = scratch<T>(0, K * cols);
        im2col<T>(g, x + n0 * g.C * HW, grp * Cg, col, cols, 0, oh0, oh1);
        bwd_filter_gemm<T>(tr, inner_parallel, Cog, K, cols, gyb + oh0 * g.OW, OHW, col, cols, oh0 == 0 ? beta0 : (T)1,
                           gwg);
      }
      continue;
    }
    const long ld = cnt * OHW;
    T* col = scratch<T>(0, K * ld);
    for (long i = 0; i < cnt; i++) im2col<T>(g, x + (n0 + i) * g.C * HW, grp * Cg, col, ld, i * OHW, 0, g.OH);
    T* tmp = scratch<T>(1, Cog * ld);
    for (long i = 0; i < cnt; i++)
      for (long co = 0; co < Cog; co++) {
        const T* src = gy + ((n0 + i) * g.Cout + grp * Cog + co) * OHW;
        T* dst = tmp + co * ld + i * OHW;
        if (!gbacc) {
          std::memcpy(dst, src, sizeof(T) * OHW);
          continue;
        }
        double acc = 0;
#pragma omp simd reduction(+ : acc)
        for (long q = 0; q < OHW; q++) {
          dst[q] = src[q];
          acc += src[q];
        }
        gbacc[grp * Cog + co] += acc;
      }
    bwd_filter_gemm<T>(tr, inner_parallel, Cog, K, ld, tmp, ld, col, ld, beta0, gwg);
  }
}

// gw[grp][co][k] = gwt[grp][k][co], in 32x32 tiles on the pool.
template <class T> void untranspose_filter_grad(const ConvGeom& g, const T* gwt, T* gw) {
  const long Cog = g.Cog(), K = g.K();
  constexpr long B = 32;
  const long tk = (K + B - 1) / B, tc = (Cog + B - 1) / B;
  parallel_items(g.groups * tk * tc, B * B, [&](long t) {
    const long grp = t / (tk * tc), r = t % (tk * tc), k0 = (r / tc) * B, c0 = (r % tc) * B;
    const T* src = gwt + grp * Cog * K;
    T* dst = gw + grp * Cog * K;
    for (long co = c0; co < std::min(Cog, c0 + B); co++)
      for (long k = k0; k < std::min(K, k0 + B); k++) dst[co * K + k] = src[k * Cog + co];
  });
}

constexpr int kMaxThreads = 256;

// relu_in: the gradients of y = conv(relu(x)) + b.
template <class T> int conv_bwd_filter_impl(const ConvGeom& g, long xa, long gya, long gwa, long gba, int algo,
                                            int relu_in) {
  const T* x = ptr<const T>(xa);
  const T* gy = ptr<const T>(gya);
  T* gw = ptr<T>(gwa);
  T* gb = ptr<T>(gba);
  const long OHW = g.OHW();
  // The im2col path sums the bias gradient in its pass over gy (conv_bwd_filter_chunk's gbacc).
  const int tile = gw && g.N > 0 ? wino_tile(g, algo, wino_wins_bwd_filter(g), wino4_wins_bwd_filter(g)) : 0;
  const bool fold_gb = gb && gw && g.N > 0 && !tile && !g.depthwise();
  if (gb && !fold_gb) {
    parallel_items(g.Cout, g.N * OHW, [&](long co) {
      double acc = 0;
      for (long n = 0; n < g.N; n++) {
        const T* p = gy + (n * g.Cout + co) * OHW;
#pragma omp simd reduction(+ : acc)
        for (long s = 0; s < OHW; s++) acc += p[s];
      }
      gb[co] = (T)acc;
    });
  }
  if (!gw) return 0;
  const long wsize = g.Cout * g.K();
  if (g.N == 0) {
    std::fill(gw, gw + wsize, (T)0);
    return 0;
  }
  if (tile) {
    wino_bwd_filter_any<T>(g, x, gy, gw, relu_in != 0, tile);
    return 0;
  }
  if (relu_in) x = relu_copy<T>(x, g.N * g.C * g.HW());
  if (g.depthwise()) { depthwise_bwd_filter<T>(g, x, gy, gw); return 0; }
  const ConvPlan plan = conv_plan(g);
  const long nb = plan.nb, chunks = plan.chunks;
  const int threads = std::min(pool_threads(), kMaxThreads);
  const bool split = chunks >= threads && threads > 1;
  const long parts = split ? std::min<long>(threads, chunks) : 1;
  // Per-range bias sums, added in range order at the end (deterministic, as the filter gradient).
  static thread_local std::vector<double> gb_store;
  if (fold_gb) gb_store.assign(parts * g.Cout, 0.0);
  double* const gbacc = fold_gb ? gb_store.data() : nullptr;
  if (split) {
    // Deterministic: the chunks are split into `parts` fixed contiguous ranges (whichever thread
    // runs one), each range accumulates into its own buffer in chunk order, and the buffers are
    // added in range order, so the same inputs give bit-identical gradients on every run.
    T* bufs = scratch<T>(3, parts * wsize);
    parallel_for(parts, [&](long p) {
      const long c0 = p * chunks / parts, c1 = (p + 1) * chunks / parts;
      for (long ch = c0; ch < c1; ch++) {
        long n0 = ch * nb;
        conv_bwd_filter_chunk<T>(g, plan, x, gy, bufs + p * wsize, n0, std::min(nb, g.N - n0), false, ch == c0,
                                 gbacc ? gbacc + p * g.Cout : nullptr);
      }
    });
    const bool tr = bwd_filter_transposed(g);
    T* sum = tr ? bufs : gw;  // transposed: sum in place, then transpose into gw
    parallel_range(wsize, kParallelGrain, [&](long b, long e) {
      if (sum != bufs) std::copy(bufs + b, bufs + e, sum + b);
      for (long q = 1; q < parts; q++)
        for (long i = b; i < e; i++) sum[i] += bufs[q * wsize + i];
    });
    if (tr) untranspose_filter_grad<T>(g, bufs, gw);
  } else if (bwd_filter_transposed(g)) {
    T* gwt = scratch<T>(2, wsize);
    for (long ch = 0; ch < chunks; ch++) {
      long n0 = ch * nb;
      conv_bwd_filter_chunk<T>(g, plan, x, gy, gwt, n0, std::min(nb, g.N - n0), true, ch == 0, gbacc);
    }
    untranspose_filter_grad<T>(g, gwt, gw);
  } else {
    for (long ch = 0; ch < chunks; ch++) {
      long n0 = ch * nb;
      conv_bwd_filter_chunk<T>(g, plan, x, gy, gw, n0, std::min(nb, g.N - n0), true, ch == 0, gbacc);
    }
  }
  if (fold_gb)
    for (long co = 0; co < g.Cout; co++) {
      double v = 0;
      for (long p = 0; p < parts; p++) v += gbacc[p * g.Cout + co];
      gb[co] = (T)v;
    }
  return 0;
}

// ---- the backward of conv + 2x2 max-pool (conv_pool_fwd_impl) -------------------------------
// The pool's backward scatters the pooled gradient into a gradient of the convolution's full
// output, which the convolution's backward then reads once (backward-data) or twice (and
// backward-filter). Written for the whole batch, that tensor (SmallCNN conv2: 9.4 MB at batch
// 128) goes to memory and comes back: the zero fill and scatter alone were ~7 % of a SmallCNN PGD
// step, at memory bandwidth. Here it exists only per chunk of images, small enough to stay in
// L2 between the scatter and the convolution's backward passes that consume it: each thread takes
// contiguous ranges of chunks and runs the pool backward and the convolution's backward on them
// serially. The filter gradient is accumulated per range in chunk order and the ranges are added
// in order, so results are deterministic for a given thread count (as conv_bwd_filter_impl's).
#ifndef ADV_CONV_POOL_BWD_CHUNK
#define ADV_CONV_POOL_BWD_CHUNK (512L * 1024)
#endif

template <class T> int conv_pool_bwd_impl(const ConvGeom& g, long xa, long wa, long gya, long ia, long gxa, long gwa,
                                          long gba, int algo, int relu_in) {
  const T* x = ptr<const T>(xa);
  const T* gy = ptr<const T>(gya);
  T* gw = ptr<T>(gwa);
  T* gb = ptr<T>(gba);
  const long PHW = (g.OH / 2) * (g.OW / 2), OHW = g.OHW(), CHW = g.C * g.HW(), wsize = g.Cout * g.K();
  // The bias gradient is the sum of the convolution's output gradient, whose only non-zeros are
  // the pooled values.
  if (gb)
    parallel_items(g.Cout, g.N * PHW, [&](long co) {
      double acc = 0;
      for (long n = 0; n < g.N; n++) {
        const T* p = gy + (n * g.Cout + co) * PHW;
        // (simd: without it the double sum is one chain of dependent adds, 1.5 % of a SmallCNN
        // training step at 2 threads; conv_bwd_filter_impl's bias sum has it too)
#pragma omp simd reduction(+ : acc)
        for (long s = 0; s < PHW; s++) acc += p[s];
      }
      gb[co] = (T)acc;
    });
  if (!gxa && !gw) return 0;
  if (g.N == 0) {
    if (gw) std::fill(gw, gw + wsize, (T)0);
    return 0;
  }
  const long nb = std::max(1L, std::min(g.N, ADV_CONV_POOL_BWD_CHUNK / (g.Cout * OHW * (long)sizeof(T))));
  const long chunks = (g.N + nb - 1) / nb;
  const long parts = std::min<long>(std::min(pool_threads(), kMaxThreads), chunks);
  // Each part (one per thread) takes an equal share of the images, in as few near-equal chunks of
  // at most nb as it can: chunks of nb dealt out whole left one thread a chunk behind (SmallCNN
  // conv2, 19 chunks of 7 images: 10 against 9, ~5 % of this op spent waiting).
  auto part_begin = [&](long p) { return p * g.N / parts; };
  auto part_chunks = [&](long p) { return (part_begin(p + 1) - part_begin(p) + nb - 1) / nb; };
  auto chunk_begin = [&](long p, long j) {  // chunk j of part p; j = part_chunks(p): the part's end
    const long i0 = part_begin(p), len = part_begin(p + 1) - i0;
    return i0 + j * len / part_chunks(p);
  };
  // Both directions on F(4x4) with the adjoint backward-data, every chunk (whole images): one pass
  // over the gradient tiles per chunk (wino_bwd_data_filter), the forward filters transformed once,
  // and the filter gradient summed over the chunks in the transform domain, transformed once.
  bool both = gxa && gw && wino_tile(g, algo, wino_wins_bwd_data(g), wino4_wins_bwd_data(g)) == 4 &&
              wino_tile(g, algo, wino_wins_bwd_filter(g), wino4_wins_bwd_filter(g)) == 4;
  for (long p = 0; both && p < parts; p++) {  // every chunk size that occurs: each part's two
    ConvGeom gc = g;
    const long len = part_begin(p + 1) - part_begin(p), k = part_chunks(p);
    gc.N = len / k;
    both = avx2::winograd4_data_filter_fits<T>(gc);
    gc.N = (len + k - 1) / k;
    both = both && avx2::winograd4_data_filter_fits<T>(gc);
  }
  const long accsize = both ? 36 * wsize / 9 : wsize;  // (wsize = Cout C 9)
  // The calling thread's buffers, passed to the job by pointer: inside the lambda the name of a
  // thread_local would be each worker's own instance.
  static thread_local std::vector<T> part_store, u_store;
  if (gw && (parts > 1 || both) && (long)part_store.size() < parts * accsize) part_store.resize(parts * accsize);
  if (both && (long)u_store.size() < accsize) u_store.resize(accsize);
  T* const part_bufs = part_store.data();
  T* const U = u_store.data();
  if (both) {
    if (wino_avx512()) avx512::winograd4_filter_transform<T>(ptr<const T>(wa), g.Cout, g.C, U);
    else avx2::winograd4_filter_transform<T>(ptr<const T>(wa), g.Cout, g.C, U);
  }
  std::atomic<int> failed{0};
  parallel_for(parts, [&](long p) {
    static thread_local std::vector<T> gc_buf, gw_buf;
    if ((long)gc_buf.size() < nb * g.Cout * OHW) gc_buf.resize(nb * g.Cout * OHW);
    if (gw && !both && (long)gw_buf.size() < wsize) gw_buf.resize(wsize);
    T* acc = gw ? (parts > 1 || both ? part_bufs + p * accsize : gw) : nullptr;
    for (long j = 0; j < part_chunks(p) && !failed.load(std::memory_order_relaxed); j++) {
      const long n0 = chunk_begin(p, j), cnt = chunk_begin(p, j + 1) - n0;
      const bool first = j == 0;
      const PoolGeom pg{cnt, g.Cout, g.OH, g.OW, 2, 2, 2, 2, 0, 0, g.OH / 2, g.OW / 2, 0, P_MAX};
      const long off = n0 * g.Cout * PHW;
      if (pool_bwd_impl<T>(pg, (long)(gy + off), ia + (long)(off * sizeof(T)), (long)gc_buf.data())) {
        failed.store(1);
        return;
      }
      ConvGeom sg = g;
      sg.N = cnt;
      if (both) {
        // (false only if this chunk's plan differs from the one `both` checked: a bug, reported.)
        if (!wino_bwd_data_filter<T>(sg, x + n0 * CHW, gc_buf.data(), U, ptr<T>(gxa) + n0 * CHW,
                                     relu_in ? x + n0 * CHW : nullptr, acc, !first, relu_in != 0)) {
          failed.store(2);
          return;
        }
        continue;
      }
      if (gxa)
        conv_bwd_data_impl<T>(sg, (long)gc_buf.data(), wa, gxa + (long)(n0 * CHW * sizeof(T)), algo,
                              relu_in ? (long)(x + n0 * CHW) : 0);
      if (gw) {
        T* dst = first ? acc : gw_buf.data();
        conv_bwd_filter_impl<T>(sg, (long)(x + n0 * CHW), (long)gc_buf.data(), (long)dst, 0, algo, relu_in);
        if (!first)
          for (long i = 0; i < wsize; i++) acc[i] += dst[i];
      }
    }
  }, parts > 1);
  // (The pool's own message went to the thread that ran it; error messages are per thread.)
  if (failed.load() == 2)
    return fail("conv2d_pool_bwd: internal error: a chunk of %ld images does not fit the one-pass F(4x4) backward",
                nb);
  if (failed.load())
    return fail("conv2d_pool_bwd: max-pool indices out of range for a %ldx%ld plane", g.OH, g.OW);
  if (gw && (parts > 1 || both)) {
    T* sum = both ? part_bufs : gw;  // both: sum in the first part's buffer, then transform into gw
    parallel_range(accsize, kParallelGrain, [&](long b, long e) {
      for (long i = b; i < e; i++) {
        T v = part_bufs[i];
        for (long q = 1; q < parts; q++) v += part_bufs[q * accsize + i];
        sum[i] = v;
      }
    });
    if (both) {
      if (wino_avx512()) avx512::winograd4_filter_grad_transform<T>(part_bufs, g.Cout, g.C, gw);
      else avx2::winograd4_filter_grad_transform<T>(part_bufs, g.Cout, g.C, gw);
    }
  }
  return 0;
}

inline int conv_algo_check(const char* op, int algo, bool winograd_fits) {
  if (algo < kConvAuto || algo > kConvWinograd4)
    return fail("%s: algorithm code %d is none of 0 (auto), 1 (im2col), 2 (Winograd F(2x2)), 3 (Winograd F(4x4))", op,
                algo);
  if ((algo == kConvWinograd || algo == kConvWinograd4) && !winograd_fits)
    return fail("%s: Winograd needs a 3x3 kernel, stride 1, dilation 1, groups 1 (and padding <= 2 for "
                "backward-data)", op);
  return 0;
}

inline int conv_check(const char* op, const ConvGeom& g, long xa, long xn, long wa, long wn, long ya, long yn,
                      bool x_needed, bool w_needed, bool y_needed) {
  int rc = 0;
  if (x_needed) ADV_CHECK_BUF(op, "input", xa, xn, g.N * g.C * g.HW());
  if (w_needed) ADV_CHECK_BUF(op, "weight", wa, wn, g.Cout * g.K());
  if (y_needed) ADV_CHECK_BUF(op, "output", ya, yn, g.N * g.Cout * g.OHW());
  return rc;
}

// The checks both directions of the fused conv + 2x2 max-pool share: the geometry, an even
// output (whole pool windows) and the algorithm (backward: as backward-data, padding <= 2).
inline int conv_pool_geom(const char* op, long long* geom_ll, int algo, bool backward, ConvGeom* g) {
  int rc = conv_geom(op, reinterpret_cast<const long*>(geom_ll), g);
  if (rc) return rc;
  if (!conv_pool_fits(*g))
    return fail("%s: the convolution's output %ldx%ld is not even (2x2 pool windows)", op, g->OH, g->OW);
  return conv_algo_check(op, algo, backward ? wino_fits_bwd_data(*g) : wino_fits_fwd(*g));
}

}  // namespace adv

// geom = {N, C, H, W, Cout, KH, KW, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups, OH, OW}
// algo: 0 picks by shape (the normal path), 1 forces im2col + GEMM, 2 forces Winograd F(2x2, 3x3),
// 3 Winograd F(4x4, 3x3) (2 and 3 are errors where the geometry does not allow Winograd). 1-3
// exist so tests can compare the paths.
// relu_in (the adv_conv2d_relu_* entry points): the convolution of relu(x) instead of x.
inline int adv_conv2d_fwd_impl(const char* op, int dt, int algo, long long* geom_ll, long x, long xn, long w, long wn,
                               long b, long bn, long y, long yn, int relu_in) {
  adv::ConvGeom g;
  const long* geom = reinterpret_cast<const long*>(geom_ll);
  int rc = adv::conv_geom(op, geom, &g);
  if (rc) return rc;
  if ((rc = adv::conv_algo_check(op, algo, adv::wino_fits_fwd(g)))) return rc;
  if ((rc = adv::conv_check(op, g, x, xn, w, wn, y, yn, true, true, true))) return rc;
  if (b) ADV_CHECK_BUF(op, "bias", b, bn, g.Cout);
  if (rc) return rc;
  ADV_DISPATCH(op, dt, adv::conv_fwd_impl, g, x, w, b, y, algo, relu_in);
}

inline int adv_conv2d_fwd(int dt, int algo, long long* geom_ll, long x, long xn, long w, long wn, long b, long bn, long y,
                          long yn) {
  return adv_conv2d_fwd_impl("conv2d_fwd", dt, algo, geom_ll, x, xn, w, wn, b, bn, y, yn, 0);
}

inline int adv_conv2d_relu_fwd(int dt, int algo, long long* geom_ll, long x, long xn, long w, long wn, long b, long bn,
                               long y, long yn) {
  return adv_conv2d_fwd_impl("conv2d_relu_fwd", dt, algo, geom_ll, x, xn, w, wn, b, bn, y, yn, 1);
}

// mask: 0, or (adv_conv2d_relu_bwd_data) the forward input x, shaped like gx.
inline int adv_conv2d_bwd_data_impl(const char* op, int dt, int algo, long long* geom_ll, long gy, long gyn, long w,
                                    long wn, long mask, long maskn, bool mask_needed, long gx, long gxn) {
  adv::ConvGeom g;
  const long* geom = reinterpret_cast<const long*>(geom_ll);
  int rc = adv::conv_geom(op, geom, &g);
  if (rc) return rc;
  if ((rc = adv::conv_algo_check(op, algo, adv::wino_fits_bwd_data(g)))) return rc;
  if ((rc = adv::conv_check(op, g, gx, gxn, w, wn, gy, gyn, true, true, true))) return rc;
  if (mask_needed) ADV_CHECK_BUF(op, "input", mask, maskn, g.N * g.C * g.HW());
  if (rc) return rc;
  ADV_DISPATCH(op, dt, adv::conv_bwd_data_impl, g, gy, w, gx, algo, mask);
}

inline int adv_conv2d_bwd_data(int dt, int algo, long long* geom_ll, long gy, long gyn, long w, long wn, long gx,
                               long gxn) {
  return adv_conv2d_bwd_data_impl("conv2d_bwd_data", dt, algo, geom_ll, gy, gyn, w, wn, 0, 0, false, gx, gxn);
}

inline int adv_conv2d_relu_bwd_data(int dt, int algo, long long* geom_ll, long gy, long gyn, long w, long wn, long x,
                                    long xn, long gx, long gxn) {
  return adv_conv2d_bwd_data_impl("conv2d_relu_bwd_data", dt, algo, geom_ll, gy, gyn, w, wn, x, xn, true, gx, gxn);
}

// gw or gb may be 0 to skip that gradient.
inline int adv_conv2d_bwd_filter_impl(const char* op, int dt, int algo, long long* geom_ll, long x, long xn, long gy,
                                      long gyn, long gw, long gwn, long gb, long gbn, int relu_in) {
  adv::ConvGeom g;
  const long* geom = reinterpret_cast<const long*>(geom_ll);
  int rc = adv::conv_geom(op, geom, &g);
  if (rc) return rc;
  if ((rc = adv::conv_algo_check(op, algo, adv::wino_fits_fwd(g)))) return rc;
  if ((rc = adv::conv_check(op, g, x, xn, gw, gwn, gy, gyn, gw != 0, gw != 0, true))) return rc;
  if (gb) ADV_CHECK_BUF(op, "bias gradient", gb, gbn, g.Cout);
  if (rc) return rc;
  ADV_DISPATCH(op, dt, adv::conv_bwd_filter_impl, g, x, gy, gw, gb, algo, relu_in);
}

inline int adv_conv2d_bwd_filter(int dt, int algo, long long* geom_ll, long x, long xn, long gy, long gyn, long gw,
                                 long gwn, long gb, long gbn) {
  return adv_conv2d_bwd_filter_impl("conv2d_bwd_filter", dt, algo, geom_ll, x, xn, gy, gyn, gw, gwn, gb, gbn, 0);
}

inline int adv_conv2d_relu_bwd_filter(int dt, int algo, long long* geom_ll, long x, long xn, long gy, long gyn,
                                      long gw, long gwn, long gb, long gbn) {
  return adv_conv2d_bwd_filter_impl("conv2d_relu_bwd_filter", dt, algo, geom_ll, x, xn, gy, gyn, gw, gwn, gb, gbn, 1);
}

// The convolution (of relu(x) where relu_in) followed by a 2x2 / stride-2 max-pool: y [N, Cout,
// OH/2, OW/2] and idx (its argmax, as adv_pool2d_fwd writes it). OH and OW must be even.
inline int adv_conv2d_pool_fwd(int dt, int algo, int relu_in, long long* geom_ll, long x, long xn, long w, long wn,
                               long b, long bn, long y, long yn, long idx, long idxn) {
  const char* op = "conv2d_pool_fwd";
  adv::ConvGeom g;
  int rc = adv::conv_pool_geom(op, geom_ll, algo, false, &g);
  if (rc) return rc;
  if ((rc = adv::conv_check(op, g, x, xn, w, wn, 0, 0, true, true, false))) return rc;
  const long pooled = g.N * g.Cout * (g.OH / 2) * (g.OW / 2);
  ADV_CHECK_BUF(op, "output", y, yn, pooled);
  ADV_CHECK_BUF(op, "indices", idx, idxn, pooled);
  if (b) ADV_CHECK_BUF(op, "bias", b, bn, g.Cout);
  if (rc) return rc;
  ADV_DISPATCH(op, dt, adv::conv_pool_fwd_impl, g, x, w, b, y, idx, algo, relu_in);
}

// The backward of adv_conv2d_pool_fwd from the pooled gradient gy [N, Cout, OH/2, OW/2] and the
// pool's indices: gx (of x; zero where x <= 0 when relu_in), gw and gb, each 0 to skip it.
inline int adv_conv2d_pool_bwd(int dt, int algo, int relu_in, long long* geom_ll, long x, long xn, long w, long wn,
                               long gy, long gyn, long idx, long idxn, long gx, long gxn, long gw, long gwn, long gb,
                               long gbn) {
  const char* op = "conv2d_pool_bwd";
  adv::ConvGeom g;
  int rc = adv::conv_pool_geom(op, geom_ll, algo, true, &g);
  if (rc) return rc;
  // x is read for the filter gradient and, with relu_in, as the input gradient's mask.
  const bool x_needed = gw != 0 || (gx != 0 && relu_in);
  if ((rc = adv::conv_check(op, g, x, xn, w, wn, 0, 0, x_needed, gx != 0, false))) return rc;
  const long pooled = g.N * g.Cout * (g.OH / 2) * (g.OW / 2);
  ADV_CHECK_BUF(op, "output gradient", gy, gyn, pooled);
  ADV_CHECK_BUF(op, "indices", idx, idxn, pooled);
  if (gx) ADV_CHECK_BUF(op, "input gradient", gx, gxn, g.N * g.C * g.HW());
  if (gw) ADV_CHECK_BUF(op, "weight gradient", gw, gwn, g.Cout * g.K());
  if (gb) ADV_CHECK_BUF(op, "bias gradient", gb, gbn, g.Cout);
  if (rc) return rc;
  ADV_DISPATCH(op, dt, adv::conv_pool_bwd_impl, g, x, w, gy, idx, gx, gw, gb, algo, relu_in);
}

// Test hook: the Winograd kernels' instruction set, 256 (AVX2), 512 (AVX-512; refused where the CPU
// lacks it) or 0 (the CPU's best). Returns the set now in use, or -1.
inline int adv_set_wino_isa(int bits) {
  if (bits != 0 && bits != 256 && bits != 512)
    return adv::fail("set_wino_isa: %d is none of 0 (the CPU's best), 256 (AVX2), 512 (AVX-512)", bits);
  if (bits == 512 && !adv::cpu_has_avx512())
    return adv::fail("set_wino_isa: this CPU lacks AVX-512 (F, VL, BW and DQ are needed)");
  adv::wino_isa_override() = bits;
  return adv::wino_avx512() ? 512 : 256;
}

// 1 where the CPU runs the AVX-512 copy of the Winograd kernels, else 0.
inline int adv_cpu_has_avx512() { return adv::cpu_has_avx512() ? 1 : 0; }

// Test hook: AUTO's Winograd layers use tile size `tile` (2 or 4), or the measured choice (0).
inline int adv_set_wino_tile(int tile) {
  if (tile != 0 && tile != 2 && tile != 4) return adv::fail("set_wino_tile: tile %d is none of 0, 2, 4", tile);
  adv::wino_tile_override() = tile;
  return 0;
}
