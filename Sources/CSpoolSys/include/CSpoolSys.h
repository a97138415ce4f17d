#ifndef CSPOOLSYS_H
#define CSPOOLSYS_H
#include <stdint.h>
#include <sys/types.h>

/* Linux calls that Swift's Glibc module does not import (they need _GNU_SOURCE).
   Each returns 0 on success or -1 with errno set, like the call it wraps. */

/* fallocate(fd, 0, offset, length): reserve blocks without changing the file's size when
   keep_size is non-zero (FALLOC_FL_KEEP_SIZE). */
int cspool_fallocate(int fd, int keep_size, int64_t offset, int64_t length);

/* sync_file_range(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE): start write-back early. */
int cspool_sync_file_range_write(int fd, int64_t offset, int64_t nbytes);

/* Returns errno: Swift reads it through this to avoid thread-local surprises across calls. */
int cspool_errno(void);

#endif
