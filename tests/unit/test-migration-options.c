/*
 * Unit tests for migration capabilities and parameters (migration/options.c),
 * their QMP commands through the generated marshallers (options-qmp.c) and
 * their HMP commands (migration-hmp-options.c).
 */
#include "migration-fakes.h"
#include "migration-hmp-options.h"
#include "migration/migration.h"
#include "migration/misc.h"
#include "migration/options.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "qemu/cutils.h"
#include "qemu/error.h"
#include "sysemu/context.h"

#include <string.h>

/* ---- Fixture: fresh migration objects in a context for every test ---- */

typedef struct Fixture {
    FakeMachine machine;        /* no VM: the options need none */
    GPtrArray *blocks;          /* no RAM: the options need none */
    MigrationObjects *mig;
    MigrationOptions *opts;     /* mig->opts */
} Fixture;

/* What the commands receive: the fixture's objects, nothing else. */
static TernContext test_ctx;

/* A limit value no command sets: "not passed on to the migration". */
#define LIVE_UNTOUCHED UINT64_MAX

static void live_reset(Fixture *f)
{
    __atomic_store_n(&f->mig->out->max_bandwidth, LIVE_UNTOUCHED,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&f->mig->out->downtime_limit, LIVE_UNTOUCHED,
                     __ATOMIC_RELAXED);
}

static uint64_t live_bandwidth(Fixture *f)
{
    return __atomic_load_n(&f->mig->out->max_bandwidth, __ATOMIC_RELAXED);
}

static uint64_t live_downtime(Fixture *f)
{
    return __atomic_load_n(&f->mig->out->downtime_limit, __ATOMIC_RELAXED);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->blocks = g_ptr_array_new();
    fake_machine_init(&f->machine, RUN_STATE_PRELAUNCH);
    f->mig = migration_objects_new(f->blocks, NULL, &f->machine.ops);
    f->opts = f->mig->opts;
    test_ctx = (TernContext){ .migration = f->mig };
    live_reset(f);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    test_ctx = (TernContext){ 0 };
    migration_objects_stop(f->mig);
    migration_objects_free(f->mig);
    g_ptr_array_free(f->blocks, TRUE);
}

/* ---- Helpers ---- */

static JsonObject *json_obj(const char *text)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) node = json_from_string(text, &err);

    g_assert_no_error(err);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
    return json_node_dup_object(node);
}

/* Run a marshaller on @args_json; returns the error (or NULL) and *ret. */
static GError *marshal(QmpCommandFunc fn, const char *args_json, JsonNode **ret)
{
    g_autoptr(JsonObject) args = json_obj(args_json);
    GError *err = NULL;
    JsonNode *r = NULL;
    bool ok = fn(&test_ctx, args, &r, &err);

    g_assert_true(ok == (err == NULL));
    if (ret) {
        *ret = r;
    } else if (r) {
        json_node_unref(r);
    }
    return err;
}

static void assert_error(GError *err, const char *desc)
{
    g_assert_nonnull(err);
    g_assert_cmpstr(tern_error_class_name(err), ==, "GenericError");
    g_assert_cmpstr(err->message, ==, desc);
    g_error_free(err);
}

static GError *set_params_json(const char *args_json)
{
    return marshal(qmp_marshal_migrate_set_parameters, args_json, NULL);
}

static GError *set_caps_json(const char *args_json)
{
    return marshal(qmp_marshal_migrate_set_capabilities, args_json, NULL);
}

/* Set one capability directly through the options API. */
static bool set_cap(MigrationOptions *o, MigrationCapability cap, bool state,
                    GError **errp)
{
    MigrationCapabilityStatus st = { .capability = cap, .state = state };
    MigrationCapabilityStatusList l = { .value = &st };

    return migration_options_set_caps(o, &l, errp);
}

static bool no_cap_is_on(const MigrationOptions *o)
{
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        if (o->caps[i]) {
            return false;
        }
    }
    return true;
}

/* ---- Defaults, copy, query ---- */

static void test_defaults(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    const MigrationParameters *p = migrate_params(o);

    g_assert_true(no_cap_is_on(o));
    /* QEMU 9.1's defaults, member by member. */
    g_assert_true(p->has_announce_initial && p->announce_initial == 50);
    g_assert_true(p->has_announce_max && p->announce_max == 550);
    g_assert_true(p->has_announce_rounds && p->announce_rounds == 5);
    g_assert_true(p->has_announce_step && p->announce_step == 100);
    g_assert_true(p->has_throttle_trigger_threshold &&
                  p->throttle_trigger_threshold == 50);
    g_assert_true(p->has_cpu_throttle_initial && p->cpu_throttle_initial == 20);
    g_assert_true(p->has_cpu_throttle_increment &&
                  p->cpu_throttle_increment == 10);
    g_assert_true(p->has_cpu_throttle_tailslow && !p->cpu_throttle_tailslow);
    g_assert_cmpstr(p->tls_creds, ==, "");
    g_assert_cmpstr(p->tls_hostname, ==, "");
    g_assert_cmpstr(p->tls_authz, ==, "");
    g_assert_true(p->has_max_bandwidth && p->max_bandwidth == 128 << 20);
    g_assert_true(p->has_avail_switchover_bandwidth &&
                  p->avail_switchover_bandwidth == 0);
    g_assert_true(p->has_downtime_limit && p->downtime_limit == 300);
    g_assert_true(p->has_x_checkpoint_delay && p->x_checkpoint_delay == 20000);
    g_assert_true(p->has_multifd_channels && p->multifd_channels == 2);
    g_assert_true(p->has_xbzrle_cache_size &&
                  p->xbzrle_cache_size == 64 << 20);
    g_assert_true(p->has_max_postcopy_bandwidth &&
                  p->max_postcopy_bandwidth == 0);
    g_assert_true(p->has_max_cpu_throttle && p->max_cpu_throttle == 99);
    g_assert_true(p->has_multifd_compression &&
                  p->multifd_compression == MULTIFD_COMPRESSION_NONE);
    g_assert_true(p->has_multifd_zlib_level && p->multifd_zlib_level == 1);
    g_assert_true(p->has_multifd_zstd_level && p->multifd_zstd_level == 1);
    g_assert_null(p->block_bitmap_mapping);
    g_assert_true(p->has_x_vcpu_dirty_limit_period &&
                  p->x_vcpu_dirty_limit_period == 1000);
    g_assert_true(p->has_vcpu_dirty_limit && p->vcpu_dirty_limit == 1);
    g_assert_true(p->has_mode && p->mode == MIG_MODE_NORMAL);
    g_assert_true(p->has_zero_page_detection &&
                  p->zero_page_detection == ZERO_PAGE_DETECTION_MULTIFD);
    g_assert_true(p->has_direct_io && !p->direct_io);
    /* QEMU 9.0's compress defaults. */
    g_assert_true(p->has_compress_level && p->compress_level == 1);
    g_assert_true(p->has_compress_threads && p->compress_threads == 8);
    g_assert_true(p->has_decompress_threads && p->decompress_threads == 2);
    g_assert_true(p->has_compress_wait_thread && p->compress_wait_thread);
}

