// Per-layer A/B of the depthwise convolution kernels (src/main/cpp/advmia_depthwise.h) against
// the direct loops they replaced (kept below as `direct`), forward, backward-data and
// backward-filter, on MobileNetV2's depthwise layers (torchvision widths, CIFAR strides, 32x32
// input, batch 64). Reports per layer and direction the minimum over interleaved rounds of the
// CPU time (with 1 thread the calling thread's, otherwise the process's, with wall time beside
// it), the GFLOP/s of 2 * outputs * taps at that time, and the largest difference between the two
// results relative to the largest magnitude. The last rows weight each layer by how often
// MobileNetV2 has it (17 depthwise layers per pass).
//
//   benchmarks/cpp/depthwise_bench.sh [threads] [rounds] [layer-name filter] [float|double]
#include <time.h>
#include <cstdio>
#include <random>
#include <string>
#include "advmia_cpu.h"

namespace direct {
using adv::ConvGeom;
using adv::parallel_items;

template <class T> void fwd(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  parallel_items(g.N * g.C, g.OHW() * g.KH * g.KW, [&](long p) {
    long c = p % g.C;
    const T* xp = x + p * g.HW();
    const T* wc = w + c * g.KH * g.KW;
    T* yp = y + p * g.OHW();
    T bias = b ? b[c] : (T)0;
    for (long oh = 0; oh < g.OH; oh++)
      for (long ow = 0; ow < g.OW; ow++) {
        T acc = bias;
        for (long kh = 0; kh < g.KH; kh++) {
          long ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          for (long kw = 0; kw < g.KW; kw++) {
            long iw = ow * g.sw - g.pw + kw * g.dw;
            if (iw >= 0 && iw < g.W) acc += xp[ih * g.W + iw] * wc[kh * g.KW + kw];
          }
        }
        yp[oh * g.OW + ow] = acc;
      }
  });
}

template <class T> void bwd_data(const ConvGeom& g, const T* gy, const T* w, T* gx) {
  parallel_items(g.N * g.C, g.OHW() * g.KH * g.KW, [&](long p) {
    long c = p % g.C;
    const T* gp = gy + p * g.OHW();
    const T* wc = w + c * g.KH * g.KW;
    T* xp = gx + p * g.HW();
    std::fill(xp, xp + g.HW(), (T)0);
    for (long oh = 0; oh < g.OH; oh++)
      for (long ow = 0; ow < g.OW; ow++) {
        T v = gp[oh * g.OW + ow];
        for (long kh = 0; kh < g.KH; kh++) {
          long ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          for (long kw = 0; kw < g.KW; kw++) {
            long iw = ow * g.sw - g.pw + kw * g.dw;
            if (iw >= 0 && iw < g.W) xp[ih * g.W + iw] += v * wc[kh * g.KW + kw];
          }
        }
      }
  });
}

template <class T> void bwd_filter(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  parallel_items(g.C, g.N * g.OHW() * g.KH * g.KW, [&](long c) {
    T* wc = gw + c * g.KH * g.KW;
    for (long k = 0; k < g.KH * g.KW; k++) wc[k] = 0;
    for (long n = 0; n < g.N; n++) {
      const T* xp = x + (n * g.C + c) * g.HW();
      const T* gp = gy + (n * g.C + c) * g.OHW();
      for (long kh = 0; kh < g.KH; kh++)
        for (long kw = 0; kw < g.KW; kw++) {
          T acc = 0;
          for (long oh = 0; oh < g.OH; oh++) {
            long ih = oh * g.sh - g.ph + kh * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (long ow = 0; ow < g.OW; ow++) {
              long iw = ow * g.sw - g.pw + kw * g.dw;
              if (iw >= 0 && iw < g.W) acc += gp[oh * g.OW + ow] * xp[ih * g.W + iw];
            }
          }
          wc[kh * g.KW + kw] += acc;
        }
    }
  });
}
}  // namespace direct

struct Layer {
  const char* name;
  long C, H, stride, count;  // count: how many of MobileNetV2's depthwise layers have this shape
};

static double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static double process_cpu() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static double wall() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

