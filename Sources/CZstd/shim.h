#include <zstd.h>
#include <zstd_errors.h>
#include <zdict.h>
/* ZSTD_CONTENTSIZE_UNKNOWN / _ERROR are macros of an unsigned long long cast that Swift does
   not import; re-export them as constants. */
static const unsigned long long CZSTD_CONTENTSIZE_UNKNOWN = ZSTD_CONTENTSIZE_UNKNOWN;
static const unsigned long long CZSTD_CONTENTSIZE_ERROR = ZSTD_CONTENTSIZE_ERROR;
