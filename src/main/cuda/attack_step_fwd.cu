// The fused attack step: step along the gradient (its sign for L-inf, the gradient over its L2
// norm for L2), project onto the eps-ball around x0 and clip to the box, in one pass over the data.
// Per-sample step sizes, radii and an active mask (early stopping) replace the scalars when given.
// Twin: attack_step_impl in src/main/cpp/advmia_update.h (same double arithmetic, rounded once).
#include <cmath>
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

// One thread per element; L-inf needs no cross-element state.
template <class T> __global__ void linf_step(long total, long D, const T* x0, T* x, const T* g, double alpha, const T* al,
                                             double eps, const T* ep, const T* act, double lo, double hi) {
  ADVC_GRID_STRIDE(i, total) {
    long n = i / D;
    if (act && act[n] == 0) continue;
    const double a = al ? (double)al[n] : alpha, e = ep ? (double)ep[n] : eps;
    double v = x[i];
    if (g) v += a * (double)((g[i] > 0) - (g[i] < 0));
    double l = fmax((double)x0[i] - e, lo), h = fmin((double)x0[i] + e, hi);
    x[i] = (T)(v < l ? l : (v > h ? h : v));
  }
}

// One block per sample: two block reductions (gradient norm, then the stepped perturbation's norm).
template <class T> __global__ void l2_step(long D, const T* x0, T* x, const T* g, double alpha, const T* al, double eps,
                                           const T* ep, const T* act, double lo, double hi) {
  __shared__ double shared[33];
  const long n = blockIdx.x, base = n * D;
  if (act && act[n] == 0) return;  // uniform per block: no thread reaches a barrier alone
  const double a = al ? (double)al[n] : alpha, e = ep ? (double)ep[n] : eps;
  double scale = 0;
  if (g) {
    double gn = 0;
    for (long i = threadIdx.x; i < D; i += blockDim.x) gn += (double)g[base + i] * g[base + i];
    gn = block_sum(gn, shared);
    scale = a / (sqrt(gn) + 1e-12);
  }
  double dn = 0;
  for (long i = threadIdx.x; i < D; i += blockDim.x) {
    double d = (double)x[base + i] + (g ? scale * g[base + i] : 0.0) - x0[base + i];
    dn += d * d;
  }
  dn = sqrt(block_sum(dn, shared));
  const double shrink = dn > e ? e / dn : 1.0;
  for (long i = threadIdx.x; i < D; i += blockDim.x) {
    double d = ((double)x[base + i] + (g ? scale * g[base + i] : 0.0) - x0[base + i]) * shrink;
    double v = x0[base + i] + d;
    x[base + i] = (T)(v < lo ? lo : (v > hi ? hi : v));
  }
}

template <class T> int attack_step_impl(int norm, long N, long D, long x0, long x, long g, double alpha, long al,
                                        double eps, long ep, long act, double lo, double hi) {
  long total = N * D;
  if (total == 0) return 0;
  if (norm == 0) {
    linf_step<T><<<blocks_for(total), kThreads, 0, stream()>>>(total, D, ptr<const T>(x0), ptr<T>(x), ptr<const T>(g),
                                                               alpha, ptr<const T>(al), eps, ptr<const T>(ep),
                                                               ptr<const T>(act), lo, hi);
  } else {
    if (N > 0x7fffffffL) return fail("attack_step: %ld samples exceed one grid", N);
    l2_step<T><<<(unsigned)N, kThreads, 0, stream()>>>(D, ptr<const T>(x0), ptr<T>(x), ptr<const T>(g), alpha,
                                                       ptr<const T>(al), eps, ptr<const T>(ep), ptr<const T>(act), lo, hi);
  }
  return launched("attack_step");
}

}  // namespace

int advc_attack_step(int dt, int norm, long N, long D, long x0, long x0n, long x, long xn, long g, long gn, double alpha,
                     long alpha_rows, long arn, double eps, long eps_rows, long ern, long active, long actn, double lo,
                     double hi) {
  int rc = 0;
  const char* name = "attack_step";
  if (norm != 0 && norm != 1) return fail("attack_step: unknown norm code %d", norm);
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "D", D);
  ADVC_CHECK_BUF(name, "clean input", x0, x0n, N * D);
  ADVC_CHECK_BUF(name, "adversarial input", x, xn, N * D);
  if (g) ADVC_CHECK_BUF(name, "gradient", g, gn, N * D);
  if (alpha_rows) ADVC_CHECK_BUF(name, "per-sample step sizes", alpha_rows, arn, N);
  if (eps_rows) ADVC_CHECK_BUF(name, "per-sample eps", eps_rows, ern, N);
  if (active) ADVC_CHECK_BUF(name, "active mask", active, actn, N);
  if (rc) return rc;
  if (!(lo <= hi)) return fail("attack_step: box [%g, %g] is empty", lo, hi);
  if (!(eps >= 0)) return fail("attack_step: eps %g must be >= 0", eps);
  ADVC_DISPATCH(name, dt, attack_step_impl, norm, N, D, x0, x, g, alpha, alpha_rows, eps, eps_rows, active, lo, hi);
}
