// Winograd F(4x4, 3x3) (Lavin & Gray 2016) beside the F(2x2, 3x3) of advmia_winograd.h, for the
// same layers (3x3, stride 1, dilation 1, ungrouped) and the same three directions: forward (with
// the fused input ReLU, output ReLU mask and 2x2 max-pool), backward-data (the forward kernel on
// the output gradient with flipped, transposed filters and padding 2 - pad) and backward-filter.
//
// A 4x4 output tile reads a 6x6 input tile and costs 36 multiplies per channel pair, 2.25 per
// output instead of F(2x2)'s 4, in 36 GEMMs M[xi] = U[xi] V[xi]; the transformed input is also
// 36/16 = 2.25 elements per output instead of 4. The price: partial tiles on outputs that are not
// a multiple of 4 (a 10x10 output computes 12x12), and larger transform coefficients, so larger
// rounding errors (see WinogradF4ConvolutionTest's bound). Interpolation points 0, +-1, +-2
// (and infinity): B^T and A^T have small integer entries, so the input and output transforms
// round at most 3 times per dimension and the filter transform carries the fractions (1/4, 1/6,
// 1/24), computed once per call. (Points +-1/2 instead of +-2 trade 8 in A^T for 1/8 and move
// powers of 2 between the matrices; the products of the coefficient magnitudes, which set the
// error bound, come out the same for F(4x4), so the integer form was kept.)
//   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
//          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
// Layout, chunking, scratch and determinism follow advmia_winograd.h; the input rows are split by
// column modulo 4 (tile tw reads phase columns tw and tw + 1) instead of by parity, and rows of
// fewer than 8 tiles go through tile-major staging (wino4_staged).
// Included only by advmia_winograd_kernels.h, after advmia_winograd.h, once per instruction set.
#ifndef ADV_WINO_ISA
#error "include advmia_winograd_kernels.h, which compiles this file once per instruction set"
#endif

