// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016) for 3x3, stride-1, dilation-1, ungrouped convolutions: forward;
// backward-data, which for such a layer is the same kind of convolution of the output gradient
// with the flipped, transposed filters and padding 2 - pad; and backward-filter (at the end).
//
// Each 2x2 output tile costs 16 multiplies per (input, output) channel pair instead of 36, and
// those 16 become 16 GEMMs over channels: M[xi] (Cout x tiles) = U[xi] (Cout x Cin) * V[xi]
// (Cin x tiles), xi = 0..15 the transform-domain positions. Transforms, with d a 4x4 input tile,
// g a 3x3 filter and m a 4x4 tile of M:
//   V = B^T d B,  U = G g G^T,  y = A^T m A  (2x2), with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// The tiles are processed in chunks of whole tile rows small enough that a chunk's transformed
// input and output (16 * (Cin + Cout) * tiles elements) stay in L2; chunks run on the pool, each
// thread with its own scratch, grown once to its high-water mark (no allocation after warm-up).
// The transforms are vectorized across kWinoLanes neighbouring tiles of one tile row.
// advmia_winograd4.h builds F(4x4, 3x3) on the pieces here (vectors, scratch, chunk plan, plane
// strides); advmia_conv.h picks between the two per layer and direction.
// Included only by advmia_winograd_kernels.h, once per instruction set (no include guard).
#ifndef ADV_WINO_ISA
#error "include advmia_winograd_kernels.h, which compiles this file once per instruction set"
#endif

