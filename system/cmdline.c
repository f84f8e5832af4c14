/*
 * Command-line parsing: each option is looked up in one table and handled
 * by a small function that validates its argument completely (sizes with
 * qemu_strtosz, option strings with qemu_opts_parse and a list of allowed
 * keys) and records the result in TernOptions.  Nothing is created here.
 */
#include "cmdline.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "hw/display-vga.h"
#include "qemu/cutils.h"
#include "qemu/error.h"
#include "qemu/option.h"
#include "crypto/object-set.h"
#include "qapi/qapi-visit.h"
#include "sysemu/runstate.h"

#define MAX_VCPUS 64

static void cmdline_monitor_free(CmdlineMonitor *mon)
{
    g_free(mon->spec);
    g_free(mon->chardev);
    g_free(mon);
}

static void cmdline_chardev_free(CmdlineChardev *c)
{
    g_free(c->spec);
    g_hash_table_unref(c->opts);
    g_free(c);
}

static CmdlineObject *cmdline_object_new(const char *spec, ObjectOptions *opts)
{
    CmdlineObject *obj = g_new0(CmdlineObject, 1);

    obj->spec = g_strdup(spec);
    obj->opts = opts;
    return obj;
}

static void cmdline_object_free(CmdlineObject *obj)
{
    g_free(obj->spec);
    qapi_free_ObjectOptions(obj->opts);
    g_free(obj);
}

static void cmdline_add_fd_clear(gpointer p)
{
    g_free(((CmdlineAddFd *)p)->opaque);
}

TernOptions *tern_options_new(void)
{
    TernOptions *opts = g_new0(TernOptions, 1);

    opts->machine = machine_config_new();
    opts->chardevs = g_ptr_array_new_with_free_func(
        (GDestroyNotify)cmdline_chardev_free);
    opts->monitors = g_ptr_array_new_with_free_func(
        (GDestroyNotify)cmdline_monitor_free);
    opts->objects = g_ptr_array_new_with_free_func(
        (GDestroyNotify)cmdline_object_free);
    opts->add_fds = g_array_new(FALSE, TRUE, sizeof(CmdlineAddFd));
    g_array_set_clear_func(opts->add_fds, cmdline_add_fd_clear);
    return opts;
}

void tern_options_free(TernOptions *opts)
{
    if (!opts) {
        return;
    }
    machine_config_free(opts->machine);
    g_free(opts->snapshot_dir);
    g_free(opts->serial);
    g_ptr_array_free(opts->chardevs, TRUE);
    g_ptr_array_free(opts->monitors, TRUE);
    g_ptr_array_free(opts->objects, TRUE);
    g_array_free(opts->add_fds, TRUE);
    g_free(opts->qtest);
    g_free(opts->incoming);
    qapi_free_MigrationAddress(opts->incoming_main);
    qapi_free_MigrationAddress(opts->incoming_cpr);
    g_free(opts->name);
    g_free(opts);
}

typedef bool (*OptionHandler)(TernOptions *o, const char *arg, GError **errp);

static bool opt_m(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "size", NULL };
    g_autoptr(GHashTable) kv = NULL;
    const char *size = arg;
    uint64_t bytes;

    /* "-m 512" and "-m size=512" both work; a bare number means MiB. */
    if (strchr(arg, '=')) {
        kv = qemu_opts_parse(arg, "size", errp);
        if (!kv || !qemu_opts_check_keys(kv, keys, errp)) {
            return false;
        }
        size = qemu_opt_get(kv, "size");
        if (!size) {
            error_setg(errp, "missing 'size' option value");
            return false;
        }
    }
    if (!qemu_strtosz(size, 1 << 20, &bytes, errp)) {
        return false;
    }
    if (bytes < (1 << 20)) {
        error_setg(errp, "ram size 0x%" G_GINT64_MODIFIER "x is too small "
                   "(tern needs at least 1 MiB)", bytes);
        return false;
    }
    if (bytes > MACHINE_MAX_RAM) {
        error_setg(errp, "ram size too large: a 32-bit tern guest addresses "
                   "at most 4 GiB");
        return false;
    }
    /* QEMU rounds up to its RAM alignment; tern to a page. */
    o->machine->ram_size = (bytes + TARGET_PAGE_SIZE - 1) & TARGET_PAGE_MASK;
    return true;
}