namespace adv {
namespace ADV_WINO_ISA {

struct Wino4Shape {
  long N, Cin, IH, IW, ph, pw, Cout, OH, OW;
  long TH() const { return (OH + 3) / 4; }
  long TW() const { return (OW + 3) / 4; }
  long TWr() const { return (TW() + kWinoLanes - 1) / kWinoLanes * kWinoLanes; }
  long split_width() const { return TWr() + 1; }
};

// The 1-D transforms, each on 6 (or 4) vectors of kWinoLanes tiles or channels. The groupings
// bound the roundings per output: B^T 3, A^T 3, G 4 (with the rounded constant), A (of the
// gradient tile) 2, G^T 5; WinogradF4ConvolutionTest's bounds count these.
template <class T, class V = WVec<T>> inline void w4_bt(const V* d, V* o) {
  const V d42 = d[4] - d[2], d31 = d[3] - d[1];
  o[0] = (T)4 * (d[0] - d[2]) + d42;
  o[1] = (d[3] + d[4]) - (T)4 * (d[1] + d[2]);
  o[2] = (d[4] - d[3]) + (T)4 * (d[1] - d[2]);
  o[3] = d42 + (T)2 * d31;
  o[4] = d42 - (T)2 * d31;
  o[5] = (d[5] - d[3]) + (T)4 * (d[1] - d[3]);
}

template <class T> inline void w4_at(const WVec<T>* m, WVec<T>* o) {
  const WVec<T> s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  o[0] = m[0] + (s12 + s34);
  o[1] = d12 + (T)2 * d34;
  o[2] = s12 + (T)4 * s34;
  o[3] = (d12 + (T)8 * d34) + m[5];
}

template <class T> inline void w4_g(const WVec<T>* g, WVec<T>* u) {
  const T sixth = (T)1 / 6, c24 = (T)1 / 24;
  const WVec<T> s02 = g[0] + g[2], e = g[0] + (T)4 * g[2];
  u[0] = (T)0.25 * g[0];
  u[1] = -sixth * (s02 + g[1]);
  u[2] = -sixth * (s02 - g[1]);
  u[3] = c24 * (e + (T)2 * g[1]);
  u[4] = c24 * (e - (T)2 * g[1]);
  u[5] = g[2];
}

template <class T> inline void w4_a(const WVec<T>* a, WVec<T>* z) {
  const WVec<T> s02 = a[0] + a[2], s13 = a[1] + a[3], e = a[0] + (T)4 * a[2], f = a[1] + (T)4 * a[3];
  z[0] = a[0];
  z[1] = s02 + s13;
  z[2] = s02 - s13;
  z[3] = e + (T)2 * f;
  z[4] = e - (T)2 * f;
  z[5] = a[3];
}

template <class T> inline void w4_gt(const WVec<T>* x, WVec<T>* r) {
  const T sixth = (T)1 / 6, c12 = (T)1 / 12, c24 = (T)1 / 24;
  const WVec<T> s12 = x[1] + x[2], s34 = x[3] + x[4];
  r[0] = ((T)0.25 * x[0] - sixth * s12) + c24 * s34;
  r[1] = c12 * (x[3] - x[4]) - sixth * (x[1] - x[2]);
  r[2] = (sixth * (s34 - s12)) + x[5];
}

// U[xi][o][i] = (G g G^T)[xi], 36 planes; filters as in wino_filter_transform (flipped: the
// backward-data convolution's filters).
template <class T> void wino4_filter_transform(const T* w, long Cout, long Cin, bool flipped, T* U) {
  constexpr long L = kWinoLanes;
  const long plane = Cout * Cin;
  parallel_items(Cout, Cin * 72, [&](long o) {
    for (long i0 = 0; i0 < Cin; i0 += L) {
      const long cnt = std::min(L, Cin - i0);
      WVec<T> g[9], col[3], gg[6][3], row[3], u[6];
      for (long l = 0; l < L; l++) {
        const long i = i0 + std::min(l, cnt - 1);
        const T* src = flipped ? w + (i * Cout + o) * 9 : w + (o * Cin + i) * 9;
        for (int t = 0; t < 9; t++) g[t][l] = src[flipped ? 8 - t : t];
      }
      WVec<T> tmp[6];
      for (int b = 0; b < 3; b++) {
        for (int a = 0; a < 3; a++) col[a] = g[3 * a + b];
        w4_g<T>(col, tmp);
        for (int a = 0; a < 6; a++) gg[a][b] = tmp[a];
      }
      T* dst = U + o * Cin + i0;
      for (int a = 0; a < 6; a++) {
        for (int b = 0; b < 3; b++) row[b] = gg[a][b];
        w4_g<T>(row, u);
        for (int b = 0; b < 6; b++) {
          const long xi = 6 * a + b;
          if (cnt == L) wstore<T>(dst + xi * plane, u[b]);
          else for (long l = 0; l < cnt; l++) dst[xi * plane + l] = u[b][l];
        }
      }
    }
  });
}

// Input rows ih0 .. ih0 + rows - 1 of one plane, zero-padded and split by column modulo 4:
// P[q][r * Ws + k] = x[ih0 + r][4k + q - pw] (0 outside the image), q = 0..3 (P[q] = P0 + q * pstride).
template <class T> void wino4_split_rows(const T* xc, long IH, long IW, long pw, long Ws, long ih0, long rows, T* P0,
                                         long pstride) {
  constexpr long L = kWinoLanes;
  static_assert(L == 8, "the de-interleaving shuffles below are written for 8 lanes");
  // Columns k in [klo, khi) have all of 4k - pw .. 4k + 3 - pw inside the row.
  const long klo = std::min(Ws, (pw + 3) / 4);
  const long khi = std::max(klo, std::min(Ws, IW + pw >= 4 ? (IW + pw - 4) / 4 + 1 : 0));
  for (long r = 0; r < rows; r++) {
    T* p = P0 + r * Ws;
    const long ih = ih0 + r;
    if (ih < 0 || ih >= IH) {
      for (int q = 0; q < 4; q++) std::fill(p + q * pstride, p + q * pstride + Ws, (T)0);
      continue;
    }
    const T* xr = xc + ih * IW;
    auto at = [&](long c) { return c >= 0 && c < IW ? xr[c] : (T)0; };
    for (long k = 0; k < klo; k++)
      for (int q = 0; q < 4; q++) p[q * pstride + k] = at(4 * k + q - pw);
    const T* src = xr - pw;
    long k = klo;
    for (; k + L <= khi; k += L) {
      const WVec<T> a0 = wload<T>(src + 4 * k), a1 = wload<T>(src + 4 * k + L);
      const WVec<T> a2 = wload<T>(src + 4 * k + 2 * L), a3 = wload<T>(src + 4 * k + 3 * L);
      // Phase q of a0 a1 (lanes 0-3) and of a2 a3 (lanes 4-7).
#define ADV_W4_PHASE(q)                                                                                 \
  wstore<T>(p + (q) * pstride + k,                                                                     \
            __builtin_shufflevector(                                                                   \
                __builtin_shufflevector(a0, a1, q, 4 + q, 8 + q, 12 + q, q, 4 + q, 8 + q, 12 + q),     \
                __builtin_shufflevector(a2, a3, q, 4 + q, 8 + q, 12 + q, q, 4 + q, 8 + q, 12 + q), 0, \
                1, 2, 3, 8, 9, 10, 11))
      ADV_W4_PHASE(0);
      ADV_W4_PHASE(1);
      ADV_W4_PHASE(2);
      ADV_W4_PHASE(3);
#undef ADV_W4_PHASE
    }
    for (; k < khi; k++)
      for (int q = 0; q < 4; q++) p[q * pstride + k] = src[4 * k + q];
    for (; k < Ws; k++)
      for (int q = 0; q < 4; q++) p[q * pstride + k] = at(4 * k + q - pw);
  }
}

// v[xi * xstride + l] = (B^T d B)[xi] for kWinoLanes tiles, d[r][j] = load(r, j).
template <class T, class Load> inline void wino4_input_group(Load load, T* v, long xstride) {
  WVec<T> t[6][6], d[6], o[6];
  for (int j = 0; j < 6; j++) {
    for (int r = 0; r < 6; r++) d[r] = load(r, j);
    w4_bt<T>(d, o);
    for (int i = 0; i < 6; i++) t[i][j] = o[i];
  }
  for (int i = 0; i < 6; i++) {
    w4_bt<T>(t[i], o);
    for (int j = 0; j < 6; j++) wstore<T>(v + (6 * i + j) * xstride, o[j]);
  }
}

// V[xi * xstride + t] = (B^T d_t B)[xi] for the tiles of one tile row, kWinoLanes at a time, from
// the split rows of its six input rows (column j of a tile: phase j % 4, shifted by j / 4). Whole
// groups are stored (see wino_input_tiles).
template <class T> inline void wino4_input_tiles(const T* P0, long pstride, long Ws, long groups, T* V, long xstride) {
  for (long gi = 0; gi < groups; gi++) {
    const long k0 = kWinoLanes * gi;
    wino4_input_group<T>([&](int r, int j) { return wload<T>(P0 + (j & 3) * pstride + r * Ws + k0 + (j >> 2)); },
                         V + k0, xstride);
  }
}

// Rows of fewer than kWinoLanes tiles (TW = 3 for a 10x10 output, 2 for 8x8, 1 for 4x4) would
// leave most lanes of the per-row transforms idle, so there the transforms run on groups of
// consecutive tiles of the whole chunk, across tile rows and images ("staged"): the input tiles
// are gathered straight from the input (wino4_gather_group); the output-gradient tiles of
// backward-filter go through a tile-major buffer D[e * dstride + t] (e = the tile's element),
// each row read once with masked loads and de-interleaved by 4 in registers; the output rows are
// interleaved into a buffer Y and copied out. (A first staged input copied each row into a
// zero-padded buffer and de-interleaved that: its 256-bit loads of the narrower stores stalled on
// store forwarding, and for rows of 2-3 tiles most of each de-interleaved vector went unused.)
inline bool wino4_staged(long TW) { return TW < kWinoLanes; }
constexpr long kWino4RowWidth = 5 * kWinoLanes;

// R = row xr (IW wide; null: a padding row) at columns -pw .., zero-padded to kWino4RowWidth:
// 4 * 7 + 2 columns plus a vector's overrun.
template <class T> inline void wino4_pad_row(const T* xr, long IW, long pw, bool relu, T* R) {
  std::fill(R, R + kWino4RowWidth, (T)0);
  if (!xr) return;
  if (relu)
    for (long c = 0; c < IW; c++) R[pw + c] = xr[c] > 0 ? xr[c] : (T)0;
  else
    std::copy(xr, xr + IW, R + pw);
}

// p[j][l] = x[4 l + j - pw] for l < kWinoLanes and j < cols (4 or 6): column j of tiles 0..7 of
// row xr (IW wide, zero outside; null: a padding row; rectified where relu), an 8 x 4 transpose
// (a second one, shifted by 4, gives columns 4 and 5). float reads the row with masked loads
// straight into registers: going through a padded copy in memory (R, which double still uses)
// made every vector load wait on the narrower stores that wrote it (store-forwarding stalls),
// and the staged input ran 1.6x slower.
template <class T> inline void wino4_deinterleave(const T* xr, long IW, long pw, bool relu, T* R, int cols,
                                                  WVec<T>* p) {
  constexpr long L = kWinoLanes;
  static_assert(L == 8, "the de-interleaving below is written for 8 lanes");
  if constexpr (sizeof(T) == 4) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lim = _mm256_set1_epi32((int)IW);
    for (int shift = 0; shift < (cols > 4 ? 2 : 1); shift++) {
      __m256 a[4];
      for (int k = 0; k < 4; k++) {
        const long c0 = 8 * k + 4 * shift - pw;  // the first column of this vector
        const __m256i col = _mm256_add_epi32(iota, _mm256_set1_epi32((int)c0));
        const __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(lim, col));
        // Masked-off lanes are not read, so the address may lie outside the row.
        a[k] = xr ? _mm256_maskload_ps(reinterpret_cast<const float*>(xr) + c0, in) : _mm256_setzero_ps();
        if (relu) a[k] = _mm256_max_ps(a[k], _mm256_setzero_ps());
      }
      // The 128-bit halves are rows of 4: pair rows k and k + 4, then transpose both 4x4 blocks.
      const __m256 b0 = _mm256_permute2f128_ps(a[0], a[2], 0x20), b1 = _mm256_permute2f128_ps(a[0], a[2], 0x31);
      const __m256 b2 = _mm256_permute2f128_ps(a[1], a[3], 0x20), b3 = _mm256_permute2f128_ps(a[1], a[3], 0x31);
      const __m256 t0 = _mm256_unpacklo_ps(b0, b1), t1 = _mm256_unpackhi_ps(b0, b1);
      const __m256 t2 = _mm256_unpacklo_ps(b2, b3), t3 = _mm256_unpackhi_ps(b2, b3);
      const __m256 q[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                           _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
      for (int j = 0; j < 4 && 4 * shift + j < cols; j++) std::memcpy(&p[4 * shift + j], &q[j], sizeof(__m256));
    }
  } else {
    wino4_pad_row<T>(xr, IW, pw, relu, R);
    for (int shift = 0; shift < (cols > 4 ? 2 : 1); shift++) {
      const T* src = R + 4 * shift;
      WVec<T>* out = p + 4 * shift;
      const WVec<T> a0 = wload<T>(src), a1 = wload<T>(src + L), a2 = wload<T>(src + 2 * L), a3 = wload<T>(src + 3 * L);
#define ADV_W4_PHASE(q)                                                                                       \
  if (4 * shift + (q) < cols)                                                                                \
    out[q] = __builtin_shufflevector(                                                                        \
        __builtin_shufflevector(a0, a1, q, 4 + q, 8 + q, 12 + q, q, 4 + q, 8 + q, 12 + q),                   \
        __builtin_shufflevector(a2, a3, q, 4 + q, 8 + q, 12 + q, q, 4 + q, 8 + q, 12 + q), 0, 1, 2, 3, 8, 9, \
        10, 11)
      ADV_W4_PHASE(0);
      ADV_W4_PHASE(1);
      ADV_W4_PHASE(2);
      ADV_W4_PHASE(3);
#undef ADV_W4_PHASE
    }
  }
}

// o[i][j] = (A^T m A)[i][j] + bias for kWinoLanes tiles whose 36 transform-domain values are
// M[xi * xstride], xi = 0..35.
template <class T> inline void wino4_output_transform(const T* M, long xstride, const WVec<T>& b, WVec<T> o[4][4]) {
  WVec<T> t[4][6], m[6], r[4];
  for (int j = 0; j < 6; j++) {
    for (int a = 0; a < 6; a++) m[a] = wload<T>(M + (6 * a + j) * xstride);
    w4_at<T>(m, r);
    for (int i = 0; i < 4; i++) t[i][j] = r[i];
  }
  for (int i = 0; i < 4; i++) {
    w4_at<T>(t[i], r);
    for (int j = 0; j < 4; j++) o[i][j] = r[j] + b;
  }
}

// One output row of kWinoLanes neighbouring 4x4 tiles, o[0..3] its four columns (lanes = tiles),
// stored as 4 * kWinoLanes contiguous values: a 4-way interleave.
template <class T> inline void wino4_store_row(const WVec<T> o[4], T* row) {
  constexpr long L = kWinoLanes;
  const WVec<T> p01l = __builtin_shufflevector(o[0], o[1], 0, 8, 1, 9, 2, 10, 3, 11);
  const WVec<T> p01h = __builtin_shufflevector(o[0], o[1], 4, 12, 5, 13, 6, 14, 7, 15);
  const WVec<T> p23l = __builtin_shufflevector(o[2], o[3], 0, 8, 1, 9, 2, 10, 3, 11);
  const WVec<T> p23h = __builtin_shufflevector(o[2], o[3], 4, 12, 5, 13, 6, 14, 7, 15);
  wstore<T>(row, __builtin_shufflevector(p01l, p23l, 0, 1, 8, 9, 2, 3, 10, 11));
  wstore<T>(row + L, __builtin_shufflevector(p01l, p23l, 4, 5, 12, 13, 6, 7, 14, 15));
  wstore<T>(row + 2 * L, __builtin_shufflevector(p01h, p23h, 0, 1, 8, 9, 2, 3, 10, 11));
  wstore<T>(row + 3 * L, __builtin_shufflevector(p01h, p23h, 4, 5, 12, 13, 6, 7, 14, 15));
}

// The output tiles of tile row th of one plane (see wino_output_tiles).
template <class T> inline void wino4_output_tiles(const Wino4Shape& s, const T* M, long xstride, T bias, T* yc, long th) {
  constexpr long L = kWinoLanes;
  static_assert(L == 8, "the interleaving shuffles below are written for 8 lanes");
  const long TW = s.TW(), oh = 4 * th, nrows = std::min(4L, s.OH - oh);
  const WVec<T> b = (WVec<T>){} + bias;
  for (long tw0 = 0; tw0 < TW; tw0 += L) {
    WVec<T> o[4][4];
    wino4_output_transform<T>(M + tw0, xstride, b, o);
    const long cnt = std::min(L, TW - tw0);
    if (cnt == L && 4 * (tw0 + L) <= s.OW) {
      // Row i holds o[i][0..3] of lane 0, then of lane 1, ...: a 4-way interleave.
      for (long i = 0; i < nrows; i++) {
        T* row = yc + (oh + i) * s.OW + 4 * tw0;
        wino4_store_row<T>(o[i], row);
      }
      continue;
    }
    // Right edge: tiles whose last columns lie outside the output.
    for (long l = 0; l < cnt; l++) {
      const long ow = 4 * (tw0 + l), ncols = std::min(4L, s.OW - ow);
      for (long i = 0; i < nrows; i++)
        for (long j = 0; j < ncols; j++) yc[(oh + i) * s.OW + ow + j] = o[i][j][l];
    }
  }
}

// The 2x2 / stride-2 max-pool of tile row th of one plane taken in the output transform (OH, OW
// even): a 4x4 tile holds 4 pool windows, (a, b) = rows 2a, 2a + 1 and columns 2b, 2b + 1 of the
// tile, pooled position (2 th + a, 2 tw + b). Scan order, NaN rule and indices as
// wino_output_pool_tiles (and so as maxpool2x2_fwd). Windows of partial tiles (OH or OW = 2 mod 4)
// that lie outside the output are skipped.
template <class T> inline void wino4_output_pool_tiles(const Wino4Shape& s, const T* M, long xstride, T bias, T* yp,
                                                       T* ip, long th) {
  constexpr long L = kWinoLanes;
  const long TW = s.TW(), OW = s.OW, PH = s.OH / 2, PW = OW / 2;
  const WVec<T> b = (WVec<T>){} + bias;
  WVec<T> lane;
  for (long l = 0; l < L; l++) lane[l] = (T)(4 * l);
  for (long tw0 = 0; tw0 < TW; tw0 += L) {
    WVec<T> o[4][4];
    wino4_output_transform<T>(M + tw0, xstride, b, o);
    const long cnt = std::min(L, TW - tw0);
    for (int a = 0; a < 2; a++) {
      const long pr = 2 * th + a;
      if (pr >= PH) break;
      WVec<T> best[2], bi[2];
      for (int wb = 0; wb < 2; wb++) {
        const WVec<T> i0 = lane + (T)((4 * th + 2 * a) * OW + 4 * tw0 + 2 * wb);
        window_max4<WVec<T>, T>(o[2 * a][2 * wb], o[2 * a][2 * wb + 1], o[2 * a + 1][2 * wb], o[2 * a + 1][2 * wb + 1],
                                i0, OW, &best[wb], &bi[wb]);
      }
      T* yr = yp + pr * PW + 2 * tw0;
      T* ir = ip + pr * PW + 2 * tw0;
      if (cnt == L && 2 * (tw0 + L) <= PW) {
        wstore<T>(yr, __builtin_shufflevector(best[0], best[1], 0, 8, 1, 9, 2, 10, 3, 11));
        wstore<T>(yr + L, __builtin_shufflevector(best[0], best[1], 4, 12, 5, 13, 6, 14, 7, 15));
        wstore<T>(ir, __builtin_shufflevector(bi[0], bi[1], 0, 8, 1, 9, 2, 10, 3, 11));
        wstore<T>(ir + L, __builtin_shufflevector(bi[0], bi[1], 4, 12, 5, 13, 6, 14, 7, 15));
        continue;
      }
      for (long l = 0; l < cnt; l++)
        for (int wb = 0; wb < 2; wb++) {
          if (2 * l + wb + 2 * tw0 >= PW) break;
          yr[2 * l + wb] = best[wb][l];
          ir[2 * l + wb] = bi[wb][l];
        }
    }
  }
}

// Chunking as wino_plan, with 36 planes per tile.
template <class T> inline WinoPlan wino4_plan(const Wino4Shape& s) {
  const long TW = s.TW(), total = s.N * s.TH();
  const long per_tile = 36 * (s.Cin + s.Cout) * (long)sizeof(T);
  long tiles = std::max(ADV_WINO_BUDGET / per_tile, ADV_WINO_MIN_TILES);
  long rows = std::max(1L, std::min(total, tiles / TW));
  const long threads = pool_threads();
  if (threads > 1) rows = std::min(rows, std::max(1L, (total + threads - 1) / threads));
  WinoPlan p{rows, (total + rows - 1) / rows, 0};
  p.ld = rows * TW + 2 * kWinoLanes;  // whole groups of up to 16 tiles (wino4_gather_group16) are stored
  return p;
}

// Input rows split per run of tile rows: 4 per tile row plus the 2 the last one overlaps.
inline long wino4_split_rows_needed(const WinoPlan& p) { return 4 * p.rows + 2; }

// Where the kWinoLanes consecutive tiles t0.. of the chunk starting at tile row r0 read (fewer
// where t0 + 8 > tiles): each lane's first input row and column and its offset into channel 0 of
// its image. The same for every channel, so computed once per group (the divisions by TW and TH
// cost more than a channel's gather did).
// (L lanes: kWinoLanes, or 16 for wino4_gather_group16.)
template <int L> struct Wino4LanesOf {
  alignas(64) int off[L], row[L], col[L];
};
using Wino4Lanes = Wino4LanesOf<(int)kWinoLanes>;
template <int L> inline void wino4_gather_lanes(const Wino4Shape& s, long r0, long t0, long tiles, Wino4LanesOf<L>& g) {
  const long TH = s.TH(), TW = s.TW(), IHW = s.IH * s.IW;
  for (long l = 0; l < L; l++) {
    const long t = t0 + l, r = r0 + t / TW, n = r / TH, ih = 4 * (r % TH) - s.ph, iw = 4 * (t % TW) - s.pw;
    const bool tile = t < tiles;
    g.row[l] = tile ? (int)ih : -(1 << 20);  // lanes past the chunk: a row no element reaches, all masked
    g.col[l] = (int)iw;
    g.off[l] = tile ? (int)(n * s.Cin * IHW + ih * s.IW + iw) : 0;
  }
}

// V for the tiles of `lanes`, channel c, gathered straight from the input: a masked AVX2 gather
// per tile element (zero outside the image), so narrow rows need neither split rows nor a staging
// copy.
template <class T> void wino4_gather_group(const Wino4Shape& s, const T* in, long c, const Wino4Lanes& lanes, bool relu,
                                           T* v, long xstride) {
  constexpr int L = (int)kWinoLanes;
  const int* row = lanes.row;
  const int* col = lanes.col;
  in += c * s.IH * s.IW;
  const int* off = lanes.off;
  if constexpr (sizeof(T) == 4) {
    const __m256i offv = _mm256_load_si256((const __m256i*)off), rowv = _mm256_load_si256((const __m256i*)row);
    const __m256i colv = _mm256_load_si256((const __m256i*)col), none = _mm256_set1_epi32(-1);
    __m256i rin[6], cin[6];
    for (int i = 0; i < 6; i++) {
      const __m256i ri = _mm256_add_epi32(rowv, _mm256_set1_epi32(i)), ci = _mm256_add_epi32(colv, _mm256_set1_epi32(i));
      rin[i] = _mm256_and_si256(_mm256_cmpgt_epi32(ri, none), _mm256_cmpgt_epi32(_mm256_set1_epi32((int)s.IH), ri));
      cin[i] = _mm256_and_si256(_mm256_cmpgt_epi32(ci, none), _mm256_cmpgt_epi32(_mm256_set1_epi32((int)s.IW), ci));
    }
    const float* base = reinterpret_cast<const float*>(in);
    wino4_input_group<T>([&](int r, int j) {
      const __m256i idx = _mm256_add_epi32(offv, _mm256_set1_epi32((int)(r * s.IW + j)));
      __m256 g = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx,
                                          _mm256_castsi256_ps(_mm256_and_si256(rin[r], cin[j])), 4);
      if (relu) g = _mm256_max_ps(g, _mm256_setzero_ps());
      WVec<T> d;
      std::memcpy(&d, &g, sizeof d);
      return d;
    }, v, xstride);
  } else {
    wino4_input_group<T>([&](int r, int j) {
      WVec<T> d;
      for (int l = 0; l < L; l++) {
        const long ih = row[l] + r, iw = col[l] + j;
        const T x = ih >= 0 && ih < s.IH && iw >= 0 && iw < s.IW ? in[off[l] + r * s.IW + j] : (T)0;
        d[l] = relu && !(x > 0) ? (T)0 : x;
      }
      return d;
    }, v, xstride);
  }
}

