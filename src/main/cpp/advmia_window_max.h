// The 2x2 max-pool's rule, one window per vector lane: every 2x2 / stride-2 max-pool (the plain
// one in advmia_spatial.h and the ones fused into the Winograd output transforms) goes through
// this one function, so that fused and unfused pools give the same values and indices bit for bit.
#pragma once

namespace adv {

// Candidates v00, v01, v10, v11 of each window in row-major order, i0 the position of v00 in a
// plane W wide: a candidate replaces the best so far if it is greater or NaN (so a NaN wins and
// stays, as in PyTorch); *best gets the max and *idx the position of the last replacement
// (i0, i0 + 1, i0 + W or i0 + W + 1). V is a GCC vector of T.
template <class V, class T>
inline void window_max4(const V& v00, const V& v01, const V& v10, const V& v11, const V& i0, long W, V* best,
                        V* idx) {
  V bv = v00, bx = i0;
  auto mk = (v01 > bv) | (v01 != v01);
  bv = mk ? v01 : bv;
  bx = mk ? i0 + (T)1 : bx;
  mk = (v10 > bv) | (v10 != v10);
  bv = mk ? v10 : bv;
  bx = mk ? i0 + (T)W : bx;
  mk = (v11 > bv) | (v11 != v11);
  bv = mk ? v11 : bv;
  bx = mk ? i0 + (T)(W + 1) : bx;
  *best = bv;
  *idx = bx;
}

}  // namespace adv
