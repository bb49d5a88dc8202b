// In-place updates: optimizer steps, counter-based random numbers, and the fused attack step.
#pragma once
#include "advmia_common.h"
#include "advmia_pool.h"
#include "advmia_random.h"

namespace adv {

// PyTorch's SGD: g = grad + wd p; buf = first ? g : momentum buf + (1 - dampening) g;
// g = nesterov ? g + momentum buf : buf; p -= lr g.
template <class T> int sgd_impl(long pa, long ga, long ba, long n, double lr, double momentum, double dampening,
                                double wd, int nesterov, int first) {
  T* p = ptr<T>(pa);
  const T* gr = ptr<const T>(ga);
  T* buf = ptr<T>(ba);
  // On the pool, not an OpenMP region (libgomp's workers spin after each region and take the
  // core from the pool's worker, advmia_pool.h); run serially, the update of SmallCNN's 312k
  // parameters was ~2 % of a training step.
  parallel_range(n, kParallelGrain, [&](long lo, long hi) {
    for (long i = lo; i < hi; i++) {
      double g = (double)gr[i] + wd * (double)p[i];
      if (momentum != 0) {
        double b = first ? g : momentum * (double)buf[i] + (1 - dampening) * g;
        buf[i] = (T)b;
        g = nesterov ? g + momentum * b : b;
      }
      p[i] = (T)((double)p[i] - lr * g);
    }
  });
  return 0;
}

// Adam (decoupled = 0, weight decay added to the gradient) or AdamW (decoupled = 1).
template <class T> int adam_impl(long pa, long ga, long ma, long va, long n, double lr, double b1, double b2,
                                 double eps, double wd, int decoupled, long step) {
  T* p = ptr<T>(pa);
  const T* gr = ptr<const T>(ga);
  T* m = ptr<T>(ma);
  T* v = ptr<T>(va);
  const double bc1 = 1 - std::pow(b1, (double)step), bc2 = 1 - std::pow(b2, (double)step);
  const double step_size = lr / bc1, sqrt_bc2 = std::sqrt(bc2);
  parallel_range(n, kParallelGrain, [&](long lo, long hi) {
    for (long i = lo; i < hi; i++) {
      double pi = p[i], g = gr[i];
      if (decoupled) pi *= 1 - lr * wd;
      else g += wd * pi;
      double mi = b1 * (double)m[i] + (1 - b1) * g;
      double vi = b2 * (double)v[i] + (1 - b2) * g * g;
      m[i] = (T)mi;
      v[i] = (T)vi;
      p[i] = (T)(pi - step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps));
    }
  });
  return 0;
}

enum RandomKind { RAND_UNIFORM = 0, RAND_NORMAL, RAND_BERNOULLI, RAND_COUNT };

// value i depends only on (seed, offset + i): the same stream on any thread count or device.
template <class T> int random_impl(int kind, long ya, long n, long seed, long offset, double a, double b) {
  T* y = ptr<T>(ya);
  // Blocks of 4096: a value costs ~20x an elementwise op (four 64-bit multiplies, or a log and a
  // cos), so kParallelGrain would leave dropout's 25k-element masks serial.
  auto fill = [&](auto draw) {
    parallel_range(n, 4096, [&](long lo, long hi) {
      for (long i = lo; i < hi; i++) y[i] = (T)draw((uint64_t)(offset + i));
    });
  };
  const uint64_t sd = (uint64_t)seed;
  switch (kind) {
    case RAND_UNIFORM: fill([&](uint64_t c) { return a + (b - a) * rng_uniform(sd, c); }); break;
    case RAND_NORMAL: fill([&](uint64_t c) { return a + b * rng_normal(sd, c); }); break;
    case RAND_BERNOULLI: fill([&](uint64_t c) { return rng_uniform(sd, c) < a ? 1.0 : 0.0; }); break;
  }
  return 0;
}

enum Norm { NORM_LINF = 0, NORM_L2 = 1, NORM_COUNT };

