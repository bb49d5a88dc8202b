// Per-layer comparison of the convolution algorithms (im2col + GEMM, Winograd F(2x2,3x3) and
// Winograd F(4x4,3x3)), forward, backward-data and backward-filter, on the
// 3x3 layers of SmallCNN (b128) and ResNet-18 (CIFAR stem, b64), calling the kernels of
// src/main/cpp directly. Reports, per layer and direction, the minimum over interleaved rounds of
// the CPU time (robust on a shared machine: with 1 thread it is the calling thread's CPU time;
// with more it is the process's CPU time, and wall time beside it), the GFLOP/s of the direct
// convolution's flop count at that time, and the largest difference between each Winograd
// variant's outputs and im2col's, relative to the output's largest magnitude.
//
//   benchmarks/cpp/conv_bench.sh [threads] [rounds]
#include <time.h>
#include <cstdio>
#include <random>
#include <string>
#include "advmia_cpu.h"

struct Layer {
  const char* name;
  long N, C, H, W, Cout, pad;
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

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  const int rounds = argc > 2 ? atoi(argv[2]) : 5;
  const char* only = argc > 3 ? argv[3] : nullptr;
  const char* blas = getenv("OPENBLAS_LIB");
  if (!blas || adv_init_blas(blas)) {
    fprintf(stderr, "set OPENBLAS_LIB to the bytedeco libopenblas (%s)\n", adv_last_error());
    return 1;
  }
  adv_set_threads(threads);
  const Layer layers[] = {
      {"smallcnn.conv1 1->32 28", 128, 1, 28, 28, 32, 0},   {"smallcnn.conv2 32->32 26", 128, 32, 26, 26, 32, 0},
      {"smallcnn.conv3 32->64 12", 128, 32, 12, 12, 64, 0}, {"smallcnn.conv4 64->64 10", 128, 64, 10, 10, 64, 0},
      {"resnet.conv1 3->64 32", 64, 3, 32, 32, 64, 1},      {"resnet.l1 64->64 32", 64, 64, 32, 32, 64, 1},
      {"resnet.l2 128->128 16", 64, 128, 16, 16, 128, 1},   {"resnet.l3 256->256 8", 64, 256, 8, 8, 256, 1},
      {"resnet.l4 512->512 4", 64, 512, 4, 4, 512, 1},
  };
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  printf("%-26s %-9s %9s %9s %9s %7s %7s %7s %9s %9s\n", "layer", "op", "im2col ms", "F2 ms", "F4 ms", "i2c/F2",
         "F2/F4", "F4 GF/s", "F2 |diff|", "F4 |diff|");
  for (const Layer& L : layers) {
    if (only && std::string(L.name).find(only) == std::string::npos) continue;
    const long OH = L.H + 2 * L.pad - 2, OW = L.W + 2 * L.pad - 2;
    long long geom[16] = {L.N, L.C, L.H, L.W, L.Cout, 3, 3, 1, 1, L.pad, L.pad, 1, 1, 1, OH, OW};
    const long xn = L.N * L.C * L.H * L.W, wn = L.Cout * L.C * 9, yn = L.N * L.Cout * OH * OW;
    std::vector<float> x(xn), w(wn);
    std::vector<float> y[3] = {std::vector<float>(yn), std::vector<float>(yn), std::vector<float>(yn)};
    std::vector<float> gx[3] = {std::vector<float>(xn), std::vector<float>(xn), std::vector<float>(xn)};
    std::vector<float> gw[3] = {std::vector<float>(wn), std::vector<float>(wn), std::vector<float>(wn)};
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng) * 0.1f;
    const double gflop = 2.0 * L.N * L.Cout * OH * OW * L.C * 9 * 1e-9;
    double best[3][3], best_wall[3][3];
    for (int op = 0; op < 3; op++)
      for (int a = 0; a < 3; a++) best[op][a] = best_wall[op][a] = 1e9;
    for (int r = 0; r < rounds + 1; r++)
      for (int op = 0; op < 3; op++)
        for (int algo = 1; algo <= 3; algo++) {
          double c0 = threads == 1 ? thread_cpu() : process_cpu(), w0 = wall();
          int rc;
          if (op == 0)
            rc = adv_conv2d_fwd(0, algo, geom, (long)x.data(), xn, (long)w.data(), wn, 0, 0,
                                (long)y[algo - 1].data(), yn);
          else if (op == 1)
            rc = adv_conv2d_bwd_data(0, algo, geom, (long)y[0].data(), yn, (long)w.data(), wn,
                                     (long)gx[algo - 1].data(), xn);
          else
            rc = adv_conv2d_bwd_filter(0, algo, geom, (long)x.data(), xn, (long)y[0].data(), yn,
                                       (long)gw[algo - 1].data(), wn, 0, 0);
          if (rc) { fprintf(stderr, "%s: %s\n", L.name, adv_last_error()); return 1; }
          double c = (threads == 1 ? thread_cpu() : process_cpu()) - c0, wl = wall() - w0;
          if (r > 0) {  // round 0 is warm-up (scratch growth)
            best[op][algo - 1] = std::min(best[op][algo - 1], c);
            best_wall[op][algo - 1] = std::min(best_wall[op][algo - 1], wl);
          }
        }
    for (int op = 0; op < 3; op++) {
      const std::vector<float>* out = op == 0 ? y : op == 1 ? gx : gw;
      double dmax[3] = {0, 0, 0}, amax = 0;
      for (size_t i = 0; i < out[0].size(); i++) {
        amax = std::max(amax, (double)std::fabs(out[0][i]));
        for (int a = 1; a < 3; a++) dmax[a] = std::max(dmax[a], (double)std::fabs(out[a][i] - out[0][i]));
      }
      printf("%-26s %-9s %9.2f %9.2f %9.2f %7.2f %7.2f %7.0f %9.2e %9.2e", L.name,
             op == 0 ? "fwd" : op == 1 ? "bwd-data" : "bwd-filt", 1e3 * best[op][0], 1e3 * best[op][1],
             1e3 * best[op][2], best[op][0] / best[op][1], best[op][1] / best[op][2], gflop / best[op][2],
             dmax[1] / amax, dmax[2] / amax);
      if (threads > 1)
        printf("   wall %.2f / %.2f / %.2f ms", 1e3 * best_wall[op][0], 1e3 * best_wall[op][1], 1e3 * best_wall[op][2]);
      printf("\n");
    }
  }
  return 0;
}
