// Max / average / adaptive-average pooling, forward and backward. Twin: advmia_spatial.h.
// The backward pass gathers (one thread per input pixel sums the outputs whose window holds it,
// in a fixed order) instead of scattering with atomics, so gradients are bit-reproducible.
// The per-element code lives in spatial_index.cuh, shared with the host emulation (emulate.cu).
#include "advmia_cuda_common.cuh"
#include "spatial_index.cuh"

namespace {
using namespace advc;

template <class T> __global__ void pool_fwd_kernel(PoolGeom g, const T* x, T* y, T* idx, long total) {
  ADVC_GRID_STRIDE(o, total) pool_fwd_element(g, x, y, idx, o);
}

template <class T> __global__ void pool_bwd_kernel(PoolGeom g, const T* gy, const T* idx, T* gx, long total) {
  ADVC_GRID_STRIDE(i, total) gx[i] = pool_bwd_element(g, gy, idx, i);
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