// The AVX-512 copy's staged float input: 16 tiles per group in 512-bit vectors, so the transform
// runs half the instructions per tile of wino4_gather_group (the gathers cost the same per
// element).
#if ADV_WINO_WIDE
typedef float WVec16f __attribute__((vector_size(64)));

inline void wino4_gather_group16(const Wino4Shape& s, const float* in, long c, const Wino4LanesOf<16>& lanes, bool relu,
                                 float* v, long xstride) {
  const float* base = in + c * s.IH * s.IW;
  const __m512i offv = _mm512_load_si512(lanes.off), rowv = _mm512_load_si512(lanes.row);
  const __m512i colv = _mm512_load_si512(lanes.col), zero = _mm512_setzero_si512();
  const __m512i ih = _mm512_set1_epi32((int)s.IH), iw = _mm512_set1_epi32((int)s.IW);
  __mmask16 rin[6], cin[6];
  for (int i = 0; i < 6; i++) {
    const __m512i ri = _mm512_add_epi32(rowv, _mm512_set1_epi32(i)), ci = _mm512_add_epi32(colv, _mm512_set1_epi32(i));
    rin[i] = _mm512_cmpge_epi32_mask(ri, zero) & _mm512_cmplt_epi32_mask(ri, ih);
    cin[i] = _mm512_cmpge_epi32_mask(ci, zero) & _mm512_cmplt_epi32_mask(ci, iw);
  }
  // Columns j and j+1 of a lane's tile are adjacent in memory, so where both are inside the
  // image for every lane (cin[j] == cin[j+1]) one 64-bit gather per 8 lanes fetches both: half the
  // gathered elements, which bound this loop (a 16-lane gather costs as much as 16 loads), for
  // two permutes per pair. Pairs start at pw's parity, so with padding 1 the image's edge columns
  // (tile column j 0 and 5) are the unpaired ones.
  const int j0 = (int)(s.pw & 1);
  bool paired[6] = {};
  for (int j = j0; j + 1 < 6; j += 2) paired[j] = cin[j] == cin[j + 1];
  const __m256i off_lo = _mm256_load_si256((const __m256i*)lanes.off);
  const __m256i off_hi = _mm256_load_si256((const __m256i*)(lanes.off + 8));
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  auto finish = [&](__m512 g) {
    // Zero where not > 0, NaN included, as max(x, 0) above. (Not _mm512_max_ps: GCC 12 warns about its
    // undefined source operand; not a ?: on the GCC vector: GCC scalarized that select.)
    if (relu) g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_GT_OQ), g);
    WVec16f x;
    std::memcpy(&x, &g, sizeof x);
    return x;
  };
  auto load = [&](int r, int j) {
    const __m512i idx = _mm512_add_epi32(offv, _mm512_set1_epi32((int)(r * s.IW + j)));
    return finish(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)(rin[r] & cin[j]), idx, base, 4));
  };
  auto load_pair = [&](int r, int j, WVec16f& a, WVec16f& b) {
    const __m256i at = _mm256_set1_epi32((int)(r * s.IW + j));
    const __mmask16 m = rin[r] & cin[j];
    const __m512d lo = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), (__mmask8)(m & 0xff),
                                                _mm256_add_epi32(off_lo, at), base, 4);
    const __m512d hi = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), (__mmask8)(m >> 8),
                                                _mm256_add_epi32(off_hi, at), base, 4);
    const __m512 l = _mm512_castpd_ps(lo), h = _mm512_castpd_ps(hi);
    a = finish(_mm512_permutex2var_ps(l, even, h));
    b = finish(_mm512_permutex2var_ps(l, odd, h));
  };
  WVec16f t[6][6], d[6], d1[6], o[6];
  auto column = [&](const WVec16f* dc, int j) {
    w4_bt<float, WVec16f>(dc, o);
    for (int i = 0; i < 6; i++) t[i][j] = o[i];
  };
  for (int j = 0; j < 6; j++) {
    if (paired[j]) {
      for (int r = 0; r < 6; r++) load_pair(r, j, d[r], d1[r]);
      column(d, j);
      column(d1, ++j);
      continue;
    }
    for (int r = 0; r < 6; r++) d[r] = load(r, j);
    column(d, j);
  }
  for (int i = 0; i < 6; i++) {
    w4_bt<float, WVec16f>(t[i], o);
    for (int j = 0; j < 6; j++) std::memcpy(v + (6 * i + j) * xstride, &o[j], sizeof o[j]);
  }
}
#endif

