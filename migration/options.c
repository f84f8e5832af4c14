/*
 * Migration capabilities and parameters.  Everything tern knows about a
 * parameter (QEMU's default, QEMU's range check, whether tern implements it,
 * how HMP reads it) sits in one row of one table indexed by the QAPI enum;
 * capabilities likewise.  Setting builds a whole candidate from the current
 * values, checks it, and swaps it in only when every check passed.
 *
 * Parameters move between the generated structs as JSON (the generated
 * visitors), so merging, copying and comparing need no per-member code.
 */
#include "migration/options.h"

#include <string.h>

#include "exec/ramblock.h"
#include "qapi/qapi-visit.h"
#include "qemu/error.h"

/* ---- Capabilities ---- */

/* Indexed by MigrationCapability; built at compile time, read-only. */
static const bool cap_implemented[MIGRATION_CAPABILITY__MAX] = {
    [MIGRATION_CAPABILITY_XBZRLE] = true,
    [MIGRATION_CAPABILITY_COMPRESS] = true,
    [MIGRATION_CAPABILITY_EVENTS] = true,
    [MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true,
    [MIGRATION_CAPABILITY_VALIDATE_UUID] = true,
    [MIGRATION_CAPABILITY_MULTIFD] = true,
    [MIGRATION_CAPABILITY_RETURN_PATH] = true,
    [MIGRATION_CAPABILITY_POSTCOPY_RAM] = true,
    [MIGRATION_CAPABILITY_SWITCHOVER_ACK] = true,
    [MIGRATION_CAPABILITY_AUTO_CONVERGE] = true,
    [MIGRATION_CAPABILITY_X_VERIFY_RAM] = true,
    [MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME] = true,
    [MIGRATION_CAPABILITY_MAPPED_RAM] = true,
    [MIGRATION_CAPABILITY_POSTCOPY_PREEMPT] = true,
    [MIGRATION_CAPABILITY_DIRTY_LIMIT] = true,
    [MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE] = true,
    [MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT] = true,
    [MIGRATION_CAPABILITY_X_IGNORE_SHARED] = true,
    [MIGRATION_CAPABILITY_ZERO_COPY_SEND] = true,
    [MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT] = true,
};

/* One of QEMU's pairwise rules: @cap on needs @other on (or off). */
typedef struct CapRule {
    MigrationCapability cap;
    MigrationCapability other;
    bool other_required;
    const char *message;            /* QEMU's text */
} CapRule;

/*
 * QEMU's migrate_caps_check rules (9.1) that depend only on the set itself,
 * in QEMU's order.  Rules that probe the host (postcopy and background
 * snapshot support, KVM dirty ring, COLO build) or the incoming side are
 * left out: every capability they guard is refused by tern anyway.
 */
static const CapRule cap_rules[] = {
    { MIGRATION_CAPABILITY_POSTCOPY_RAM, MIGRATION_CAPABILITY_X_IGNORE_SHARED,
      false, "Postcopy is not compatible with ignore-shared" },
    { MIGRATION_CAPABILITY_POSTCOPY_RAM, MIGRATION_CAPABILITY_MULTIFD,
      false, "Postcopy is not yet compatible with multifd" },
    { MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, MIGRATION_CAPABILITY_POSTCOPY_RAM,
      true, "Postcopy preempt requires postcopy-ram" },
    { MIGRATION_CAPABILITY_SWITCHOVER_ACK, MIGRATION_CAPABILITY_RETURN_PATH,
      true, "Capability 'switchover-ack' requires capability 'return-path'" },
    { MIGRATION_CAPABILITY_DIRTY_LIMIT, MIGRATION_CAPABILITY_AUTO_CONVERGE,
      false, "dirty-limit conflicts with auto-converge either of then "
             "available currently" },
    /* QEMU 9.0's compress rules (the capability was removed in 9.1). */
    { MIGRATION_CAPABILITY_MULTIFD, MIGRATION_CAPABILITY_COMPRESS,
      false, "Multifd is not compatible with compress" },
    { MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, MIGRATION_CAPABILITY_COMPRESS,
      false, "Postcopy preempt not compatible with compress" },
    { MIGRATION_CAPABILITY_MULTIFD, MIGRATION_CAPABILITY_XBZRLE,
      false, "Multifd is not compatible with xbzrle" },
    { MIGRATION_CAPABILITY_COMPRESS, MIGRATION_CAPABILITY_XBZRLE,
      false, "Compression is not compatible with xbzrle" },
    { MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_XBZRLE,
      false, "Mapped-ram migration is incompatible with xbzrle" },
    { MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_COMPRESS,
      false, "Mapped-ram migration is incompatible with compression" },
    { MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_POSTCOPY_RAM,
      false, "Mapped-ram migration is incompatible with postcopy" },
    /*
     * tern's own: checking a restore that maps the file would read all of
     * it before the guest runs, which is what the mapping avoids.
     */
    { MIGRATION_CAPABILITY_X_VERIFY_RAM, MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE,
      false, "x-verify-ram is not combined with x-mapped-ram-restore: the check "
      "would read the whole file before the guest runs" },
    { MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE, MIGRATION_CAPABILITY_MAPPED_RAM,
      true, "Capability 'x-mapped-ram-restore' requires capability 'mapped-ram'" },
    /*
     * tern's own (switchover-commit.h): the commit rides on the return
     * path; postcopy's switchover runs the destination before anything is
     * complete; a snapshot or a file has nobody to commit.
     */
    { MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT, MIGRATION_CAPABILITY_RETURN_PATH,
      true, "Capability 'x-switchover-commit' requires capability 'return-path'" },
    { MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT, MIGRATION_CAPABILITY_POSTCOPY_RAM,
      false, "x-switchover-commit is not combined with postcopy-ram: postcopy's "
      "switchover runs the guest on the destination before its state is complete" },
    { MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT, MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
      false, "x-switchover-commit is not combined with background-snapshot: a "
      "snapshot's guest stays where it is" },
    { MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT, MIGRATION_CAPABILITY_MAPPED_RAM,
      false, "x-switchover-commit is not combined with mapped-ram: a file has "
      "nobody to commit" },
    /* tern's own: mapped-ram's block headers do not mark ignored blocks yet. */
    { MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_X_IGNORE_SHARED,
      false, "mapped-ram is not combined with x-ignore-shared by tern yet" },
};

/* What QEMU refuses together with background-snapshot, in QEMU's order. */
static const MigrationCapability background_snapshot_conflicts[] = {
    MIGRATION_CAPABILITY_POSTCOPY_RAM,
    MIGRATION_CAPABILITY_DIRTY_BITMAPS,
    MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
    MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE,
    MIGRATION_CAPABILITY_RETURN_PATH,
    MIGRATION_CAPABILITY_MULTIFD,
    MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
    MIGRATION_CAPABILITY_AUTO_CONVERGE,
    MIGRATION_CAPABILITY_RELEASE_RAM,
    MIGRATION_CAPABILITY_RDMA_PIN_ALL,
    MIGRATION_CAPABILITY_COMPRESS,
    MIGRATION_CAPABILITY_XBZRLE,
    MIGRATION_CAPABILITY_X_COLO,
    MIGRATION_CAPABILITY_VALIDATE_UUID,
    MIGRATION_CAPABILITY_ZERO_COPY_SEND,
};

bool migration_cap_is_implemented(MigrationCapability cap)
{
    return cap >= 0 && cap < MIGRATION_CAPABILITY__MAX && cap_implemented[cap];
}

/*
 * zero-copy-send's needs, checked when capabilities or parameters change,
 * with QEMU's message either way.
 */
static bool zero_copy_check(const bool *caps, const MigrationParameters *params,
                            GError **errp)
{
    if (caps[MIGRATION_CAPABILITY_ZERO_COPY_SEND] &&
        (!caps[MIGRATION_CAPABILITY_MULTIFD] || caps[MIGRATION_CAPABILITY_COMPRESS] ||
         caps[MIGRATION_CAPABILITY_XBZRLE] ||
         params->multifd_compression != MULTIFD_COMPRESSION_NONE ||
         (params->tls_creds && *params->tls_creds))) {
        error_setg(errp, "Zero copy only available for non-compressed non-TLS "
                   "multifd migration");
        return false;
    }
    return true;
}

/* QEMU's combination rules on the candidate set @caps; @host NULL offers all. */
static bool caps_check(const bool *caps, const MigrationParameters *params,
                       const MigrationCapsHost *host, GError **errp)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cap_rules); i++) {
        const CapRule *r = &cap_rules[i];

        if (caps[r->cap] && caps[r->other] != r->other_required) {
            error_setg(errp, "%s", r->message);
            return false;
        }
    }
    /* tern's interpreter limits vCPUs itself; elsewhere QEMU's KVM text. */
    if (caps[MIGRATION_CAPABILITY_DIRTY_LIMIT] && host && !host->dirty_limit) {
        error_setg(errp, "dirty-limit requires KVM with accelerator property "
                   "'dirty-ring-size' set");
        return false;
    }
    if (caps[MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT]) {
        for (size_t i = 0; i < G_N_ELEMENTS(background_snapshot_conflicts); i++) {
            MigrationCapability other = background_snapshot_conflicts[i];

            if (caps[other]) {
                error_setg(errp, "Background-snapshot is not compatible with %s",
                           MigrationCapability_str(other));
                return false;
            }
        }
    }
    if (!zero_copy_check(caps, params, errp)) {
        return false;
    }
    if (caps[MIGRATION_CAPABILITY_MAPPED_RAM] &&
        (params->multifd_compression != MULTIFD_COMPRESSION_NONE ||
         (params->tls_creds && *params->tls_creds))) {
        error_setg(errp, "Mapped-ram only available for non-compressed non-TLS "
                   "multifd migration");
        return false;
    }
    return true;
}