static bool opt_smp(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "cpus", "maxcpus", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, "cpus", errp);
    uint64_t cpus, maxcpus;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp) ||
        !qemu_opt_get_u64(kv, "cpus", 1, &cpus, errp) ||
        !qemu_opt_get_u64(kv, "maxcpus", cpus, &maxcpus, errp)) {
        return false;
    }
    if (cpus < 1 || cpus > MAX_VCPUS) {
        error_setg(errp, "Invalid SMP CPUs %" G_GUINT64_FORMAT ". The max CPUs "
                   "supported by machine '%s' is %d", cpus, MACHINE_TYPE_NAME,
                   MAX_VCPUS);
        return false;
    }
    if (maxcpus != cpus) {
        error_setg(errp, "tern has no CPU hotplug: maxcpus must equal cpus");
        return false;
    }
    o->machine->smp = cpus;
    return true;
}

static bool accel_name_valid(const char *name, GError **errp)
{
    if (strcmp(name, "kvm") && strcmp(name, "interp") && strcmp(name, "qtest")) {
        error_setg(errp, "invalid accelerator %s", name);
        return false;
    }
    return true;
}

static void accel_list_append(TernOptions *o, const char *name)
{
    guint n = o->machine->accels ? g_strv_length(o->machine->accels) : 0;

    o->machine->accels = g_renew(char *, o->machine->accels, n + 2);
    o->machine->accels[n] = g_strdup(name);
    o->machine->accels[n + 1] = NULL;
}

static bool opt_accel(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "accel", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, "accel", errp);
    const char *name;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp)) {
        return false;
    }
    name = qemu_opt_get(kv, "accel");
    if (!name) {
        error_setg(errp, "Parameter 'accel' is missing");
        return false;
    }
    if (!accel_name_valid(name, errp)) {
        return false;
    }
    accel_list_append(o, name);
    return true;
}

static bool opt_machine(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = {
        "type", "memory-backend", "accel", "snapshot-dir", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, "type", errp);
    const char *type, *backend, *accels;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp)) {
        return false;
    }
    type = qemu_opt_get(kv, "type");
    if (type && strcmp(type, "help") == 0) {
        o->action = CMDLINE_MACHINE_HELP;
        return true;
    }
    if (type && strcmp(type, MACHINE_TYPE_NAME) != 0) {
        error_setg(errp, "unsupported machine type: \"%s\"; use -machine help "
                   "to list supported machines", type);
        return false;
    }
    if (qemu_opt_get(kv, "snapshot-dir")) {
        g_free(o->snapshot_dir);
        o->snapshot_dir = g_strdup(qemu_opt_get(kv, "snapshot-dir"));
    }
    backend = qemu_opt_get(kv, "memory-backend");
    if (backend) {
        g_free(o->machine->memory_backend);
        o->machine->memory_backend = g_strdup(backend);
    }
    accels = qemu_opt_get(kv, "accel");
    if (accels) {
        g_auto(GStrv) names = g_strsplit(accels, ":", -1);

        for (int i = 0; names[i]; i++) {
            if (!accel_name_valid(names[i], errp)) {
                return false;
            }
            accel_list_append(o, names[i]);
        }
    }
    return true;
}

/* -object's JSON form, which alone can spell authz-list rules. */
static bool opt_object_json(TernOptions *o, const char *arg, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    ObjectOptions *opts = NULL;

    if (!json_parser_load_from_data(parser, arg, -1, errp) ||
        !visit_ObjectOptions_from_json(json_parser_get_root(parser), &opts, errp)) {
        return false;
    }
    g_ptr_array_add(o->objects, cmdline_object_new(arg, opts));
    return true;
}