// V of tile rows [r0, r1), as wino_input_chunk (relu_in likewise). Staged (gathered) where
// wino4_staged(TW) and every offset into `in` fits the gather's 32-bit indices.
template <class T> void wino4_input_chunk(const Wino4Shape& s, const T* in, long r0, long r1, long ld, T* P0,
                                          long pstride, T* V, long vstride, bool relu_in) {
  constexpr long L = kWinoLanes;
  const long TH = s.TH(), TW = s.TW(), Ws = s.split_width(), IHW = s.IH * s.IW, groups = s.TWr() / L;
  const bool staged = wino4_staged(TW) && s.N * s.Cin * IHW <= 0x7fffffffL;
  const long tiles = (r1 - r0) * TW;
#if ADV_WINO_WIDE
  if constexpr (sizeof(T) == 4)
    if (staged) {
      long t0 = 0;
      for (; tiles - t0 > L; t0 += 16) {  // (a last group of at most 8 tiles takes the 8-lane kernel below)
        Wino4LanesOf<16> lanes;
        wino4_gather_lanes(s, r0, t0, tiles, lanes);
        for (long c = 0; c < s.Cin; c++)
          wino4_gather_group16(s, reinterpret_cast<const float*>(in), c, lanes, relu_in,
                               reinterpret_cast<float*>(V + c * ld + t0), vstride);
      }
      if (t0 < tiles) {
        Wino4Lanes lanes;
        wino4_gather_lanes(s, r0, t0, tiles, lanes);
        for (long c = 0; c < s.Cin; c++) wino4_gather_group<T>(s, in, c, lanes, relu_in, V + c * ld + t0, vstride);
      }
      return;
    }
#endif
  if (staged) {
    for (long t0 = 0; t0 < tiles; t0 += L) {
      Wino4Lanes lanes;
      wino4_gather_lanes(s, r0, t0, tiles, lanes);
      for (long c = 0; c < s.Cin; c++) wino4_gather_group<T>(s, in, c, lanes, relu_in, V + c * ld + t0, vstride);
    }
    return;
  }
  for (long c = 0; c < s.Cin; c++) {
    for (long ra = r0; ra < r1;) {
      const long n = ra / TH, th0 = ra % TH, rb = std::min(r1, (n + 1) * TH), rows = 4 * (rb - ra) + 2;
      wino4_split_rows<T>(in + (n * s.Cin + c) * IHW, s.IH, s.IW, s.pw, Ws, 4 * th0 - s.ph, rows, P0, pstride);
      if (relu_in)
        for (int q = 0; q < 4; q++) {
          T* p = P0 + q * pstride;
          for (long i = 0; i < rows * Ws; i++) p[i] = p[i] > 0 ? p[i] : (T)0;
        }
      for (long r = ra; r < rb; r++)
        wino4_input_tiles<T>(P0 + 4 * (r - ra) * Ws, pstride, Ws, groups, V + c * ld + (r - r0) * TW, vstride);
      ra = rb;
    }
  }
}

