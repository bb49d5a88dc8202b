// Row-wise losses over logits [N, C], forward and backward: log-softmax, softmax cross-entropy
// (class weights, label smoothing), the CW margin, Croce and Hein's DLR, BCE with logits.
// Twins: advmia_loss.h. One thread per row walks the classes in the CPU's order (ties, the
// running max and the top-4 sort come out identical); class counts in medical imaging are small
// (2 to a few hundred), so a row is a short loop and the batch gives the parallelism. The per-row
// code lives in loss_rows.cuh, shared with the host emulation (emulate.cu).
#include "advmia_cuda_common.cuh"
#include "loss_rows.cuh"

namespace {
using namespace advc;

template <class T> __global__ void log_softmax_kernel(const T* x, T* y, long N, long C) {
  ADVC_GRID_STRIDE(n, N) log_softmax_row(x, y, C, n);
}

template <class T> __global__ void log_softmax_bwd_kernel(const T* y, const T* gy, T* gx, long N, long C) {
  ADVC_GRID_STRIDE(n, N) log_softmax_bwd_row(y, gy, gx, C, n);
}

template <class T> __global__ void softmax_ce_kernel(bool backward, const T* z, const T* lab, const T* w, double smoothing,
                                                     T* loss, const T* gl, T* gz, long N, long C, int* err) {
  ADVC_GRID_STRIDE(n, N) if (!softmax_ce_row(backward, z, lab, w, smoothing, loss, gl, gz, C, n)) report(err, E_CE_LABEL);
}

template <class T> __global__ void margin_kernel(bool backward, const T* z, const T* lab, T* m, const T* gm, T* gz, long N,
                                                 long C, int* err) {
  ADVC_GRID_STRIDE(n, N) if (!margin_row(backward, z, lab, m, gm, gz, C, n)) report(err, E_MARGIN_LABEL);
}

template <class T> __global__ void dlr_kernel(bool backward, const T* z, const T* lab, const T* tgt, T* out, const T* go,
                                              T* gz, long N, long C, int* err) {
  ADVC_GRID_STRIDE(n, N) if (!dlr_row(backward, z, lab, tgt, out, go, gz, C, n)) report(err, E_DLR_LABEL);
}

template <class T> __global__ void bce_kernel(bool backward, const T* x, const T* t, const T* pw, T* l, const T* gl, T* gx,
                                              long n, long C) {
  ADVC_GRID_STRIDE(i, n) bce_element(backward, x, t, pw, l, gl, gx, C, i);
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