static bool opt_object(TernOptions *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = NULL;
    MemoryBackendConfig *cfg;
    const char *type;

    if (arg[0] == '{') {
        return opt_object_json(o, arg, errp);
    }
    kv = qemu_opts_parse(arg, "qom-type", errp);
    if (!kv) {
        return false;
    }
    type = qemu_opt_get(kv, "qom-type");
    if (type && qapi_enum_parse(&ObjectType_lookup, type, -1, NULL) >= 0) {
        ObjectOptions *opts = object_options_from_keyval(kv, errp);

        if (!opts) {
            return false;
        }
        g_ptr_array_add(o->objects, cmdline_object_new(arg, opts));
        return true;
    }
    cfg = memory_backend_config_parse(kv, errp);
    if (!cfg) {
        return false;
    }
    for (guint i = 0; i < o->machine->backends->len; i++) {
        MemoryBackendConfig *other = g_ptr_array_index(o->machine->backends, i);

        if (strcmp(other->id, cfg->id) == 0) {
            error_setg(errp, "attempt to add duplicate property '%s' to object "
                       "(type 'container')", cfg->id);
            memory_backend_config_free(cfg);
            return false;
        }
    }
    g_ptr_array_add(o->machine->backends, cfg);
    return true;
}

static bool opt_kernel(TernOptions *o, const char *arg, GError **errp)
{
    g_free(o->machine->kernel);
    o->machine->kernel = g_strdup(arg);
    return true;
}

static bool opt_append(TernOptions *o, const char *arg, GError **errp)
{
    g_free(o->machine->append);
    o->machine->append = g_strdup(arg);
    return true;
}

static bool opt_name(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "guest", "debug-threads", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, "guest", errp);
    bool unused;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp) ||
        !qemu_opt_get_bool(kv, "debug-threads", false, &unused, errp)) {
        return false;
    }
    g_free(o->name);
    o->name = g_strdup(qemu_opt_get(kv, "guest"));
    return true;
}

static bool opt_uuid(TernOptions *o, const char *arg, GError **errp)
{
    if (!qemu_uuid_parse(arg, o->uuid, errp)) {
        return false;
    }
    o->has_uuid = true;
    return true;
}

static bool opt_S(TernOptions *o, const char *arg, GError **errp)
{
    o->start_stopped = true;
    return true;
}

static bool opt_no_shutdown(TernOptions *o, const char *arg, GError **errp)
{
    o->no_shutdown = true;
    return true;
}

static bool opt_nodefaults(TernOptions *o, const char *arg, GError **errp)
{
    o->nodefaults = true;
    return true;
}

static bool opt_display(TernOptions *o, const char *arg, GError **errp)
{
    if (strcmp(arg, "none") != 0) {
        error_setg(errp, "tern opens no display window; only '-display none' "
                   "is accepted (screendump shows the VGA)");
        return false;
    }
    return true;
}

/* -device VGA[,vgamem_mb=N]: the one device tern adds on request. */
static bool opt_device(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "driver", "vgamem_mb", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, "driver", errp);
    const char *driver;
    uint64_t mb;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp)) {
        return false;
    }
    driver = qemu_opt_get(kv, "driver");
    if (!driver || strcmp(driver, "VGA") != 0) {
        error_setg(errp, "'%s' is not a valid device model name (tern has "
                   "VGA)", driver ? driver : "");
        return false;
    }
    if (o->machine->vga_vram_mb) {
        error_setg(errp, "tern has one display: VGA given twice");
        return false;
    }
    if (!qemu_opt_get_u64(kv, "vgamem_mb", VGA_VRAM_MB_DEFAULT, &mb, errp)) {
        return false;
    }
    if (mb > VGA_VRAM_MB_MAX) {
        error_setg(errp, "vgamem_mb=%" G_GUINT64_FORMAT ": tern maps video "
                   "memory at 0x%" G_GINT64_MODIFIER "x and allows at most "
                   "%d MiB", mb, VGA_LFB_ADDR, VGA_VRAM_MB_MAX);
        return false;
    }
    /* QEMU's rule: at least 1 MiB, rounded up to a power of two. */
    o->machine->vga_vram_mb = 1;
    while (o->machine->vga_vram_mb < mb) {
        o->machine->vga_vram_mb <<= 1;
    }
    return true;
}

static bool opt_serial(TernOptions *o, const char *arg, GError **errp)
{
    if (o->serial) {
        error_setg(errp, "tern-pc has one serial port; -serial given twice");
        return false;
    }
    if (strcmp(arg, "none") != 0) {
        o->serial = g_strdup(arg);
    }
    return true;
}