// One fused attack step on rows of D values (one row per sample):
//   L-inf: x' = x + alpha sign(g);       L2: x' = x + alpha g / ||g||
// then projection of x' - x0 onto the eps-ball and clipping to [lo, hi]. With g = 0 (null) it
// only projects. alpha, eps and active are scalars unless a per-row array is given; rows whose
// active flag is 0 are left untouched (per-sample early stopping).
template <class T> int attack_step_impl(int norm, long N, long D, long x0a, long xa, long ga, double alpha, long alphaa,
                                        double eps, long epsa, long acta, double lo, double hi) {
  const T* x0 = ptr<const T>(x0a);
  T* x = ptr<T>(xa);
  const T* g = ptr<const T>(ga);
  const T* al = ptr<const T>(alphaa);
  const T* ep = ptr<const T>(epsa);
  const T* act = ptr<const T>(acta);
  parallel_items(N, D, [&](long n) {
    if (act && act[n] == 0) return;
    const T* r0 = x0 + n * D;
    T* r = x + n * D;
    const T* gr = g ? g + n * D : nullptr;
    const double a = al ? (double)al[n] : alpha;
    const double e = ep ? (double)ep[n] : eps;
    if (norm == NORM_LINF) {
      for (long i = 0; i < D; i++) {
        double v = r[i];
        if (gr) v += a * (double)((gr[i] > 0) - (gr[i] < 0));
        double l = std::max((double)r0[i] - e, lo), h = std::min((double)r0[i] + e, hi);
        r[i] = (T)(v < l ? l : (v > h ? h : v));
      }
    } else {
      double scale = 0;
      if (gr) {
        double gn = 0;
        for (long i = 0; i < D; i++) gn += (double)gr[i] * gr[i];
        scale = a / (std::sqrt(gn) + 1e-12);
      }
      double dn = 0;
      for (long i = 0; i < D; i++) {
        double d = (double)r[i] + (gr ? scale * gr[i] : 0) - r0[i];
        dn += d * d;
      }
      dn = std::sqrt(dn);
      double shrink = dn > e ? e / dn : 1.0;
      for (long i = 0; i < D; i++) {
        double d = ((double)r[i] + (gr ? scale * gr[i] : 0) - r0[i]) * shrink;
        double v = r0[i] + d;
        r[i] = (T)(v < lo ? lo : (v > hi ? hi : v));
      }
    }
  });
  return 0;
}

}  // namespace adv

inline int adv_sgd_step(int dt, long p, long pn, long g, long gn, long buf, long bufn, long n, double lr, double momentum,
                        double dampening, double wd, int nesterov, int first) {
  int rc = 0;
  ADV_CHECK_NONNEG("sgd_step", "n", n);
  ADV_CHECK_BUF("sgd_step", "parameter", p, pn, n);
  ADV_CHECK_BUF("sgd_step", "gradient", g, gn, n);
  if (momentum != 0) ADV_CHECK_BUF("sgd_step", "momentum buffer", buf, bufn, n);
  if (rc) return rc;
  ADV_DISPATCH("sgd_step", dt, adv::sgd_impl, p, g, buf, n, lr, momentum, dampening, wd, nesterov, first);
}

inline int adv_adam_step(int dt, long p, long pn, long g, long gn, long m, long mn, long v, long vn, long n, double lr,
                         double b1, double b2, double eps, double wd, int decoupled, long step) {
  int rc = 0;
  ADV_CHECK_NONNEG("adam_step", "n", n);
  ADV_CHECK_POS("adam_step", "step", step);
  ADV_CHECK_BUF("adam_step", "parameter", p, pn, n);
  ADV_CHECK_BUF("adam_step", "gradient", g, gn, n);
  ADV_CHECK_BUF("adam_step", "first moment", m, mn, n);
  ADV_CHECK_BUF("adam_step", "second moment", v, vn, n);
  if (rc) return rc;
  ADV_DISPATCH("adam_step", dt, adv::adam_impl, p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, step);
}

inline int adv_random(int dt, int kind, long y, long yn, long n, long seed, long offset, double a, double b) {
  int rc = 0;
  if (kind < 0 || kind >= adv::RAND_COUNT) return adv::fail("random: unknown distribution code %d", kind);
  ADV_CHECK_NONNEG("random", "n", n);
  ADV_CHECK_NONNEG("random", "offset", offset);
  ADV_CHECK_BUF("random", "output", y, yn, n);
  if (rc) return rc;
  ADV_DISPATCH("random", dt, adv::random_impl, kind, y, n, seed, offset, a, b);
}

// g, alpha_rows, eps_rows and active may be 0 (see attack_step_impl).
inline int adv_attack_step(int dt, int norm, long N, long D, long x0, long x0n, long x, long xn, long g, long gn,
                           double alpha, long alpha_rows, long arn, double eps, long eps_rows, long ern, long active,
                           long actn, double lo, double hi) {
  int rc = 0;
  const char* name = "attack_step";
  if (norm < 0 || norm >= adv::NORM_COUNT) return adv::fail("attack_step: unknown norm code %d", norm);
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "D", D);
  ADV_CHECK_BUF(name, "clean input", x0, x0n, N * D);
  ADV_CHECK_BUF(name, "adversarial input", x, xn, N * D);
  if (g) ADV_CHECK_BUF(name, "gradient", g, gn, N * D);
  if (alpha_rows) ADV_CHECK_BUF(name, "per-sample step sizes", alpha_rows, arn, N);
  if (eps_rows) ADV_CHECK_BUF(name, "per-sample eps", eps_rows, ern, N);
  if (active) ADV_CHECK_BUF(name, "active mask", active, actn, N);
  if (rc) return rc;
  if (!(lo <= hi)) return adv::fail("attack_step: box [%g, %g] is empty", lo, hi);
  if (!(eps >= 0)) return adv::fail("attack_step: eps %g must be >= 0", eps);
  ADV_DISPATCH(name, dt, adv::attack_step_impl, norm, N, D, x0, x, g, alpha, alpha_rows, eps, eps_rows, active, lo, hi);
}
