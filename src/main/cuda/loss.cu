// Row-wise losses over logits [N, C], forward and backward: log-softmax, softmax cross-entropy
// (class weights, label smoothing), the CW margin, Croce and Hein's DLR, BCE with logits.
// Twins: advmia_loss.h. One thread per row walks the classes in the CPU's order (ties, the
// running max and the top-4 sort come out identical); class counts in medical imaging are small
// (2 to a few hundred), so a row is a short loop and the batch gives the parallelism.
#include <cmath>
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

__device__ __forceinline__ bool label_ok(double v, long C, long* out) {
  if (!(v >= 0) || v >= (double)C || v != floor(v)) return false;
  *out = (long)v;
  return true;
}

// log-sum-exp of a row, with the max taken in T and the sum in double, as row_log_softmax does.
template <class T> __device__ __forceinline__ T row_lse(const T* z, long C) {
  T m = z[0];
  for (long c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
  double s = 0;
  for (long c = 0; c < C; c++) s += exp((double)(z[c] - m));
  return m + (T)log(s);
}

template <class T> __global__ void log_softmax_kernel(const T* x, T* y, long N, long C) {
  ADVC_GRID_STRIDE(n, N) {
    const T* r = x + n * C;
    T lse = row_lse(r, C);
    for (long c = 0; c < C; c++) y[n * C + c] = r[c] - lse;
  }
}

template <class T> __global__ void log_softmax_bwd_kernel(const T* y, const T* gy, T* gx, long N, long C) {
  ADVC_GRID_STRIDE(n, N) {
    double s = 0;
    for (long c = 0; c < C; c++) s += gy[n * C + c];
    for (long c = 0; c < C; c++) gx[n * C + c] = gy[n * C + c] - (T)(exp((double)y[n * C + c]) * s);
  }
}

template <class T> __global__ void softmax_ce_kernel(bool backward, const T* z, const T* lab, const T* w, double smoothing,
                                                     T* loss, const T* gl, T* gz, long N, long C, int* err) {
  ADVC_GRID_STRIDE(n, N) {
    long y;
    if (!label_ok((double)lab[n], C, &y)) {
      report(err, E_CE_LABEL);
      continue;
    }
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
  }
}

template <class T> __global__ void margin_kernel(bool backward, const T* z, const T* lab, T* m, const T* gm, T* gz, long N,
                                                 long C, int* err) {
  ADVC_GRID_STRIDE(n, N) {
    long y;
    if (!label_ok((double)lab[n], C, &y)) {
      report(err, E_MARGIN_LABEL);
      continue;
    }
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
  }
}

template <class T> __global__ void dlr_kernel(bool backward, const T* z, const T* lab, const T* tgt, T* out, const T* go,
                                              T* gz, long N, long C, int* err) {
  ADVC_GRID_STRIDE(n, N) {
    long y, t = -1;
    if (!label_ok((double)lab[n], C, &y) || (tgt && !label_ok((double)tgt[n], C, &t))) {
      report(err, E_DLR_LABEL);
      continue;
    }
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
  }
}

template <class T> __global__ void bce_kernel(bool backward, const T* x, const T* t, const T* pw, T* l, const T* gl, T* gx,
                                              long n, long C) {
  ADVC_GRID_STRIDE(i, n) {
    double xi = x[i], ti = t[i];
    double c = 1 + ((pw ? (double)pw[i % C] : 1.0) - 1) * ti;
    if (!backward) {
      double softplus_neg = log1p(exp(-fabs(xi))) + fmax(-xi, 0.0);
      l[i] = (T)((1 - ti) * xi + c * softplus_neg);
    } else {
      double sig = xi >= 0 ? 1 / (1 + exp(-xi)) : exp(xi) / (1 + exp(xi));
      gx[i] = (T)(gl[i] * ((1 - ti) - c * (1 - sig)));
    }
  }
}

template <class T> int log_softmax_impl(bool backward, long N, long C, long x, long y, long gy, long gx) {
  if (N == 0) return 0;
  if (!backward) log_softmax_kernel<T><<<blocks_for(N, 128), 128, 0, stream()>>>(ptr<const T>(x), ptr<T>(y), N, C);
  else log_softmax_bwd_kernel<T><<<blocks_for(N, 128), 128, 0, stream()>>>(ptr<const T>(y), ptr<const T>(gy), ptr<T>(gx), N, C);
  return launched("log_softmax");
}

template <class T> int softmax_ce_impl(bool backward, long N, long C, double smoothing, long z, long lab, long w, long loss,
                                       long gl, long gz) {
  if (N == 0) return 0;
  softmax_ce_kernel<T><<<blocks_for(N, 128), 128, 0, stream()>>>(backward, ptr<const T>(z), ptr<const T>(lab),
      ptr<const T>(w), smoothing, ptr<T>(loss), ptr<const T>(gl), ptr<T>(gz), N, C, device_error_word());
  return launched("softmax_ce");
}

template <class T> int margin_impl(bool backward, long N, long C, long z, long lab, long m, long gm, long gz) {
  if (N == 0) return 0;
  margin_kernel<T><<<blocks_for(N, 128), 128, 0, stream()>>>(backward, ptr<const T>(z), ptr<const T>(lab), ptr<T>(m),
      ptr<const T>(gm), ptr<T>(gz), N, C, device_error_word());
  return launched("margin");
}

template <class T> int dlr_impl(bool backward, long N, long C, long z, long lab, long tgt, long out, long go, long gz) {
  if (N == 0) return 0;
  dlr_kernel<T><<<blocks_for(N, 128), 128, 0, stream()>>>(backward, ptr<const T>(z), ptr<const T>(lab),
      ptr<const T>(tgt), ptr<T>(out), ptr<const T>(go), ptr<T>(gz), N, C, device_error_word());
  return launched("dlr");
}

template <class T> int bce_impl(bool backward, long n, long C, long x, long t, long pw, long l, long gl, long gx) {
  if (n == 0) return 0;
  bce_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(backward, ptr<const T>(x), ptr<const T>(t), ptr<const T>(pw),
      ptr<T>(l), ptr<const T>(gl), ptr<T>(gx), n, C);
  return launched("bce_with_logits");
}

}  // namespace

