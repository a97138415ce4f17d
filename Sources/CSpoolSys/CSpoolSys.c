#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include "CSpoolSys.h"

int cspool_fallocate(int fd, int keep_size, int64_t offset, int64_t length) {
#ifdef __linux__
    return fallocate(fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, (off_t)offset, (off_t)length);
#else
    (void)fd; (void)keep_size; (void)offset; (void)length;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int cspool_sync_file_range_write(int fd, int64_t offset, int64_t nbytes) {
#ifdef __linux__
    return sync_file_range(fd, (off_t)offset, (off_t)nbytes, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)nbytes;
    return 0;
#endif
}

int cspool_errno(void) { return errno; }