bool migration_options_set_caps(MigrationOptions *o,
                                const MigrationCapabilityStatusList *caps,
                                GError **errp)
{
    return migration_options_set_caps_on(o, caps, NULL, errp);
}

bool migration_options_set_caps_on(MigrationOptions *o,
                                   const MigrationCapabilityStatusList *caps,
                                   const MigrationCapsHost *host, GError **errp)
{
    bool cand[MIGRATION_CAPABILITY__MAX];
    const MigrationCapabilityStatusList *l;

    memcpy(cand, o->caps, sizeof(cand));
    for (l = caps; l; l = l->next) {
        MigrationCapability cap = l->value->capability;

        if (cap < 0 || cap >= MIGRATION_CAPABILITY__MAX) {
            error_setg(errp, "Invalid migration capability %d", (int)cap);
            return false;
        }
        cand[cap] = l->value->state;
    }
    if (!caps_check(cand, o->params, host, errp)) {
        return false;
    }
    for (l = caps; l; l = l->next) {
        MigrationCapability cap = l->value->capability;

        if (l->value->state && !cap_implemented[cap]) {
            error_setg(errp, "Migration capability '%s' is not supported by tern",
                       MigrationCapability_str(cap));
            return false;
        }
    }
    if (cand[MIGRATION_CAPABILITY_COMPRESS] && !o->caps[MIGRATION_CAPABILITY_COMPRESS]) {
        /* QEMU 8.2 and 9.0's words. */
        warn_report("old compression method is deprecated; use multifd compression "
                    "methods instead");
    }
    memcpy(o->caps, cand, sizeof(cand));
    return true;
}

