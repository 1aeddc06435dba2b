/*
 * devaccess.c - the one external definition of each inline function of
 * devaccess.h (C99/C11 inline: a call the compiler does not inline, or a
 * pointer to the function, needs one). The code is in the header.
 */
#include "devaccess.h"

extern inline PortlabAccessFault devaccess_check(uint32_t access_sizes,
                                                 uint64_t region_size,
                                                 uint64_t offset,
                                                 uint32_t size);
extern inline int devaccess_ok(const PortlabDeviceOps *ops, uint64_t offset,
                               uint32_t size);
extern inline uint64_t devaccess_read_split(void *s, DevAccessRead32 read32,
                                            uint64_t offset, uint32_t size);
extern inline PortlabStatus devaccess_write_split(void *s,
                                                  DevAccessWrite32 write32,
                                                  uint64_t offset,
                                                  uint32_t size,
                                                  uint64_t value);
