/*
 * The HMP shell: a line editor on a chardev, the command tables, and running
 * a command line -- typed at the "(tern) " prompt or sent through QMP's
 * human-monitor-command, whose output is captured instead.
 */
#include "monitor-internal.h"
#include "hmp-internal.h"
#include "readline.h"

#include "qapi/qapi-commands.h"
#include "qemu/error.h"

#include <string.h>

#define HMP_PROMPT "(tern) "

typedef struct MonitorHMP {
    Monitor common;
    ReadLineState *rs;
    /* While suspended (main loop only): who resumes us, and held input. */
    GSource *waiter;
    GByteArray *pending;
} MonitorHMP;

typedef struct HMPTable {
    const HMPCommand *cmds;
    size_t n;
} HMPTable;

/*
 * Tables registered by the areas at start-up (beside the built-in ones);
 * read-only once monitors run, emptied by monitors_free().
 */
static GArray *hmp_tables;
static GArray *hmp_info_tables;

static void hmp_register(GArray **tables, const HMPCommand *cmds, size_t n)
{
    HMPTable t = { cmds, n };

    if (!*tables) {
        *tables = g_array_new(FALSE, FALSE, sizeof(HMPTable));
    }
    g_array_append_val(*tables, t);
}

void hmp_register_commands(const HMPCommand *table, size_t n)
{
    hmp_register(&hmp_tables, table, n);
}

void hmp_register_info_commands(const HMPCommand *table, size_t n)
{
    hmp_register(&hmp_info_tables, table, n);
}

void hmp_unregister_all(void)
{
    g_clear_pointer(&hmp_tables, g_array_unref);
    g_clear_pointer(&hmp_info_tables, g_array_unref);
}

void hmp_for_each_command(bool info,
                          void (*fn)(const HMPCommand *cmd, void *opaque),
                          void *opaque)
{
    const HMPCommand *builtin = info ? hmp_builtin_info_cmds : hmp_builtin_cmds;
    size_t builtin_len = info ? hmp_builtin_info_cmds_len : hmp_builtin_cmds_len;
    GArray *tables = info ? hmp_info_tables : hmp_tables;

    for (size_t i = 0; i < builtin_len; i++) {
        fn(&builtin[i], opaque);
    }
    for (guint t = 0; tables && t < tables->len; t++) {
        const HMPTable *table = &g_array_index(tables, HMPTable, t);

        for (size_t i = 0; i < table->n; i++) {
            fn(&table->cmds[i], opaque);
        }
    }
}

/* Does @name match one of the '|'-separated names in @names? */
static bool hmp_name_matches(const char *names, const char *name)
{
    g_auto(GStrv) alternatives = g_strsplit(names, "|", -1);

    for (char **alt = alternatives; *alt; alt++) {
        if (!strcmp(*alt, name)) {
            return true;
        }
    }
    return false;
}

typedef struct HMPFind {
    const char *name;
    const HMPCommand *found;
} HMPFind;

static void hmp_find_one(const HMPCommand *cmd, void *opaque)
{
    HMPFind *f = opaque;

    if (!f->found && hmp_name_matches(cmd->name, f->name)) {
        f->found = cmd;
    }
}

const HMPCommand *hmp_find_command(const char *name, bool info)
{
    HMPFind f = { .name = name };

    hmp_for_each_command(info, hmp_find_one, &f);
    return f.found;
}

