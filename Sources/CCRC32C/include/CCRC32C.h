/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka RecordBatch v2.
 *
 * One implementation is chosen at run time: SSE4.2 crc32 instructions on x86-64 (three
 * interleaved streams when PCLMULQDQ is also present), the ARMv8 CRC32 instructions on aarch64,
 * or a portable slicing-by-8 table otherwise. Every path gives the same result.
 *
 * All functions are pure (no state beyond read-only tables and the CPU feature flags), so they
 * may be called from any number of threads at once.
 */
#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Extends a finished CRC-32C `crc` over `length` bytes at `data` and returns the finished
 * (already inverted) CRC. Pass 0 to start. crc32c_extend(crc32c_extend(0, a), b) equals the CRC
 * of a followed by b. `data` may be NULL only when `length` is 0. */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t length);

/* The same function computed with the portable table path only, whatever the CPU offers.
 * It exists so tests can check the hardware path against it. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

/* 1 when crc32c_extend uses CPU instructions on this machine, 0 when it uses the table. */
int crc32c_hardware_available(void);

#ifdef __cplusplus
}
#endif

#endif /* CCRC32C_H */