// The argument checks below are those of the CPU entry points (advmia_loss.h), line for line.
int advc_log_softmax(int dt, int backward, long N, long C, long x, long xn, long y, long yn, long gy, long gyn, long gx,
                     long gxn) {
  int rc = 0;
  const char* name = "log_softmax";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  if (!backward) {
    ADVC_CHECK_BUF(name, "input", x, xn, N * C);
    ADVC_CHECK_BUF(name, "output", y, yn, N * C);
  } else {
    ADVC_CHECK_BUF(name, "output", y, yn, N * C);
    ADVC_CHECK_BUF(name, "output gradient", gy, gyn, N * C);
    ADVC_CHECK_BUF(name, "input gradient", gx, gxn, N * C);
  }
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, log_softmax_impl, backward != 0, N, C, x, y, gy, gx);
}

int advc_softmax_ce(int dt, int backward, long N, long C, double smoothing, long z, long zn, long labels, long ln,
                    long weights, long wn, long loss, long lossn, long gloss, long glossn, long gz, long gzn) {
  int rc = 0;
  const char* name = "softmax_ce";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", z, zn, N * C);
  ADVC_CHECK_BUF(name, "labels", labels, ln, N);
  if (weights) ADVC_CHECK_BUF(name, "class weights", weights, wn, C);
  if (!backward) {
    ADVC_CHECK_BUF(name, "loss", loss, lossn, N);
  } else {
    ADVC_CHECK_BUF(name, "loss gradient", gloss, glossn, N);
    ADVC_CHECK_BUF(name, "logit gradient", gz, gzn, N * C);
  }
  if (rc) return rc;
  if (!(smoothing >= 0 && smoothing <= 1)) return fail("softmax_ce: label smoothing %g outside [0, 1]", smoothing);
  ADVC_DISPATCH(name, dt, softmax_ce_impl, backward != 0, N, C, smoothing, z, labels, weights, loss, gloss, gz);
}

int advc_margin(int dt, int backward, long N, long C, long z, long zn, long labels, long ln, long m, long mn, long gm,
                long gmn, long gz, long gzn) {
  int rc = 0;
  const char* name = "margin";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", z, zn, N * C);
  ADVC_CHECK_BUF(name, "labels", labels, ln, N);
  if (!backward) {
    ADVC_CHECK_BUF(name, "margin", m, mn, N);
  } else {
    ADVC_CHECK_BUF(name, "margin gradient", gm, gmn, N);
    ADVC_CHECK_BUF(name, "logit gradient", gz, gzn, N * C);
  }
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, margin_impl, backward != 0, N, C, z, labels, m, gm, gz);
}

int advc_dlr(int dt, int backward, long N, long C, long z, long zn, long labels, long ln, long targets, long tn,
             long out, long outn, long gout, long goutn, long gz, long gzn) {
  int rc = 0;
  const char* name = "dlr";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", z, zn, N * C);
  ADVC_CHECK_BUF(name, "labels", labels, ln, N);
  if (targets) ADVC_CHECK_BUF(name, "targets", targets, tn, N);
  if (!backward) {
    ADVC_CHECK_BUF(name, "loss", out, outn, N);
  } else {
    ADVC_CHECK_BUF(name, "loss gradient", gout, goutn, N);
    ADVC_CHECK_BUF(name, "logit gradient", gz, gzn, N * C);
  }
  if (rc) return rc;
  if (C < (targets ? 4 : 3)) return fail("dlr: needs at least %d classes, got %ld", targets ? 4 : 3, C);
  ADVC_DISPATCH(name, dt, dlr_impl, backward != 0, N, C, z, labels, targets, out, gout, gz);
}

int advc_bce_logits(int dt, int backward, long n, long C, long x, long xn, long t, long tn, long pw, long pwn,
                    long loss, long lossn, long gloss, long glossn, long gx, long gxn) {
  int rc = 0;
  const char* name = "bce_with_logits";
  ADVC_CHECK_NONNEG(name, "n", n);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", x, xn, n);
  ADVC_CHECK_BUF(name, "targets", t, tn, n);
  if (pw) ADVC_CHECK_BUF(name, "pos_weight", pw, pwn, C);
  if (!backward) {
    ADVC_CHECK_BUF(name, "loss", loss, lossn, n);
  } else {
    ADVC_CHECK_BUF(name, "loss gradient", gloss, glossn, n);
    ADVC_CHECK_BUF(name, "logit gradient", gx, gxn, n);
  }
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, bce_impl, backward != 0, n, C, x, t, pw, loss, gloss, gx);
}