template <class T> int bench(int threads, int rounds, const char* only) {
  const long N = 64;
  const Layer layers[] = {
      {"dw32 32x32 s1", 32, 32, 1, 1},   {"dw96 32x32 s1", 96, 32, 1, 1},   {"dw144 32x32 s1", 144, 32, 1, 1},
      {"dw144 32x32 s2", 144, 32, 2, 1}, {"dw192 16x16 s1", 192, 16, 1, 2}, {"dw192 16x16 s2", 192, 16, 2, 1},
      {"dw384 8x8 s1", 384, 8, 1, 4},    {"dw576 8x8 s1", 576, 8, 1, 2},    {"dw576 8x8 s2", 576, 8, 2, 1},
      {"dw960 4x4 s1", 960, 4, 1, 3},
  };
  std::mt19937 rng(1);
  std::normal_distribution<double> nd(0, 1);
  printf("%-16s %-9s %10s %10s %8s %8s %8s %10s\n", "layer", "op", "direct ms", "new ms", "speedup", "dir GF/s",
         "new GF/s", "max|diff|");
  double total[3][2] = {};
  for (const Layer& L : layers) {
    if (only && *only && std::string(L.name).find(only) == std::string::npos) continue;
    const long H = L.H, s = L.stride, OH = (H + 2 - 3) / s + 1;
    adv::ConvGeom g{N, L.C, H, H, L.C, 3, 3, s, s, 1, 1, 1, 1, L.C, OH, OH};
    const long xn = N * L.C * H * H, wn = L.C * 9, yn = N * L.C * OH * OH;
    std::vector<T> x(xn), w(wn), b(L.C), gy(yn), y[2], gx[2], gw[2];
    for (int a = 0; a < 2; a++) y[a].resize(yn), gx[a].resize(xn), gw[a].resize(wn);
    for (auto& v : x) v = nd(rng);
    for (auto& v : gy) v = nd(rng);
    for (auto& v : w) v = nd(rng) * 0.3;
    for (auto& v : b) v = nd(rng);
    const double gflop = 2.0 * yn * 9 * 1e-9;
    double best[3][2], best_wall[3][2];
    for (int op = 0; op < 3; op++) best[op][0] = best[op][1] = best_wall[op][0] = best_wall[op][1] = 1e9;
    for (int r = 0; r < rounds + 1; r++)
      for (int op = 0; op < 3; op++)
        for (int a = 0; a < 2; a++) {
          double c0 = threads == 1 ? thread_cpu() : process_cpu(), w0 = wall();
          if (op == 0) (a ? adv::depthwise_fwd<T> : direct::fwd<T>)(g, x.data(), w.data(), b.data(), y[a].data());
          else if (op == 1) (a ? adv::depthwise_bwd_data<T> : direct::bwd_data<T>)(g, gy.data(), w.data(), gx[a].data());
          else (a ? adv::depthwise_bwd_filter<T> : direct::bwd_filter<T>)(g, x.data(), gy.data(), gw[a].data());
          double c = (threads == 1 ? thread_cpu() : process_cpu()) - c0, wl = wall() - w0;
          if (r > 0) {  // round 0 is warm-up (scratch growth)
            best[op][a] = std::min(best[op][a], c);
            best_wall[op][a] = std::min(best_wall[op][a], wl);
          }
        }
    for (int op = 0; op < 3; op++) {
      const std::vector<T>& p = op == 0 ? y[0] : op == 1 ? gx[0] : gw[0];
      const std::vector<T>& q = op == 0 ? y[1] : op == 1 ? gx[1] : gw[1];
      double dmax = 0, amax = 0;
      for (size_t i = 0; i < p.size(); i++) {
        dmax = std::max(dmax, (double)std::fabs(p[i] - q[i]));
        amax = std::max(amax, (double)std::fabs(p[i]));
      }
      for (int a = 0; a < 2; a++) total[op][a] += L.count * best[op][a];
      printf("%-16s %-9s %10.2f %10.2f %8.2f %8.2f %8.2f %10.2e", L.name,
             op == 0 ? "fwd" : op == 1 ? "bwd-data" : "bwd-filt", 1e3 * best[op][0], 1e3 * best[op][1],
             best[op][0] / best[op][1], gflop / best[op][0], gflop / best[op][1], dmax / amax);
      if (threads > 1) printf("   wall %.2f / %.2f ms", 1e3 * best_wall[op][0], 1e3 * best_wall[op][1]);
      printf("\n");
    }
  }
  for (int op = 0; op < 3; op++)
    printf("%-16s %-9s %10.1f %10.1f %8.2f   (layers weighted by their count in MobileNetV2)\n", "all 17 layers",
           op == 0 ? "fwd" : op == 1 ? "bwd-data" : "bwd-filt", 1e3 * total[op][0], 1e3 * total[op][1],
           total[op][0] / total[op][1]);
  return 0;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  const int rounds = argc > 2 ? atoi(argv[2]) : 3;
  const char* only = argc > 3 ? argv[3] : nullptr;
  const bool dbl = argc > 4 && std::string(argv[4]) == "double";
  adv_set_threads(threads);
  return dbl ? bench<double>(threads, rounds, only) : bench<float>(threads, rounds, only);
}
