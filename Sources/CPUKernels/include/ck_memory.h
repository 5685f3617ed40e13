// Memory hints for large, freshly allocated buffers.
#ifndef CK_MEMORY_H
#define CK_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Asks the kernel to back the whole 2 MiB pages inside [p, p + bytes) with transparent huge pages (Linux
/// `madvise(MADV_HUGEPAGE)`), so that first writes fault once per 2 MiB instead of once per 4 KiB. Only useful
/// before the memory is first touched. A hint: does nothing where unsupported, never fails.
void ck_advise_huge_pages(void *p, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
