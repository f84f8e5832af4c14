/*
 * Round-trips every migration, run-state and control type of the QAPI
 * schema through JSON (JSON -> C -> JSON, and C -> JSON -> C -> JSON), and
 * checks each visitor error message against QEMU's wording.
 */
#include "qapi/qapi-visit.h"

static JsonNode *parse(const char *json)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;

    json_parser_load_from_data(parser, json, -1, &err);
    g_assert_no_error(err);
    return json_parser_steal_root(parser);
}

static void assert_json(JsonNode *node, const char *expected)
{
    g_autoptr(JsonNode) want = parse(expected);
    g_autofree char *got_str = json_to_string(node, FALSE);
    g_autofree char *want_str = json_to_string(want, FALSE);

    g_assert_cmpstr(got_str, ==, want_str);
}

/* JSON -> C -> JSON must give back the input (members in schema order). */
#define ROUND_TRIP(Type, json)                                          \
    do {                                                                \
        g_autoptr(JsonNode) in = parse(json);                           \
        g_autoptr(Type) obj = NULL;                                     \
        g_autoptr(GError) err = NULL;                                   \
        g_autoptr(JsonNode) out = NULL;                                 \
        g_assert_true(visit_##Type##_from_json(in, &obj, &err));        \
        g_assert_no_error(err);                                         \
        out = visit_##Type##_to_json(obj);                              \
        assert_json(out, json);                                         \
    } while (0)

/* Visiting @json as Type must fail with exactly @msg. */
#define EXPECT_ERROR(Type, json, msg)                                   \
    do {                                                                \
        g_autoptr(JsonNode) in = parse(json);                           \
        g_autoptr(Type) obj = NULL;                                     \
        g_autoptr(GError) err = NULL;                                   \
        g_assert_false(visit_##Type##_from_json(in, &obj, &err));       \
        g_assert_nonnull(err);                                          \
        g_assert_cmpstr(err->message, ==, msg);                         \
        g_assert_null(obj);                                             \
    } while (0)

#define ENUM_ROUND_TRIP(Type, max)                                      \
    do {                                                                \
        for (int i = 0; i < (max); i++) {                               \
            g_autoptr(JsonNode) node = visit_##Type##_to_json(i);       \
            g_autoptr(GError) err = NULL;                               \
            Type back = (max);                                          \
            g_assert_cmpstr(json_node_get_string(node), ==,             \
                            Type##_str(i));                             \
            g_assert_true(visit_##Type##_from_json(node, &back, &err)); \
            g_assert_cmpint(back, ==, i);                               \
        }                                                               \
    } while (0)

static const char migration_stats_json[] =
    "{\"transferred\":1,\"remaining\":2,\"total\":3,\"duplicate\":4,"
    "\"normal\":5,\"normal-bytes\":6,\"dirty-pages-rate\":7,\"mbps\":8.5,"
    "\"dirty-sync-count\":9,\"postcopy-requests\":10,\"page-size\":4096,"
    "\"multifd-bytes\":11,\"pages-per-second\":12,\"precopy-bytes\":13,"
    "\"downtime-bytes\":14,\"postcopy-bytes\":15,"
    "\"dirty-sync-missed-zero-copy\":16}";

static const char xbzrle_json[] =
    "{\"cache-size\":67108864,\"bytes\":1,\"pages\":2,\"cache-miss\":3,"
    "\"cache-miss-rate\":0.25,\"encoding-rate\":80.5,\"overflow\":4}";

static void test_stats(void)
{
    ROUND_TRIP(MigrationStats, migration_stats_json);
    ROUND_TRIP(XBZRLECacheStats, xbzrle_json);
    ROUND_TRIP(VfioStats, "{\"transferred\":123}");
}

static void test_migration_info(void)
{
    g_autofree char *full = g_strdup_printf(
        "{\"status\":\"active\",\"ram\":%s,\"vfio\":{\"transferred\":5},"
        "\"xbzrle-cache\":%s,\"total-time\":100,\"expected-downtime\":300,"
        "\"downtime\":20,\"setup-time\":7,\"cpu-throttle-percentage\":30,"
        "\"error-desc\":\"oops\",\"blocked-reasons\":[\"a\",\"b\"],"
        "\"postcopy-blocktime\":9,\"postcopy-vcpu-blocktime\":[1,2,3],"
        "\"socket-address\":[{\"type\":\"inet\",\"host\":\"127.0.0.1\","
        "\"port\":\"4444\"},{\"type\":\"unix\",\"path\":\"/tmp/s\"}],"
        "\"dirty-limit-throttle-time-per-round\":11,"
        "\"dirty-limit-ring-full-time\":12}",
        migration_stats_json, xbzrle_json);

    ROUND_TRIP(MigrationInfo, "{}");
    ROUND_TRIP(MigrationInfo, "{\"status\":\"setup\"}");
    ROUND_TRIP(MigrationInfo, full);
}

static void test_capabilities(void)
{
    ROUND_TRIP(MigrationCapabilityStatus,
               "{\"capability\":\"x-colo\",\"state\":true}");
    ROUND_TRIP(MigrationCapabilityStatusList,
               "[{\"capability\":\"xbzrle\",\"state\":false},"
               "{\"capability\":\"mapped-ram\",\"state\":true}]");
    ROUND_TRIP(MigrationCapabilityStatusList, "[]");
    ENUM_ROUND_TRIP(MigrationCapability, MIGRATION_CAPABILITY__MAX);
    /*
     * QEMU 9.1's 22, compress where QEMU 9.0 had it, x-verify-ram,
     * x-mapped-ram-restore, x-switchover-commit.
     */
    g_assert_cmpint(MIGRATION_CAPABILITY__MAX, ==, 26);
    g_assert_cmpint(MIGRATION_CAPABILITY_COMPRESS, ==, 4);
    g_assert_cmpint(MIGRATION_CAPABILITY_MAPPED_RAM, ==, 22);
}

static const char bitmap_mapping_json[] =
    "[{\"node-name\":\"n\",\"alias\":\"na\",\"bitmaps\":["
    "{\"name\":\"b\",\"alias\":\"ba\",\"transform\":{\"persistent\":true}},"
    "{\"name\":\"c\",\"alias\":\"ca\"}]}]";

static void test_parameters(void)
{
    g_autofree char *params = g_strdup_printf(
        "{\"announce-initial\":50,\"announce-max\":550,\"announce-rounds\":5,"
        "\"announce-step\":100,\"throttle-trigger-threshold\":50,"
        "\"cpu-throttle-initial\":20,\"cpu-throttle-increment\":10,"
        "\"cpu-throttle-tailslow\":false,\"tls-creds\":\"\","
        "\"tls-hostname\":\"host\",\"tls-authz\":\"\","
        "\"max-bandwidth\":134217728,\"avail-switchover-bandwidth\":0,"
        "\"downtime-limit\":300,\"x-checkpoint-delay\":20000,"
        "\"multifd-channels\":2,\"xbzrle-cache-size\":67108864,"
        "\"max-postcopy-bandwidth\":0,\"max-cpu-throttle\":99,"
        "\"multifd-compression\":\"zstd\",\"multifd-zlib-level\":1,"
        "\"multifd-zstd-level\":1,\"block-bitmap-mapping\":%s,"
        "\"x-vcpu-dirty-limit-period\":1000,\"vcpu-dirty-limit\":1,"
        "\"mode\":\"cpr-reboot\",\"zero-page-detection\":\"multifd\","
        "\"direct-io\":true}", bitmap_mapping_json);
    g_autofree char *set_params = g_strdup_printf(
        "{\"tls-creds\":\"tls0\",\"tls-hostname\":null,\"max-bandwidth\":1000,"
        "\"multifd-channels\":255,\"block-bitmap-mapping\":%s,"
        "\"zero-page-detection\":\"none\"}", bitmap_mapping_json);

    ROUND_TRIP(MigrationParameters, params);
    ROUND_TRIP(MigrateSetParameters, "{}");
    ROUND_TRIP(MigrateSetParameters, set_params);
    ROUND_TRIP(BitmapMigrationNodeAliasList, bitmap_mapping_json);
    ENUM_ROUND_TRIP(MigrationParameter, MIGRATION_PARAMETER__MAX);
    ENUM_ROUND_TRIP(MultiFDCompression, MULTIFD_COMPRESSION__MAX);
    ENUM_ROUND_TRIP(MigMode, MIG_MODE__MAX);
    ENUM_ROUND_TRIP(ZeroPageDetection, ZERO_PAGE_DETECTION__MAX);
}

static void test_str_or_null(void)
{
    g_autoptr(JsonNode) in = parse("{\"tls-creds\":null,\"tls-authz\":\"a\"}");
    g_autoptr(MigrateSetParameters) p = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(visit_MigrateSetParameters_from_json(in, &p, &err));
    g_assert_cmpint(p->tls_creds->type, ==, QTYPE_QNULL);
    g_assert_cmpint(p->tls_authz->type, ==, QTYPE_QSTRING);
    g_assert_cmpstr(p->tls_authz->u.s, ==, "a");
    g_assert_null(p->tls_hostname);
    g_assert_false(p->has_max_bandwidth);
    ROUND_TRIP(StrOrNull, "\"x\"");
    ROUND_TRIP(StrOrNull, "null");
}

static void test_addresses(void)
{
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"socket\",\"type\":\"inet\","
               "\"host\":\"10.0.0.1\",\"port\":\"0\",\"numeric\":true,"
               "\"to\":5000,\"ipv4\":true,\"ipv6\":false,\"keep-alive\":true,"
               "\"mptcp\":false}");
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"socket\",\"type\":\"unix\","
               "\"path\":\"/s\",\"abstract\":true,\"tight\":false}");
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"socket\",\"type\":\"vsock\","
               "\"cid\":\"3\",\"port\":\"1234\"}");
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"socket\",\"type\":\"fd\","
               "\"str\":\"fd-mig\"}");
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"exec\",\"args\":"
               "[\"/bin/sh\",\"-c\",\"cat > f\"]}");
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"rdma\",\"host\":\"h\","
               "\"port\":\"29200\"}");
    ROUND_TRIP(MigrationAddress, "{\"transport\":\"file\",\"filename\":\"/f\","
               "\"offset\":4096}");
    ROUND_TRIP(MigrationChannelList, "[{\"channel-type\":\"main\",\"addr\":"
               "{\"transport\":\"socket\",\"type\":\"inet\",\"host\":\"h\","
               "\"port\":\"1\"}}]");
    ROUND_TRIP(FileMigrationArgs, "{\"filename\":\"x\",\"offset\":0}");
    ROUND_TRIP(MigrationExecCommand, "{\"args\":[]}");
    ROUND_TRIP(String, "{\"str\":\"s\"}");
    ENUM_ROUND_TRIP(MigrationAddressType, MIGRATION_ADDRESS_TYPE__MAX);
    ENUM_ROUND_TRIP(SocketAddressType, SOCKET_ADDRESS_TYPE__MAX);
    ENUM_ROUND_TRIP(MigrationChannelType, MIGRATION_CHANNEL_TYPE__MAX);
}

