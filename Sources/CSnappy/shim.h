/* The C API of libsnappy (snappy-c.h): Swift cannot import the C++ one. */
#include <stddef.h>
#include <snappy-c.h>
