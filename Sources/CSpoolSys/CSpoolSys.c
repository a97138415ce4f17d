#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include "CSpoolSys.h"
#ifdef __linux__
#include <sys/syscall.h>
#include <linux/openat2.h>
#endif

int cspool_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
#if defined(__linux__) && defined(SYS_openat2)
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    (void)dirfd; (void)path; (void)flags; (void)mode; (void)resolve;
    errno = ENOSYS;
    return -1;
#endif
}