static void test_run_state_and_control(void)
{
    ROUND_TRIP(StatusInfo, "{\"running\":true,\"status\":\"inmigrate\"}");
    ROUND_TRIP(VersionInfo, "{\"qemu\":{\"major\":9,\"minor\":1,\"micro\":0},"
               "\"package\":\"tern\"}");
    ROUND_TRIP(CommandInfoList, "[{\"name\":\"query-status\"}]");
    ENUM_ROUND_TRIP(RunState, RUN_STATE__MAX);
    ENUM_ROUND_TRIP(MigrationStatus, MIGRATION_STATUS__MAX);
    ENUM_ROUND_TRIP(QMPCapability, QMP_CAPABILITY__MAX);
    g_assert_cmpint(RUN_STATE__MAX, ==, 16);
    g_assert_cmpint(MIGRATION_STATUS__MAX, ==, 15);
    g_assert_cmpstr(MigrationStatus_str(MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP),
                    ==, "postcopy-recover-setup");
}

/* C -> JSON -> C -> JSON: values built in C survive a trip through JSON. */
static void test_c_first(void)
{
    g_autoptr(MigrationInfo) info = g_new0(MigrationInfo, 1);
    g_autoptr(MigrationInfo) back = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) first = NULL;
    g_autoptr(JsonNode) second = NULL;
    g_autofree char *s1 = NULL;
    g_autofree char *s2 = NULL;
    MigrationChannel *chan;
    g_autoptr(MigrationChannelList) chans = g_new0(MigrationChannelList, 1);
    g_autoptr(MigrationChannelList) chans_back = NULL;

    info->has_status = true;
    info->status = MIGRATION_STATUS_COMPLETED;
    info->ram = g_new0(MigrationStats, 1);
    info->ram->transferred = 1 << 20;
    info->ram->mbps = 1.5;
    info->ram->dirty_sync_missed_zero_copy = UINT64_MAX;   /* wraps, still round-trips */
    info->blocked_reasons = g_new0(strList, 1);
    info->blocked_reasons->value = g_strdup("because");
    info->has_postcopy_blocktime = true;
    info->postcopy_blocktime = UINT32_MAX;

    first = visit_MigrationInfo_to_json(info);
    g_assert_true(visit_MigrationInfo_from_json(first, &back, &err));
    g_assert_no_error(err);
    g_assert_cmpint(back->status, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpuint(back->ram->dirty_sync_missed_zero_copy, ==, UINT64_MAX);
    g_assert_cmpuint(back->postcopy_blocktime, ==, UINT32_MAX);
    g_assert_false(back->has_downtime);
    g_assert_null(back->xbzrle_cache);
    second = visit_MigrationInfo_to_json(back);
    s1 = json_to_string(first, FALSE);
    s2 = json_to_string(second, FALSE);
    g_assert_cmpstr(s1, ==, s2);

    chan = chans->value = g_new0(MigrationChannel, 1);
    chan->channel_type = MIGRATION_CHANNEL_TYPE_MAIN;
    chan->addr = g_new0(MigrationAddress, 1);
    chan->addr->transport = MIGRATION_ADDRESS_TYPE_SOCKET;
    chan->addr->u.socket.type = SOCKET_ADDRESS_TYPE_UNIX;
    chan->addr->u.socket.u.q_unix.path = g_strdup("/tmp/mig.sock");
    g_clear_pointer(&first, json_node_unref);
    first = visit_MigrationChannelList_to_json(chans);
    assert_json(first, "[{\"channel-type\":\"main\",\"addr\":{\"transport\":"
                "\"socket\",\"type\":\"unix\",\"path\":\"/tmp/mig.sock\"}}]");
    g_assert_true(visit_MigrationChannelList_from_json(first, &chans_back, &err));
    g_assert_cmpstr(chans_back->value->addr->u.socket.u.q_unix.path, ==,
                    "/tmp/mig.sock");
}

