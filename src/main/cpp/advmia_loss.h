// Row-wise losses over logits [N, C]. Each returns per-sample values, so attacks can weigh,
// mask or early-stop samples individually; reductions happen above the backend.
#pragma once
#include <atomic>
#include "advmia_common.h"
#include "advmia_pool.h"

namespace adv {

template <class T> inline void row_log_softmax(const T* z, long C, T* out) {
  T m = z[0];
  for (long c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
  double s = 0;
  for (long c = 0; c < C; c++) s += std::exp((double)(z[c] - m));
  T lse = m + (T)std::log(s);
  for (long c = 0; c < C; c++) out[c] = z[c] - lse;
}

inline bool label_ok(double v, long C, long* out) {
  if (!(v >= 0) || v >= (double)C || v != std::floor(v)) return false;
  *out = (long)v;
  return true;
}

template <class T> int log_softmax_impl(bool backward, long N, long C, long xa, long ya, long gya, long gxa) {
  // forward: y = log_softmax(x). backward: gx = gy - softmax * sum(gy), softmax = exp(y).
  const T* x = ptr<const T>(xa);
  T* y = ptr<T>(ya);
  const T* gy = ptr<const T>(gya);
  T* gx = ptr<T>(gxa);
  parallel_items(N, C, [&](long n) {
    if (!backward) {
      row_log_softmax<T>(x + n * C, C, y + n * C);
    } else {
      double s = 0;
      for (long c = 0; c < C; c++) s += gy[n * C + c];
      for (long c = 0; c < C; c++) gx[n * C + c] = gy[n * C + c] - (T)(std::exp((double)y[n * C + c]) * s);
    }
  });
  return 0;
}

// PyTorch's cross-entropy with class weights w and label smoothing e, per sample:
//   l = (1-e) w[y] (-log p_y) + (e/C) sum_c w[c] (-log p_c)
// (the mean reduction divides by sum_i w[y_i], done above the backend).
template <class T> int softmax_ce_impl(bool backward, long N, long C, double smoothing, long za, long la, long wa,
                                       long lossa, long gla, long gza) {
  const T* z = ptr<const T>(za);
  const T* lab = ptr<const T>(la);
  const T* w = ptr<const T>(wa);
  T* loss = ptr<T>(lossa);
  const T* gl = ptr<const T>(gla);
  T* gz = ptr<T>(gza);
  double wsum = 0;
  if (w) for (long c = 0; c < C; c++) wsum += w[c];
  else wsum = (double)C;
  std::atomic<int> bad{0};
  parallel_items(N, C, [&](long n) {
    long y;
    if (!label_ok((double)lab[n], C, &y)) { bad.store(1, std::memory_order_relaxed); return; }
    T* lp = scratch_row<T>(C);
    row_log_softmax<T>(z + n * C, C, lp);
    double wy = w ? (double)w[y] : 1.0;
    if (!backward) {
      double smooth = 0;
      if (smoothing != 0)
        for (long c = 0; c < C; c++) smooth += (w ? (double)w[c] : 1.0) * -(double)lp[c];
      loss[n] = (T)((1 - smoothing) * wy * -(double)lp[y] + smoothing / C * smooth);
    } else {
      double g = gl[n];
      for (long c = 0; c < C; c++) {
        double p = std::exp((double)lp[c]);
        double d = (1 - smoothing) * wy * (p - (c == y)) + smoothing / C * (wsum * p - (w ? (double)w[c] : 1.0));
        gz[n * C + c] = (T)(g * d);
      }
    }
  });
  return bad.load() ? fail("softmax_ce: a label is not an integer class index in [0, %ld)", C) : 0;
}

// margin m = z[y] - max_{j != y} z[j]; its gradient is e_y - e_{argmax_{j != y}}.
template <class T> int margin_impl(bool backward, long N, long C, long za, long la, long ma, long gma, long gza) {
  const T* z = ptr<const T>(za);
  const T* lab = ptr<const T>(la);
  T* m = ptr<T>(ma);
  const T* gm = ptr<const T>(gma);
  T* gz = ptr<T>(gza);
  std::atomic<int> bad{0};
  parallel_items(N, C, [&](long n) {
    long y;
    if (!label_ok((double)lab[n], C, &y)) { bad.store(1, std::memory_order_relaxed); return; }
    const T* r = z + n * C;
    long j = -1;
    for (long c = 0; c < C; c++)
      if (c != y && (j < 0 || r[c] > r[j])) j = c;
    if (!backward) {
      m[n] = j < 0 ? (T)0 : r[y] - r[j];
    } else {
      T* g = gz + n * C;
      for (long c = 0; c < C; c++) g[c] = 0;
      if (j >= 0) { g[y] = gm[n]; g[j] = -gm[n]; }
    }
  });
  return bad.load() ? fail("margin: a label is not an integer class index in [0, %ld)", C) : 0;
}

// Croce & Hein's difference-of-logits ratio. Untargeted:
//   -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3 + 1e-12)
// targeted (target t): -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)
// where pi sorts the logits in decreasing order. The sort is locally constant, so the gradient
// treats the chosen indices as fixed, as autograd through torch.sort does.
template <class T> int dlr_impl(bool backward, long N, long C, long za, long la, long ta, long outa, long goa, long gza) {
  const T* z = ptr<const T>(za);
  const T* lab = ptr<const T>(la);
  const T* tgt = ptr<const T>(ta);
  T* out = ptr<T>(outa);
  const T* go = ptr<const T>(goa);
  T* gz = ptr<T>(gza);
  std::atomic<int> bad{0};
  parallel_items(N, C, [&](long n) {
    long y, t = -1;
    if (!label_ok((double)lab[n], C, &y) || (tgt && !label_ok((double)tgt[n], C, &t))) {
      bad.store(1, std::memory_order_relaxed);
      return;
    }
    const T* r = z + n * C;
    long top[4] = {-1, -1, -1, -1};
    for (long c = 0; c < C; c++) {
      long k = c;
      for (int s = 0; s < 4; s++) {
        if (top[s] < 0) { top[s] = k; break; }
        if (r[k] > r[top[s]]) std::swap(top[s], k);
      }
    }
    long j = -1;  // the strongest wrong class
    if (!tgt) {
      for (long c = 0; c < C; c++)
        if (c != y && (j < 0 || r[c] > r[j])) j = c;
    } else {
      j = t;
    }
    double num = (double)r[y] - (double)r[j];
    double den;
    if (!tgt) den = (double)r[top[0]] - (double)r[top[2]] + 1e-12;
    else den = (double)r[top[0]] - 0.5 * ((double)r[top[2]] + (double)r[top[3]]) + 1e-12;
    if (!backward) {
      out[n] = (T)(-num / den);
    } else {
      T* g = gz + n * C;
      for (long c = 0; c < C; c++) g[c] = 0;
      double k = go[n];
      g[y] += (T)(-k / den);
      g[j] += (T)(k / den);
      double dd = k * num / (den * den);  // d(-num/den)/d den = num / den^2
      g[top[0]] += (T)dd;
      if (!tgt) g[top[2]] -= (T)dd;
      else { g[top[2]] -= (T)(0.5 * dd); g[top[3]] -= (T)(0.5 * dd); }
    }
  });
  return bad.load() ? fail("dlr: a label or target is not an integer class index in [0, %ld)", C) : 0;
}

// Numerically stable binary cross-entropy with logits, elementwise, with an optional
// per-class positive weight p (broadcast over the last axis of length C):
//   l = (1 - t) x + (1 + (p - 1) t) softplus(-x)
template <class T> int bce_impl(bool backward, long n, long C, long xa, long ta, long pa, long la, long gla, long gxa) {
  const T* x = ptr<const T>(xa);
  const T* t = ptr<const T>(ta);
  const T* pw = ptr<const T>(pa);
  T* l = ptr<T>(la);
  const T* gl = ptr<const T>(gla);
  T* gx = ptr<T>(gxa);
  parallel_range(n, kParallelGrain, [&](long lo, long hi) {
    for (long i = lo; i < hi; i++) {
      double xi = x[i], ti = t[i];
      double c = 1 + ((pw ? (double)pw[i % C] : 1.0) - 1) * ti;
      if (!backward) {
        double softplus_neg = std::log1p(std::exp(-std::abs(xi))) + std::max(-xi, 0.0);
        l[i] = (T)((1 - ti) * xi + c * softplus_neg);
      } else {
        double sig = xi >= 0 ? 1 / (1 + std::exp(-xi)) : std::exp(xi) / (1 + std::exp(xi));
        gx[i] = (T)(gl[i] * ((1 - ti) - c * (1 - sig)));
      }
    }
  });
  return 0;
}

}  // namespace adv

inline int adv_log_softmax(int dt, int backward, long N, long C, long x, long xn, long y, long yn, long gy, long gyn,
                           long gx, long gxn) {
  int rc = 0;
  const char* name = backward ? "log_softmax_bwd" : "log_softmax_fwd";
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "C", C);
  ADV_CHECK_BUF(name, "log-probabilities", y, yn, N * C);
  if (!backward) ADV_CHECK_BUF(name, "input", x, xn, N * C);
  else { ADV_CHECK_BUF(name, "output gradient", gy, gyn, N * C); ADV_CHECK_BUF(name, "input gradient", gx, gxn, N * C); }
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::log_softmax_impl, backward != 0, N, C, x, y, gy, gx);
}