static bool opt_chardev(TernOptions *o, const char *arg, GError **errp)
{
    GHashTable *kv = qemu_opts_parse(arg, "backend", errp);
    CmdlineChardev *c;

    if (!kv) {
        return false;
    }
    if (!qemu_opt_get(kv, "id")) {
        error_setg(errp, "Parameter 'id' is missing");
        g_hash_table_unref(kv);
        return false;
    }
    c = g_new0(CmdlineChardev, 1);
    c->spec = g_strdup(arg);
    c->opts = kv;
    g_ptr_array_add(o->chardevs, c);
    return true;
}

static void monitor_add(TernOptions *o, bool qmp, const char *spec,
                        const char *chardev)
{
    CmdlineMonitor *mon = g_new0(CmdlineMonitor, 1);

    mon->qmp = qmp;
    mon->spec = g_strdup(spec);
    mon->chardev = g_strdup(chardev);
    g_ptr_array_add(o->monitors, mon);
}

static bool opt_qmp(TernOptions *o, const char *arg, GError **errp)
{
    monitor_add(o, true, arg, NULL);
    return true;
}

static bool opt_monitor(TernOptions *o, const char *arg, GError **errp)
{
    if (strcmp(arg, "none") != 0) {
        monitor_add(o, false, arg, NULL);
    }
    return true;
}

static bool opt_mon(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, "chardev", errp);
    const char *chardev, *mode;
    bool pretty;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp) ||
        !qemu_opt_get_bool(kv, "pretty", false, &pretty, errp)) {
        return false;
    }
    chardev = qemu_opt_get(kv, "chardev");
    mode = qemu_opt_get(kv, "mode");
    if (!chardev) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    if (pretty) {
        error_setg(errp, "tern's QMP does not pretty-print; drop pretty=on");
        return false;
    }
    if (mode && strcmp(mode, "control") && strcmp(mode, "readline")) {
        error_setg(errp, "Parameter 'mode' does not accept value '%s'", mode);
        return false;
    }
    monitor_add(o, mode && !strcmp(mode, "control"), NULL, chardev);
    return true;
}

static bool opt_qtest(TernOptions *o, const char *arg, GError **errp)
{
    g_free(o->qtest);
    o->qtest = g_strdup(arg);
    return true;
}

/* QEMU's rule: "defer", or a URI (letters, then ':'); anything else is a channel. */
static bool incoming_is_uri(const char *arg)
{
    const char *p = arg;

    while (g_ascii_isalpha(*p)) {
        p++;
    }
    return g_str_equal(arg, "defer") || (p > arg && *p == ':');
}

/* Dotted keys ("cpr,addr.type=unix,...") as the JSON object they spell. */
static JsonNode *incoming_keyval_to_json(GHashTable *kv)
{
    g_autoptr(JsonObject) root = json_object_new();
    GHashTableIter it;
    gpointer key, value;
    JsonNode *node;

    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        g_auto(GStrv) parts = g_strsplit(key, ".", -1);
        JsonObject *obj = root;

        for (int i = 0; obj && parts[i + 1]; i++) {
            JsonNode *member;

            if (!json_object_has_member(obj, parts[i])) {
                json_object_set_object_member(obj, parts[i], json_object_new());
            }
            member = json_object_get_member(obj, parts[i]);
            /* "a=1,a.b=2": the key stays a string, which the visitor refuses. */
            obj = JSON_NODE_HOLDS_OBJECT(member) ? json_node_get_object(member) : NULL;
        }
        if (obj) {
            json_object_set_string_member(obj, parts[g_strv_length(parts) - 1], value);
        }
    }
    node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, root);
    return node;
}

/* A MigrationChannel, in JSON or dotted keys (QEMU 10's -incoming). */
static MigrationChannel *incoming_parse_channel(const char *arg, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GHashTable) kv = NULL;
    g_autoptr(JsonNode) node = NULL;
    MigrationChannel *ch = NULL;

    if (arg[0] == '{') {
        if (!json_parser_load_from_data(parser, arg, -1, errp)) {
            return NULL;
        }
        node = json_node_copy(json_parser_get_root(parser));
    } else {
        kv = qemu_opts_parse(arg, "channel-type", errp);
        if (!kv) {
            return NULL;
        }
        node = incoming_keyval_to_json(kv);
    }
    visit_MigrationChannel_from_json(node, &ch, errp);
    return ch;
}