// tile_base[t] = the top-left index of tile t of the chunk starting at tile row r0 in its OH x OW
// plane (as T, for the pool's index vectors), for t < tiles rounded up to kWinoLanes. Once per chunk:
// per output channel, the divisions by TW and TH cost as much as the output transform.
template <class T> void wino4_tile_bases(const Wino4Shape& s, long r0, long tiles, T* tile_base) {
  const long TH = s.TH(), TW = s.TW(), padded = (tiles + kWinoLanes - 1) / kWinoLanes * kWinoLanes;
  for (long t = 0; t < padded; t++) {
    const long r = r0 + t / TW;
    tile_base[t] = (T)(4 * (r % TH) * s.OW + 4 * (t % TW));
  }
}

// Staged output of one output channel's tiles of a chunk (see wino4_staged): the rows, or with
// pool_idx the pooled rows and indices (tile_base from wino4_tile_bases), of the chunk's tiles
// interleaved into Y (rows ystride apart), then copied into the plane(s).
template <class T> void wino4_output_staged(const Wino4Shape& s, const T* M, long xstride, T bias, long r0, long r1,
                                            T* Y, long ystride, T* out, T* pool_idx, const T* tile_base, long k) {
  constexpr long L = kWinoLanes;
  const long TH = s.TH(), TW = s.TW(), OW = s.OW, OHW = s.OH * OW, tiles = (r1 - r0) * TW;
  const WVec<T> b = (WVec<T>){} + bias;
  for (long t0 = 0; t0 < tiles; t0 += L) {
    WVec<T> o[4][4];
    wino4_output_transform<T>(M + t0, xstride, b, o);
    if (!pool_idx) {
      for (int i = 0; i < 4; i++) {
        T* row = Y + i * ystride + 4 * t0;
        wino4_store_row<T>(o[i], row);
      }
      continue;
    }
    const WVec<T> base = wload<T>(tile_base + t0);  // each lane's tile's top-left index in its plane
    for (int a = 0; a < 2; a++) {
      WVec<T> best[2], bi[2];
      for (int wb = 0; wb < 2; wb++) {
        const WVec<T> i0 = base + (T)(2 * a * OW + 2 * wb);
        window_max4<WVec<T>, T>(o[2 * a][2 * wb], o[2 * a][2 * wb + 1], o[2 * a + 1][2 * wb], o[2 * a + 1][2 * wb + 1],
                                i0, OW, &best[wb], &bi[wb]);
      }
      T* yv = Y + a * ystride + 2 * t0;
      T* yi = Y + (2 + a) * ystride + 2 * t0;
      wstore<T>(yv, __builtin_shufflevector(best[0], best[1], 0, 8, 1, 9, 2, 10, 3, 11));
      wstore<T>(yv + L, __builtin_shufflevector(best[0], best[1], 4, 12, 5, 13, 6, 14, 7, 15));
      wstore<T>(yi, __builtin_shufflevector(bi[0], bi[1], 0, 8, 1, 9, 2, 10, 3, 11));
      wstore<T>(yi + L, __builtin_shufflevector(bi[0], bi[1], 4, 12, 5, 13, 6, 14, 7, 15));
    }
  }
  for (long r = r0; r < r1; r++) {
    const long n = r / TH, th = r % TH, t = (r - r0) * TW;
    if (pool_idx) {
      const long PH = s.OH / 2, PW = OW / 2, plane = (n * s.Cout + k) * (OHW / 4);
      for (int a = 0; a < 2 && 2 * th + a < PH; a++) {
        std::memcpy(out + plane + (2 * th + a) * PW, Y + a * ystride + 2 * t, sizeof(T) * PW);
        std::memcpy(pool_idx + plane + (2 * th + a) * PW, Y + (2 + a) * ystride + 2 * t, sizeof(T) * PW);
      }
      continue;
    }
    T* yc = out + (n * s.Cout + k) * OHW;
    for (long i = 0; i < std::min(4L, s.OH - 4 * th); i++)
      std::memcpy(yc + (4 * th + i) * OW, Y + i * ystride + 4 * t, sizeof(T) * OW);
  }
}

// wino_conv with F(4x4): filters already transformed into U[36][Cout][Cin]; relu_in, mask and
// pool_idx as there.
template <class T> void wino4_conv(const Wino4Shape& s, const T* in, const T* U, const T* bias, T* out, bool relu_in,
                                   const T* mask, T* pool_idx = nullptr) {
  const WinoPlan plan = wino4_plan<T>(s);
  const long TH = s.TH(), TW = s.TW(), total = s.N * TH, ld = plan.ld, Ws = s.split_width();
  const long OHW = s.OH * s.OW;
  const long vstride = wino_plane_stride<T>(s.Cin * ld), mstride = wino_plane_stride<T>(s.Cout * ld);
  const long pstride = wino4_split_rows_needed(plan) * Ws;
  const bool staged = wino4_staged(TW);
  const long ystride = 4 * ld;
  const int threads = pool_threads();
  const bool outer = plan.chunks >= threads && threads > 1;
  parallel_for(plan.chunks, [&](long ch) {
    const long r0 = ch * plan.rows, r1 = std::min(total, r0 + plan.rows), tiles = (r1 - r0) * TW;
    T* P0 = wino_scratch<T>(1, 4 * pstride + (staged ? 4 * ystride + ld : 0));
    T* Y = P0 + 4 * pstride;
    T* tile_base = Y + 4 * ystride;
    T* V = wino_scratch<T>(2, 36 * vstride);
    T* M = wino_scratch<T>(3, 36 * mstride);
    wino4_input_chunk<T>(s, in, r0, r1, ld, P0, pstride, V, vstride, relu_in);
    if (staged && pool_idx) wino4_tile_bases<T>(s, r0, tiles, tile_base);
    for (int xi = 0; xi < 36; xi++)
      gemm_auto<T>(!outer, false, false, s.Cout, tiles, s.Cin, 1, U + xi * s.Cout * s.Cin, s.Cin, V + xi * vstride, ld,
                   0, M + xi * mstride, ld);
    for (long k = 0; k < s.Cout; k++) {
      const T b = bias ? bias[k] : (T)0;
      if (staged) wino4_output_staged<T>(s, M + k * ld, mstride, b, r0, r1, Y, ystride, out, pool_idx, tile_base, k);
      for (long r = r0; r < r1; r++) {
        const long n = r / TH, th = r % TH;
        if (pool_idx) {
          if (staged) continue;
          const long plane = (n * s.Cout + k) * (OHW / 4);
          wino4_output_pool_tiles<T>(s, M + k * ld + (r - r0) * TW, mstride, b, out + plane, pool_idx + plane, th);
          continue;
        }
        if (!staged)
          wino4_output_tiles<T>(s, M + k * ld + (r - r0) * TW, mstride, b, out + (n * s.Cout + k) * OHW, th);
        if (mask) {
          const long q0 = (n * s.Cout + k) * OHW + 4 * th * s.OW, q1 = q0 + std::min(4L, s.OH - 4 * th) * s.OW;
          for (long q = q0; q < q1; q++) out[q] = mask[q] > 0 ? out[q] : (T)0;
        }
      }
    }
  }, outer);
}

// ---- backward-filter (as wino_bwd_filter: dU[xi] += dM[xi] V[xi]^T, gw = G^T dU G) ------------

// d[xi * xstride + l] = (A gY A^T)[xi] for kWinoLanes tiles, gY[r][c] read at at(r, c).
template <class T, class At> inline void wino4_grad_group(At at, T* d, long xstride) {
  WVec<T> z[6][4], a[4], o[6];
  for (int c = 0; c < 4; c++) {
    for (int r = 0; r < 4; r++) a[r] = wload<T>(at(r, c));
    w4_a<T>(a, o);
    for (int i = 0; i < 6; i++) z[i][c] = o[i];
  }
  for (int i = 0; i < 6; i++) {
    w4_a<T>(z[i], o);
    for (int j = 0; j < 6; j++) wstore<T>(d + (6 * i + j) * xstride, o[j]);
  }
}

// wino4_plan with whole images per chunk where an image's tile rows fit in one (rows rounded
// down to a multiple of TH), else as wino4_plan. The adjoint backward-data and, where that
// applies, backward-filter share it, so that conv_pool_bwd's fused pass (wino4_bwd_filter with
// gx) computes what the two separate calls do.
template <class T> inline WinoPlan wino4_image_plan(const Wino4Shape& s) {
  WinoPlan p = wino4_plan<T>(s);
  const long TH = s.TH();
  if (p.rows >= TH && p.rows % TH) {
    p.rows = p.rows / TH * TH;
    p.chunks = (s.N * TH + p.rows - 1) / p.rows;
    p.ld = p.rows * s.TW() + 2 * kWinoLanes;
  }
  return p;
}