// weights may be 0 (all ones). forward writes loss[N]; backward reads gloss[N] and writes glogits.
inline int adv_softmax_ce(int dt, int backward, long N, long C, double smoothing, long z, long zn, long labels, long ln,
                          long weights, long wn, long loss, long lossn, long gloss, long glossn, long gz, long gzn) {
  int rc = 0;
  const char* name = backward ? "softmax_ce_bwd" : "softmax_ce_fwd";
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "C", C);
  if (rc) return rc;
  if (!(smoothing >= 0 && smoothing <= 1)) return adv::fail("%s: label smoothing %g outside [0, 1]", name, smoothing);
  ADV_CHECK_BUF(name, "logits", z, zn, N * C);
  ADV_CHECK_BUF(name, "labels", labels, ln, N);
  if (weights) ADV_CHECK_BUF(name, "class weights", weights, wn, C);
  if (!backward) ADV_CHECK_BUF(name, "loss", loss, lossn, N);
  else { ADV_CHECK_BUF(name, "loss gradient", gloss, glossn, N); ADV_CHECK_BUF(name, "logit gradient", gz, gzn, N * C); }
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::softmax_ce_impl, backward != 0, N, C, smoothing, z, labels, weights, loss, gloss, gz);
}

inline int adv_margin(int dt, int backward, long N, long C, long z, long zn, long labels, long ln, long m, long mn,
                      long gm, long gmn, long gz, long gzn) {
  int rc = 0;
  const char* name = backward ? "margin_bwd" : "margin_fwd";
  ADV_CHECK_NONNEG(name, "N", N);
  ADV_CHECK_POS(name, "C", C);
  ADV_CHECK_BUF(name, "logits", z, zn, N * C);
  ADV_CHECK_BUF(name, "labels", labels, ln, N);
  if (!backward) ADV_CHECK_BUF(name, "margin", m, mn, N);
  else { ADV_CHECK_BUF(name, "margin gradient", gm, gmn, N); ADV_CHECK_BUF(name, "logit gradient", gz, gzn, N * C); }
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::margin_impl, backward != 0, N, C, z, labels, m, gm, gz);
}