/* Repeatable: one main channel (URI, defer or channel) and one cpr channel. */
static bool opt_incoming(TernOptions *o, const char *arg, GError **errp)
{
    g_autoptr(MigrationChannel) ch = NULL;
    MigrationAddress **slot;

    if (incoming_is_uri(arg)) {
        if (o->incoming || o->incoming_main) {
            error_setg(errp, "only one main incoming channel may be given");
            return false;
        }
        o->incoming = g_strdup(arg);
        return true;
    }
    ch = incoming_parse_channel(arg, errp);
    if (!ch) {
        return false;
    }
    if (ch->channel_type == MIGRATION_CHANNEL_TYPE_CPR) {
        slot = &o->incoming_cpr;
    } else {
        slot = &o->incoming_main;
        if (o->incoming) {
            error_setg(errp, "only one main incoming channel may be given");
            return false;
        }
    }
    if (*slot) {
        error_setg(errp, "only one %s incoming channel may be given",
                   MigrationChannelType_str(ch->channel_type));
        return false;
    }
    *slot = g_steal_pointer(&ch->addr);
    return true;
}

/*
 * -add-fd fd=N,set=M[,opaque=TEXT], QEMU's checks and texts: the fd must
 * be inherited (no close-on-exec) and not stdin/out/err.  main() moves it
 * into the set.
 */
static bool opt_add_fd(TernOptions *o, const char *arg, GError **errp)
{
    static const char *const keys[] = { "fd", "set", "opaque", NULL };
    g_autoptr(GHashTable) kv = qemu_opts_parse(arg, NULL, errp);
    CmdlineAddFd a = { 0 };
    uint64_t fd, set;
    int flags;

    if (!kv || !qemu_opts_check_keys(kv, keys, errp) ||
        !qemu_opt_get_u64(kv, "fd", UINT64_MAX, &fd, errp) ||
        !qemu_opt_get_u64(kv, "set", UINT64_MAX, &set, errp)) {
        return false;
    }
    if (fd > INT_MAX) {
        error_setg(errp, "fd option is required and must be non-negative");
        return false;
    }
    if (fd <= STDERR_FILENO) {
        error_setg(errp, "fd cannot be a standard I/O stream");
        return false;
    }
    flags = fcntl((int)fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC)) {
        error_setg(errp, "fd is not valid or already in use");
        return false;
    }
    if (set > INT64_MAX) {
        error_setg(errp, "set option is required and must be non-negative");
        return false;
    }
    a.fd = (int)fd;
    a.set = (int64_t)set;
    a.opaque = g_strdup(qemu_opt_get(kv, "opaque"));
    g_array_append_val(o->add_fds, a);
    return true;
}

static bool opt_version(TernOptions *o, const char *arg, GError **errp)
{
    o->action = CMDLINE_VERSION;
    return true;
}

static bool opt_help(TernOptions *o, const char *arg, GError **errp)
{
    o->action = CMDLINE_HELP;
    return true;
}

typedef struct CmdlineOption {
    const char *name;
    bool has_arg;
    OptionHandler handler;
    const char *help;
} CmdlineOption;