// dM[xi * mstride + k * ld + t] = (A gY A^T)[xi] of output channel k's tile t of tile rows [r0, r1)
// (wino4_grad_group): the output gradient's tiles in the transform domain, for backward-filter and
// the adjoint backward-data. G0 (4 rows of gstride) and D (16 rows of dstride, staged layouts only)
// are scratch.
template <class T> void wino4_grad_chunk(const Wino4Shape& s, const T* gy, long r0, long r1, T* G0, long gstride, T* D,
                                         long dstride, T* dM, long ld, long mstride) {
  const long TH = s.TH(), TW = s.TW(), OHW = s.OH * s.OW, Ws = s.split_width(), groups = s.TWr() / kWinoLanes;
  const long tiles = (r1 - r0) * TW;
  const bool staged = wino4_staged(TW);
  for (long k = 0; k < s.Cout; k++) {
    for (long r = r0; r < r1; r++) {
      const long n = r / TH, th = r % TH;
      if (staged) {  // the tiles' 4x4 elements gathered tile-major, as the input's (wino4_staged)
        for (int i = 0; i < 4; i++) {
          const long oh = 4 * th + i;
          WVec<T> cols[4];
          wino4_deinterleave<T>(oh < s.OH ? gy + (n * s.Cout + k) * OHW + oh * s.OW : nullptr, s.OW, 0, false, G0, 4,
                                cols);
          for (int j = 0; j < 4; j++) wstore<T>(D + (4 * i + j) * dstride + (r - r0) * TW, cols[j]);
        }
        continue;
      }
      wino4_split_rows<T>(gy + (n * s.Cout + k) * OHW, s.OH, s.OW, 0, Ws, 4 * th, 4, G0, gstride);
      for (long gi = 0; gi < groups; gi++) {
        const long k0 = kWinoLanes * gi;
        wino4_grad_group<T>([&](int i, int c) { return G0 + c * gstride + i * Ws + k0; },
                            dM + k * ld + (r - r0) * TW + k0, mstride);
      }
    }
    if (staged)
      for (long t0 = 0; t0 < tiles; t0 += kWinoLanes)
        wino4_grad_group<T>([&](int i, int c) { return D + (4 * i + c) * dstride + t0; }, dM + k * ld + t0, mstride);
  }
}

// gw[o][i][3x3] = G^T dU[.][o][i] G, dU laid out [36][Cout][Cin]; vectorized across input channels.
template <class T> void wino4_filter_grad_transform(const T* dU, long Cout, long Cin, T* gw) {
  constexpr long L = kWinoLanes;
  const long plane = Cout * Cin;
  parallel_items(Cout, Cin * 72, [&](long o) {
    for (long i0 = 0; i0 < Cin; i0 += L) {
      const long cnt = std::min(L, Cin - i0);
      WVec<T> u[36], t[3][6], x[6], r[3];
      const T* src = dU + o * Cin + i0;
      for (int xi = 0; xi < 36; xi++) {
        if (cnt == L) {
          u[xi] = wload<T>(src + xi * plane);
        } else {
          u[xi] = (WVec<T>){};
          for (long l = 0; l < cnt; l++) u[xi][l] = src[xi * plane + l];
        }
      }
      for (int j = 0; j < 6; j++) {
        for (int a = 0; a < 6; a++) x[a] = u[6 * a + j];
        w4_gt<T>(x, r);
        for (int a = 0; a < 3; a++) t[a][j] = r[a];
      }
      T* dst = gw + (o * Cin + i0) * 9;
      for (int a = 0; a < 3; a++) {
        w4_gt<T>(t[a], r);
        for (long l = 0; l < cnt; l++)
          for (int b = 0; b < 3; b++) dst[l * 9 + 3 * a + b] = r[b][l];
      }
    }
  });
}

// ---- backward-data as the adjoint of the forward tiles ----------------------------------------
// The forward is Y = A^T [U .* (B^T d B)] A per tile, so the input gradient is the sum over the
// forward's tiles of B [sum_k U_k^T .* (A gY_k A^T)] B^T, each 6x6 result added into the input at
// the tile's place (neighbouring tiles overlap by 2 rows / columns). Where the convolution shrinks
// its input (padding < 1: SmallCNN 26 -> 24, 10 -> 8), the forward has fewer tiles than the
// full-convolution form of backward-data (the forward kernel on gy padded by 2 - pad): SmallCNN
// conv2 36 instead of 49 per image, conv4 4 instead of 9 (F(4x4), 1.44x waste) or 25 (F(2x2)).

// o = B x (B = (B^T)^T, the adjoint of w4_bt): o_j = sum_i B^T[i][j] x_i.
template <class T> inline void w4_b(const WVec<T>* x, WVec<T>* o) {
  const WVec<T> s12 = x[1] + x[2], d21 = x[2] - x[1], s34 = x[3] + x[4], d34 = x[3] - x[4];
  o[0] = (T)4 * x[0];
  o[1] = (T)4 * (d21 + x[5]) - (T)2 * d34;
  o[2] = -(((T)5 * x[0] + (T)4 * s12) + s34);
  o[3] = ((T)2 * d34 - d21) - (T)5 * x[5];
  o[4] = (x[0] + s12) + s34;
  o[5] = x[5];
}

// Whether backward-data runs as the adjoint: the forward has fewer tiles than the full
// convolution and would take F(4x4) on them (at most 1.44x waste). Per tile the adjoint costs a
// little more (its 6x6 results are added into zeroed input planes one element at a time, and gy
// is scanned for rows and columns without gradient), and it wins wherever it has fewer tiles.
// Measured (benchmarks/cpp/conv_bench.sh, one thread, backward-data, against the previous choice):
// SmallCNN conv2 (36 tiles per image instead of 49) 8.1 ms against 9.2-9.7 (full F(4x4)); conv4
// (4 instead of 9, or 25 for the F(2x2) that AUTO took there) 2.6-2.7 against 5.7-6.0.
inline bool wino4_adjoint_fits(const Wino4Shape& s) {
  const long fwd = s.TH() * s.TW(), full = (s.IH + 3) / 4 * ((s.IW + 3) / 4);
  const long computed = 16 * fwd;
  return fwd < full && 100 * computed <= 144 * s.OH * s.OW;
}

// gx = the input gradient of the forward convolution of shape s (U: its filters transformed,
// [36][Cout][Cin]); where mask, zero where mask <= 0. Chunks are whole images (the tiles of an
// image overlap; across images nothing does), so each chunk writes its own planes: zeroed, then
// the tiles added in order (deterministic). Returns false, computing nothing, where one image's
// tiles exceed a chunk (the caller then takes the full-convolution form).
//
// Exact zeros: an input position whose outputs (its 3x3 window, every channel) all have an
// exactly zero gradient, as the rows a 2x2 pool's floor drops or the windows of pooled units whose
// ReLU is off, has an exactly zero gradient, which im2col returns (the sum of 0 * w); the 6x6
// transforms mix rounding noise of the tile's other positions into it, and a sign attack (FGSM)
// steps on that noise (AttackParityTest, float64 FGSM against PyTorch, failed so while only whole
// rows and columns were cleared). Such positions are found per image from gy and set to 0.
// Scratch of the adjoint's per-chunk pass beyond G0 and D (elements of T): 3 longs per tile,
// each image's reached-input flags, two int32 maps for finding them.
template <class T> inline long wino4_adjoint_aux(const Wino4Shape& s, long imgs, long ld) {
  return (3 * ld * (long)sizeof(long) + imgs * s.IH * s.IW + 4 * (s.OH * s.OW + s.OH * s.IW) + 128) / (long)sizeof(T);
}