void hmp_handle_error(Monitor *mon, GError *err)
{
    if (err) {
        monitor_printf(mon, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

/* Split off the first word of *@pp (the command name). */
static char *hmp_take_word(const char **pp)
{
    const char *p = *pp;
    const char *start;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    start = p;
    while (*p && !g_ascii_isspace(*p)) {
        p++;
    }
    *pp = p;
    return g_strndup(start, p - start);
}

void hmp_handle_command(Monitor *mon, const char *cmdline)
{
    const char *p = cmdline;
    g_autofree char *name = hmp_take_word(&p);
    g_autofree char *sub = NULL;
    g_autoptr(JsonObject) args = NULL;
    g_autoptr(GError) err = NULL;
    const HMPCommand *cmd;
    Monitor *prev;

    if (!*name) {
        return;
    }
    cmd = hmp_find_command(name, false);
    if (cmd && !strcmp(name, "info")) {
        const char *rest = p;

        sub = hmp_take_word(&rest);
        if (*sub) {                 /* "info" alone lists the sub-commands */
            cmd = hmp_find_command(sub, true);
            p = rest;
        }
    }
    if (!cmd) {
        monitor_printf(mon, "unknown command: '%s%s%s'\n", name,
                       sub ? " " : "", sub ? sub : "");
        return;
    }
    args = hmp_parse_args(cmd, p, &err);
    if (!args) {
        monitor_printf(mon, "%s\n", err->message);
        return;
    }
    prev = monitor_set_cur(mon);
    cmd->cmd(mon, mon->ctx, args);
    monitor_set_cur(prev);
}

/* ---- the interactive monitor ---- */

static void monitor_hmp_output(void *opaque, const char *str)
{
    MonitorHMP *mon = opaque;

    monitor_write(&mon->common, str, strlen(str));
}

static void monitor_hmp_line(void *opaque, const char *line)
{
    MonitorHMP *mon = opaque;

    hmp_handle_command(&mon->common, line);
}

/*
 * Feed input a byte at a time: a line may suspend the monitor, and what
 * follows it in the same chunk must wait for monitor_resume().
 */
static void monitor_hmp_feed(MonitorHMP *mon, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (mon->waiter) {
            g_byte_array_append(mon->pending, buf + i, len - i);
            return;
        }
        readline_feed(mon->rs, buf + i, 1);
    }
}

static void monitor_hmp_read(void *opaque, const uint8_t *buf, size_t len)
{
    monitor_hmp_feed(opaque, buf, len);
}

bool monitor_suspend(Monitor *mon, GSource *waiter)
{
    MonitorHMP *hmp = (MonitorHMP *)mon;

    if (mon->is_qmp || !mon->chr) {
        return false;
    }
    g_assert(!hmp->waiter);
    hmp->waiter = g_source_ref(waiter);
    readline_hold_prompt(hmp->rs, true);
    qemu_chr_set_paused(mon->chr, true);
    return true;
}

void monitor_resume(Monitor *mon)
{
    MonitorHMP *hmp = (MonitorHMP *)mon;
    g_autoptr(GByteArray) held = NULL;

    g_assert(!mon->is_qmp && hmp->waiter);
    g_clear_pointer(&hmp->waiter, g_source_unref);
    readline_hold_prompt(hmp->rs, false);
    readline_show_prompt(hmp->rs);
    held = g_steal_pointer(&hmp->pending);
    hmp->pending = g_byte_array_new();
    /* A held line may suspend us again; the rest is held anew then. */
    monitor_hmp_feed(hmp, held->data, held->len);
    if (!hmp->waiter) {
        qemu_chr_set_paused(mon->chr, false);
    }
}

static void monitor_hmp_event(void *opaque, bool connected)
{
    MonitorHMP *mon = opaque;

    readline_reset(mon->rs);
    g_byte_array_set_size(mon->pending, 0);
    if (connected) {
        monitor_printf(&mon->common, "tern %s monitor - type 'help' for more "
                       "information\n", TERN_VERSION);
        if (!mon->waiter) {
            readline_show_prompt(mon->rs);
        }
    }
}

bool monitor_init_hmp(Monitors *mons, Chardev *chr, GError **errp)
{
    MonitorHMP *mon = g_new0(MonitorHMP, 1);

    monitor_data_init(&mon->common, mons, chr, false);
    mon->rs = readline_new(HMP_PROMPT, monitor_hmp_output, monitor_hmp_line,
                           mon);
    mon->pending = g_byte_array_new();
    monitor_list_append(&mon->common);
    qemu_chr_set_echo(chr, false);          /* the line editor echoes */
    qemu_chr_set_handlers(chr, monitor_hmp_read, monitor_hmp_event, mon);
    return true;
}

void monitor_hmp_free(Monitor *mon)
{
    MonitorHMP *hmp = (MonitorHMP *)mon;

    if (mon->chr) {
        qemu_chr_set_echo(mon->chr, true);
    }
    if (hmp->waiter) {
        g_source_destroy(hmp->waiter);
        g_source_unref(hmp->waiter);
    }
    g_byte_array_unref(hmp->pending);
    readline_free(hmp->rs);
    monitor_data_destroy(mon);
    g_free(hmp);
}

/* ---- QMP's human-monitor-command ---- */

char *qmp_human_monitor_command(TernContext *ctx, const char *command_line,
                                bool has_cpu_index, int64_t cpu_index,
                                GError **errp)
{
    Monitor mon = { 0 };
    char *output;

    if (has_cpu_index && cpu_index < 0) {
        error_setg(errp, "Parameter 'cpu-index' expects a CPU number");
        return NULL;
    }
    monitor_data_init(&mon, NULL, NULL, false);
    mon.ctx = ctx;              /* the commands run in the caller's context */
    mon.outbuf = g_string_new(NULL);
    hmp_handle_command(&mon, command_line);
    output = g_strdup(mon.outbuf->str);
    monitor_data_destroy(&mon);
    return output;
}