namespace adv {
namespace ADV_WINO_ISA {

constexpr long kWinoLanes = 8;
// The AVX-512 copy also has 16-lane (512-bit) variants of some float kernels (see
// wino4_gather_group16); the vectors of every other kernel stay kWinoLanes wide.
constexpr bool kWinoWide = ADV_WINO_WIDE;

// kWinoLanes values of T as one GCC vector (one AVX2 register for float, two for double): the
// transforms are written on these, because GCC's auto-vectorizer left the 4x4 tile arrays as
// scalar code (measured 3x slower).
template <class T> struct WinoVecOf {
  typedef T type __attribute__((vector_size(kWinoLanes * sizeof(T))));
};
template <class T> using WVec = typename WinoVecOf<T>::type;

template <class T> inline WVec<T> wload(const T* p) {
  WVec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T> inline void wstore(T* p, const WVec<T>& v) { std::memcpy(p, &v, sizeof v); }

// Scratch of the Winograd path, apart from the im2col path's slots. Slot 0 holds the calling
// thread's transformed filters (or, for backward-filter, the partial filter gradients), read by
// every thread of the job; slots 1-3 are each thread's split input rows, transformed input and
// transformed output (or output gradient); slot 4 the forward filters transformed for the
// adjoint backward-data when it runs inside backward-filter (winograd_backward_data_filter). Sizes: 16 Cout Cin (times the thread count for
// backward-filter; 16 MB per copy for 512 x 512 filters) and ADV_WINO_BUDGET per thread (more
// where ADV_WINO_MIN_TILES tiles of a wide layer need it: 4 MB for 512 + 512 channels).
template <class T> inline T* wino_scratch(int slot, long n) {
  static thread_local std::vector<T> bufs[5];
  std::vector<T>& b = bufs[slot];
  if ((long)b.size() < n) b.resize(n);
  return b.data();
}

// U[xi][o][i] = (G g G^T)[xi] for the filters g of a convolution with Cout output and Cin input
// channels. Forward: g = w[o][i]. Backward-data (flipped): the convolution of the output
// gradient has w's input channels as outputs and its output channels as inputs, with each
// filter rotated by 180 degrees: g[a][b] = w[i][o][2-a][2-b]. Vectorized across kWinoLanes input
// channels so that the stores into the 16 planes of U are contiguous (one filter at a time, 16
// stores a plane apart, ran 4x slower on 512x512 filters).
template <class T> void wino_filter_transform(const T* w, long Cout, long Cin, bool flipped, T* U) {
  constexpr long L = kWinoLanes;
  const long plane = Cout * Cin;
  const WVec<T> half = (WVec<T>){} + (T)0.5;
  parallel_items(Cout, Cin * 32, [&](long o) {
    for (long i0 = 0; i0 < Cin; i0 += L) {
      const long cnt = std::min(L, Cin - i0);
      WVec<T> g[9], gg[4][3], u[16];
      for (long l = 0; l < L; l++) {
        const long i = i0 + std::min(l, cnt - 1);  // lanes past Cin repeat the last channel
        const T* src = flipped ? w + (i * Cout + o) * 9 : w + (o * Cin + i) * 9;
        for (int t = 0; t < 9; t++) g[t][l] = src[flipped ? 8 - t : t];
      }
      for (int b = 0; b < 3; b++) {
        gg[0][b] = g[b];
        gg[1][b] = half * (g[b] + g[3 + b] + g[6 + b]);
        gg[2][b] = half * (g[b] - g[3 + b] + g[6 + b]);
        gg[3][b] = g[6 + b];
      }
      for (int a = 0; a < 4; a++) {
        u[4 * a + 0] = gg[a][0];
        u[4 * a + 1] = half * (gg[a][0] + gg[a][1] + gg[a][2]);
        u[4 * a + 2] = half * (gg[a][0] - gg[a][1] + gg[a][2]);
        u[4 * a + 3] = gg[a][2];
      }
      T* dst = U + o * Cin + i0;
      if (cnt == L) {
        for (int xi = 0; xi < 16; xi++) wstore<T>(dst + xi * plane, u[xi]);
      } else {
        for (int xi = 0; xi < 16; xi++)
          for (long l = 0; l < cnt; l++) dst[xi * plane + l] = u[xi][l];
      }
    }
  });
}

// The shape of one Winograd convolution: `in` [N, Cin, IH, IW] padded by (ph, pw) and convolved
// with 3x3 filters gives `out` [N, Cout, OH, OW], OH = IH + 2 ph - 2.
struct WinoShape {
  long N, Cin, IH, IW, ph, pw, Cout, OH, OW;
  long TH() const { return (OH + 1) / 2; }   // tile rows per image
  long TW() const { return (OW + 1) / 2; }   // tiles per tile row
  long TWr() const { return (TW() + kWinoLanes - 1) / kWinoLanes * kWinoLanes; }
  // Width of a de-interleaved input row (see wino_split_rows): tile tw reads columns tw and tw + 1.
  long split_width() const { return TWr() + 1; }
};

// Input rows ih0 .. ih0 + rows - 1 of one plane, zero-padded and split by column parity:
// E[r][k] = x[ih0 + r][2k - pw], O[r][k] = x[ih0 + r][2k + 1 - pw] (0 outside the image).
// Tile (th, tw) then reads E/O rows 2 th .. 2 th + 3 at columns tw and tw + 1, so the input
// transform runs on unit-stride vectors, and each input row is split once per chunk instead of
// being gathered by every tile that overlaps it.
// (Plane xc is IH x IW; the rows are Ws wide.)
template <class T> void wino_split_rows(const T* xc, long IH, long IW, long pw, long Ws, long ih0, long rows, T* E,
                                        T* O) {
  constexpr long L = kWinoLanes;
  static_assert(L == 8, "the de-interleaving shuffles below are written for 8 lanes");
  // Columns k in [klo, khi) have both 2k - pw and 2k + 1 - pw inside the row.
  const long klo = std::min(Ws, (pw + 1) / 2);
  const long khi = std::max(klo, std::min(Ws, IW + pw >= 2 ? (IW + pw - 2) / 2 + 1 : 0));
  for (long r = 0; r < rows; r++) {
    T* e = E + r * Ws;
    T* o = O + r * Ws;
    const long ih = ih0 + r;
    if (ih < 0 || ih >= IH) {
      std::fill(e, e + Ws, (T)0);
      std::fill(o, o + Ws, (T)0);
      continue;
    }
    const T* xr = xc + ih * IW;
    auto at = [&](long c) { return c >= 0 && c < IW ? xr[c] : (T)0; };
    for (long k = 0; k < klo; k++) { e[k] = at(2 * k - pw); o[k] = at(2 * k + 1 - pw); }
    const T* src = xr - pw;
    long k = klo;
    for (; k + L <= khi; k += L) {
      const WVec<T> lo = wload<T>(src + 2 * k), hi = wload<T>(src + 2 * k + L);
      wstore<T>(e + k, __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14));
      wstore<T>(o + k, __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15));
    }
    for (; k < khi; k++) {
      e[k] = src[2 * k];
      o[k] = src[2 * k + 1];
    }
    if (khi < Ws) {  // at most one column still inside the row, then padding
      e[khi] = at(2 * khi - pw);
      o[khi] = at(2 * khi + 1 - pw);
      std::fill(e + khi + 1, e + Ws, (T)0);
      std::fill(o + khi + 1, o + Ws, (T)0);
    }
  }
}

// V[xi * xstride + t] = (B^T d_t B)[xi] for the tiles t of one tile row, kWinoLanes at a time,
// from the split rows E/O (row stride Ws) of its four input rows. Whole groups are stored, so up
// to kWinoLanes - 1 entries past the row's last tile are overwritten (the caller processes rows
// in order and pads the buffer).
template <class T> inline void wino_input_tiles(const T* E, const T* O, long Ws, long groups, T* V, long xstride) {
  constexpr long L = kWinoLanes;
  for (long gi = 0; gi < groups; gi++) {
    const long k0 = L * gi;
    WVec<T> d[4][4], t[4][4];
    for (int r = 0; r < 4; r++) {
      d[r][0] = wload<T>(E + r * Ws + k0);
      d[r][1] = wload<T>(O + r * Ws + k0);
      d[r][2] = wload<T>(E + r * Ws + k0 + 1);
      d[r][3] = wload<T>(O + r * Ws + k0 + 1);
    }
    for (int j = 0; j < 4; j++) {
      t[0][j] = d[0][j] - d[2][j];
      t[1][j] = d[1][j] + d[2][j];
      t[2][j] = d[2][j] - d[1][j];
      t[3][j] = d[1][j] - d[3][j];
    }
    T* v = V + k0;
    for (int i = 0; i < 4; i++) {
      wstore<T>(v + (4 * i + 0) * xstride, t[i][0] - t[i][2]);
      wstore<T>(v + (4 * i + 1) * xstride, t[i][1] + t[i][2]);
      wstore<T>(v + (4 * i + 2) * xstride, t[i][2] - t[i][1]);
      wstore<T>(v + (4 * i + 3) * xstride, t[i][1] - t[i][3]);
    }
  }
}

// o = A^T m A + b for kWinoLanes neighbouring tiles, m[xi] = M[xi * xstride + lane]: the output
// transform that wino_output_tiles and wino_output_pool_tiles share.
template <class T> inline void wino_output_transform(const T* M, long xstride, const WVec<T>& b, WVec<T> o[2][2]) {
  WVec<T> m[16], a[2][4];
  for (int xi = 0; xi < 16; xi++) m[xi] = wload<T>(M + xi * xstride);
  for (int j = 0; j < 4; j++) {
    a[0][j] = m[j] + m[4 + j] + m[8 + j];
    a[1][j] = m[4 + j] - m[8 + j] - m[12 + j];
  }
  for (int i = 0; i < 2; i++) {
    o[i][0] = a[i][0] + a[i][1] + a[i][2] + b;
    o[i][1] = a[i][1] - a[i][2] - a[i][3] + b;
  }
}

// y tiles = A^T m_t A (+ bias) for the TW tiles of one tile row of one output plane, where
// m_t[xi] = M[xi * xstride + t]. Reads up to kWinoLanes - 1 entries past the row (padding).
template <class T> inline void wino_output_tiles(const WinoShape& s, const T* M, long xstride, T bias, T* yc, long th) {
  constexpr long L = kWinoLanes;
  static_assert(L == 8, "the interleaving shuffles below are written for 8 lanes");
  const long TW = s.TW(), oh = 2 * th;
  const bool two_rows = oh + 1 < s.OH;
  T* y0 = yc + oh * s.OW;
  T* y1 = y0 + s.OW;
  const WVec<T> b = (WVec<T>){} + bias;
  for (long tw0 = 0; tw0 < TW; tw0 += L) {
    WVec<T> o[2][2];
    wino_output_transform<T>(M + tw0, xstride, b, o);
    const long cnt = std::min(L, TW - tw0);
    if (cnt == L && 2 * (tw0 + L) <= s.OW && two_rows) {
      // Output columns alternate between the tiles' left (o[i][0]) and right (o[i][1]) values.
      for (int i = 0; i < 2; i++) {
        T* row = (i == 0 ? y0 : y1) + 2 * tw0;
        wstore<T>(row, __builtin_shufflevector(o[i][0], o[i][1], 0, 8, 1, 9, 2, 10, 3, 11));
        wstore<T>(row + L, __builtin_shufflevector(o[i][0], o[i][1], 4, 12, 5, 13, 6, 14, 7, 15));
      }
      continue;
    }
    // The right or bottom edge: odd output sizes leave tiles whose second column/row is outside.
    for (long l = 0; l < cnt; l++) {
      const long ow = 2 * (tw0 + l);
      const bool two_cols = ow + 1 < s.OW;
      y0[ow] = o[0][0][l];
      if (two_cols) y0[ow + 1] = o[0][1][l];
      if (two_rows) {
        y1[ow] = o[1][0][l];
        if (two_cols) y1[ow + 1] = o[1][1][l];
      }
    }
  }
}

// With even OH and OW each 2x2 output tile is exactly one window of a 2x2 / stride-2 max-pool, so
// the pool can be taken in the output transform and the convolution's output never written: for
// the TW tiles of tile row th of one plane, yp[th * TW + t] = the window's max and ip[...] its index
// in the OH x OW plane, with the scan order and NaN rule of maxpool2x2_fwd (advmia_spatial.h:
// row-major, a value replaces the best if greater or NaN), so values and indices are identical to
// pooling the stored output.
template <class T> inline void wino_output_pool_tiles(const WinoShape& s, const T* M, long xstride, T bias, T* yp,
                                                      T* ip, long th) {
  constexpr long L = kWinoLanes;
  const long TW = s.TW(), OW = s.OW;
  const WVec<T> b = (WVec<T>){} + bias;
  WVec<T> lane;
  for (long l = 0; l < L; l++) lane[l] = (T)(2 * l);
  for (long tw0 = 0; tw0 < TW; tw0 += L) {
    WVec<T> o[2][2];
    wino_output_transform<T>(M + tw0, xstride, b, o);
    const WVec<T> i0 = lane + (T)(2 * th * OW + 2 * tw0);
    WVec<T> best, bi;
    window_max4<WVec<T>, T>(o[0][0], o[0][1], o[1][0], o[1][1], i0, OW, &best, &bi);
    const long cnt = std::min(L, TW - tw0);
    T* yr = yp + th * TW + tw0;
    T* ir = ip + th * TW + tw0;
    if (cnt == L) {
      wstore<T>(yr, best);
      wstore<T>(ir, bi);
    } else {
      for (long l = 0; l < cnt; l++) {
        yr[l] = best[l];
        ir[l] = bi[l];
      }
    }
  }
}

// Chunking: whole tile rows per chunk, as many as keep the chunk's transformed input and output
// within ADV_WINO_BUDGET bytes (L2 is 2 MB per core here), but at least ADV_WINO_MIN_TILES tiles
// per GEMM, below which OpenBLAS's per-call packing dominates.
#ifndef ADV_WINO_BUDGET
#define ADV_WINO_BUDGET (1024L * 1024)
#endif
#ifndef ADV_WINO_MIN_TILES
#define ADV_WINO_MIN_TILES 64L
#endif

struct WinoPlan {
  long rows;    // tile rows per chunk
  long chunks;  // ceil(N * TH / rows)
  long ld;      // leading dimension of a chunk's V and M rows: tiles + kWinoLanes padding
};

// dU[i] += dU[q * usize + i] for the parts q = 1 .. parts - 1 of a backward-filter's per-thread
// partial sums, in part order (deterministic for a thread count); F(2x2) and F(4x4) alike.
template <class T> void wino_sum_parts(T* dU, long parts, long usize) {
  if (parts > 1)
    parallel_range(usize, kParallelGrain, [&](long b, long e) {
      for (long q = 1; q < parts; q++)
        for (long i = b; i < e; i++) dU[i] += dU[q * usize + i];
    });
}

template <class T> inline WinoPlan wino_plan(const WinoShape& s) {
  const long TW = s.TW(), total = s.N * s.TH();
  const long per_tile = 16 * (s.Cin + s.Cout) * (long)sizeof(T);
  long tiles = std::max(ADV_WINO_BUDGET / per_tile, ADV_WINO_MIN_TILES);
  long rows = std::max(1L, std::min(total, tiles / TW));
  const long threads = pool_threads();
  if (threads > 1) rows = std::min(rows, std::max(1L, (total + threads - 1) / threads));
  WinoPlan p{rows, (total + rows - 1) / rows, 0};
  p.ld = rows * TW + kWinoLanes;
  return p;
}

// The distance between the 16 planes of V (or M), which the transforms access together: a
// multiple of 4 KB plus 256 bytes, so that the 16 streams fall into different L1 sets. With a
// multiple of 4 KB (e.g. SmallCNN conv3's backward-data: 64 channels x 176 floats) all 16 map to
// one set of the 12-way L1 and the input transform ran 3x slower.
template <class T> inline long wino_plane_stride(long elems) {
  const long bytes = (elems * (long)sizeof(T) + 4095) / 4096 * 4096 + 256;
  return bytes / (long)sizeof(T);
}

// Input rows split per run of tile rows: 2 per tile row plus the 2 the last one overlaps.
inline long wino_split_rows_needed(const WinoPlan& p) { return 2 * p.rows + 2; }

// V = the transformed input tiles of tile rows [r0, r1) (global index n * TH + th), in
// V[xi * vstride + c * ld + (r - r0) * TW + tw].
// relu_in: the convolution reads relu(in) (a ReLU fused into the following convolution, see
// adv_conv2d_relu_fwd): applied to the split rows, which are hot in L1, so the rectified input is
// never written to memory.
template <class T> void wino_input_chunk(const WinoShape& s, const T* in, long r0, long r1, long ld, T* E, T* O, T* V,
                                         long vstride, bool relu_in) {
  const long TH = s.TH(), TW = s.TW(), Ws = s.split_width(), IHW = s.IH * s.IW, groups = s.TWr() / kWinoLanes;
  for (long c = 0; c < s.Cin; c++)
    for (long ra = r0; ra < r1;) {  // runs of tile rows within one image
      const long n = ra / TH, th0 = ra % TH, rb = std::min(r1, (n + 1) * TH);
      wino_split_rows<T>(in + (n * s.Cin + c) * IHW, s.IH, s.IW, s.pw, Ws, 2 * th0 - s.ph, 2 * (rb - ra) + 2, E, O);
      if (relu_in) {
        const long len = (2 * (rb - ra) + 2) * Ws;
        for (long q = 0; q < len; q++) E[q] = E[q] > 0 ? E[q] : (T)0;
        for (long q = 0; q < len; q++) O[q] = O[q] > 0 ? O[q] : (T)0;
      }
      for (long r = ra; r < rb; r++) {
        const long off = 2 * (r - ra) * Ws;
        wino_input_tiles<T>(E + off, O + off, Ws, groups, V + c * ld + (r - r0) * TW, vstride);
      }
      ra = rb;
    }
}

// One Winograd convolution with filters already transformed into U[16][Cout][Cin]. relu_in: of
// relu(in) (see wino_input_chunk). mask (null, or shaped like out): out[i] = 0 where mask[i] <= 0,
// the ReLU backward of the layer that produced mask, done while the tile row's output is in L1.
// pool_idx (non-null; OH and OW even): out is max-pool 2x2/2 of the convolution, [N, Cout, OH/2,
// OW/2], with its argmax indices in pool_idx (see wino_output_pool_tiles).
template <class T> void wino_conv(const WinoShape& s, const T* in, const T* U, const T* bias, T* out, bool relu_in,
                                  const T* mask, T* pool_idx = nullptr) {
  const WinoPlan plan = wino_plan<T>(s);
  const long TH = s.TH(), TW = s.TW(), total = s.N * TH, ld = plan.ld, Ws = s.split_width();
  const long OHW = s.OH * s.OW;
  const long vstride = wino_plane_stride<T>(s.Cin * ld), mstride = wino_plane_stride<T>(s.Cout * ld);
  const int threads = pool_threads();
  const bool outer = plan.chunks >= threads && threads > 1;
  parallel_for(plan.chunks, [&](long ch) {
    const long r0 = ch * plan.rows, r1 = std::min(total, r0 + plan.rows), tiles = (r1 - r0) * TW;
    T* E = wino_scratch<T>(1, 2 * wino_split_rows_needed(plan) * Ws);
    T* O = E + wino_split_rows_needed(plan) * Ws;
    T* V = wino_scratch<T>(2, 16 * vstride);
    T* M = wino_scratch<T>(3, 16 * mstride);
    wino_input_chunk<T>(s, in, r0, r1, ld, E, O, V, vstride, relu_in);
    for (int xi = 0; xi < 16; xi++)
      gemm_auto<T>(!outer, false, false, s.Cout, tiles, s.Cin, 1, U + xi * s.Cout * s.Cin, s.Cin, V + xi * vstride, ld,
                   0, M + xi * mstride, ld);
    for (long k = 0; k < s.Cout; k++) {
      const T b = bias ? bias[k] : (T)0;
      for (long r = r0; r < r1; r++) {
        const long n = r / TH, th = r % TH;
        if (pool_idx) {
          const long plane = (n * s.Cout + k) * (OHW / 4);
          wino_output_pool_tiles<T>(s, M + k * ld + (r - r0) * TW, mstride, b, out + plane, pool_idx + plane, th);
          continue;
        }
        wino_output_tiles<T>(s, M + k * ld + (r - r0) * TW, mstride, b, out + (n * s.Cout + k) * OHW, th);
        if (mask) {
          const long q0 = (n * s.Cout + k) * OHW + 2 * th * s.OW, q1 = q0 + std::min(2L, s.OH - 2 * th) * s.OW;
          T* o = out;
          for (long q = q0; q < q1; q++) o[q] = mask[q] > 0 ? o[q] : (T)0;
        }
      }
    }
  }, outer);
}

// ---- backward-filter ----------------------------------------------------------------------
// The forward is y_t = A^T (sum_c U_kc .* V_ct) A per tile t, so with gY_t the 2x2 output
// gradient of tile t: dL/dU_kc = sum_t (A gY_kt A^T) .* V_ct, a sum over tiles that is again 16
// GEMMs, dU[xi] (Cout x Cin) += dM[xi] (Cout x tiles) * V[xi]^T, with V the forward's
// transformed input; and dL/dg_kc = G^T dU_kc G. Outputs that partial tiles leave out have no
// gradient (zero), and padding enters through V, as in the forward.

// dM[xi * xstride + t] = (A gY_t A^T)[xi] for the tiles of one tile row, from the output
// gradient's two rows split by column parity (E/O rows 0 and 1, row stride Ws; zero past the
// edge). Like wino_input_tiles, whole groups are stored.
template <class T> inline void wino_grad_tiles(const T* E, const T* O, long Ws, long groups, T* dM, long xstride) {
  constexpr long L = kWinoLanes;
  for (long gi = 0; gi < groups; gi++) {
    const long k0 = L * gi;
    const WVec<T> g00 = wload<T>(E + k0), g01 = wload<T>(O + k0);
    const WVec<T> g10 = wload<T>(E + Ws + k0), g11 = wload<T>(O + Ws + k0);
    // Z = A gY (4x2), rows: (g0.), (g0. + g1.), (g0. - g1.), (-g1.); then Z A^T, per row (a, b):
    // (a, a + b, a - b, -b).
    WVec<T> z[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};
    T* d = dM + k0;
    for (int i = 0; i < 4; i++) {
      wstore<T>(d + (4 * i + 0) * xstride, z[i][0]);
      wstore<T>(d + (4 * i + 1) * xstride, z[i][0] + z[i][1]);
      wstore<T>(d + (4 * i + 2) * xstride, z[i][0] - z[i][1]);
      wstore<T>(d + (4 * i + 3) * xstride, -z[i][1]);
    }
  }
}

// gw[o][i][3x3] = G^T dU[.][o][i] G, dU laid out [16][Cout][Cin]; vectorized across input channels.
template <class T> void wino_filter_grad_transform(const T* dU, long Cout, long Cin, T* gw) {
  constexpr long L = kWinoLanes;
  const long plane = Cout * Cin;
  const WVec<T> half = (WVec<T>){} + (T)0.5;
  parallel_items(Cout, Cin * 32, [&](long o) {
    for (long i0 = 0; i0 < Cin; i0 += L) {
      const long cnt = std::min(L, Cin - i0);
      WVec<T> u[16], t[3][4], g[9];
      const T* src = dU + o * Cin + i0;
      for (int xi = 0; xi < 16; xi++) {
        if (cnt == L) {
          u[xi] = wload<T>(src + xi * plane);
        } else {
          u[xi] = (WVec<T>){};
          for (long l = 0; l < cnt; l++) u[xi][l] = src[xi * plane + l];
        }
      }
      // G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]: rows of G^T X, then (G^T X) G by columns.
      for (int j = 0; j < 4; j++) {
        t[0][j] = u[j] + half * (u[4 + j] + u[8 + j]);
        t[1][j] = half * (u[4 + j] - u[8 + j]);
        t[2][j] = half * (u[4 + j] + u[8 + j]) + u[12 + j];
      }
      for (int a = 0; a < 3; a++) {
        g[3 * a + 0] = t[a][0] + half * (t[a][1] + t[a][2]);
        g[3 * a + 1] = half * (t[a][1] - t[a][2]);
        g[3 * a + 2] = half * (t[a][1] + t[a][2]) + t[a][3];
      }
      T* dst = gw + (o * Cin + i0) * 9;
      for (long l = 0; l < cnt; l++)
        for (int q = 0; q < 9; q++) dst[l * 9 + q] = g[q][l];
    }
  });
}

// Weight gradient of the forward convolution of shape s (x = in, output gradient gy), into gw
// [Cout][Cin][3][3]. Deterministic like the im2col path: chunks are split into fixed contiguous
// ranges, one accumulator each, summed in range order.
// (Chunks sized as for the forward: larger ones, for a longer GEMM contraction, measured
// slower: 2 MB / 128 tiles cost SmallCNN's layers 5-15%, 4 MB / 256 up to 30%.)
// relu_in: the gradient of the convolution of relu(in) (see wino_input_chunk).
template <class T> void wino_bwd_filter(const WinoShape& s, const T* in, const T* gy, T* gw, bool relu_in) {
  const WinoPlan plan = wino_plan<T>(s);
  const long TH = s.TH(), TW = s.TW(), total = s.N * TH, ld = plan.ld, Ws = s.split_width();
  const long OHW = s.OH * s.OW, groups = s.TWr() / kWinoLanes, usize = 16 * s.Cout * s.Cin;
  const long vstride = wino_plane_stride<T>(s.Cin * ld), mstride = wino_plane_stride<T>(s.Cout * ld);
  const int threads = pool_threads();
  const bool outer = plan.chunks >= threads && threads > 1;
  const long parts = outer ? threads : 1;
  T* dU = wino_scratch<T>(0, parts * usize);
  parallel_for(parts, [&](long part) {
    const long c0 = part * plan.chunks / parts, c1 = (part + 1) * plan.chunks / parts;
    const long xrows = wino_split_rows_needed(plan);
    T* E = wino_scratch<T>(1, 2 * (xrows + 2) * Ws);
    T* O = E + xrows * Ws;
    T* gE = O + xrows * Ws;  // the output gradient's two rows of one tile row
    T* gO = gE + 2 * Ws;
    T* V = wino_scratch<T>(2, 16 * vstride);
    T* dM = wino_scratch<T>(3, 16 * mstride);
    for (long ch = c0; ch < c1; ch++) {
      const long r0 = ch * plan.rows, r1 = std::min(total, r0 + plan.rows), tiles = (r1 - r0) * TW;
      wino_input_chunk<T>(s, in, r0, r1, ld, E, O, V, vstride, relu_in);
      for (long k = 0; k < s.Cout; k++)
        for (long r = r0; r < r1; r++) {
          const long n = r / TH, th = r % TH;
          wino_split_rows<T>(gy + (n * s.Cout + k) * OHW, s.OH, s.OW, 0, Ws, 2 * th, 2, gE, gO);
          wino_grad_tiles<T>(gE, gO, Ws, groups, dM + k * ld + (r - r0) * TW, mstride);
        }
      for (int xi = 0; xi < 16; xi++)
        gemm_auto<T>(!outer, false, true, s.Cout, s.Cin, tiles, 1, dM + xi * mstride, ld, V + xi * vstride, ld,
                     ch == c0 ? (T)0 : (T)1, dU + part * usize + xi * s.Cout * s.Cin, s.Cin);
    }
  }, outer);
  wino_sum_parts<T>(dU, parts, usize);
  wino_filter_grad_transform<T>(dU, s.Cout, s.Cin, gw);
}

}  // namespace ADV_WINO_ISA
}  // namespace adv