// The adjoint's work on one chunk of whole images n0 .. n1 - 1 whose gradient tiles dM
// (wino4_grad_chunk) are computed: V = U^T dM (36 GEMMs), then each input plane of the chunk
// zeroed, the tiles' B V B^T added in, unreached positions and the mask applied.
template <class T> void wino4_adjoint_chunk(const Wino4Shape& s, const T* gy, const T* U, T* gx, const T* mask, long n0,
                                            long n1, long ld, const T* dM, long mstride, T* V, long vstride, T* aux,
                                            bool inner_parallel) {
  const long TH = s.TH(), TW = s.TW(), r0 = n0 * TH, r1 = n1 * TH, tiles = (r1 - r0) * TW;
  const long IHW = s.IH * s.IW, OHW = s.OH * s.OW;
  const uintptr_t after = reinterpret_cast<uintptr_t>(aux);
  long* tile_off = reinterpret_cast<long*>((after + 63) / 64 * 64);
  unsigned char* reached = reinterpret_cast<unsigned char*>(tile_off + 3 * ld);  // [image][IH][IW]
  int32_t* nz = reinterpret_cast<int32_t*>((reinterpret_cast<uintptr_t>(reached + (n1 - n0) * IHW) + 3) / 4 * 4);
  int32_t* hz = nz + OHW;  // [OH][IW]
  for (int xi = 0; xi < 36; xi++)
    gemm_auto<T>(inner_parallel, true, false, s.Cin, tiles, s.Cout, 1, U + xi * s.Cout * s.Cin, s.Cin,
                 dM + xi * mstride, ld, 0, V + xi * vstride, ld);
  for (long t = 0; t < tiles; t++) {
    const long r = r0 + t / TW, n = r / TH, ih = 4 * (r % TH) - s.ph, iw = 4 * (t % TW) - s.pw;
    tile_off[3 * t] = n * s.Cin * IHW + ih * s.IW + iw;
    tile_off[3 * t + 1] = ih;
    tile_off[3 * t + 2] = iw;
  }
  // The input positions of each image that some non-zero output gradient reaches (see above):
  // nz = outputs with a non-zero (NaN included) in some channel, dilated by the 3x3 window, first
  // along rows (hz), then along columns. (int32 maps and local sizes: with char flags, whose
  // stores may alias anything, GCC did not vectorize the scan over gy.)
  bool any_unreached = false;
  {
    const long OH = s.OH, OW = s.OW, IH = s.IH, IW = s.IW, ph = s.ph, pw = s.pw;
    for (long n = n0; n < n1; n++) {
      std::fill(nz, nz + OHW, 0);
      for (long k = 0; k < s.Cout; k++) {
        const T* p = gy + (n * s.Cout + k) * OHW;
        for (long i = 0; i < OHW; i++) nz[i] |= p[i] != (T)0 ? 1 : 0;
      }
      // Input (ih, iw) is read by outputs ih + ph - 2 .. ih + ph, iw + pw - 2 .. iw + pw.
      for (long oh = 0; oh < OH; oh++)
        for (long iw = 0; iw < IW; iw++) {
          int32_t v = 0;
          for (long ow = std::max(0L, iw + pw - 2); ow <= std::min(OW - 1, iw + pw); ow++) v |= nz[oh * OW + ow];
          hz[oh * IW + iw] = v;
        }
      unsigned char* rn = reached + (n - n0) * IHW;
      for (long ih = 0; ih < IH; ih++)
        for (long iw = 0; iw < IW; iw++) {
          int32_t v = 0;
          for (long oh = std::max(0L, ih + ph - 2); oh <= std::min(OH - 1, ih + ph); oh++) v |= hz[oh * IW + iw];
          rn[ih * IW + iw] = v != 0;
          any_unreached |= v == 0;
        }
    }
  }
  alignas(64) T o[36][kWinoLanes];
  for (long c = 0; c < s.Cin; c++) {
    for (long n = n0; n < n1; n++) std::fill(gx + (n * s.Cin + c) * IHW, gx + (n * s.Cin + c + 1) * IHW, (T)0);
    for (long t0 = 0; t0 < tiles; t0 += kWinoLanes) {
      WVec<T> z[6][6], x[6], r[6];
      const T* src = V + c * ld + t0;
      for (int j = 0; j < 6; j++) {
        for (int i = 0; i < 6; i++) x[i] = wload<T>(src + (6 * i + j) * vstride);
        w4_b<T>(x, r);
        for (int i = 0; i < 6; i++) z[i][j] = r[i];
      }
      const long cnt = std::min(kWinoLanes, tiles - t0);
      if constexpr (sizeof(T) == 4) {
        // Row i of the 8 tiles' results, r[0..5] (lanes = tiles), transposed in registers into one
        // row of 6 columns per tile (tr[l]), added into the input with 6-lane masked loads and
        // stores (scalar, one element at a time, this ran as long as the tiles' transforms).
        alignas(32) float rows[kWinoLanes][6][8];
        for (int i = 0; i < 6; i++) {
          w4_b<T>(z[i], r);
          __m256 a[8];
          for (int j = 0; j < 6; j++) std::memcpy(&a[j], &r[j], sizeof(__m256));
          a[6] = a[7] = _mm256_setzero_ps();
          const __m256 t0v = _mm256_unpacklo_ps(a[0], a[1]), t1v = _mm256_unpackhi_ps(a[0], a[1]);
          const __m256 t2v = _mm256_unpacklo_ps(a[2], a[3]), t3v = _mm256_unpackhi_ps(a[2], a[3]);
          const __m256 t4v = _mm256_unpacklo_ps(a[4], a[5]), t5v = _mm256_unpackhi_ps(a[4], a[5]);
          const __m256 u0 = _mm256_shuffle_ps(t0v, t2v, 0x44), u1 = _mm256_shuffle_ps(t0v, t2v, 0xEE);
          const __m256 u2 = _mm256_shuffle_ps(t1v, t3v, 0x44), u3 = _mm256_shuffle_ps(t1v, t3v, 0xEE);
          const __m256 u4 = _mm256_shuffle_ps(t4v, a[6], 0x44), u5 = _mm256_shuffle_ps(t4v, a[6], 0xEE);
          const __m256 u6 = _mm256_shuffle_ps(t5v, a[6], 0x44), u7 = _mm256_shuffle_ps(t5v, a[6], 0xEE);
          const __m256 tr[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                                _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                                _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                                _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
          for (int l = 0; l < (int)kWinoLanes; l++) _mm256_store_ps(rows[l][i], tr[l]);
        }
        const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
        for (long l = 0; l < cnt; l++) {
          const long* to = tile_off + 3 * (t0 + l);
          const long ih0 = to[1], iw0 = to[2];
          float* dst = reinterpret_cast<float*>(gx + to[0] + c * IHW);
          if (ih0 >= 0 && ih0 + 6 <= s.IH && iw0 >= 0 && iw0 + 6 <= s.IW) {
            for (int i = 0; i < 6; i++) {
              float* d = dst + i * s.IW;
              _mm256_maskstore_ps(d, six, _mm256_add_ps(_mm256_maskload_ps(d, six), _mm256_load_ps(rows[l][i])));
            }
            continue;
          }
          for (int i = 0; i < 6; i++) {
            if (ih0 + i < 0 || ih0 + i >= s.IH) continue;
            for (int j = 0; j < 6; j++)
              if (iw0 + j >= 0 && iw0 + j < s.IW) dst[i * s.IW + j] += rows[l][i][j];
          }
        }
        continue;
      }
      for (int i = 0; i < 6; i++) {
        w4_b<T>(z[i], r);
        for (int j = 0; j < 6; j++) wstore<T>(o[6 * i + j], r[j]);
      }
      for (long l = 0; l < cnt; l++) {
        const long* to = tile_off + 3 * (t0 + l);
        const long ih0 = to[1], iw0 = to[2];
        T* dst = gx + to[0] + c * IHW;
        if (ih0 >= 0 && ih0 + 6 <= s.IH && iw0 >= 0 && iw0 + 6 <= s.IW) {
          for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) dst[i * s.IW + j] += o[6 * i + j][l];
          continue;
        }
        for (int i = 0; i < 6; i++) {
          if (ih0 + i < 0 || ih0 + i >= s.IH) continue;
          for (int j = 0; j < 6; j++)
            if (iw0 + j >= 0 && iw0 + j < s.IW) dst[i * s.IW + j] += o[6 * i + j][l];
        }
      }
    }
    for (long n = n0; n < n1; n++) {
      T* plane = gx + (n * s.Cin + c) * IHW;
      if (any_unreached) {
        const unsigned char* rn = reached + (n - n0) * IHW;
        for (long i = 0; i < IHW; i++) plane[i] = rn[i] ? plane[i] : (T)0;
      }
      if (mask) {
        const T* m = mask + (n * s.Cin + c) * IHW;
        for (long i = 0; i < IHW; i++) plane[i] = m[i] > 0 ? plane[i] : (T)0;
      }
    }
  }
}

template <class T> bool wino4_bwd_data_adjoint(const Wino4Shape& s, const T* gy, const T* U, T* gx, const T* mask) {
  const WinoPlan plan = wino4_image_plan<T>(s);
  const long TH = s.TH(), TW = s.TW(), imgs = plan.rows / TH;
  if (plan.rows % TH) return false;  // an image's tiles exceed a chunk
  const long ld = plan.ld, Ws = s.split_width();
  const long vstride = wino_plane_stride<T>(s.Cin * ld), mstride = wino_plane_stride<T>(s.Cout * ld);
  const long gstride = 4 * Ws, dstride = wino_plane_stride<T>(ld);
  const bool staged = wino4_staged(TW);
  const int threads = pool_threads();
  const bool outer = plan.chunks >= threads && threads > 1;
  parallel_for(plan.chunks, [&](long ch) {
    const long n0 = ch * imgs, n1 = std::min(s.N, n0 + imgs);
    T* G0 = wino_scratch<T>(1, 4 * gstride + (staged ? 16 * dstride : 0) + wino4_adjoint_aux<T>(s, imgs, ld));
    T* D = G0 + 4 * gstride;
    T* V = wino_scratch<T>(2, 36 * vstride);
    T* dM = wino_scratch<T>(3, 36 * mstride);
    wino4_grad_chunk<T>(s, gy, n0 * TH, n1 * TH, G0, gstride, D, dstride, dM, ld, mstride);
    wino4_adjoint_chunk<T>(s, gy, U, gx, mask, n0, n1, ld, dM, mstride, V, vstride, D + (staged ? 16 * dstride : 0),
                           !outer);
  }, outer);
  return true;
}