static void test_errors_missing_and_unexpected(void)
{
    EXPECT_ERROR(MigrationCapabilityStatus, "{\"capability\":\"events\"}",
                 "Parameter 'state' is missing");
    EXPECT_ERROR(MigrationCapabilityStatusList,
                 "[{\"capability\":\"events\",\"state\":true},"
                 "{\"capability\":\"events\"}]",
                 "Parameter '[1].state' is missing");
    EXPECT_ERROR(MigrationChannel, "{\"channel-type\":\"main\",\"addr\":"
                 "{\"transport\":\"socket\",\"type\":\"inet\",\"host\":\"h\"}}",
                 "Parameter 'addr.port' is missing");
    EXPECT_ERROR(MigrationParameters, "{\"block-bitmap-mapping\":[{\"node-name\":"
                 "\"n\",\"alias\":\"a\",\"bitmaps\":[{\"name\":\"b\"}]}]}",
                 "Parameter 'block-bitmap-mapping[0].bitmaps[0].alias' is missing");
    EXPECT_ERROR(MigrationCapabilityStatus,
                 "{\"capability\":\"events\",\"state\":true,\"extra\":1}",
                 "Parameter 'extra' is unexpected");
    EXPECT_ERROR(MigrationAddress, "{\"transport\":\"file\",\"filename\":\"f\","
                 "\"offset\":0,\"args\":[]}", "Parameter 'args' is unexpected");
    EXPECT_ERROR(MigrationChannel, "{\"channel-type\":\"main\",\"addr\":"
                 "{\"transport\":\"exec\",\"args\":[],\"x\":1}}",
                 "Parameter 'addr.x' is unexpected");
    EXPECT_ERROR(MigrationAddress, "{\"filename\":\"f\"}",
                 "Parameter 'transport' is missing");
}