// targets may be 0 (untargeted DLR). Untargeted needs C >= 3, targeted C >= 4.
inline int adv_dlr(int dt, int backward, long N, long C, long z, long zn, long labels, long ln, long targets, long tn,
                   long out, long outn, long gout, long goutn, long gz, long gzn) {
  int rc = 0;
  const char* name = backward ? "dlr_bwd" : "dlr_fwd";
  ADV_CHECK_NONNEG(name, "N", N);
  if (rc) return rc;
  if (C < (targets ? 4 : 3)) return adv::fail("%s: DLR needs at least %d classes, got %ld", name, targets ? 4 : 3, C);
  ADV_CHECK_BUF(name, "logits", z, zn, N * C);
  ADV_CHECK_BUF(name, "labels", labels, ln, N);
  if (targets) ADV_CHECK_BUF(name, "targets", targets, tn, N);
  if (!backward) ADV_CHECK_BUF(name, "loss", out, outn, N);
  else { ADV_CHECK_BUF(name, "loss gradient", gout, goutn, N); ADV_CHECK_BUF(name, "logit gradient", gz, gzn, N * C); }
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::dlr_impl, backward != 0, N, C, z, labels, targets, out, gout, gz);
}

// Elementwise over n values whose last axis has length C (for pos_weight broadcasting).
inline int adv_bce_logits(int dt, int backward, long n, long C, long x, long xn, long t, long tn, long pw, long pwn,
                          long loss, long lossn, long gloss, long glossn, long gx, long gxn) {
  int rc = 0;
  const char* name = backward ? "bce_logits_bwd" : "bce_logits_fwd";
  ADV_CHECK_NONNEG(name, "n", n);
  ADV_CHECK_POS(name, "C", C);
  ADV_CHECK_BUF(name, "logits", x, xn, n);
  ADV_CHECK_BUF(name, "targets", t, tn, n);
  if (pw) ADV_CHECK_BUF(name, "positive weights", pw, pwn, C);
  if (!backward) ADV_CHECK_BUF(name, "loss", loss, lossn, n);
  else { ADV_CHECK_BUF(name, "loss gradient", gloss, glossn, n); ADV_CHECK_BUF(name, "logit gradient", gx, gxn, n); }
  if (rc) return rc;
  ADV_DISPATCH(name, dt, adv::bce_impl, backward != 0, n, C, x, t, pw, loss, gloss, gx);
}
