// Shared plumbing for advmia's CPU kernels: error reporting, argument checks, dtype dispatch.
// Every exported entry point returns 0 on success or -1 with a message in adv_last_error(),
// and checks its arguments before it touches memory, so a bad call from Java raises an
// exception instead of crashing the JVM.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdarg>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <limits>
#include <vector>
#include <omp.h>

namespace adv {

inline char* error_buffer() {
  static thread_local char buf[1024];
  return buf;
}

inline int fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_buffer(), 1024, fmt, ap);
  va_end(ap);
  return -1;
}

// A buffer argument: an address and how many elements are valid from it.
struct Buf {
  long addr;
  long len;
};

inline bool check_buf(const char* op, const char* name, long addr, long len, long need, int* rc) {
  if (*rc != 0) return false;
  if (need < 0) { *rc = fail("%s: %s needs a negative element count (%ld)", op, name, need); return false; }
  if (need == 0) return true;
  if (addr == 0) { *rc = fail("%s: %s is a null pointer", op, name); return false; }
  if (len < need) {
    *rc = fail("%s: %s holds %ld elements but the op needs %ld", op, name, len, need);
    return false;
  }
  return true;
}

inline bool check_pos(const char* op, const char* name, long v, int* rc) {
  if (*rc != 0) return false;
  if (v <= 0) { *rc = fail("%s: %s must be positive, got %ld", op, name, v); return false; }
  return true;
}

inline bool check_nonneg(const char* op, const char* name, long v, int* rc) {
  if (*rc != 0) return false;
  if (v < 0) { *rc = fail("%s: %s must be >= 0, got %ld", op, name, v); return false; }
  return true;
}

template <class T> inline T* ptr(long addr) { return reinterpret_cast<T*>(addr); }

// A per-thread row buffer that grows to its high-water mark once, then is reused.
template <class T> inline T* scratch_row(long n) {
  static thread_local std::vector<T> b;
  if ((long)b.size() < n) b.resize(n);
  return b.data();
}

// Below this many elements a parallel region costs more than it saves.
constexpr long kParallelGrain = 32768;

}  // namespace adv

#define ADV_CHECK_BUF(op, name, addr, len, need) adv::check_buf(op, name, addr, len, need, &rc)
#define ADV_CHECK_POS(op, name, v) adv::check_pos(op, name, v, &rc)
#define ADV_CHECK_NONNEG(op, name, v) adv::check_nonneg(op, name, v, &rc)

// Instantiates FN<float> or FN<double> from a runtime dtype code (0 = float32, 1 = float64).
#define ADV_DISPATCH(opname, dtype, FN, ...)                                          \
  do {                                                                                \
    switch (dtype) {                                                                  \
      case 0: return FN<float>(__VA_ARGS__);                                          \
      case 1: return FN<double>(__VA_ARGS__);                                         \
      default: return adv::fail("%s: dtype code %d is neither float32 (0) nor float64 (1)", opname, dtype); \
    }                                                                                 \
  } while (0)

inline const char* adv_last_error() { return adv::error_buffer(); }

inline void adv_set_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

inline int adv_get_threads() { return omp_get_max_threads(); }

// 64-byte aligned so that vector loads never straddle a cache line.
inline long adv_alloc(long bytes) {
  if (bytes <= 0) return 0;
  size_t rounded = ((size_t)bytes + 63) & ~(size_t)63;
  void* p = std::aligned_alloc(64, rounded);
  return reinterpret_cast<long>(p);
}

inline void adv_free(long addr) {
  if (addr != 0) std::free(reinterpret_cast<void*>(addr));
}
