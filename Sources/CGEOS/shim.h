// Only GEOS's re-entrant C API (a context handle per user), which is safe from several threads.
#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