static void test_implemented_params(void)
{
    static const MigrationParameter implemented[] = {
        MIGRATION_PARAMETER_TLS_CREDS,
        MIGRATION_PARAMETER_TLS_HOSTNAME,
        MIGRATION_PARAMETER_TLS_AUTHZ,
        MIGRATION_PARAMETER_MAX_BANDWIDTH,
        MIGRATION_PARAMETER_AVAIL_SWITCHOVER_BANDWIDTH,
        MIGRATION_PARAMETER_DOWNTIME_LIMIT,
        MIGRATION_PARAMETER_XBZRLE_CACHE_SIZE,
        MIGRATION_PARAMETER_MODE,
        MIGRATION_PARAMETER_ZERO_PAGE_DETECTION,
        MIGRATION_PARAMETER_MULTIFD_CHANNELS,
        MIGRATION_PARAMETER_MULTIFD_COMPRESSION,
        MIGRATION_PARAMETER_MULTIFD_ZLIB_LEVEL,
        MIGRATION_PARAMETER_MULTIFD_ZSTD_LEVEL,
        MIGRATION_PARAMETER_MAX_POSTCOPY_BANDWIDTH,
        MIGRATION_PARAMETER_THROTTLE_TRIGGER_THRESHOLD,
        MIGRATION_PARAMETER_CPU_THROTTLE_INITIAL,
        MIGRATION_PARAMETER_CPU_THROTTLE_INCREMENT,
        MIGRATION_PARAMETER_CPU_THROTTLE_TAILSLOW,
        MIGRATION_PARAMETER_MAX_CPU_THROTTLE,
        MIGRATION_PARAMETER_X_VCPU_DIRTY_LIMIT_PERIOD,
        MIGRATION_PARAMETER_VCPU_DIRTY_LIMIT,
        MIGRATION_PARAMETER_DIRECT_IO,
        MIGRATION_PARAMETER_COMPRESS_LEVEL,
        MIGRATION_PARAMETER_COMPRESS_THREADS,
        MIGRATION_PARAMETER_DECOMPRESS_THREADS,
        MIGRATION_PARAMETER_COMPRESS_WAIT_THREAD,
        MIGRATION_PARAMETER_X_SWITCHOVER_HOLD,
        MIGRATION_PARAMETER_X_POSTCOPY_AUTO_RECOVER,
        MIGRATION_PARAMETER_X_POSTCOPY_AUTO_RECOVER_DELAY,
    };
    int n = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(implemented); i++) {
        g_assert_true(migration_param_is_implemented(implemented[i]));
    }
    for (int i = 0; i < MIGRATION_PARAMETER__MAX; i++) {
        n += migration_param_is_implemented(i);
    }
    g_assert_cmpint(n, ==, G_N_ELEMENTS(implemented));
}

static void test_copy_is_deep(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    g_autoptr(MigrationOptions) c = NULL;
    MigrateSetParameters p = { .has_downtime_limit = true, .downtime_limit = 7 };

    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_EVENTS, true, NULL));
    c = migration_options_copy(o);
    g_assert_true(migration_options_set_params(o, &p, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_EVENTS, false, NULL));
    g_assert_true(migrate_cap(c, MIGRATION_CAPABILITY_EVENTS));
    g_assert_cmpuint(migrate_params(c)->downtime_limit, ==, 300);
    g_assert_cmpuint(migrate_params(o)->downtime_limit, ==, 7);
    g_assert_true(c->params != o->params);
    g_assert_true(c->params->tls_creds != o->params->tls_creds);
}

static void test_query_caps_order(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    g_autoptr(MigrationCapabilityStatusList) caps = NULL;
    int i = 0;

    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_VALIDATE_UUID, true, NULL));
    caps = migration_options_query_caps(o);
    for (MigrationCapabilityStatusList *l = caps; l; l = l->next, i++) {
        g_assert_cmpint(l->value->capability, ==, i);
        g_assert_true(l->value->state == (i == MIGRATION_CAPABILITY_VALIDATE_UUID));
    }
    g_assert_cmpint(i, ==, MIGRATION_CAPABILITY__MAX);
    /*
     * QEMU 9.1's 22, compress (9.0), then x-verify-ram, x-mapped-ram-restore,
     * x-switchover-commit
     */
    g_assert_cmpint(i, ==, 26);
}

/* ---- Capabilities ---- */

