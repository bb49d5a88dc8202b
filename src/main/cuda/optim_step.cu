// Fused optimizer updates (one pass over parameter, gradient and state) and counter-based random
// fills. Twins: sgd_impl, adam_impl, random_impl (advmia_update.h); the random stream is the very
// same function (advmia_random.h is compiled for host and device), so both backends draw identical
// numbers for a (seed, offset).
#include <cmath>
#include "advmia_cuda_common.cuh"
#include "advmia_random.h"

namespace {
using namespace advc;

template <class T> __global__ void sgd_kernel(T* p, const T* gr, T* buf, long n, double lr, double momentum,
                                              double dampening, double wd, int nesterov, int first) {
  ADVC_GRID_STRIDE(i, n) {
    double g = (double)gr[i] + wd * (double)p[i];
    if (momentum != 0) {
      double b = first ? g : momentum * (double)buf[i] + (1 - dampening) * g;
      buf[i] = (T)b;
      g = nesterov ? g + momentum * b : b;
    }
    p[i] = (T)((double)p[i] - lr * g);
  }
}

template <class T> __global__ void adam_kernel(T* p, const T* gr, T* m, T* v, long n, double lr, double b1, double b2,
                                               double eps, double wd, int decoupled, double step_size, double sqrt_bc2) {
  ADVC_GRID_STRIDE(i, n) {
    double pi = p[i], g = gr[i];
    if (decoupled) pi *= 1 - lr * wd;
    else g += wd * pi;
    double mi = b1 * (double)m[i] + (1 - b1) * g;
    double vi = b2 * (double)v[i] + (1 - b2) * g * g;
    m[i] = (T)mi;
    v[i] = (T)vi;
    p[i] = (T)(pi - step_size * mi / (sqrt(vi) / sqrt_bc2 + eps));
  }
}

enum RandomKind { RAND_UNIFORM = 0, RAND_NORMAL, RAND_BERNOULLI, RAND_COUNT };

template <class T> __global__ void random_kernel(T* y, long n, int kind, uint64_t seed, long offset, double a, double b) {
  ADVC_GRID_STRIDE(i, n) {
    uint64_t c = (uint64_t)(offset + i);
    switch (kind) {
      case RAND_UNIFORM: y[i] = (T)(a + (b - a) * adv::rng_uniform(seed, c)); break;
      case RAND_NORMAL: y[i] = (T)(a + b * adv::rng_normal(seed, c)); break;
      case RAND_BERNOULLI: y[i] = (T)(adv::rng_uniform(seed, c) < a ? 1 : 0); break;
    }
  }
}

template <class T> int sgd_impl(long p, long g, long buf, long n, double lr, double momentum, double dampening, double wd,
                                int nesterov, int first) {
  if (n == 0) return 0;
  sgd_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<T>(p), ptr<const T>(g), ptr<T>(buf), n, lr, momentum,
                                                          dampening, wd, nesterov, first);
  return launched("sgd_step");
}

template <class T> int adam_impl(long p, long g, long m, long v, long n, double lr, double b1, double b2, double eps,
                                 double wd, int decoupled, long step) {
  if (n == 0) return 0;
  // The bias corrections are per step, not per element: computed once here, in double, as on the CPU.
  const double bc1 = 1 - pow(b1, (double)step), bc2 = 1 - pow(b2, (double)step);
  adam_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<T>(p), ptr<const T>(g), ptr<T>(m), ptr<T>(v), n, lr, b1,
                                                           b2, eps, wd, decoupled, lr / bc1, sqrt(bc2));
  return launched("adam_step");
}

template <class T> int random_impl(int kind, long y, long n, long seed, long offset, double a, double b) {
  if (n == 0) return 0;
  random_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ptr<T>(y), n, kind, (uint64_t)seed, offset, a, b);
  return launched("random");
}

}  // namespace

int advc_sgd_step(int dt, long p, long pn, long g, long gn, long buf, long bufn, long n, double lr, double momentum,
                  double dampening, double wd, int nesterov, int first) {
  int rc = 0;
  ADVC_CHECK_NONNEG("sgd_step", "n", n);
  ADVC_CHECK_BUF("sgd_step", "parameter", p, pn, n);
  ADVC_CHECK_BUF("sgd_step", "gradient", g, gn, n);
  if (momentum != 0) ADVC_CHECK_BUF("sgd_step", "momentum buffer", buf, bufn, n);
  if (rc) return rc;
  ADVC_DISPATCH("sgd_step", dt, sgd_impl, p, g, buf, n, lr, momentum, dampening, wd, nesterov, first);
}

int advc_adam_step(int dt, long p, long pn, long g, long gn, long m, long mn, long v, long vn, long n, double lr,
                   double b1, double b2, double eps, double wd, int decoupled, long step) {
  int rc = 0;
  ADVC_CHECK_NONNEG("adam_step", "n", n);
  ADVC_CHECK_POS("adam_step", "step", step);
  ADVC_CHECK_BUF("adam_step", "parameter", p, pn, n);
  ADVC_CHECK_BUF("adam_step", "gradient", g, gn, n);
  ADVC_CHECK_BUF("adam_step", "first moment", m, mn, n);
  ADVC_CHECK_BUF("adam_step", "second moment", v, vn, n);
  if (rc) return rc;
  ADVC_DISPATCH("adam_step", dt, adam_impl, p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, step);
}

int advc_random(int dt, int kind, long y, long yn, long n, long seed, long offset, double a, double b) {
  int rc = 0;
  if (kind < 0 || kind >= RAND_COUNT) return fail("random: unknown distribution code %d", kind);
  ADVC_CHECK_NONNEG("random", "n", n);
  ADVC_CHECK_NONNEG("random", "offset", offset);
  ADVC_CHECK_BUF("random", "output", y, yn, n);
  if (rc) return rc;
  ADVC_DISPATCH("random", dt, random_impl, kind, y, n, seed, offset, a, b);
}
