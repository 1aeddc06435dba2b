/* devstate.c - the migration container shared by the C device models. */
#include "devstate.h"

#include <stdio.h>
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

struct version_only {
    uint32_t (*payload_len_for_version)(uint16_t);
};

static uint32_t call_version_only(uint16_t version, const void *ctx)
{
    const struct version_only *v = ctx;
    return v->payload_len_for_version(version);
}

PortlabStatus devstate_check(const uint8_t *blob, uint32_t len,
                             uint16_t device_id, uint16_t newest_version,
                             uint32_t (*payload_len_for_version)(uint16_t),
                             uint16_t *version, const uint8_t **payload)
{
    struct version_only ctx = { payload_len_for_version };
    return devstate_check_ctx(blob, len, device_id, newest_version,
                              call_version_only, &ctx, version, payload);
}

PortlabStatus devstate_check_ctx(const uint8_t *blob, uint32_t len,
                                 uint16_t device_id, uint16_t newest_version,
                                 uint32_t (*payload_len)(uint16_t, const void *),
                                 const void *ctx, uint16_t *version,
                                 const uint8_t **payload)
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
    uint32_t expected = payload_len(v, ctx);
    if (devstate_get_u32(blob + 8) != expected) {
        return PORTLAB_ERR_BAD_LENGTH;
    }
    /* A blob this large cannot be valid; checking first keeps the size
     * arithmetic below from wrapping. */
    if (expected > UINT32_MAX - PORTLAB_STATE_HEADER_SIZE - PORTLAB_STATE_TRAILER_SIZE) {
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

void devstate_put_u64(uint8_t *p, uint64_t v)
{
    devstate_put_u32(p, (uint32_t)v);
    devstate_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint64_t devstate_get_u64(const uint8_t *p)
{
    return (uint64_t)devstate_get_u32(p) | ((uint64_t)devstate_get_u32(p + 4) << 32);
}

static void props_log(const PortlabHostOps *host, void *host_ctx,
                      const char *message)
{
    if (host != NULL && host->log != NULL) {
        host->log(host_ctx, PORTLAB_LOG_GUEST_ERROR, message);
    }
}

PortlabStatus devprops_resolve(const PortlabHostOps *host, void *host_ctx,
                               const char *type_name,
                               const PortlabPropertyInfo *info,
                               uint32_t num_info,
                               const PortlabProperty *props,
                               uint32_t num_props, uint64_t *values)
{
    char msg[200];
    for (uint32_t i = 0; i < num_info; i++) {
        values[i] = info[i].default_value;
    }
    if (num_props > 0 && props == NULL) {
        props_log(host, host_ctx, "create: property list is NULL");
        return PORTLAB_ERR_INVALID;
    }
    for (uint32_t p = 0; p < num_props; p++) {
        const char *name = props[p].name;
        if (name == NULL) {
            props_log(host, host_ctx, "create: property without a name");
            return PORTLAB_ERR_INVALID;
        }
        uint32_t found = num_info;
        for (uint32_t i = 0; i < num_info; i++) {
            if (strcmp(info[i].name, name) == 0) {
                found = i;
                break;
            }
        }
        if (found == num_info) {
            snprintf(msg, sizeof msg, "%s: unknown property '%.64s'", type_name, name);
            props_log(host, host_ctx, msg);
            return PORTLAB_ERR_INVALID;
        }
        for (uint32_t q = 0; q < p; q++) {
            if (strcmp(props[q].name, name) == 0) {
                snprintf(msg, sizeof msg, "%s: property '%.64s' given twice", type_name, name);
                props_log(host, host_ctx, msg);
                return PORTLAB_ERR_INVALID;
            }
        }
        uint64_t value = props[p].value;
        if (value < info[found].min || value > info[found].max) {
            snprintf(msg, sizeof msg,
                     "%s: property '%s' = %llu is outside %llu..%llu", type_name,
                     info[found].name, (unsigned long long)value,
                     (unsigned long long)info[found].min,
                     (unsigned long long)info[found].max);
            props_log(host, host_ctx, msg);
            return PORTLAB_ERR_INVALID;
        }
        values[found] = value;
    }
    return PORTLAB_OK;
}
