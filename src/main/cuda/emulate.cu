// The pooling, upsampling, median and loss kernels' per-element code (spatial_index.cuh,
// loss_rows.cuh) run on the host,
// one "thread" after another over host buffers. Not used by the backend: it lets
// CudaKernelEmulationTest check the kernels' index arithmetic against the CPU twins on machines
// without a GPU. Arguments are checked as in the device entry points.
#include "advmia_cuda_common.cuh"
#include "spatial_index.cuh"
#include "loss_rows.cuh"

namespace {
using namespace advc;

template <class T> int pool_fwd_host(const PoolGeom& g, long x, long y, long idx) {
  long total = g.N * g.C * g.OH * g.OW;
  for (long o = 0; o < total; o++) pool_fwd_element(g, ptr<const T>(x), ptr<T>(y), ptr<T>(idx), o);
  return 0;
}

template <class T> int pool_bwd_host(const PoolGeom& g, long gy, long idx, long gx) {
  long total = g.N * g.C * g.H * g.W, outs = g.N * g.C * g.OH * g.OW;
  if (g.kind == P_MAX) {
    for (long o = 0; o < outs; o++) {
      long v = (long)ptr<const T>(idx)[o];
      if (v < 0 || v >= g.H * g.W) return fail("pool2d_bwd: max-pool indices out of range for their plane");
    }
  }
  for (long i = 0; i < total; i++) ptr<T>(gx)[i] = pool_bwd_element(g, ptr<const T>(gy), ptr<const T>(idx), i);
  return 0;
}

template <class T> int upsample_host(bool backward, int mode, bool ac, long N, long C, long H, long W, long OH, long OW,
                                     long in, long out) {
  if (!backward) {
    for (long t = 0; t < N * C * OH * OW; t++) ptr<T>(out)[t] = upsample_fwd_element(mode, ac, H, W, OH, OW, ptr<const T>(in), t);
  } else {
    for (long t = 0; t < N * C * H * W; t++) ptr<T>(out)[t] = upsample_bwd_element(mode, ac, H, W, OH, OW, ptr<const T>(in), t);
  }
  return 0;
}

template <class T> int median_host(long P, long H, long W, long k, long x, long y) {
  for (long t = 0; t < P * H * W; t++) ptr<T>(y)[t] = median_element(ptr<const T>(x), H, W, k, t);
  return 0;
}

template <class T> int log_softmax_host(bool backward, long N, long C, long x, long y, long gy, long gx) {
  for (long n = 0; n < N; n++) {
    if (!backward) log_softmax_row(ptr<const T>(x), ptr<T>(y), C, n);
    else log_softmax_bwd_row(ptr<const T>(y), ptr<const T>(gy), ptr<T>(gx), C, n);
  }
  return 0;
}

template <class T> int softmax_ce_host(bool backward, long N, long C, double smoothing, long z, long lab, long w, long loss,
                                       long gl, long gz) {
  for (long n = 0; n < N; n++)
    if (!softmax_ce_row(backward, ptr<const T>(z), ptr<const T>(lab), ptr<const T>(w), smoothing, ptr<T>(loss),
                        ptr<const T>(gl), ptr<T>(gz), C, n))
      return fail("cross_entropy: a label is not an integer class index in [0, C)");
  return 0;
}

template <class T> int margin_host(bool backward, long N, long C, long z, long lab, long m, long gm, long gz) {
  for (long n = 0; n < N; n++)
    if (!margin_row(backward, ptr<const T>(z), ptr<const T>(lab), ptr<T>(m), ptr<const T>(gm), ptr<T>(gz), C, n))
      return fail("margin: a label is not an integer class index in [0, C)");
  return 0;
}

template <class T> int dlr_host(bool backward, long N, long C, long z, long lab, long tgt, long out, long go, long gz) {
  for (long n = 0; n < N; n++)
    if (!dlr_row(backward, ptr<const T>(z), ptr<const T>(lab), ptr<const T>(tgt), ptr<T>(out), ptr<const T>(go),
                 ptr<T>(gz), C, n))
      return fail("dlr: a label or target is not an integer class index in [0, C)");
  return 0;
}

template <class T> int bce_host(bool backward, long n, long C, long x, long t, long pw, long l, long gl, long gx) {
  for (long i = 0; i < n; i++)
    bce_element(backward, ptr<const T>(x), ptr<const T>(t), ptr<const T>(pw), ptr<T>(l), ptr<const T>(gl), ptr<T>(gx), C, i);
  return 0;
}

}  // namespace

