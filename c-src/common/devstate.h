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

#endif /* PORTLAB_DEVSTATE_H */