static void test_caps_implemented(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    static const MigrationCapability ok[] = {
        MIGRATION_CAPABILITY_XBZRLE,
        MIGRATION_CAPABILITY_EVENTS,
        MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
        MIGRATION_CAPABILITY_VALIDATE_UUID,
        MIGRATION_CAPABILITY_MULTIFD,
        MIGRATION_CAPABILITY_RETURN_PATH,
        MIGRATION_CAPABILITY_POSTCOPY_RAM,
        MIGRATION_CAPABILITY_AUTO_CONVERGE,
        MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
        MIGRATION_CAPABILITY_MAPPED_RAM,
        MIGRATION_CAPABILITY_DIRTY_LIMIT,
        MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
        MIGRATION_CAPABILITY_COMPRESS,
        MIGRATION_CAPABILITY_X_IGNORE_SHARED,
    };
    int n = 0;

    /* switchover-ack needs return-path on (rules below). */
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_RETURN_PATH, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_SWITCHOVER_ACK, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_SWITCHOVER_ACK, false, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_X_VERIFY_RAM, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_X_VERIFY_RAM, false, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT, false, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_RETURN_PATH, false, NULL));
    /* postcopy-preempt needs postcopy-ram on (tested with the rules below). */
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_POSTCOPY_RAM, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, false, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_POSTCOPY_RAM, false, NULL));
    /* zero-copy-send needs multifd on (test_caps_combination_rules). */
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_MULTIFD, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_ZERO_COPY_SEND, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_ZERO_COPY_SEND, false, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_MULTIFD, false, NULL));
    /* x-mapped-ram-restore needs mapped-ram on. */
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_MAPPED_RAM, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE, true, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE, false, NULL));
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_MAPPED_RAM, false, NULL));

    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        g_assert_true(set_cap(o, ok[i], true, NULL));
        g_assert_true(migrate_cap(o, ok[i]));
        g_assert_true(set_cap(o, ok[i], false, NULL));
        g_assert_false(migrate_cap(o, ok[i]));
    }
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        n += migration_cap_is_implemented(i);
    }
    /*
     * ok[] and the six tried above: switchover-ack, x-verify-ram,
     * x-switchover-commit, postcopy-preempt, zero-copy-send,
     * x-mapped-ram-restore.
     */
    g_assert_cmpint(n, ==, G_N_ELEMENTS(ok) + 6);
}

/*
 * dirty-limit needs an accelerator that limits vCPUs (QEMU: KVM's dirty
 * ring): refused with QEMU's text where the host has none, after QEMU's
 * conflict with auto-converge; offered, it switches on.
 */
static void test_caps_host_dirty_limit(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    MigrationCapabilityStatus dl = { MIGRATION_CAPABILITY_DIRTY_LIMIT, true };
    MigrationCapabilityStatus ac = { MIGRATION_CAPABILITY_AUTO_CONVERGE, true };
    MigrationCapabilityStatusList both_tail = { .value = &ac };
    MigrationCapabilityStatusList both = { .next = &both_tail, .value = &dl };
    MigrationCapabilityStatusList one = { .value = &dl };
    const MigrationCapsHost none = { .dirty_limit = false };
    const MigrationCapsHost offered = { .dirty_limit = true };
    GError *err = NULL;

    g_assert_false(migration_options_set_caps_on(o, &one, &none, &err));
    assert_error(err, "dirty-limit requires KVM with accelerator property "
                 "'dirty-ring-size' set");
    err = NULL;
    g_assert_false(migration_options_set_caps_on(o, &both, &none, &err));
    assert_error(err, "dirty-limit conflicts with auto-converge either of "
                 "then available currently");
    g_assert_false(migrate_cap(o, MIGRATION_CAPABILITY_DIRTY_LIMIT));
    g_assert_true(migration_options_set_caps_on(o, &one, &offered, NULL));
    g_assert_true(migrate_cap(o, MIGRATION_CAPABILITY_DIRTY_LIMIT));
}

static void test_caps_unimplemented_refused(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *want = NULL;

        if (migration_cap_is_implemented(i) ||
            /* These break a combination rule on their own (tested below). */
            i == MIGRATION_CAPABILITY_SWITCHOVER_ACK ||
            i == MIGRATION_CAPABILITY_ZERO_COPY_SEND) {
            continue;
        }
        g_assert_false(set_cap(o, i, true, &err));
        want = g_strdup_printf("Migration capability '%s' is not supported "
                               "by tern", MigrationCapability_str(i));
        g_assert_cmpstr(err->message, ==, want);
        g_assert_true(no_cap_is_on(o));
        /* Switching it off is a no-op and accepted. */
        g_assert_true(set_cap(o, i, false, NULL));
    }
}

static void test_caps_all_or_nothing(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();
    MigrationCapabilityStatus a = { MIGRATION_CAPABILITY_EVENTS, true };
    MigrationCapabilityStatus b = { MIGRATION_CAPABILITY_RDMA_PIN_ALL, true };
    MigrationCapabilityStatusList lb = { .value = &b };
    MigrationCapabilityStatusList la = { .next = &lb, .value = &a };
    g_autoptr(GError) err = NULL;

    g_assert_false(migration_options_set_caps(o, &la, &err));
    g_assert_cmpstr(err->message, ==,
                    "Migration capability 'rdma-pin-all' is not supported by tern");
    g_assert_false(migrate_cap(o, MIGRATION_CAPABILITY_EVENTS));
    /* Without the bad one, the rest applies. */
    la.next = NULL;
    g_assert_true(migration_options_set_caps(o, &la, NULL));
    g_assert_true(migrate_cap(o, MIGRATION_CAPABILITY_EVENTS));
}

static void check_combination(MigrationOptions *o, const MigrationCapability *on,
                              size_t n, const char *want)
{
    g_autofree MigrationCapabilityStatus *st = g_new0(MigrationCapabilityStatus, n);
    g_autofree MigrationCapabilityStatusList *l =
        g_new0(MigrationCapabilityStatusList, n);
    g_autoptr(GError) err = NULL;
    bool before[MIGRATION_CAPABILITY__MAX];

    for (size_t i = 0; i < n; i++) {
        st[i].capability = on[i];
        st[i].state = true;
        l[i].value = &st[i];
        l[i].next = i + 1 < n ? &l[i + 1] : NULL;
    }
    memcpy(before, o->caps, sizeof(before));
    g_assert_false(migration_options_set_caps(o, l, &err));
    g_assert_cmpstr(err->message, ==, want);
    g_assert_cmpmem(before, sizeof(before), o->caps, sizeof(o->caps));
}

