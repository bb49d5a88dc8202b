// Per-row code of the loss kernels (loss.cu), compiled for the device and for the host (emulate.cu),
// so the CUDA losses are checked against their CPU twins (advmia_loss.h) on machines without a GPU.
// Each function handles sample n; those with labels return false for a label outside [0, C).
#pragma once
#include <cmath>
#include "spatial_index.cuh"  // ADVC_HD

namespace advc {

ADVC_HD bool label_ok(double v, long C, long* out) {
  if (!(v >= 0) || v >= (double)C || v != floor(v)) return false;
  *out = (long)v;
  return true;
}

// log-sum-exp of a row, with the max taken in T and the sum in double, as row_log_softmax does.
template <class T> ADVC_HD T row_lse(const T* z, long C) {
  T m = z[0];
  for (long c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
  double s = 0;
  for (long c = 0; c < C; c++) s += exp((double)(z[c] - m));
  return m + (T)log(s);
}

template <class T> ADVC_HD void log_softmax_row(const T* x, T* y, long C, long n) {
  const T* r = x + n * C;
  T lse = row_lse(r, C);
  for (long c = 0; c < C; c++) y[n * C + c] = r[c] - lse;
}

template <class T> ADVC_HD void log_softmax_bwd_row(const T* y, const T* gy, T* gx, long C, long n) {
  double s = 0;
  for (long c = 0; c < C; c++) s += gy[n * C + c];
  for (long c = 0; c < C; c++) gx[n * C + c] = gy[n * C + c] - (T)(exp((double)y[n * C + c]) * s);
}

template <class T> ADVC_HD bool softmax_ce_row(bool backward, const T* z, const T* lab, const T* w, double smoothing,
                                               T* loss, const T* gl, T* gz, long C, long n) {
  long y;
  if (!label_ok((double)lab[n], C, &y)) return false;
  const T* r = z + n * C;
  const T lse = row_lse(r, C);
  const double wy = w ? (double)w[y] : 1.0;
  if (!backward) {
    double smooth = 0;
    if (smoothing != 0)
      for (long c = 0; c < C; c++) smooth += (w ? (double)w[c] : 1.0) * -(double)(r[c] - lse);
    loss[n] = (T)((1 - smoothing) * wy * -(double)(r[y] - lse) + smoothing / C * smooth);
  } else {
    double wsum = 0;
    if (w) for (long c = 0; c < C; c++) wsum += w[c];
    else wsum = (double)C;
    const double g = gl[n];
    for (long c = 0; c < C; c++) {
      double p = exp((double)(r[c] - lse));
      double d = (1 - smoothing) * wy * (p - (c == y)) + smoothing / C * (wsum * p - (w ? (double)w[c] : 1.0));
      gz[n * C + c] = (T)(g * d);
    }
  }
  return true;
}

template <class T> ADVC_HD bool margin_row(bool backward, const T* z, const T* lab, T* m, const T* gm, T* gz, long C,
                                           long n) {
  long y;
  if (!label_ok((double)lab[n], C, &y)) return false;
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
  return true;
}

template <class T> ADVC_HD bool dlr_row(bool backward, const T* z, const T* lab, const T* tgt, T* out, const T* go, T* gz,
                                        long C, long n) {
  long y, t = -1;
  if (!label_ok((double)lab[n], C, &y) || (tgt && !label_ok((double)tgt[n], C, &t))) return false;
  const T* r = z + n * C;
  long top[4] = {-1, -1, -1, -1};
  for (long c = 0; c < C; c++) {
    long k = c;
    for (int s = 0; s < 4; s++) {
      if (top[s] < 0) { top[s] = k; break; }
      if (r[k] > r[top[s]]) { long tmp = top[s]; top[s] = k; k = tmp; }
    }
  }
  long j = -1;
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
    double dd = k * num / (den * den);
    g[top[0]] += (T)dd;
    if (!tgt) g[top[2]] -= (T)dd;
    else { g[top[2]] -= (T)(0.5 * dd); g[top[3]] -= (T)(0.5 * dd); }
  }
  return true;
}

template <class T> ADVC_HD void bce_element(bool backward, const T* x, const T* t, const T* pw, T* l, const T* gl, T* gx,
                                            long C, long i) {
  double xi = x[i], ti = t[i];
  double c = 1 + ((pw ? (double)pw[i % C] : 1.0) - 1) * ti;
  if (!backward) {
    double softplus_neg = log1p(exp(-fabs(xi))) + (-xi > 0.0 ? -xi : 0.0);
    l[i] = (T)((1 - ti) * xi + c * softplus_neg);
  } else {
    double sig = xi >= 0 ? 1 / (1 + exp(-xi)) : exp(xi) / (1 + exp(xi));
    gx[i] = (T)(gl[i] * ((1 - ti) - c * (1 - sig)));
  }
}

}  // namespace advc