#define ADVC_HOST_DISPATCH(opname, dtype, FN, ...)                                     \
  do {                                                                                 \
    switch (dtype) {                                                                   \
      case 0: return FN<float>(__VA_ARGS__);                                           \
      case 1: return FN<double>(__VA_ARGS__);                                          \
      default: return fail("%s: dtype code %d is neither float32 (0) nor float64 (1)", opname, dtype); \
    }                                                                                  \
  } while (0)

int advc_emulate_pool2d_fwd(int dt, long long* geom, long x, long xn, long y, long yn, long idx, long idxn) {
  PoolGeom g;
  if (int e = pool_geom("pool2d_fwd", geom, &g)) return e;
  int rc = 0;
  ADVC_CHECK_BUF("pool2d_fwd", "input", x, xn, g.N * g.C * g.H * g.W);
  ADVC_CHECK_BUF("pool2d_fwd", "output", y, yn, g.N * g.C * g.OH * g.OW);
  if (idx) ADVC_CHECK_BUF("pool2d_fwd", "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADVC_HOST_DISPATCH("pool2d_fwd", dt, pool_fwd_host, g, x, y, g.kind == P_MAX ? idx : 0);
}

int advc_emulate_pool2d_bwd(int dt, long long* geom, long gy, long gyn, long idx, long idxn, long gx, long gxn) {
  PoolGeom g;
  if (int e = pool_geom("pool2d_bwd", geom, &g)) return e;
  int rc = 0;
  ADVC_CHECK_BUF("pool2d_bwd", "output gradient", gy, gyn, g.N * g.C * g.OH * g.OW);
  ADVC_CHECK_BUF("pool2d_bwd", "input gradient", gx, gxn, g.N * g.C * g.H * g.W);
  if (g.kind == P_MAX) ADVC_CHECK_BUF("pool2d_bwd", "indices", idx, idxn, g.N * g.C * g.OH * g.OW);
  if (rc) return rc;
  ADVC_HOST_DISPATCH("pool2d_bwd", dt, pool_bwd_host, g, gy, idx, gx);
}

int advc_emulate_upsample(int dt, int backward, int mode, int align_corners, long N, long C, long H, long W, long OH,
                          long OW, long in, long inn, long out, long outn) {
  int rc = 0;
  const char* name = backward ? "upsample_bwd" : "upsample_fwd";
  if (mode != 0 && mode != 1) return fail("%s: mode %d is neither nearest (0) nor bilinear (1)", name, mode);
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_POS(name, "H", H);
  ADVC_CHECK_POS(name, "W", W);
  ADVC_CHECK_POS(name, "OH", OH);
  ADVC_CHECK_POS(name, "OW", OW);
  long small = N * C * H * W, large = N * C * OH * OW;
  ADVC_CHECK_BUF(name, "input", in, inn, backward ? large : small);
  ADVC_CHECK_BUF(name, "output", out, outn, backward ? small : large);
  if (rc) return rc;
  ADVC_HOST_DISPATCH(name, dt, upsample_host, backward != 0, mode, align_corners != 0, N, C, H, W, OH, OW, in, out);
}

int advc_emulate_median_filter(int dt, long P, long H, long W, long k, long x, long xn, long y, long yn) {
  int rc = 0;
  ADVC_CHECK_NONNEG("median_filter", "planes", P);
  ADVC_CHECK_POS("median_filter", "H", H);
  ADVC_CHECK_POS("median_filter", "W", W);
  if (rc) return rc;
  if (k <= 0 || k % 2 == 0) return fail("median_filter: kernel size %ld must be odd and positive", k);
  if (k > kMaxMedianK) return fail("median_filter: kernel size %ld exceeds the CUDA kernel's limit of %ld", k, kMaxMedianK);
  ADVC_CHECK_BUF("median_filter", "input", x, xn, P * H * W);
  ADVC_CHECK_BUF("median_filter", "output", y, yn, P * H * W);
  if (rc) return rc;
  ADVC_HOST_DISPATCH("median_filter", dt, median_host, P, H, W, k, x, y);
}

// The loss entries take the device entries' arguments; buffer checks are the same (loss.cu).
int advc_emulate_log_softmax(int dt, int backward, long N, long C, long x, long xn, long y, long yn, long gy, long gyn,
                             long gx, long gxn) {
  int rc = 0;
  ADVC_CHECK_NONNEG("log_softmax", "N", N);
  ADVC_CHECK_POS("log_softmax", "C", C);
  ADVC_CHECK_BUF("log_softmax", "output", y, yn, N * C);
  if (!backward) ADVC_CHECK_BUF("log_softmax", "input", x, xn, N * C);
  else { ADVC_CHECK_BUF("log_softmax", "output gradient", gy, gyn, N * C); ADVC_CHECK_BUF("log_softmax", "input gradient", gx, gxn, N * C); }
  if (rc) return rc;
  ADVC_HOST_DISPATCH("log_softmax", dt, log_softmax_host, backward != 0, N, C, x, y, gy, gx);
}

int advc_emulate_softmax_ce(int dt, int backward, long N, long C, double smoothing, long z, long zn, long labels, long ln,
                            long weights, long wn, long loss, long lossn, long gloss, long glossn, long gz, long gzn) {
  int rc = 0;
  const char* name = "softmax_ce";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", z, zn, N * C);
  ADVC_CHECK_BUF(name, "labels", labels, ln, N);
  if (weights) ADVC_CHECK_BUF(name, "class weights", weights, wn, C);
  if (!backward) ADVC_CHECK_BUF(name, "loss", loss, lossn, N);
  else { ADVC_CHECK_BUF(name, "loss gradient", gloss, glossn, N); ADVC_CHECK_BUF(name, "logit gradient", gz, gzn, N * C); }
  if (rc) return rc;
  if (!(smoothing >= 0 && smoothing <= 1)) return fail("softmax_ce: label smoothing %g outside [0, 1]", smoothing);
  ADVC_HOST_DISPATCH(name, dt, softmax_ce_host, backward != 0, N, C, smoothing, z, labels, weights, loss, gloss, gz);
}

int advc_emulate_margin(int dt, int backward, long N, long C, long z, long zn, long labels, long ln, long m, long mn,
                        long gm, long gmn, long gz, long gzn) {
  int rc = 0;
  const char* name = "margin";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", z, zn, N * C);
  ADVC_CHECK_BUF(name, "labels", labels, ln, N);
  if (!backward) ADVC_CHECK_BUF(name, "margin", m, mn, N);
  else { ADVC_CHECK_BUF(name, "margin gradient", gm, gmn, N); ADVC_CHECK_BUF(name, "logit gradient", gz, gzn, N * C); }
  if (rc) return rc;
  ADVC_HOST_DISPATCH(name, dt, margin_host, backward != 0, N, C, z, labels, m, gm, gz);
}

int advc_emulate_dlr(int dt, int backward, long N, long C, long z, long zn, long labels, long ln, long targets, long tn,
                     long out, long outn, long gout, long goutn, long gz, long gzn) {
  int rc = 0;
  const char* name = "dlr";
  ADVC_CHECK_NONNEG(name, "N", N);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", z, zn, N * C);
  ADVC_CHECK_BUF(name, "labels", labels, ln, N);
  if (targets) ADVC_CHECK_BUF(name, "targets", targets, tn, N);
  if (!backward) ADVC_CHECK_BUF(name, "loss", out, outn, N);
  else { ADVC_CHECK_BUF(name, "loss gradient", gout, goutn, N); ADVC_CHECK_BUF(name, "logit gradient", gz, gzn, N * C); }
  if (rc) return rc;
  if (C < (targets ? 4 : 3)) return fail("dlr: needs at least %d classes, got %ld", targets ? 4 : 3, C);
  ADVC_HOST_DISPATCH(name, dt, dlr_host, backward != 0, N, C, z, labels, targets, out, gout, gz);
}

int advc_emulate_bce_logits(int dt, int backward, long n, long C, long x, long xn, long t, long tn, long pw, long pwn,
                            long loss, long lossn, long gloss, long glossn, long gx, long gxn) {
  int rc = 0;
  const char* name = "bce_with_logits";
  ADVC_CHECK_NONNEG(name, "n", n);
  ADVC_CHECK_POS(name, "C", C);
  ADVC_CHECK_BUF(name, "logits", x, xn, n);
  ADVC_CHECK_BUF(name, "targets", t, tn, n);
  if (pw) ADVC_CHECK_BUF(name, "pos_weight", pw, pwn, C);
  if (!backward) ADVC_CHECK_BUF(name, "loss", loss, lossn, n);
  else { ADVC_CHECK_BUF(name, "loss gradient", gloss, glossn, n); ADVC_CHECK_BUF(name, "logit gradient", gx, gxn, n); }
  if (rc) return rc;
  ADVC_HOST_DISPATCH(name, dt, bce_host, backward != 0, n, C, x, t, pw, loss, gloss, gx);
}
