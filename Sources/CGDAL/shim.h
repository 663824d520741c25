#define _LARGEFILE64_SOURCE 1
#include <sys/stat.h>
#include <gdal/gdal.h>
#include <gdal/ogr_api.h>
#include <gdal/ogr_srs_api.h>
#include <gdal/cpl_conv.h>
#include <gdal/cpl_error.h>
#include <gdal/cpl_vsi.h>
#include <gdal/cpl_string.h>

/* The size of a file in GDAL's virtual file systems (a zip entry's uncompressed size, read from the
   archive's directory), or -1; Swift cannot name VSIStatBufL, a platform stat structure. */
static inline long long rgis_vsi_file_size(const char *path) {
    VSIStatBufL stat;
    if (VSIStatL(path, &stat) != 0 || !VSI_ISREG(stat.st_mode)) return -1;
    return (long long)stat.st_size;
}
