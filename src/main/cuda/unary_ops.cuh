// Unary op codes shared by unary_fwd.cu and unary_bwd.cu (the codes of org.advmia.backend.UnaryOp
// and advmia_elementwise.h).
#pragma once

namespace advc {

enum UnaryOp {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_ABS, U_SIGN, U_RELU, U_RELU6, U_LEAKY_RELU, U_SIGMOID,
  U_TANH, U_SQUARE, U_RECIPROCAL, U_AFFINE, U_CLAMP, U_POW, U_ROUND, U_COUNT
};

#define ADVC_UNARY_CASES(M) \
  M(U_NEG) M(U_EXP) M(U_LOG) M(U_SQRT) M(U_ABS) M(U_SIGN) M(U_RELU) M(U_RELU6) M(U_LEAKY_RELU) M(U_SIGMOID) \
  M(U_TANH) M(U_SQUARE) M(U_RECIPROCAL) M(U_AFFINE) M(U_CLAMP) M(U_POW) M(U_ROUND)


}  // namespace advc