static void test_errors_types(void)
{
    EXPECT_ERROR(MigrationInfo, "[]",
                 "Invalid parameter type for 'null', expected: object");
    EXPECT_ERROR(MigrationCapabilityStatus,
                 "{\"capability\":\"events\",\"state\":\"yes\"}",
                 "Invalid parameter type for 'state', expected: boolean");
    EXPECT_ERROR(MigrationCapabilityStatus, "{\"capability\":1,\"state\":true}",
                 "Invalid parameter type for 'capability', expected: string");
    EXPECT_ERROR(MigrationInfo, "{\"error-desc\":false}",
                 "Invalid parameter type for 'error-desc', expected: string");
    EXPECT_ERROR(MigrationInfo, "{\"ram\":[]}",
                 "Invalid parameter type for 'ram', expected: object");
    EXPECT_ERROR(MigrationInfo, "{\"blocked-reasons\":\"x\"}",
                 "Invalid parameter type for 'blocked-reasons', expected: array");
    EXPECT_ERROR(MigrationInfo, "{\"blocked-reasons\":[\"a\",1]}",
                 "Invalid parameter type for 'blocked-reasons[1]', expected: string");
    EXPECT_ERROR(XBZRLECacheStats, "{\"cache-size\":1,\"bytes\":1,\"pages\":1,"
                 "\"cache-miss\":1,\"cache-miss-rate\":\"x\",\"encoding-rate\":1,"
                 "\"overflow\":1}",
                 "Invalid parameter type for 'cache-miss-rate', expected: number");
    EXPECT_ERROR(MigrationInfo, "{\"total-time\":1.5}",
                 "Invalid parameter type for 'total-time', expected: integer");
    EXPECT_ERROR(MigrationInfo, "{\"ram\":{\"transferred\":\"1\"}}",
                 "Invalid parameter type for 'ram.transferred', expected: integer");
    EXPECT_ERROR(MigrateSetParameters, "{\"tls-creds\":5}",
                 "Invalid parameter type for 'tls-creds', expected: StrOrNull");
}

