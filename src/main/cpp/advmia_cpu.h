// The CPU backend's native surface, bound to Java by org.advmia.backend.cpu.CpuNative.
// Each adv_* function validates its arguments, returns 0 or -1 (see adv_last_error()).
#pragma once
#include "advmia_common.h"
#include "advmia_elementwise.h"
#include "advmia_gemm.h"
#include "advmia_conv.h"
#include "advmia_spatial.h"
#include "advmia_loss.h"
#include "advmia_update.h"

// Host array <-> tensor copies with conversion (the Java side pins the array).
template <class S> inline int adv_copy_in(const S* src, long n, int dt, long dst, long dstn) {
  int rc = 0;
  ADV_CHECK_NONNEG("copy_from_host", "n", n);
  ADV_CHECK_BUF("copy_from_host", "destination", dst, dstn, n);
  if (rc) return rc;
  if (n > 0 && !src) return adv::fail("copy_from_host: null source array");
  if (dt == 0) for (long i = 0; i < n; i++) adv::ptr<float>(dst)[i] = (float)src[i];
  else if (dt == 1) for (long i = 0; i < n; i++) adv::ptr<double>(dst)[i] = (double)src[i];
  else return adv::fail("copy_from_host: dtype code %d unsupported", dt);
  return 0;
}

template <class S> inline int adv_copy_out(int dt, long src, long srcn, S* dst, long n) {
  int rc = 0;
  ADV_CHECK_NONNEG("copy_to_host", "n", n);
  ADV_CHECK_BUF("copy_to_host", "source", src, srcn, n);
  if (rc) return rc;
  if (n > 0 && !dst) return adv::fail("copy_to_host: null destination array");
  if (dt == 0) for (long i = 0; i < n; i++) dst[i] = (S)adv::ptr<const float>(src)[i];
  else if (dt == 1) for (long i = 0; i < n; i++) dst[i] = (S)adv::ptr<const double>(src)[i];
  else return adv::fail("copy_to_host: dtype code %d unsupported", dt);
  return 0;
}

inline int adv_copy_in_f32(const float* src, long n, int dt, long dst, long dstn) { return adv_copy_in<float>(src, n, dt, dst, dstn); }
inline int adv_copy_in_f64(const double* src, long n, int dt, long dst, long dstn) { return adv_copy_in<double>(src, n, dt, dst, dstn); }
inline int adv_copy_out_f32(int dt, long src, long srcn, float* dst, long n) { return adv_copy_out<float>(dt, src, srcn, dst, n); }
inline int adv_copy_out_f64(int dt, long src, long srcn, double* dst, long n) { return adv_copy_out<double>(dt, src, srcn, dst, n); }
