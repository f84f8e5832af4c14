/*
 * main(): parse the command line, then build the process in a fixed order
 * (chardevs, monitors, machine, qtest, run state), run the main loop, and
 * tear down in reverse.  Every start-up error is one "tern: ..." line and
 * exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assembly.h"
#include "chardev/char-backend.h"
#include "cmdline.h"
#include "hw/machine.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "qemu/error.h"
#include "qemu/fdset.h"
#include "qemu/main-loop.h"
#include "migration/cpr.h"
#include "migration/migration.h"
#include "migration/misc.h"
#include "migration/snapshots.h"
#include "qtest.h"
#include "sysemu/context.h"
#include "sysemu/runstate.h"

#define TERN_QEMU_COMPAT "9.1"

static gboolean on_signal(gpointer opaque)
{
    TernContext *ctx = opaque;

    qemu_system_shutdown_request(ctx->vm, SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

static bool create_chardevs(const TernOptions *o, GError **errp)
{
    for (guint i = 0; i < o->chardevs->len; i++) {
        CmdlineChardev *c = g_ptr_array_index(o->chardevs, i);
        const char *id = g_hash_table_lookup(c->opts, "id");
        const char *backend = g_hash_table_lookup(c->opts, "backend");

        if (!qemu_chr_new(id, backend, c->opts, errp)) {
            error_prepend(errp, "-chardev %s: ", c->spec);
            return false;
        }
    }
    return true;
}

static Chardev *chardev_from_spec(const char *opt, const char *spec,
                                  const char *id, GError **errp)
{
    Chardev *chr = qemu_chr_new_from_compat(id, spec, errp);

    if (!chr) {
        error_prepend(errp, "-%s %s: ", opt, spec);
    }
    return chr;
}

static bool create_monitors(const TernOptions *o, Monitors *mons,
                            GError **errp)
{
    for (guint i = 0; i < o->monitors->len; i++) {
        CmdlineMonitor *mon = g_ptr_array_index(o->monitors, i);
        g_autofree char *id = g_strdup_printf("compat_monitor%u", i);
        Chardev *chr;

        if (mon->chardev) {
            chr = qemu_chr_find(mon->chardev);
            if (!chr) {
                error_setg(errp, "-mon chardev=%s: chardev '%s' not found",
                           mon->chardev, mon->chardev);
                return false;
            }
        } else {
            chr = chardev_from_spec(mon->qmp ? "qmp" : "monitor", mon->spec,
                                    id, errp);
            if (!chr) {
                return false;
            }
        }
        if (!(mon->qmp ? monitor_init_qmp(mons, chr, errp)
                       : monitor_init_hmp(mons, chr, errp))) {
            return false;
        }
    }
    return true;
}

static uint32_t qtest_pio_read(void *opaque, uint16_t port, unsigned size)
{
    Machine *m = opaque;

    return ioport_read(m->ioports, port, size);
}

static void qtest_pio_write(void *opaque, uint16_t port, unsigned size,
                            uint32_t value)
{
    Machine *m = opaque;

    ioport_write(m->ioports, port, size, value);
}

static bool start_qtest(const TernOptions *o, Machine *m, QTestServer **out,
                        GError **errp)
{
    QTestOps ops = {
        .memory = m->memory,
        .pio_read = qtest_pio_read,
        .pio_write = qtest_pio_write,
        .opaque = m,
        .has_clock = m->accel_ops == &accel_qtest_ops,
    };
    Chardev *chr;

    if (!o->qtest) {
        return true;
    }
    chr = chardev_from_spec("qtest", o->qtest, "qtest", errp);
    if (!chr) {
        return false;
    }
    *out = qtest_server_new(&ops);
    qtest_server_attach(*out, chr);
    return true;
}

/*
 * Decide the initial run state (QEMU's autostart rules).  cpr-transfer: the
 * incoming migration takes the cpr channel @cpr_sock (-1: none), which it
 * closes once the main listener is up.
 */
static bool start_vm(const TernOptions *o, TernContext *ctx, int cpr_sock,
                     GError **errp)
{
    if (o->incoming || o->incoming_main) {
        runstate_set(ctx->vm, RUN_STATE_INMIGRATE);
        runstate_set_autostart(ctx->vm, !o->start_stopped);
        if (cpr_sock >= 0) {
            migration_incoming_set_cpr(ctx->migration->in, cpr_sock);
        }
        return migration_incoming_setup(ctx->migration, o->incoming,
                                        o->incoming_main, errp);
    }
    if (!o->start_stopped) {
        vm_start(ctx->vm);
    }
    return true;
}

static int cpr_take_ram_fd(void *opaque, const char *id)
{
    return cpr_state_take_fd(opaque, id, 0);
}

/*
 * cpr-transfer's new process: before anything else (no monitor, default
 * signal handling so that a kill ends the wait), take the old process's
 * CPR state from the cpr channel.  Returns the channel's socket, or -1.
 */
