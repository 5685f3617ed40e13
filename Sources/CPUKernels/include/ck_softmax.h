// Row softmax with a vectorised exp.
#ifndef CK_SOFTMAX_H
#define CK_SOFTMAX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// In-place softmax of `rows` rows of `cols` values (row stride `ld`): x <- exp(x - max) / sum, exp by range
/// reduction and the Cephes polynomial (ck_exp, about 1 ulp); differences below -87.3 (underflow, -inf) give exactly 0. A row holding a NaN
/// becomes all NaN; a row of -inf only becomes NaN (0/0), as in PyTorch. AVX-512 when available.
void ck_softmax_rows(float *x, size_t rows, size_t cols, size_t ld);

#ifdef __cplusplus
}
#endif

#endif
