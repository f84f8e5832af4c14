/*
 * The configuration section (QEMU's vmstate "configuration", version 1):
 * the machine type name, then the subsections "configuration/target-page-bits",
 * "configuration/capabilities" (the validated capabilities that are on) and
 * "configuration/uuid" (with validate-uuid and a uuid set).  The destination
 * checks each against its own configuration.
 */
#include "savevm-internal.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <string.h>

#define CONFIG_NAME_MAX         256
#define CONFIG_CAPS_MAX         8
/* x86: the page size is fixed, so the source never needs to send it. */
#define CONFIG_TARGET_PAGE_BITS 12

/* Capabilities both sides must agree on, in QEMU's MigrationCapability order. */
static const char *const config_validated_caps[] = {
    "x-ignore-shared",
    "mapped-ram",
};

typedef struct ConfigState {
    uint32_t len;
    uint8_t name[CONFIG_NAME_MAX];
    uint32_t target_page_bits;
    uint32_t caps_count;
    uint8_t capabilities[CONFIG_CAPS_MAX];  /* indexes into config_validated_caps */
    struct {
        uint8_t data[16];
    } uuid;
    const SaveVMConfig *local;      /* this side's configuration */
} ConfigState;

/* ---- "capability": u8 len ; name ---- */

static bool get_capability(QEMUFile *f, void *pv, size_t size,
                           const VMStateField *field, GError **errp)
{
    char name[UINT8_MAX + 1];
    uint8_t len = qemu_get_byte(f);

    qemu_get_buffer(f, name, len);
    name[len] = '\0';
    if (qemu_file_get_error(f)) {
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(config_validated_caps); i++) {
        if (strlen(config_validated_caps[i]) == len &&
            memcmp(config_validated_caps[i], name, len) == 0) {
            *(uint8_t *)pv = i;
            return true;
        }
    }
    g_autofree char *printable = g_strescape(name, NULL);
    error_setg(errp, "Received unknown capability %s at offset %" PRIu64,
               printable, qemu_file_tell(f));
    return false;
}

static bool put_capability(QEMUFile *f, void *pv, size_t size,
                           const VMStateField *field, GError **errp)
{
    const char *name = config_validated_caps[*(uint8_t *)pv];
    size_t len = strlen(name);

    qemu_put_byte(f, len);
    qemu_put_buffer(f, name, len);
    return true;
}

static const VMStateInfo config_info_capability = {
    "capability", get_capability, put_capability
};

/* ---- subsections ---- */

static bool config_target_page_bits_needed(void *opaque)
{
    return false;
}

static const VMStateDescription config_vmsd_target_page_bits = {
    .name = "configuration/target-page-bits",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = config_target_page_bits_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(target_page_bits, ConfigState),
        VMSTATE_END_OF_LIST()
    },
};

static bool config_capabilities_needed(void *opaque)
{
    ConfigState *state = opaque;

    return state->caps_count > 0;
}

static const VMStateDescription config_vmsd_capabilities = {
    .name = "configuration/capabilities",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = config_capabilities_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_V(caps_count, ConfigState, 1),
        VMSTATE_VARRAY_UINT32(capabilities, ConfigState, caps_count, 1,
                              config_info_capability, uint8_t),
        VMSTATE_END_OF_LIST()
    },
};

static void config_uuid_format(const uint8_t uuid[16], char out[37])
{
    g_snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
               "%02x%02x%02x%02x%02x%02x",
               uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7],
               uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14],
               uuid[15]);
}

static bool config_uuid_needed(void *opaque)
{
    ConfigState *state = opaque;

    return state->local->has_uuid && state->local->validate_uuid;
}

/* The destination checks a uuid it receives, whatever its own validate-uuid. */
static bool config_uuid_post_load(void *opaque, int version_id, GError **errp)
{
    ConfigState *state = opaque;
    char src[37], dst[37];

    config_uuid_format(state->uuid.data, src);
    if (!state->local->has_uuid) {
        error_report("warning: UUID is received %s, but local uuid isn't set", src);
        return true;
    }
    if (memcmp(state->uuid.data, state->local->uuid, 16) != 0) {
        config_uuid_format(state->local->uuid, dst);
        error_setg(errp, "UUID received is %s and local is %s", src, dst);
        return false;
    }
    return true;
}