static int cpr_receive(TernOptions *o, CprState **state, GError **errp)
{
    int sock;

    if (!o->incoming && !o->incoming_main) {
        error_setg(errp, "-incoming: a cpr channel needs a main channel (or defer) too");
        return -1;
    }
    sock = cpr_transfer_receive(o->incoming_cpr, state, errp);
    if (sock < 0) {
        error_prepend(errp, "-incoming cpr: ");
    }
    return sock;
}

/* -add-fd: each fd goes into its set as a close-on-exec duplicate, as QEMU's. */
static bool add_fds(TernOptions *o, GError **errp)
{
    for (guint i = 0; i < o->add_fds->len; i++) {
        CmdlineAddFd *a = &g_array_index(o->add_fds, CmdlineAddFd, i);
        int dup_fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);

        if (dup_fd < 0) {
            error_setg(errp, "error duplicating fd: %s", g_strerror(errno));
            return false;
        }
        close(a->fd);
        if (fdset_add_fd(dup_fd, true, a->set, a->opaque, errp) < 0) {
            return false;
        }
    }
    return true;
}

static int tern_run(TernOptions *o)
{
    g_autoptr(QmpCommandList) cmds = qmp_command_list_new();
    TernContext ctx = { 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(CprState) cpr = NULL;
    MemoryFdSource cpr_fds = { cpr_take_ram_fd, NULL };
    QTestServer *qtest = NULL;
    int status = EXIT_FAILURE;
    int cpr_sock = -1;

    if (!add_fds(o, &err)) {
        error_report_err(g_steal_pointer(&err));
        return EXIT_FAILURE;
    }
    if (o->incoming_cpr) {
        cpr_sock = cpr_receive(o, &cpr, &err);
        if (cpr_sock < 0) {
            error_report_err(g_steal_pointer(&err));
            return EXIT_FAILURE;
        }
        cpr_fds.opaque = cpr;
        o->machine->ram_fds = &cpr_fds;
    }
    o->machine->incoming = o->incoming || o->incoming_main;
    assembly_init_vm(&ctx);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit fails the write (EFBIG) that meets it, not the process. */
    signal(SIGXFSZ, SIG_IGN);
    g_unix_signal_add(SIGINT, on_signal, &ctx);
    g_unix_signal_add(SIGTERM, on_signal, &ctx);
    g_unix_signal_add(SIGHUP, on_signal, &ctx);
    main_loop_init();
    bql_lock();

    qmp_init_marshal(cmds);
    assembly_init_monitors(&ctx, cmds);
    vm_set_name(ctx.vm, o->name);
    if (o->has_uuid) {
        vm_set_uuid(ctx.vm, o->uuid);
    }
    runstate_set_no_shutdown(ctx.vm, o->no_shutdown);

    if (!create_chardevs(o, &err) || !create_monitors(o, ctx.monitors, &err) ||
        !assembly_create_objects(&ctx, o->objects, &err)) {
        goto out;
    }
    if (o->serial) {
        o->machine->serial = chardev_from_spec("serial", o->serial, "serial0",
                                               &err);
        if (!o->machine->serial) {
            goto out;
        }
    }
    if (!assembly_build(&ctx, o->machine, &err)) {
        goto out;
    }
    ctx.migration->snapshots = snapshots_new(ctx.vm, o->snapshot_dir);
    if ((cpr && !cpr_check_incoming_memory(cpr, ram_block_list(ctx.machine->memory),
                                           &err)) ||
        !start_qtest(o, ctx.machine, &qtest, &err)) {
        goto out;
    }
    if (!start_vm(o, &ctx, cpr_sock, &err)) {
        cpr_sock = -1;          /* taken */
        goto out;
    }
    cpr_sock = -1;
    status = main_loop_run();

out:
    if (err) {
        error_report_err(g_steal_pointer(&err));
    }
    if (cpr_sock >= 0) {
        close(cpr_sock);        /* the old process's migration fails: its guest runs on */
    }
    /* As QEMU at exit: the vCPUs stop without a STOP event. */
    qtest_server_free(qtest);
    assembly_teardown(&ctx);
    qemu_chr_cleanup_all();
    bql_unlock();
    return status;
}

int main(int argc, char **argv)
{
    g_autoptr(TernOptions) o = tern_options_new();
    g_autoptr(GError) err = NULL;

    if (!cmdline_parse(argc, argv, o, &err)) {
        error_report_err(g_steal_pointer(&err));
        return EXIT_FAILURE;
    }
    switch (o->action) {
    case CMDLINE_VERSION:
        printf("tern version %s (QMP compatible with QEMU %s)\n",
               TERN_VERSION, TERN_QEMU_COMPAT);
        return EXIT_SUCCESS;
    case CMDLINE_HELP: {
        g_autofree char *text = cmdline_help_text();
        fputs(text, stdout);
        return EXIT_SUCCESS;
    }
    case CMDLINE_MACHINE_HELP:
        printf("Supported machines are:\n%-20s %s (default)\n",
               MACHINE_TYPE_NAME, "tern PC: RAM at 0, 16550A, debug-exit, "
               "testdev");
        return EXIT_SUCCESS;
    case CMDLINE_RUN:
        break;
    }
    return tern_run(o);
}
