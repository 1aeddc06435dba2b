/*
 * devstate.h - helpers the C device models share for the migration
 * container (magic, device id, version, length, payload, CRC-32) and for
 * little-endian fields. Internal to the C models: hosts never need it.
 */
#ifndef PORTLAB_DEVSTATE_H
#define PORTLAB_DEVSTATE_H

#include <stdint.h>

#include "portlab_device.h"

/* IEEE/zlib CRC-32 of len bytes. */
uint32_t devstate_crc32(const uint8_t *data, uint32_t len);

void devstate_put_u32(uint8_t *p, uint32_t v);
uint32_t devstate_get_u32(const uint8_t *p);
void devstate_put_u64(uint8_t *p, uint64_t v);
uint64_t devstate_get_u64(const uint8_t *p);

/* Total blob size for a payload of payload_len bytes. */
uint32_t devstate_blob_size(uint32_t payload_len);

/*
 * Start a save: checks cap (setting *len to the size needed either way),
 * writes the header and returns the payload pointer, or NULL when the
 * buffer is too small.
 */
uint8_t *devstate_begin_save(uint8_t *buf, uint32_t cap, uint32_t *len,
                             uint16_t device_id, uint16_t version,
                             uint32_t payload_len);
/* Finish a save: writes the CRC over header and payload. */
void devstate_end_save(uint8_t *buf, uint32_t payload_len);

/*
 * Check a blob's container in the spec's order: truncated, bad magic, wrong
 * device, bad/future version, bad length, truncated, bad length, bad CRC.
 * payload_len_for_version(v) gives the payload length of version v
 * (1 <= v <= newest_version). On success *version and *payload are set.
 */
PortlabStatus devstate_check(const uint8_t *blob, uint32_t len,
                             uint16_t device_id, uint16_t newest_version,
                             uint32_t (*payload_len_for_version)(uint16_t),
                             uint16_t *version, const uint8_t **payload);

/*
 * The same check for a device whose payload length depends on the instance
 * as well as on the version (the HPET: 40 + 48 * its number of
 * comparators): payload_len(version, ctx) is called with the ctx given.
 */
PortlabStatus devstate_check_ctx(const uint8_t *blob, uint32_t len,
                                 uint16_t device_id, uint16_t newest_version,
                                 uint32_t (*payload_len)(uint16_t, const void *),
                                 const void *ctx, uint16_t *version,
                                 const uint8_t **payload);

/*
 * Resolve a create call's property list against a device's declared
 * properties (ABI 2): values[i] receives the value of info[i], its default
 * when the list leaves it out. An unknown name, a name given twice, a NULL
 * name or a value outside [min, max] logs a guest-error message naming the
 * property (through host->log, when host is not NULL) and returns
 * PORTLAB_ERR_INVALID; values is then unspecified and the caller creates
 * nothing.
 */
PortlabStatus devprops_resolve(const PortlabHostOps *host, void *host_ctx,
                               const char *type_name,
                               const PortlabPropertyInfo *info,
                               uint32_t num_info,
                               const PortlabProperty *props,
                               uint32_t num_props, uint64_t *values);

#endif /* PORTLAB_DEVSTATE_H */
