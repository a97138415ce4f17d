/* CRC-32C for Spool: see include/CCRC32C.h for the contract.
 *
 * Internally every path works on the raw register (the CRC before the final inversion);
 * crc32c_extend inverts on the way in and out, which is what makes extend composable.
 */
#include "CCRC32C.h"
#include "crc32c_table.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <wmmintrin.h>
#endif

#if defined(__aarch64__)
#include <arm_acle.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1UL << 7)
#endif
#endif
#endif

/* ---- Portable slicing-by-8 ------------------------------------------------------------- */

static inline uint32_t load_le32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static uint32_t raw_portable(uint32_t crc, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo = load_le32(p) ^ crc;
        uint32_t hi = load_le32(p + 4);
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
              crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
              crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
              crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
        n--;
    }
    return crc;
}

/* ---- x86-64: SSE4.2, optionally three streams combined with PCLMULQDQ ---------------- */

#if defined(__x86_64__)

static inline uint64_t load_u64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

__attribute__((target("sse4.2")))
static uint32_t raw_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    uint64_t c = crc;
    while (n >= 8) {
        c = _mm_crc32_u64(c, load_u64(p));
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n > 0) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    return crc;
}

/* One crc32 instruction has a latency of three cycles but a throughput of one per cycle, so
 * three independent streams keep the unit busy. The three partial registers are then joined:
 * crc(A || B || C) = shift(crcA, |B|+|C|) ^ shift(crcB, |C|) ^ crcC, where shift(c, n) is
 * c * x^(8n) mod P. With K = x^(8n-33) mod P (bit-reflected), shift(c, n) equals
 * crc32_u64(0, clmul(c, K)): the carry-less product is c * K * x, and crc32_u64 of a 64-bit
 * value v computes v * x^32 mod P, which gives c * x^(8n) in all.
 * The constants below are x^(8n-33) mod P, reflected, for n = L and n = 2L. */
enum { kLongLane = 8192, kShortLane = 256 };
static const uint32_t kLongShift1 = 0x54a86326u;  /* n = 8192 */
static const uint32_t kLongShift2 = 0x1dc403ccu;  /* n = 16384 */
static const uint32_t kShortShift1 = 0xb9e02b86u; /* n = 256 */
static const uint32_t kShortShift2 = 0xdd7e3b0cu; /* n = 512 */

__attribute__((target("sse4.2,pclmul")))
static inline uint64_t clmul_shift(uint64_t crc, uint32_t k) {
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)(uint32_t)crc),
                                           _mm_cvtsi32_si128((int)k), 0x00);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

__attribute__((target("sse4.2,pclmul")))
static inline uint64_t three_lanes(uint64_t c0, const unsigned char *p, size_t lane, uint32_t k1,
                                   uint32_t k2) {
    uint64_t c1 = 0, c2 = 0;
    const unsigned char *end = p + lane;
    while (p < end) {
        c0 = _mm_crc32_u64(c0, load_u64(p));
        c1 = _mm_crc32_u64(c1, load_u64(p + lane));
        c2 = _mm_crc32_u64(c2, load_u64(p + 2 * lane));
        p += 8;
    }
    uint64_t joined = clmul_shift(c0, k2) ^ clmul_shift(c1, k1);
    return _mm_crc32_u64(0, joined) ^ c2;
}

__attribute__((target("sse4.2,pclmul")))
static uint32_t raw_sse42_clmul(uint32_t crc, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    uint64_t c = crc;
    while (n >= 3 * (size_t)kLongLane) {
        c = three_lanes(c, p, kLongLane, kLongShift1, kLongShift2);
        p += 3 * (size_t)kLongLane;
        n -= 3 * (size_t)kLongLane;
    }
    while (n >= 3 * (size_t)kShortLane) {
        c = three_lanes(c, p, kShortLane, kShortShift1, kShortShift2);
        p += 3 * (size_t)kShortLane;
        n -= 3 * (size_t)kShortLane;
    }
    while (n >= 8) {
        c = _mm_crc32_u64(c, load_u64(p));
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n > 0) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    return crc;
}

#endif /* __x86_64__ */

/* ---- aarch64: ARMv8 CRC32 instructions ------------------------------------------------ */

#if defined(__aarch64__)

static int arm_crc_available(void) {
#if defined(__APPLE__)
    return 1; /* every Apple arm64 CPU implements the CRC32 extension */
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#else
    return 0;
#endif
}

__attribute__((target("crc")))
static uint32_t raw_arm(uint32_t crc, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        crc = __crc32cb(crc, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        crc = __crc32cd(crc, v);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = __crc32cb(crc, *p++);
        n--;
    }
    return crc;
}

#endif /* __aarch64__ */

/* ---- Dispatch ------------------------------------------------------------------------- */

/* __builtin_cpu_supports reads flags that the runtime fills in once before main, so calling
 * it on every use is cheap and needs no cache of our own. */
int crc32c_hardware_available(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
#elif defined(__aarch64__)
    return arm_crc_available();
#else
    return 0;
#endif
}

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint32_t raw = ~crc;
    if (length == 0) {
        return crc;
    }
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) {
        if (__builtin_cpu_supports("pclmul")) {
            return ~raw_sse42_clmul(raw, p, length);
        }
        return ~raw_sse42(raw, p, length);
    }
#elif defined(__aarch64__)
    if (arm_crc_available()) {
        return ~raw_arm(raw, p, length);
    }
#endif
    return ~raw_portable(raw, p, length);
}

uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t length) {
    if (length == 0) {
        return crc;
    }
    return ~raw_portable(~crc, (const unsigned char *)data, length);
}
