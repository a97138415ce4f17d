#include "CCRC32C.h"
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t length) { (void)data; (void)length; return crc; }