MigrationCapabilityStatusList *migration_options_query_caps(const MigrationOptions *o)
{
    MigrationCapabilityStatusList *head = NULL, **tail = &head;

    for (int cap = 0; cap < MIGRATION_CAPABILITY__MAX; cap++) {
        MigrationCapabilityStatusList *e = g_new0(MigrationCapabilityStatusList, 1);

        e->value = g_new0(MigrationCapabilityStatus, 1);
        e->value->capability = cap;
        e->value->state = o->caps[cap];
        *tail = e;
        tail = &e->next;
    }
    return head;
}

/* ---- Parameters ---- */

/* A candidate's values as they appear on the wire, for the checks below. */
typedef struct ParamCandidate {
    JsonObject *json;               /* every member present */
    const MigrationParameters *c;   /* the same values, decoded */
} ParamCandidate;

typedef struct ParamInfo {
    const char *default_json;   /* QEMU's default; NULL: unset by default */
    bool implemented;
    /*
     * For an implemented parameter: the string values tern accepts
     * (NULL-terminated), or NULL for any value QEMU accepts.
     */
    const char *const *accepted;
    /*
     * QEMU's range check: "Parameter '<check_name>' expects <expects>"
     * unless min <= value <= max.  No check when @expects is NULL.
     */
    const char *check_name;
    uint64_t min, max;
    const char *expects;
    /* A check QEMU words differently, or that looks at other members. */
    bool (*check)(const ParamCandidate *cand, GError **errp);
    MigrationParamInput input;
    const char *hmp_unit;
} ParamInfo;

