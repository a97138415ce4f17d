#ifndef CSPOOLSYS_H
#define CSPOOLSYS_H
#include <stdint.h>

/* Linux calls that Swift's Glibc module does not import. */

/* Resolve flags of openat2(2), as in <linux/openat2.h>, for Swift to combine. */
/* O_PATH (needs _GNU_SOURCE in C, so Swift's Glibc module lacks it). */
#define CSPOOL_O_PATH 010000000
#define CSPOOL_RESOLVE_NO_MAGICLINKS 0x02
#define CSPOOL_RESOLVE_NO_SYMLINKS 0x04
#define CSPOOL_RESOLVE_BENEATH 0x08

/* openat2(dirfd, path, {flags, mode, resolve}): syscall(2) is variadic, so Swift cannot call
   it directly. Returns a descriptor, or -1 with errno set (ENOSYS on a kernel before 5.6 or
   off Linux; ELOOP for a refused link; EXDEV for a path that escapes dirfd). */
int cspool_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

#endif