// The weight gradient of the forward convolution of shape s, deterministic as wino_bwd_filter.
// dU_acc: instead of gw, the filter gradient in the transform domain ([36][Cout][Cin]) is stored
// there, or added where accumulate (conv_pool_bwd sums its chunks so, and transforms once).
template <class T> bool wino4_bwd_filter(const Wino4Shape& s, const T* in, const T* gy, T* gw, bool relu_in,
                                         const T* Ud = nullptr, T* gx = nullptr, const T* mask = nullptr,
                                         T* dU_acc = nullptr, bool accumulate = false) {
  // Whole images per chunk only where backward-data may run as the adjoint beside it (elsewhere,
  // as ResNet's padded layers, the budget's plan keeps its larger GEMMs).
  const WinoPlan plan = wino4_adjoint_fits(s) ? wino4_image_plan<T>(s) : wino4_plan<T>(s);
  const long TH = s.TH(), TW = s.TW(), total = s.N * TH, ld = plan.ld, Ws = s.split_width();
  // With gx, also the adjoint backward-data (Ud: the forward filters transformed, mask as there)
  // from the same gradient tiles dM, which then are computed once: chunks must be whole images.
  if (gx && plan.rows % TH) return false;
  const long usize = 36 * s.Cout * s.Cin;
  const long vstride = wino_plane_stride<T>(s.Cin * ld), mstride = wino_plane_stride<T>(s.Cout * ld);
  const long pstride = wino4_split_rows_needed(plan) * Ws, gstride = 4 * Ws;
  const bool staged = wino4_staged(TW);
  const long dstride = wino_plane_stride<T>(ld);
  const long aux = gx ? wino4_adjoint_aux<T>(s, plan.rows / TH, ld) : 0;
  const int threads = pool_threads();
  const bool outer = plan.chunks >= threads && threads > 1;
  const long parts = outer ? threads : 1;
  T* dU = wino_scratch<T>(0, parts * usize);
  parallel_for(parts, [&](long part) {
    const long c0 = part * plan.chunks / parts, c1 = (part + 1) * plan.chunks / parts;
    // 4 gstride > kWino4RowWidth
    T* P0 = wino_scratch<T>(1, 4 * pstride + 4 * gstride + (staged ? 16 * dstride : 0) + aux);
    T* G0 = P0 + 4 * pstride;  // the output gradient's four rows of one tile row
    T* D = G0 + 4 * gstride;
    T* V = wino_scratch<T>(2, 36 * vstride);
    T* dM = wino_scratch<T>(3, 36 * mstride);
    for (long ch = c0; ch < c1; ch++) {
      const long r0 = ch * plan.rows, r1 = std::min(total, r0 + plan.rows), tiles = (r1 - r0) * TW;
      wino4_grad_chunk<T>(s, gy, r0, r1, G0, gstride, D, dstride, dM, ld, mstride);
      if (gx)  // (V is its scratch until the input tiles below)
        wino4_adjoint_chunk<T>(s, gy, Ud, gx, mask, r0 / TH, r1 / TH, ld, dM, mstride, V, vstride,
                               D + (staged ? 16 * dstride : 0), !outer);
      wino4_input_chunk<T>(s, in, r0, r1, ld, P0, pstride, V, vstride, relu_in);
      for (int xi = 0; xi < 36; xi++)
        gemm_auto<T>(!outer, false, true, s.Cout, s.Cin, tiles, 1, dM + xi * mstride, ld, V + xi * vstride, ld,
                     ch == c0 ? (T)0 : (T)1, dU + part * usize + xi * s.Cout * s.Cin, s.Cin);
    }
  }, outer);
  wino_sum_parts<T>(dU, parts, usize);
  if (dU_acc) {
    parallel_range(usize, kParallelGrain, [&](long b, long e) {
      for (long i = b; i < e; i++) dU_acc[i] = accumulate ? dU_acc[i] + dU[i] : dU[i];
    });
    return true;
  }
  wino4_filter_grad_transform<T>(dU, s.Cout, s.Cin, gw);
  return true;
}


// ---- entry points (advmia_conv.h picks the instruction set, then calls these) ---------------

// tile: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3).
template <class T> void winograd_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, bool relu_in,
                                         int tile, T* pool_idx) {
  if (tile == 4) {
    T* U = wino_scratch<T>(0, 36 * g.Cout * g.C);
    wino4_filter_transform<T>(w, g.Cout, g.C, false, U);
    wino4_conv<T>(Wino4Shape{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW}, x, U, b, y, relu_in,
                  (const T*)nullptr, pool_idx);
    return;
  }
  T* U = wino_scratch<T>(0, 16 * g.Cout * g.C);
  wino_filter_transform<T>(w, g.Cout, g.C, false, U);
  wino_conv<T>(WinoShape{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW}, x, U, b, y, relu_in, (const T*)nullptr,
               pool_idx);
}

template <class T> void winograd_backward_data(const ConvGeom& g, const T* gy, const T* w, T* gx, const T* mask,
                                               int tile) {
  if (tile == 4) {
    T* U = wino_scratch<T>(0, 36 * g.Cout * g.C);
    const Wino4Shape fwd{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW};
    if (wino4_adjoint_fits(fwd)) {
      wino4_filter_transform<T>(w, g.Cout, g.C, false, U);
      if (wino4_bwd_data_adjoint<T>(fwd, gy, U, gx, mask)) return;
    }
    wino4_filter_transform<T>(w, g.C, g.Cout, true, U);
    wino4_conv<T>(Wino4Shape{g.N, g.Cout, g.OH, g.OW, 2 - g.ph, 2 - g.pw, g.C, g.H, g.W}, gy, U, (const T*)nullptr,
                  gx, false, mask);
    return;
  }
  T* U = wino_scratch<T>(0, 16 * g.Cout * g.C);
  wino_filter_transform<T>(w, g.C, g.Cout, true, U);
  wino_conv<T>(WinoShape{g.N, g.Cout, g.OH, g.OW, 2 - g.ph, 2 - g.pw, g.C, g.H, g.W}, gy, U, (const T*)nullptr, gx,
               false, mask);
}

// Backward-data and backward-filter of an F(4x4) layer in one pass over the gradient tiles, where
// backward-data runs as the adjoint and the chunks hold whole images (winograd4_data_filter_fits):
// U the forward filters transformed (winograd4_filter_transform), the filter gradient stored or
// added into dU_acc in the transform domain (winograd4_filter_grad_transform finishes it). The
// same GEMMs and sums as the two separate calls, the gradient tiles computed once instead of twice.
template <class T> bool winograd4_data_filter_fits(const ConvGeom& g) {
  const Wino4Shape fwd{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW};
  return wino4_adjoint_fits(fwd) && wino4_image_plan<T>(fwd).rows % fwd.TH() == 0;
}

template <class T> void winograd4_filter_transform(const T* w, long Cout, long Cin, T* U) {
  wino4_filter_transform<T>(w, Cout, Cin, false, U);
}

template <class T> void winograd4_filter_grad_transform(const T* dU, long Cout, long Cin, T* gw) {
  wino4_filter_grad_transform<T>(dU, Cout, Cin, gw);
}

template <class T> bool winograd_backward_data_filter(const ConvGeom& g, const T* x, const T* gy, const T* U, T* gx,
                                                      const T* mask, T* dU_acc, bool accumulate, bool relu_in) {
  const Wino4Shape fwd{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW};
  return wino4_bwd_filter<T>(fwd, x, gy, nullptr, relu_in, U, gx, mask, dU_acc, accumulate);
}

template <class T> void winograd_backward_filter(const ConvGeom& g, const T* x, const T* gy, T* gw, bool relu_in,
                                                 int tile) {
  if (tile == 4) wino4_bwd_filter<T>(Wino4Shape{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW}, x, gy, gw, relu_in);
  else wino_bwd_filter<T>(WinoShape{g.N, g.C, g.H, g.W, g.ph, g.pw, g.Cout, g.OH, g.OW}, x, gy, gw, relu_in);
}

}  // namespace ADV_WINO_ISA
}  // namespace adv