#define CHECK_COMBINATION(o, want, ...)                                      \
    do {                                                                     \
        static const MigrationCapability caps_[] = { __VA_ARGS__ };          \
        check_combination(o, caps_, G_N_ELEMENTS(caps_), want);             \
    } while (0)

static void test_caps_combination_rules(void)
{
    g_autoptr(MigrationOptions) o = migration_options_new();

    CHECK_COMBINATION(o, "Capability 'switchover-ack' requires capability "
                      "'return-path'", MIGRATION_CAPABILITY_SWITCHOVER_ACK);
    CHECK_COMBINATION(o, "Postcopy preempt requires postcopy-ram",
                      MIGRATION_CAPABILITY_POSTCOPY_PREEMPT);
    CHECK_COMBINATION(o, "Capability 'x-switchover-commit' requires capability "
                      "'return-path'", MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT);
    CHECK_COMBINATION(o, "x-switchover-commit is not combined with postcopy-ram: "
                      "postcopy's switchover runs the guest on the destination before "
                      "its state is complete", MIGRATION_CAPABILITY_RETURN_PATH,
                      MIGRATION_CAPABILITY_POSTCOPY_RAM, MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT);
    CHECK_COMBINATION(o, "x-switchover-commit is not combined with background-snapshot: "
                      "a snapshot's guest stays where it is", MIGRATION_CAPABILITY_RETURN_PATH,
                      MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
                      MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT);
    CHECK_COMBINATION(o, "x-switchover-commit is not combined with mapped-ram: a file "
                      "has nobody to commit", MIGRATION_CAPABILITY_RETURN_PATH,
                      MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_X_SWITCHOVER_COMMIT);
    CHECK_COMBINATION(o, "Capability 'x-mapped-ram-restore' requires capability "
                      "'mapped-ram'", MIGRATION_CAPABILITY_X_MAPPED_RAM_RESTORE);
    CHECK_COMBINATION(o, "Zero copy only available for non-compressed non-TLS "
                      "multifd migration", MIGRATION_CAPABILITY_ZERO_COPY_SEND);
    CHECK_COMBINATION(o, "Multifd is not compatible with xbzrle",
                      MIGRATION_CAPABILITY_MULTIFD, MIGRATION_CAPABILITY_XBZRLE);
    CHECK_COMBINATION(o, "Postcopy is not yet compatible with multifd",
                      MIGRATION_CAPABILITY_POSTCOPY_RAM,
                      MIGRATION_CAPABILITY_MULTIFD);
    CHECK_COMBINATION(o, "Postcopy is not compatible with ignore-shared",
                      MIGRATION_CAPABILITY_X_IGNORE_SHARED,
                      MIGRATION_CAPABILITY_POSTCOPY_RAM);
    CHECK_COMBINATION(o, "dirty-limit conflicts with auto-converge either of "
                      "then available currently",
                      MIGRATION_CAPABILITY_DIRTY_LIMIT,
                      MIGRATION_CAPABILITY_AUTO_CONVERGE);
    CHECK_COMBINATION(o, "Mapped-ram migration is incompatible with xbzrle",
                      MIGRATION_CAPABILITY_MAPPED_RAM,
                      MIGRATION_CAPABILITY_XBZRLE);
    CHECK_COMBINATION(o, "Mapped-ram migration is incompatible with postcopy",
                      MIGRATION_CAPABILITY_MAPPED_RAM,
                      MIGRATION_CAPABILITY_POSTCOPY_RAM);
    /* QEMU 9.0's compress refusals. */
    CHECK_COMBINATION(o, "Multifd is not compatible with compress",
                      MIGRATION_CAPABILITY_MULTIFD, MIGRATION_CAPABILITY_COMPRESS);
    CHECK_COMBINATION(o, "Compression is not compatible with xbzrle",
                      MIGRATION_CAPABILITY_COMPRESS, MIGRATION_CAPABILITY_XBZRLE);
    CHECK_COMBINATION(o, "Postcopy preempt not compatible with compress",
                      MIGRATION_CAPABILITY_POSTCOPY_RAM, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT,
                      MIGRATION_CAPABILITY_COMPRESS);
    CHECK_COMBINATION(o, "Mapped-ram migration is incompatible with compression",
                      MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_COMPRESS);
    CHECK_COMBINATION(o, "Background-snapshot is not compatible with compress",
                      MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT, MIGRATION_CAPABILITY_COMPRESS);
    CHECK_COMBINATION(o, "Zero copy only available for non-compressed non-TLS "
                      "multifd migration", MIGRATION_CAPABILITY_ZERO_COPY_SEND,
                      MIGRATION_CAPABILITY_COMPRESS);
    CHECK_COMBINATION(o, "mapped-ram is not combined with x-ignore-shared by tern yet",
                      MIGRATION_CAPABILITY_MAPPED_RAM,
                      MIGRATION_CAPABILITY_X_IGNORE_SHARED);
    CHECK_COMBINATION(o, "Background-snapshot is not compatible with "
                      "validate-uuid",
                      MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
                      MIGRATION_CAPABILITY_VALIDATE_UUID);
    /* The candidate includes what is already on. */
    g_assert_true(set_cap(o, MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
                          true, NULL));
    CHECK_COMBINATION(o, "Background-snapshot is not compatible with "
                      "pause-before-switchover",
                      MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT);
    /* A consistent set of unimplemented caps is refused by name. */
    CHECK_COMBINATION(o, "Migration capability 'x-colo' is not supported "
                      "by tern", MIGRATION_CAPABILITY_RETURN_PATH,
                      MIGRATION_CAPABILITY_X_COLO);
}

/* ---- Parameters ---- */

typedef struct RangeCase {
    const char *args;
    const char *desc;
} RangeCase;