static void test_errors_ranges_and_enums(void)
{
    g_autoptr(JsonNode) neg = parse("{\"downtime-limit\":-1}");
    g_autoptr(MigrateSetParameters) p = NULL;
    g_autoptr(GError) err = NULL;

    EXPECT_ERROR(MigrateSetParameters, "{\"multifd-channels\":256}",
                 "Parameter 'multifd-channels' expects uint8_t");
    EXPECT_ERROR(MigrateSetParameters, "{\"cpu-throttle-initial\":-1}",
                 "Parameter 'cpu-throttle-initial' expects uint8_t");
    EXPECT_ERROR(MigrateSetParameters, "{\"x-checkpoint-delay\":4294967296}",
                 "Parameter 'x-checkpoint-delay' expects uint32_t");
    EXPECT_ERROR(MigrationAddress, "{\"transport\":\"rdma\",\"host\":\"h\","
                 "\"port\":\"1\",\"to\":65536}", "Parameter 'to' expects uint16_t");
    EXPECT_ERROR(MigrateSetParameters, "{\"downtime-limit\":\"300\"}",
                 "Parameter 'downtime-limit' expects uint64");
    EXPECT_ERROR(MigrateSetParameters, "{\"max-bandwidth\":1.5}",
                 "Parameter 'max-bandwidth' expects uint64");
    EXPECT_ERROR(MigrationInfo, "{\"postcopy-vcpu-blocktime\":[1,-1]}",
                 "Parameter 'null' expects uint32_t");
    EXPECT_ERROR(MigrationCapabilityStatus,
                 "{\"capability\":\"bogus\",\"state\":true}",
                 "Parameter 'capability' does not accept value 'bogus'");
    EXPECT_ERROR(MigrationAddress, "{\"transport\":\"carrier-pigeon\"}",
                 "Parameter 'transport' does not accept value 'carrier-pigeon'");
    EXPECT_ERROR(MigrateSetParameters, "{\"multifd-compression\":\"lz4\"}",
                 "Parameter 'multifd-compression' does not accept value 'lz4'");

    /* Like QEMU, a negative integer is accepted for uint64 and wraps. */
    g_assert_true(visit_MigrateSetParameters_from_json(neg, &p, &err));
    g_assert_true(p->has_downtime_limit);
    g_assert_cmpuint(p->downtime_limit, ==, UINT64_MAX);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/migration/stats", test_stats);
    g_test_add_func("/qapi/migration/info", test_migration_info);
    g_test_add_func("/qapi/migration/capabilities", test_capabilities);
    g_test_add_func("/qapi/migration/parameters", test_parameters);
    g_test_add_func("/qapi/migration/str-or-null", test_str_or_null);
    g_test_add_func("/qapi/migration/addresses", test_addresses);
    g_test_add_func("/qapi/migration/run-state-control", test_run_state_and_control);
    g_test_add_func("/qapi/migration/c-first", test_c_first);
    g_test_add_func("/qapi/errors/missing-unexpected",
                    test_errors_missing_and_unexpected);
    g_test_add_func("/qapi/errors/types", test_errors_types);
    g_test_add_func("/qapi/errors/ranges-enums", test_errors_ranges_and_enums);
    return g_test_run();
}