/* Every option tern accepts; read-only. */
static const CmdlineOption options[] = {
    { "m", true, opt_m, "-m [size=]SIZE    guest RAM (bare number: MiB; default 128M)" },
    { "smp", true, opt_smp, "-smp [cpus=]N     number of vCPUs (vCPU 0 runs the guest)" },
    { "accel", true, opt_accel, "-accel kvm|interp|qtest  accelerator; repeat for a fallback list" },
    { "machine", true, opt_machine, "-machine [type=]tern-pc[,memory-backend=ID][,accel=A:B][,snapshot-dir=PATH]" },
    { "M", true, opt_machine, NULL },
    { "object", true, opt_object, "-object memory-backend-{ram,memfd,file},id=ID,size=SIZE"
                                  "[,share=on|off][,mem-path=PATH][,prealloc=on]\n"
      "-object tls-creds-{psk,x509,anon},id=ID,dir=DIR,endpoint={client,server}[,...]\n"
      "-object authz-simple,id=ID,identity=DN   or   -object '{JSON ObjectOptions}'" },
    { "kernel", true, opt_kernel, "-kernel FILE      flat binary loaded and entered at 0x10000" },
    { "append", true, opt_append, "-append STR       guest parameters: start=,end=,seed=,flags=" },
    { "name", true, opt_name, "-name [guest=]NAME" },
    { "uuid", true, opt_uuid, "-uuid UUID" },
    { "S", false, opt_S, "-S                do not start the vCPUs (use 'cont')" },
    { "no-shutdown", false, opt_no_shutdown, "-no-shutdown      stop instead of exiting on guest shutdown" },
    { "nodefaults", false, opt_nodefaults, "-nodefaults       no default devices (tern has none to drop)" },
    { "display", true, opt_display, "-display none" },
    { "device", true, opt_device, "-device VGA[,vgamem_mb=N]  the display (VBE framebuffer at 0xe0000000)" },
    { "serial", true, opt_serial, "-serial file:PATH|stdio|null|none|unix:PATH,server=on,wait=off" },
    { "chardev", true, opt_chardev, "-chardev BACKEND,id=ID[,...]" },
    { "mon", true, opt_mon, "-mon chardev=ID[,mode=control|readline]" },
    { "qmp", true, opt_qmp, "-qmp SPEC         QMP monitor on a chardev spec" },
    { "monitor", true, opt_monitor, "-monitor SPEC     HMP monitor on a chardev spec" },
    { "qtest", true, opt_qtest, "-qtest SPEC       qtest protocol on a chardev spec" },
    { "incoming", true, opt_incoming, "-incoming URI|defer|CHANNEL  wait for an incoming migration; repeatable: a main "
      "channel and a cpr channel (JSON or dotted keys, e.g. "
      "cpr,addr.transport=socket,addr.type=unix,addr.path=P)" },
    { "add-fd", true, opt_add_fd, "-add-fd fd=N,set=M[,opaque=TEXT]  put inherited fd N into fd set M "
      "(opened as /dev/fdset/M)" },
    { "version", false, opt_version, "-version" },
    { "help", false, opt_help, "-help" },
    { "h", false, opt_help, NULL },
};

char *cmdline_help_text(void)
{
    GString *out = g_string_new("usage: tern [options]\n\n");

    for (size_t k = 0; k < G_N_ELEMENTS(options); k++) {
        if (options[k].help) {
            g_string_append_printf(out, "%s\n", options[k].help);
        }
    }
    g_string_append(out, "\nOptions also take the --name form.  See docs/ "
                    "for the machine, memory and qtest references.\n");
    return g_string_free(out, FALSE);
}

bool cmdline_parse(int argc, char **argv, TernOptions *o, GError **errp)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name;
        const CmdlineOption *opt = NULL;
        const char *value = NULL;

        if (arg[0] != '-' || arg[1] == '\0') {
            error_setg(errp, "%s: invalid option (tern takes no disk image; "
                       "use -kernel)", arg);
            return false;
        }
        name = arg + (arg[1] == '-' ? 2 : 1);
        for (size_t k = 0; k < G_N_ELEMENTS(options); k++) {
            if (strcmp(options[k].name, name) == 0) {
                opt = &options[k];
                break;
            }
        }
        if (!opt) {
            error_setg(errp, "%s: invalid option", arg);
            return false;
        }
        if (opt->has_arg) {
            if (i + 1 >= argc) {
                error_setg(errp, "%s: requires an argument", arg);
                return false;
            }
            value = argv[++i];
        }
        if (!opt->handler(o, value, errp)) {
            if (value) {
                error_prepend(errp, "%s %s: ", arg, value);
            } else {
                error_prepend(errp, "%s: ", arg);
            }
            return false;
        }
    }
    if (o->machine->smp < 1) {
        o->machine->smp = 1;
    }
    return true;
}