static const RangeCase range_cases[] = {
    { "{\"downtime-limit\": 2000001}",
      "Parameter 'downtime_limit' expects an integer in the range of 0 to "
      "2000000 ms" },
    { "{\"throttle-trigger-threshold\": 0}",
      "Parameter 'throttle_trigger_threshold' expects an integer in the range "
      "of 1 to 100" },
    { "{\"throttle-trigger-threshold\": 101}",
      "Parameter 'throttle_trigger_threshold' expects an integer in the range "
      "of 1 to 100" },
    { "{\"cpu-throttle-initial\": 0}",
      "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 "
      "to 99" },
    { "{\"cpu-throttle-initial\": 100}",
      "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 "
      "to 99" },
    { "{\"cpu-throttle-increment\": 100}",
      "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 "
      "to 99" },
    { "{\"compress-level\": 10}",
      "Parameter 'compress_level' expects a value between 0 and 9" },
    { "{\"compress-threads\": 0}",
      "Parameter 'compress_threads' expects a value between 1 and 255" },
    { "{\"decompress-threads\": 0}",
      "Parameter 'decompress_threads' expects a value between 1 and 255" },
    { "{\"multifd-channels\": 0}",
      "Parameter 'multifd_channels' expects a value between 1 and 255" },
    { "{\"multifd-zlib-level\": 10}",
      "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
    { "{\"multifd-zstd-level\": 21}",
      "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
    { "{\"xbzrle-cache-size\": 2048}",
      "Parameter 'xbzrle_cache_size' expects a power of two no less than the "
      "target page size" },
    { "{\"xbzrle-cache-size\": 12288}",
      "Parameter 'xbzrle_cache_size' expects a power of two no less than the "
      "target page size" },
    { "{\"max-cpu-throttle\": 19}",
      "Parameter 'max_cpu_throttle' expects an integer in the range of "
      "cpu_throttle_initial to 99" },
    { "{\"max-cpu-throttle\": 100}",
      "Parameter 'max_cpu_throttle' expects an integer in the range of "
      "cpu_throttle_initial to 99" },
    /* Checked against the merged candidate: initial above the current max. */
    { "{\"cpu-throttle-initial\": 50, \"max-cpu-throttle\": 40}",
      "Parameter 'max_cpu_throttle' expects an integer in the range of "
      "cpu_throttle_initial to 99" },
    { "{\"announce-initial\": 100001}",
      "Parameter 'announce_initial' expects a value between 0 and 100000" },
    { "{\"announce-max\": 100001}",
      "Parameter 'announce_max' expects a value between 0 and 100000" },
    { "{\"announce-rounds\": 1001}",
      "Parameter 'announce_rounds' expects a value between 0 and 1000" },
    { "{\"announce-step\": 0}",
      "Parameter 'announce_step' expects a value between 0 and 10000" },
    { "{\"announce-step\": 10001}",
      "Parameter 'announce_step' expects a value between 0 and 10000" },
    { "{\"x-vcpu-dirty-limit-period\": 0}",
      "Parameter 'x-vcpu-dirty-limit-period' expects a value between 1 and "
      "1000" },
    { "{\"x-vcpu-dirty-limit-period\": 1001}",
      "Parameter 'x-vcpu-dirty-limit-period' expects a value between 1 and "
      "1000" },
    { "{\"vcpu-dirty-limit\": 0}",
      "Parameter 'vcpu_dirty_limit' must be greater than 1 MB/s" },
    { "{\"x-postcopy-auto-recover\": 1001}",
      "Parameter 'x-postcopy-auto-recover' expects a value between 0 and 1000" },
    { "{\"x-postcopy-auto-recover-delay\": 0}",
      "Parameter 'x-postcopy-auto-recover-delay' expects a value between 1 and 60000" },
    { "{\"x-postcopy-auto-recover-delay\": 60001}",
      "Parameter 'x-postcopy-auto-recover-delay' expects a value between 1 and 60000" },
};

static void test_params_range_checks(Fixture *f, gconstpointer data)
{
    g_autoptr(MigrationParameters) before = migration_options_query_params(f->opts);
    g_autoptr(JsonNode) before_json = visit_MigrationParameters_to_json(before);

    for (size_t i = 0; i < G_N_ELEMENTS(range_cases); i++) {
        g_autoptr(MigrationParameters) after = NULL;
        g_autoptr(JsonNode) after_json = NULL;

        assert_error(set_params_json(range_cases[i].args), range_cases[i].desc);
        after = migration_options_query_params(f->opts);
        after_json = visit_MigrationParameters_to_json(after);
        g_assert_true(json_node_equal(before_json, after_json));
    }
}

static void test_params_in_range_but_unimplemented(Fixture *f, gconstpointer data)
{
    static const char *const cases[][2] = {
        { "{\"announce-step\": 1}", "announce-step" },
        { "{\"x-checkpoint-delay\": 1}", "x-checkpoint-delay" },
        { "{\"block-bitmap-mapping\": [{\"node-name\": \"n\", \"alias\": \"a\","
          " \"bitmaps\": []}]}", "block-bitmap-mapping" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *want =
            g_strdup_printf("Migration parameter '%s' is not supported by tern",
                            cases[i][1]);

        assert_error(set_params_json(cases[i][0]), want);
    }
    /* "Setting" an unimplemented parameter to its current value is fine. */
    g_assert_null(set_params_json("{\"multifd-channels\": 2, "
                                  "\"xbzrle-cache-size\": 67108864, "
                                  "\"direct-io\": false, "
                                  "\"multifd-compression\": \"none\", "
                                  "\"block-bitmap-mapping\": []}"));
}

static void test_params_restricted_values(Fixture *f, gconstpointer data)
{
    g_autoptr(MigrationParameters) q = NULL;
    g_autoptr(MigrationParameters) tls = NULL;

    /* TLS ids are checked when a migration uses them, as in QEMU. */
    g_assert_null(set_params_json("{\"tls-creds\": \"tls0\", \"tls-hostname\": \"h\","
                                  " \"tls-authz\": \"a\"}"));
    tls = migration_options_query_params(f->opts);
    g_assert_cmpstr(tls->tls_creds, ==, "tls0");
    g_assert_cmpstr(tls->tls_hostname, ==, "h");
    g_assert_cmpstr(tls->tls_authz, ==, "a");
    assert_error(set_params_json("{\"multifd-compression\": \"qpl\"}"),
                 "Migration parameter 'multifd-compression' value 'qpl' is "
                 "not supported by tern");
    assert_error(set_params_json("{\"mode\": \"cpr-exec\"}"),
                 "Migration parameter 'mode' value 'cpr-exec' is not "
                 "supported by tern");
    /* null resets a TLS parameter to "" as in QEMU. */
    g_assert_null(set_params_json("{\"tls-creds\": null, \"tls-hostname\": \"\","
                                  " \"tls-authz\": null, \"mode\": \"normal\","
                                  " \"zero-page-detection\": \"none\"}"));
    g_assert_null(set_params_json("{\"zero-page-detection\": \"legacy\"}"));
    q = migration_options_query_params(f->opts);
    g_assert_cmpstr(q->tls_creds, ==, "");
    g_assert_cmpstr(q->tls_authz, ==, "");
    g_assert_cmpint(q->zero_page_detection, ==, ZERO_PAGE_DETECTION_LEGACY);
}

static void test_params_all_or_nothing(Fixture *f, gconstpointer data)
{
    assert_error(set_params_json("{\"downtime-limit\": 1000, "
                                 "\"x-checkpoint-delay\": 4}"),
                 "Migration parameter 'x-checkpoint-delay' is not supported by tern");
    assert_error(set_params_json("{\"max-bandwidth\": 1, "
                                 "\"downtime-limit\": 2000001}"),
                 "Parameter 'downtime_limit' expects an integer in the range "
                 "of 0 to 2000000 ms");
    g_assert_cmpuint(migrate_params(f->opts)->downtime_limit, ==, 300);
    g_assert_cmpuint(migrate_params(f->opts)->max_bandwidth, ==, 128 << 20);
    /* A refused change reaches no migration. */
    g_assert_cmpuint(live_bandwidth(f), ==, LIVE_UNTOUCHED);
    g_assert_cmpuint(live_downtime(f), ==, LIVE_UNTOUCHED);
}

static void test_params_round_trip(Fixture *f, gconstpointer data)
{
    JsonNode *ret = NULL;
    g_autoptr(JsonNode) owned = NULL;
    JsonObject *q;

    g_assert_null(set_params_json("{\"max-bandwidth\": 0, "
                                  "\"downtime-limit\": 2000000, "
                                  "\"avail-switchover-bandwidth\": 1073741824}"));
    g_assert_null(marshal(qmp_marshal_query_migrate_parameters, "{}", &ret));
    owned = ret;
    q = json_node_get_object(ret);
    /* Every member but the unset block-bitmap-mapping. */
    g_assert_cmpuint(json_object_get_size(q), ==, MIGRATION_PARAMETER__MAX - 1);
    g_assert_false(json_object_has_member(q, "block-bitmap-mapping"));
    g_assert_cmpint(json_object_get_int_member(q, "max-bandwidth"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(q, "downtime-limit"), ==, 2000000);
    g_assert_cmpint(json_object_get_int_member(q, "avail-switchover-bandwidth"),
                    ==, 1073741824);
    g_assert_cmpint(json_object_get_int_member(q, "announce-initial"), ==, 50);
    g_assert_cmpstr(json_object_get_string_member(q, "tls-creds"), ==, "");
    g_assert_cmpstr(json_object_get_string_member(q, "zero-page-detection"),
                    ==, "multifd");
    g_assert_cmpstr(json_object_get_string_member(q, "mode"), ==, "normal");
    g_assert_false(json_object_get_boolean_member(q, "direct-io"));
}

static void test_params_max_bandwidth_u64(Fixture *f, gconstpointer data)
{
    MigrateSetParameters p = { .has_max_bandwidth = true,
                               .max_bandwidth = UINT64_MAX };
    g_autoptr(MigrationParameters) q = NULL;

    /* QEMU's bound is SIZE_MAX: every uint64 passes on a 64-bit host. */
    g_assert_true(migration_options_set_params(f->opts, &p, NULL));
    q = migration_options_query_params(f->opts);
    g_assert_cmpuint(q->max_bandwidth, ==, UINT64_MAX);
}

/* ---- QMP ---- */

static void test_qmp_argument_errors(Fixture *f, gconstpointer data)
{
    assert_error(set_params_json("{\"bogus\": 1}"),
                 "Parameter 'bogus' is unexpected");
    assert_error(set_params_json("{\"downtime-limit\": \"x\"}"),
                 "Parameter 'downtime-limit' expects uint64");
    assert_error(set_params_json("{\"cpu-throttle-initial\": 256}"),
                 "Parameter 'cpu-throttle-initial' expects uint8_t");
    assert_error(set_params_json("{\"mode\": \"bogus\"}"),
                 "Parameter 'mode' does not accept value 'bogus'");
    assert_error(set_params_json("{\"direct-io\": 1}"),
                 "Invalid parameter type for 'direct-io', expected: boolean");
    assert_error(set_caps_json("{}"), "Parameter 'capabilities' is missing");
    assert_error(set_caps_json("{\"capabilities\": [{\"capability\": \"bogus\","
                               " \"state\": true}]}"),
                 "Parameter 'capability' does not accept value 'bogus'");
    assert_error(set_caps_json("{\"capabilities\": [{\"capability\": "
                               "\"events\"}]}"),
                 "Parameter 'capabilities[0].state' is missing");
    assert_error(marshal(qmp_marshal_query_migrate_capabilities, "{\"a\": 1}",
                         NULL),
                 "Parameter 'a' is unexpected");
}

static void test_qmp_caps(Fixture *f, gconstpointer data)
{
    JsonNode *ret = NULL;
    g_autoptr(JsonNode) owned = NULL;
    JsonArray *a;

    assert_error(set_caps_json("{\"capabilities\": [{\"capability\": \"events\","
                               " \"state\": true}, {\"capability\": \"x-colo\","
                               " \"state\": true}]}"),
                 "Migration capability 'x-colo' is not supported by tern");
    g_assert_false(migrate_cap(f->opts, MIGRATION_CAPABILITY_EVENTS));
    g_assert_null(set_caps_json("{\"capabilities\": [{\"capability\": \"events\","
                                " \"state\": true}, {\"capability\": \"xbzrle\","
                                " \"state\": false}]}"));
    g_assert_true(migrate_cap(f->opts, MIGRATION_CAPABILITY_EVENTS));

    g_assert_null(marshal(qmp_marshal_query_migrate_capabilities, "{}", &ret));
    owned = ret;
    a = json_node_get_array(ret);
    g_assert_cmpuint(json_array_get_length(a), ==, MIGRATION_CAPABILITY__MAX);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *e = json_array_get_object_element(a, i);

        g_assert_cmpstr(json_object_get_string_member(e, "capability"), ==,
                        MigrationCapability_str(i));
        g_assert_true(json_object_get_boolean_member(e, "state") ==
                      (i == MIGRATION_CAPABILITY_EVENTS));
    }
}

static void test_qmp_while_running(Fixture *f, gconstpointer data)
{
    g_atomic_int_set(&f->mig->out->state, MIGRATION_STATUS_ACTIVE);
    assert_error(set_caps_json("{\"capabilities\": [{\"capability\": \"events\","
                               " \"state\": true}]}"),
                 "There's a migration process in progress");
    g_assert_false(migrate_cap(f->opts, MIGRATION_CAPABILITY_EVENTS));
    /* Parameters may change while running; the live ones reach the core. */
    g_assert_null(set_params_json("{\"max-bandwidth\": 0}"));
    g_assert_cmpuint(live_bandwidth(f), ==, 0);
    g_assert_cmpuint(live_downtime(f), ==, LIVE_UNTOUCHED);
    g_assert_null(set_params_json("{\"downtime-limit\": 30000, "
                                  "\"max-bandwidth\": 1000000000}"));
    g_assert_cmpuint(live_bandwidth(f), ==, 1000000000);
    g_assert_cmpuint(live_downtime(f), ==, 30000);
    live_reset(f);
    g_assert_null(set_params_json("{\"avail-switchover-bandwidth\": 5}"));
    g_assert_cmpuint(live_bandwidth(f), ==, LIVE_UNTOUCHED);
    g_assert_cmpuint(live_downtime(f), ==, LIVE_UNTOUCHED);
    /* Passed on even when the value does not change, as in QEMU. */
    g_assert_null(set_params_json("{\"downtime-limit\": 30000}"));
    g_assert_cmpuint(live_downtime(f), ==, 30000);
    g_atomic_int_set(&f->mig->out->state, MIGRATION_STATUS_NONE);
}

static void test_qmp_not_initialized(Fixture *f, gconstpointer data)
{
    test_ctx.migration = NULL;
    assert_error(set_params_json("{}"), "Migration is not initialized");
    assert_error(marshal(qmp_marshal_query_migrate_parameters, "{}", NULL),
                 "Migration is not initialized");
}

/* ---- HMP ---- */

static void test_hmp_info_capabilities(Fixture *f, gconstpointer data)
{
    g_autoptr(GString) out = g_string_new(NULL);

    g_assert_true(hmp_migrate_set_capability(&test_ctx, "events", true, NULL));
    g_assert_true(hmp_info_migrate_capabilities(&test_ctx, out, NULL));
    g_assert_true(g_str_has_prefix(out->str, "xbzrle: off\nrdma-pin-all: off\n"
                                   "auto-converge: off\nzero-blocks: off\n"
                                   "compress: off\nevents: on\n"));
    g_assert_true(g_str_has_suffix(out->str, "dirty-limit: off\n"
                                   "mapped-ram: off\nx-verify-ram: off\n"
                                   "x-mapped-ram-restore: off\n"
                                   "x-switchover-commit: off\n"));
}

static void test_hmp_info_parameters(Fixture *f, gconstpointer data)
{
    g_autoptr(GString) out = g_string_new(NULL);

    g_assert_true(hmp_info_migrate_parameters(&test_ctx, out, NULL));
    g_assert_cmpstr(out->str, ==,
                    "announce-initial: 50 ms\n"
                    "announce-max: 550 ms\n"
                    "announce-rounds: 5\n"
                    "announce-step: 100 ms\n"
                    "compress-level: 1\n"
                    "compress-threads: 8\n"
                    "compress-wait-thread: on\n"
                    "decompress-threads: 2\n"
                    "throttle-trigger-threshold: 50\n"
                    "cpu-throttle-initial: 20\n"
                    "cpu-throttle-increment: 10\n"
                    "cpu-throttle-tailslow: off\n"
                    "max-cpu-throttle: 99\n"
                    "tls-creds: ''\n"
                    "tls-hostname: ''\n"
                    "max-bandwidth: 134217728 bytes/second\n"
                    "avail-switchover-bandwidth: 0 bytes/second\n"
                    "downtime-limit: 300 ms\n"
                    "x-checkpoint-delay: 20000 ms\n"
                    "multifd-channels: 2\n"
                    "multifd-compression: none\n"
                    "zero-page-detection: multifd\n"
                    "xbzrle-cache-size: 67108864 bytes\n"
                    "max-postcopy-bandwidth: 0\n"
                    "tls-authz: ''\n"
                    "x-vcpu-dirty-limit-period: 1000 ms\n"
                    "vcpu-dirty-limit: 1 MB/s\n"
                    "mode: normal\n"
                    "direct-io: off\n"
                    "x-switchover-hold: off\n"
                    "x-postcopy-auto-recover: 0\n"
                    "x-postcopy-auto-recover-delay: 100 ms\n");
}

static void hmp_set_ok(const char *param, const char *value)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(hmp_migrate_set_parameter(&test_ctx, param, value, &err));
    g_assert_no_error(err);
}

static void hmp_set_fails(const char *param, const char *value, const char *desc)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(hmp_migrate_set_parameter(&test_ctx, param, value, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, desc);
}

static void test_hmp_set_parameter(Fixture *f, gconstpointer data)
{
    const MigrationParameters *p;

    /* The bandwidths default to MiB, like QEMU's HMP. */
    hmp_set_ok("max-bandwidth", "100");
    g_assert_cmpuint(migrate_params(f->opts)->max_bandwidth, ==, 100 * MiB);
    hmp_set_ok("max-bandwidth", "1G");
    g_assert_cmpuint(migrate_params(f->opts)->max_bandwidth, ==, GiB);
    hmp_set_ok("avail-switchover-bandwidth", "512k");
    g_assert_cmpuint(migrate_params(f->opts)->avail_switchover_bandwidth, ==,
                     512 * KiB);
    /* Other sizes default to bytes. */
    hmp_set_ok("downtime-limit", "1k");
    g_assert_cmpuint(migrate_params(f->opts)->downtime_limit, ==, 1024);
    hmp_set_ok("downtime-limit", "500");
    hmp_set_ok("zero-page-detection", "legacy");
    hmp_set_ok("tls-creds", "");
    hmp_set_ok("direct-io", "off");
    hmp_set_ok("multifd-channels", "2");
    p = migrate_params(f->opts);
    g_assert_cmpuint(p->downtime_limit, ==, 500);
    g_assert_cmpint(p->zero_page_detection, ==, ZERO_PAGE_DETECTION_LEGACY);
    /* Through the QMP command, the limits reached the migration. */
    g_assert_cmpuint(live_bandwidth(f), ==, GiB);
    g_assert_cmpuint(live_downtime(f), ==, 500);

    hmp_set_fails("bogus", "1", "Invalid parameter 'bogus'");
    hmp_set_fails("max-bandwidth", "-1", "Invalid size -1");
    hmp_set_fails("max-bandwidth", "9E", "Invalid size 9E");
    hmp_set_fails("downtime-limit", "x",
                  "Parameter 'downtime-limit' expects a non-negative number "
                  "below 2^64");
    hmp_set_fails("downtime-limit", "2000001",
                  "Parameter 'downtime_limit' expects an integer in the range "
                  "of 0 to 2000000 ms");
    hmp_set_fails("cpu-throttle-initial", "abc",
                  "Parameter 'cpu-throttle-initial' expects uint64");
    hmp_set_fails("cpu-throttle-initial", "300",
                  "Parameter 'cpu-throttle-initial' expects uint8_t");
    hmp_set_fails("direct-io", "maybe", "Parameter 'direct-io' expects 'on' or 'off'");
    hmp_set_fails("mode", "bogus", "Parameter 'mode' does not accept value 'bogus'");
    hmp_set_fails("x-checkpoint-delay", "8",
                  "Migration parameter 'x-checkpoint-delay' is not supported by tern");
    hmp_set_fails("block-bitmap-mapping", "x",
                  "The block-bitmap-mapping parameter can only be set through QMP");
    g_assert_cmpuint(migrate_params(f->opts)->downtime_limit, ==, 500);
}

static void test_hmp_set_capability(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    g_assert_true(hmp_migrate_set_capability(&test_ctx,
                                             "pause-before-switchover", true,
                                             NULL));
    g_assert_true(migrate_cap(f->opts, MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER));
    g_assert_false(hmp_migrate_set_capability(&test_ctx, "bogus", true, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'bogus'");
    g_assert_false(hmp_migrate_set_capability(&test_ctx, "rdma-pin-all", true,
                                              &err2));
    g_assert_cmpstr(err2->message, ==,
                    "Migration capability 'rdma-pin-all' is not supported by tern");
    g_assert_true(hmp_migrate_set_capability(&test_ctx, "xbzrle", true, NULL));
    g_assert_true(migrate_cap(f->opts, MIGRATION_CAPABILITY_XBZRLE));
}

#define ADD_F(path, fn) \
    g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-options/defaults", test_defaults);
    g_test_add_func("/migration-options/implemented-params",
                    test_implemented_params);
    g_test_add_func("/migration-options/copy-is-deep", test_copy_is_deep);
    g_test_add_func("/migration-options/query-caps-order", test_query_caps_order);
    g_test_add_func("/migration-options/caps/implemented", test_caps_implemented);
    g_test_add_func("/migration-options/caps/host-dirty-limit",
                    test_caps_host_dirty_limit);
    g_test_add_func("/migration-options/caps/unimplemented-refused",
                    test_caps_unimplemented_refused);
    g_test_add_func("/migration-options/caps/all-or-nothing",
                    test_caps_all_or_nothing);
    g_test_add_func("/migration-options/caps/combination-rules",
                    test_caps_combination_rules);
    ADD_F("/migration-options/params/range-checks", test_params_range_checks);
    ADD_F("/migration-options/params/unimplemented-refused",
          test_params_in_range_but_unimplemented);
    ADD_F("/migration-options/params/restricted-values",
          test_params_restricted_values);
    ADD_F("/migration-options/params/all-or-nothing", test_params_all_or_nothing);
    ADD_F("/migration-options/params/round-trip", test_params_round_trip);
    ADD_F("/migration-options/params/max-bandwidth-u64",
          test_params_max_bandwidth_u64);
    ADD_F("/migration-options/qmp/argument-errors", test_qmp_argument_errors);
    ADD_F("/migration-options/qmp/caps", test_qmp_caps);
    ADD_F("/migration-options/qmp/while-running", test_qmp_while_running);
    ADD_F("/migration-options/qmp/not-initialized", test_qmp_not_initialized);
    ADD_F("/migration-options/hmp/info-capabilities", test_hmp_info_capabilities);
    ADD_F("/migration-options/hmp/info-parameters", test_hmp_info_parameters);
    ADD_F("/migration-options/hmp/set-parameter", test_hmp_set_parameter);
    ADD_F("/migration-options/hmp/set-capability", test_hmp_set_capability);
    return g_test_run();
}