static bool check_xbzrle_cache_size(const ParamCandidate *cand, GError **errp)
{
    uint64_t v = cand->c->xbzrle_cache_size;

    if (v < TARGET_PAGE_SIZE || (v & (v - 1)) != 0) {
        error_setg(errp, "Parameter 'xbzrle_cache_size' expects a power of two "
                   "no less than the target page size");
        return false;
    }
    return true;
}

static bool check_max_cpu_throttle(const ParamCandidate *cand, GError **errp)
{
    if (cand->c->max_cpu_throttle < cand->c->cpu_throttle_initial ||
        cand->c->max_cpu_throttle > 99) {
        error_setg(errp, "Parameter 'max_cpu_throttle' expects an integer in the "
                   "range of cpu_throttle_initial to 99");
        return false;
    }
    return true;
}

static bool check_vcpu_dirty_limit(const ParamCandidate *cand, GError **errp)
{
    if (cand->c->vcpu_dirty_limit < 1) {
        error_setg(errp, "Parameter 'vcpu_dirty_limit' must be greater than 1 MB/s");
        return false;
    }
    return true;
}

/* cpr-exec (10.2) would need the exec and an inherited CPR state: not built. */
static const char *const mode_values[] = { "normal", "cpr-reboot", "cpr-transfer", NULL };
/* qpl, uadk and qatzip need accelerators tern does not drive. */
static const char *const compression_values[] = { "none", "zlib", "zstd", NULL };

#define RANGE(name, lo, hi, text) \
    .check_name = (name), .min = (lo), .max = (hi), .expects = (text)

/*
 * Indexed by MigrationParameter; built at compile time, read-only.  Defaults
 * are QEMU 9.1's (migration/options.c); ranges and messages are QEMU's
 * migrate_params_check.  max-bandwidth and avail-switchover-bandwidth have
 * no row check: QEMU's bound is SIZE_MAX, the whole uint64 range here.
 * 0 for max-bandwidth means unlimited, as in QEMU 9.1 (a zero rate limit
 * disables limiting).
 */
