// A 2-D convolution's geometry and its validation, shared by the im2col/Winograd path
// (advmia_conv.h) and the depthwise kernels (advmia_depthwise.h).
#pragma once
#include "advmia_common.h"
#include "advmia_gemm.h"

namespace adv {

struct ConvGeom {
  long N, C, H, W, Cout, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW;
  long Cg() const { return C / groups; }
  long Cog() const { return Cout / groups; }
  long K() const { return Cg() * KH * KW; }
  long HW() const { return H * W; }
  long OHW() const { return OH * OW; }
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  bool depthwise() const { return groups == C && groups == Cout && groups > 1; }
};

constexpr int kConvGeomLen = 16;

inline int conv_geom(const char* op, const long* a, ConvGeom* g) {
  if (!a) return fail("%s: null geometry array", op);
  // Every path but depthwise ends in a GEMM through function pointers that adv_init_blas fills;
  // a call before it would jump to null and take the JVM down.
  if (!blas().sgemm || !blas().dgemm) return fail("%s: OpenBLAS was not initialised (adv_init_blas)", op);
  *g = ConvGeom{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]};
  if (g->N < 0 || g->C <= 0 || g->H <= 0 || g->W <= 0 || g->Cout <= 0 || g->KH <= 0 || g->KW <= 0)
    return fail("%s: sizes must be positive (N=%ld C=%ld H=%ld W=%ld Cout=%ld kernel=%ldx%ld)", op, g->N, g->C, g->H, g->W,
                g->Cout, g->KH, g->KW);
  if (g->sh <= 0 || g->sw <= 0 || g->dh <= 0 || g->dw <= 0 || g->ph < 0 || g->pw < 0)
    return fail("%s: stride and dilation must be positive and padding non-negative", op);
  if (g->groups <= 0 || g->C % g->groups || g->Cout % g->groups)
    return fail("%s: groups=%ld must divide in_channels=%ld and out_channels=%ld", op, g->groups, g->C, g->Cout);
  long oh = (g->H + 2 * g->ph - g->dh * (g->KH - 1) - 1) / g->sh + 1;
  long ow = (g->W + 2 * g->pw - g->dw * (g->KW - 1) - 1) / g->sw + 1;
  if (oh <= 0 || ow <= 0) return fail("%s: kernel %ldx%ld does not fit input %ldx%ld", op, g->KH, g->KW, g->H, g->W);
  if (oh != g->OH || ow != g->OW) return fail("%s: output size %ldx%ld given, geometry implies %ldx%ld", op, g->OH, g->OW, oh, ow);
  return 0;
}

}  // namespace adv