static const VMStateDescription config_vmsd_uuid = {
    .name = "configuration/uuid",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = config_uuid_needed,
    .post_load = config_uuid_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY_V(uuid.data, ConfigState, 16, 1),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- the section ---- */

static bool config_pre_load(void *opaque, GError **errp)
{
    ConfigState *state = opaque;

    /* Absent subsections mean: the minimum page size, no validated capability. */
    state->target_page_bits = CONFIG_TARGET_PAGE_BITS;
    state->caps_count = 0;
    return true;
}

/* Which validated capabilities @caps (a NULL-terminated list) turns on, as a bit mask. */
static unsigned config_caps_mask(const char *const *caps)
{
    unsigned mask = 0;

    for (; caps && *caps; caps++) {
        for (size_t i = 0; i < G_N_ELEMENTS(config_validated_caps); i++) {
            if (strcmp(*caps, config_validated_caps[i]) == 0) {
                mask |= 1u << i;
            }
        }
    }
    return mask;
}

static bool config_check_caps(ConfigState *state, GError **errp)
{
    unsigned local = config_caps_mask(state->local->capabilities);
    unsigned received = 0;
    g_autoptr(GString) msg = g_string_new(NULL);

    for (uint32_t i = 0; i < state->caps_count; i++) {
        received |= 1u << state->capabilities[i];
    }
    for (size_t i = 0; i < G_N_ELEMENTS(config_validated_caps); i++) {
        bool here = local & (1u << i), there = received & (1u << i);

        if (here != there) {
            g_string_append_printf(msg, "%sCapability %s is %s, but received capability is %s",
                                   msg->len ? "; " : "", config_validated_caps[i],
                                   here ? "on" : "off", there ? "on" : "off");
        }
    }
    if (msg->len) {
        error_setg(errp, "%s", msg->str);
        return false;
    }
    return true;
}

static bool config_post_load(void *opaque, int version_id, GError **errp)
{
    ConfigState *state = opaque;
    const char *local = state->local->machine_name ? state->local->machine_name : "";

    if (state->len != strlen(local) || memcmp(state->name, local, state->len) != 0) {
        g_autofree char *received = g_strndup((const char *)state->name, state->len);

        g_strcanon(received, G_CSET_A_2_Z G_CSET_a_2_z G_CSET_DIGITS "-_.:", '?');
        error_setg(errp, "Machine type received is '%s' and local is '%s'",
                   received, local);
        return false;
    }
    if (state->target_page_bits != CONFIG_TARGET_PAGE_BITS) {
        error_setg(errp, "Received TARGET_PAGE_BITS is %" PRIu32 " but local is %d",
                   state->target_page_bits, CONFIG_TARGET_PAGE_BITS);
        return false;
    }
    return config_check_caps(state, errp);
}

static const VMStateDescription config_vmsd = {
    .name = "configuration",
    .version_id = 1,
    .pre_load = config_pre_load,
    .post_load = config_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(len, ConfigState),
        VMSTATE_VBUFFER_UINT32(name, ConfigState, 0, NULL, len),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &config_vmsd_target_page_bits,
        &config_vmsd_capabilities,
        &config_vmsd_uuid,
        NULL
    },
};

bool savevm_config_save(QEMUFile *f, const SaveVMConfig *cfg, JsonBuilder *vmdesc,
                        GError **errp)
{
    g_autofree ConfigState *state = g_new0(ConfigState, 1);
    const char *name = cfg->machine_name ? cfg->machine_name : "";
    unsigned caps = config_caps_mask(cfg->capabilities);

    if (strlen(name) > CONFIG_NAME_MAX) {
        error_setg(errp, "machine type name '%s' is too long", name);
        return false;
    }
    state->local = cfg;
    state->len = strlen(name);
    memcpy(state->name, name, state->len);
    state->target_page_bits = CONFIG_TARGET_PAGE_BITS;
    for (size_t i = 0; i < G_N_ELEMENTS(config_validated_caps); i++) {
        if (caps & (1u << i)) {
            state->capabilities[state->caps_count++] = i;
        }
    }
    memcpy(state->uuid.data, cfg->uuid, 16);
    return vmstate_save_state(f, &config_vmsd, state, vmdesc, errp);
}

bool savevm_config_load(QEMUFile *f, const SaveVMConfig *local, GError **errp)
{
    g_autofree ConfigState *state = g_new0(ConfigState, 1);

    state->local = local;
    return vmstate_load_state(f, &config_vmsd, state, config_vmsd.version_id, errp);
}