static const ParamInfo param_info[MIGRATION_PARAMETER__MAX] = {
    [MIGRATION_PARAMETER_ANNOUNCE_INITIAL] = {
        .default_json = "50",
        RANGE("announce_initial", 0, 100000, "a value between 0 and 100000"),
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " ms" },
    [MIGRATION_PARAMETER_ANNOUNCE_MAX] = {
        .default_json = "550",
        RANGE("announce_max", 0, 100000, "a value between 0 and 100000"),
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " ms" },
    [MIGRATION_PARAMETER_ANNOUNCE_ROUNDS] = {
        .default_json = "5",
        RANGE("announce_rounds", 0, 1000, "a value between 0 and 1000"),
        .input = MIGRATION_PARAM_INPUT_SIZE },
    [MIGRATION_PARAMETER_ANNOUNCE_STEP] = {
        .default_json = "100",
        /* QEMU's message says 0 although it requires at least 1. */
        RANGE("announce_step", 1, 10000, "a value between 0 and 10000"),
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " ms" },
    /* Capability compress (QEMU 9.0's defaults and ranges). */
    [MIGRATION_PARAMETER_COMPRESS_LEVEL] = {
        .default_json = "1", .implemented = true,
        RANGE("compress_level", 0, 9, "a value between 0 and 9"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_COMPRESS_THREADS] = {
        .default_json = "8", .implemented = true,
        RANGE("compress_threads", 1, 255, "a value between 1 and 255"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_DECOMPRESS_THREADS] = {
        .default_json = "2", .implemented = true,
        RANGE("decompress_threads", 1, 255, "a value between 1 and 255"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_COMPRESS_WAIT_THREAD] = {
        .default_json = "true", .implemented = true, .input = MIGRATION_PARAM_INPUT_BOOL },
    [MIGRATION_PARAMETER_THROTTLE_TRIGGER_THRESHOLD] = {
        .default_json = "50", .implemented = true,
        RANGE("throttle_trigger_threshold", 1, 100,
              "an integer in the range of 1 to 100"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_CPU_THROTTLE_INITIAL] = {
        .default_json = "20", .implemented = true,
        RANGE("cpu_throttle_initial", 1, 99, "an integer in the range of 1 to 99"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_CPU_THROTTLE_INCREMENT] = {
        .default_json = "10", .implemented = true,
        RANGE("cpu_throttle_increment", 1, 99,
              "an integer in the range of 1 to 99"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_CPU_THROTTLE_TAILSLOW] = {
        .default_json = "false", .implemented = true, .input = MIGRATION_PARAM_INPUT_BOOL },
    /* Checked when a migration uses them (migration/tls.c), as QEMU does. */
    [MIGRATION_PARAMETER_TLS_CREDS] = {
        .default_json = "\"\"", .implemented = true,
        .input = MIGRATION_PARAM_INPUT_STR },
    [MIGRATION_PARAMETER_TLS_HOSTNAME] = {
        .default_json = "\"\"", .implemented = true,
        .input = MIGRATION_PARAM_INPUT_STR },
    /* Unset in QEMU, which queries as ""; here "" is unset too: no check. */
    [MIGRATION_PARAMETER_TLS_AUTHZ] = {
        .default_json = "\"\"", .implemented = true,
        .input = MIGRATION_PARAM_INPUT_STR },
    [MIGRATION_PARAMETER_MAX_BANDWIDTH] = {
        .default_json = "134217728", .implemented = true,
        .input = MIGRATION_PARAM_INPUT_SIZE_MIB, .hmp_unit = " bytes/second" },
    [MIGRATION_PARAMETER_AVAIL_SWITCHOVER_BANDWIDTH] = {
        .default_json = "0", .implemented = true,
        .input = MIGRATION_PARAM_INPUT_SIZE_MIB, .hmp_unit = " bytes/second" },
    [MIGRATION_PARAMETER_DOWNTIME_LIMIT] = {
        .default_json = "300", .implemented = true,
        RANGE("downtime_limit", 0, 2000000,
              "an integer in the range of 0 to 2000000 ms"),
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " ms" },
    [MIGRATION_PARAMETER_X_CHECKPOINT_DELAY] = {
        .default_json = "20000",
        .input = MIGRATION_PARAM_INPUT_UINT, .hmp_unit = " ms" },
    [MIGRATION_PARAMETER_MULTIFD_CHANNELS] = {
        .default_json = "2", .implemented = true,
        RANGE("multifd_channels", 1, 255, "a value between 1 and 255"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_XBZRLE_CACHE_SIZE] = {
        .default_json = "67108864", .implemented = true, .check = check_xbzrle_cache_size,
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " bytes" },
    [MIGRATION_PARAMETER_MAX_POSTCOPY_BANDWIDTH] = {
        .default_json = "0", .implemented = true, .input = MIGRATION_PARAM_INPUT_SIZE },
    [MIGRATION_PARAMETER_MAX_CPU_THROTTLE] = {
        .default_json = "99", .implemented = true, .check = check_max_cpu_throttle,
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_MULTIFD_COMPRESSION] = {
        .default_json = "\"none\"", .implemented = true, .accepted = compression_values,
        .input = MIGRATION_PARAM_INPUT_ENUM },
    [MIGRATION_PARAMETER_MULTIFD_ZLIB_LEVEL] = {
        .default_json = "1", .implemented = true,
        RANGE("multifd_zlib_level", 0, 9, "a value between 0 and 9"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_MULTIFD_ZSTD_LEVEL] = {
        .default_json = "1", .implemented = true,
        RANGE("multifd_zstd_level", 0, 20, "a value between 0 and 20"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_BLOCK_BITMAP_MAPPING] = {
        .input = MIGRATION_PARAM_INPUT_QMP_ONLY },
    [MIGRATION_PARAMETER_X_VCPU_DIRTY_LIMIT_PERIOD] = {
        .default_json = "1000", .implemented = true,
        RANGE("x-vcpu-dirty-limit-period", 1, 1000, "a value between 1 and 1000"),
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " ms" },
    [MIGRATION_PARAMETER_VCPU_DIRTY_LIMIT] = {
        .default_json = "1", .implemented = true, .check = check_vcpu_dirty_limit,
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " MB/s" },
    [MIGRATION_PARAMETER_MODE] = {
        .default_json = "\"normal\"", .implemented = true,
        .accepted = mode_values, .input = MIGRATION_PARAM_INPUT_ENUM },
    [MIGRATION_PARAMETER_ZERO_PAGE_DETECTION] = {
        .default_json = "\"multifd\"", .implemented = true,
        .input = MIGRATION_PARAM_INPUT_ENUM },
    [MIGRATION_PARAMETER_DIRECT_IO] = {
        .default_json = "false", .implemented = true, .input = MIGRATION_PARAM_INPUT_BOOL },
    [MIGRATION_PARAMETER_X_SWITCHOVER_HOLD] = {
        .default_json = "false", .implemented = true, .input = MIGRATION_PARAM_INPUT_BOOL },
    /* tern's own: postcopy-auto-recover.c. */
    [MIGRATION_PARAMETER_X_POSTCOPY_AUTO_RECOVER] = {
        .default_json = "0", .implemented = true,
        RANGE("x-postcopy-auto-recover", 0, 1000, "a value between 0 and 1000"),
        .input = MIGRATION_PARAM_INPUT_UINT },
    [MIGRATION_PARAMETER_X_POSTCOPY_AUTO_RECOVER_DELAY] = {
        .default_json = "100", .implemented = true,
        RANGE("x-postcopy-auto-recover-delay", 1, 60000, "a value between 1 and 60000"),
        .input = MIGRATION_PARAM_INPUT_SIZE, .hmp_unit = " ms" },
};

bool migration_param_is_implemented(MigrationParameter param)
{
    return param >= 0 && param < MIGRATION_PARAMETER__MAX &&
           param_info[param].implemented;
}

MigrationParamInput migration_param_input(MigrationParameter param)
{
    g_assert(param >= 0 && param < MIGRATION_PARAMETER__MAX);
    return param_info[param].input;
}

const char *migration_param_hmp_unit(MigrationParameter param)
{
    g_assert(param >= 0 && param < MIGRATION_PARAMETER__MAX);
    return param_info[param].hmp_unit ? param_info[param].hmp_unit : "";
}

/* Decode @obj (borrowed), which tern itself produced: failing is a bug. */
static MigrationParameters *params_from_object(JsonObject *obj)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(GError) err = NULL;
    MigrationParameters *p = NULL;

    json_node_set_object(node, obj);
    if (!visit_MigrationParameters_from_json(node, &p, &err)) {
        g_error("migration parameters do not decode: %s", err->message);
    }
    return p;
}

static JsonObject *params_to_object(const MigrationParameters *p)
{
    g_autoptr(JsonNode) node = visit_MigrationParameters_to_json(p);

    return json_node_dup_object(node);
}

MigrationOptions *migration_options_new(void)
{
    MigrationOptions *o = g_new0(MigrationOptions, 1);
    g_autoptr(JsonObject) obj = json_object_new();

    for (int i = 0; i < MIGRATION_PARAMETER__MAX; i++) {
        g_autoptr(GError) err = NULL;
        JsonNode *value;

        if (!param_info[i].default_json) {
            continue;
        }
        value = json_from_string(param_info[i].default_json, &err);
        g_assert_no_error(err);
        json_object_set_member(obj, MigrationParameter_str(i), value);
    }
    o->params = params_from_object(obj);
    return o;
}

static MigrationParameters *params_copy(const MigrationParameters *p)
{
    g_autoptr(JsonObject) obj = params_to_object(p);

    return params_from_object(obj);
}

MigrationOptions *migration_options_copy(const MigrationOptions *o)
{
    MigrationOptions *c = g_new0(MigrationOptions, 1);

    memcpy(c->caps, o->caps, sizeof(c->caps));
    c->params = params_copy(o->params);
    return c;
}

void migration_options_free(MigrationOptions *o)
{
    if (!o) {
        return;
    }
    qapi_free_MigrationParameters(o->params);
    g_free(o);
}

MigrationParameters *migration_options_query_params(const MigrationOptions *o)
{
    return params_copy(o->params);
}

/* The candidate's value of a range-checked (unsigned integer) member. */
static uint64_t member_uint(JsonObject *obj, const char *name)
{
    /* Unsigned values above INT64_MAX travel as negative int64; undo that. */
    return (uint64_t)json_object_get_int_member(obj, name);
}

/* QEMU's migrate_params_check on the whole candidate. */
static bool params_check(const ParamCandidate *cand, GError **errp)
{
    for (int i = 0; i < MIGRATION_PARAMETER__MAX; i++) {
        const ParamInfo *pi = &param_info[i];

        if (pi->expects) {
            uint64_t v = member_uint(cand->json, MigrationParameter_str(i));

            if (v < pi->min || v > pi->max) {
                error_setg(errp, "Parameter '%s' expects %s", pi->check_name,
                           pi->expects);
                return false;
            }
        }
        if (pi->check && !pi->check(cand, errp)) {
            return false;
        }
    }
    return true;
}

static bool value_is_accepted(const char *const *accepted, JsonNode *value)
{
    const char *s;

    if (JSON_NODE_TYPE(value) != JSON_NODE_VALUE ||
        json_node_get_value_type(value) != G_TYPE_STRING) {
        return false;
    }
    s = json_node_get_string(value);
    for (; *accepted; accepted++) {
        if (strcmp(s, *accepted) == 0) {
            return true;
        }
    }
    return false;
}

/* tern's rule for one member present in the request. */
static bool param_supported(int i, JsonObject *current, JsonObject *cand,
                            GError **errp)
{
    const char *name = MigrationParameter_str(i);
    const ParamInfo *pi = &param_info[i];
    JsonNode *old = json_object_get_member(current, name);
    JsonNode *new = json_object_get_member(cand, name);

    if (!pi->implemented) {
        /* Unset members (block-bitmap-mapping) only match another unset. */
        if (old && new && json_node_equal(old, new)) {
            return true;
        }
        if (!old && !new) {
            return true;
        }
        error_setg(errp, "Migration parameter '%s' is not supported by tern",
                   name);
        return false;
    }
    if (pi->accepted && !value_is_accepted(pi->accepted, new)) {
        error_setg(errp, "Migration parameter '%s' value '%s' is not supported "
                   "by tern", name, json_node_get_string(new));
        return false;
    }
    return true;
}

/*
 * Lay the request's members over @obj.  A null TLS member means "" (QEMU
 * resets TLS parameters this way); the query type has no null.
 */
static void params_overlay(JsonObject *obj, JsonObject *req)
{
    g_autoptr(GList) names = json_object_get_members(req);

    for (GList *l = names; l; l = l->next) {
        const char *name = l->data;
        JsonNode *v = json_object_get_member(req, name);

        if (JSON_NODE_HOLDS_NULL(v)) {
            json_object_set_string_member(obj, name, "");
        } else {
            json_object_set_member(obj, name, json_node_copy(v));
        }
    }
}

bool migration_options_set_params(MigrationOptions *o,
                                  const MigrateSetParameters *p, GError **errp)
{
    g_autoptr(JsonNode) req_node = visit_MigrateSetParameters_to_json(p);
    JsonObject *req = json_node_get_object(req_node);
    g_autoptr(JsonObject) current = params_to_object(o->params);
    g_autoptr(JsonObject) merged = params_to_object(o->params);
    g_autoptr(MigrationParameters) c = NULL;
    ParamCandidate cand;

    params_overlay(merged, req);
    c = params_from_object(merged);
    cand.json = merged;
    cand.c = c;
    if (!params_check(&cand, errp) || !zero_copy_check(o->caps, c, errp)) {
        return false;
    }
    for (int i = 0; i < MIGRATION_PARAMETER__MAX; i++) {
        if (json_object_has_member(req, MigrationParameter_str(i)) &&
            !param_supported(i, current, merged, errp)) {
            return false;
        }
    }
    qapi_free_MigrationParameters(o->params);
    o->params = g_steal_pointer(&c);
    return true;
}
