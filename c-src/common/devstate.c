/* devstate.c - the migration container shared by the C device models. */
#include "devstate.h"

#include <string.h>

/* CRC-32 of each 4-bit value under the reflected polynomial 0xEDB88320:
 * two lookups per byte, a compromise between the bit-by-bit loop and a
 * 1 KiB byte table. */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu,
    0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t devstate_crc32(const uint8_t *data, uint32_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0xFu];
    }
    return crc ^ 0xFFFFFFFFu;
}

void devstate_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t devstate_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)(p[1] << 8));
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

uint32_t devstate_blob_size(uint32_t payload_len)
{
    return PORTLAB_STATE_HEADER_SIZE + payload_len + PORTLAB_STATE_TRAILER_SIZE;
}

uint8_t *devstate_begin_save(uint8_t *buf, uint32_t cap, uint32_t *len,
                             uint16_t device_id, uint16_t version,
                             uint32_t payload_len)
{
    uint32_t size = devstate_blob_size(payload_len);
    *len = size;
    if (buf == NULL || cap < size) {
        return NULL;
    }
    memcpy(buf, PORTLAB_STATE_MAGIC, 4);
    put_u16(buf + 4, device_id);
    put_u16(buf + 6, version);
    devstate_put_u32(buf + 8, payload_len);
    return buf + PORTLAB_STATE_HEADER_SIZE;
}

void devstate_end_save(uint8_t *buf, uint32_t payload_len)
{
    uint32_t body = PORTLAB_STATE_HEADER_SIZE + payload_len;
    devstate_put_u32(buf + body, devstate_crc32(buf, body));
}

PortlabStatus devstate_check(const uint8_t *blob, uint32_t len,
                             uint16_t device_id, uint16_t newest_version,
                             uint32_t (*payload_len_for_version)(uint16_t),
                             uint16_t *version, const uint8_t **payload)
{
    if (blob == NULL || len < PORTLAB_STATE_HEADER_SIZE + PORTLAB_STATE_TRAILER_SIZE) {
        return PORTLAB_ERR_TRUNCATED;
    }
    if (memcmp(blob, PORTLAB_STATE_MAGIC, 4) != 0) {
        return PORTLAB_ERR_BAD_MAGIC;
    }
    if (get_u16(blob + 4) != device_id) {
        return PORTLAB_ERR_WRONG_DEVICE;
    }
    uint16_t v = get_u16(blob + 6);
    if (v == 0) {
        return PORTLAB_ERR_BAD_VERSION;
    }
    if (v > newest_version) {
        return PORTLAB_ERR_FUTURE_VERSION;
    }
    uint32_t expected = payload_len_for_version(v);
    if (devstate_get_u32(blob + 8) != expected) {
        return PORTLAB_ERR_BAD_LENGTH;
    }
    uint32_t size = devstate_blob_size(expected);
    if (len < size) {
        return PORTLAB_ERR_TRUNCATED;
    }
    if (len > size) {
        return PORTLAB_ERR_BAD_LENGTH;
    }
    uint32_t body = PORTLAB_STATE_HEADER_SIZE + expected;
    if (devstate_crc32(blob, body) != devstate_get_u32(blob + body)) {
        return PORTLAB_ERR_BAD_CRC;
    }
    *version = v;
    *payload = blob + PORTLAB_STATE_HEADER_SIZE;
    return PORTLAB_OK;
}
