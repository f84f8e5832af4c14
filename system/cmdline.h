/*
 * tern's command line: QEMU's option syntax for the subset tern has, parsed
 * into one TernOptions without side effects, so main() can act on it in a
 * fixed order and tests can check every rule.
 */
#ifndef SYSTEM_CMDLINE_H
#define SYSTEM_CMDLINE_H

#include <glib.h>
#include <stdbool.h>

#include "hw/machine.h"
#include "qapi/qapi-types.h"

typedef enum CmdlineAction {
    CMDLINE_RUN,
    CMDLINE_HELP,
    CMDLINE_VERSION,
    CMDLINE_MACHINE_HELP,
} CmdlineAction;

/* One -qmp / -monitor / -mon: either a chardev spec or a chardev id. */
typedef struct CmdlineMonitor {
    bool qmp;                   /* control (QMP) or readline (HMP) */
    char *spec;                 /* -qmp/-monitor argument, or NULL */
    char *chardev;              /* -mon chardev=ID, or NULL */
} CmdlineMonitor;

/* One -chardev: its text (for messages) and its parsed options. */
typedef struct CmdlineChardev {
    char *spec;
    GHashTable *opts;           /* includes "backend" and "id" */
} CmdlineChardev;

/* One -object that is not a memory backend: made by the assembly. */
typedef struct CmdlineObject {
    char *spec;                 /* the argument, for messages */
    ObjectOptions *opts;
} CmdlineObject;

/* -add-fd fd=N,set=M[,opaque=TEXT]: an inherited fd for an fd set. */
typedef struct CmdlineAddFd {
    int fd;
    int64_t set;
    char *opaque;               /* NULL: none */
} CmdlineAddFd;

typedef struct TernOptions {
    CmdlineAction action;
    MachineConfig *machine;     /* its serial chardev is set by main() */
    char *serial;               /* -serial spec; NULL: none */
    GPtrArray *chardevs;        /* CmdlineChardev*, in order */
    GPtrArray *monitors;        /* CmdlineMonitor*, in order */
    GPtrArray *objects;         /* CmdlineObject*, in order */
    char *qtest;                /* -qtest spec, or NULL */
    char *incoming;             /* -incoming URI or "defer", or NULL */
    /* -incoming in the channel form (JSON or dotted keys): main, and cpr. */
    MigrationAddress *incoming_main;
    MigrationAddress *incoming_cpr;
    char *name;                 /* -name, or NULL */
    guint8 uuid[16];
    bool has_uuid;
    bool start_stopped;         /* -S */
    bool no_shutdown;           /* -no-shutdown */
    bool nodefaults;            /* -nodefaults */
    char *snapshot_dir;         /* -machine snapshot-dir=PATH: the snapshot store, or NULL */
    GArray *add_fds;            /* CmdlineAddFd, in order */
} TernOptions;

TernOptions *tern_options_new(void);
void tern_options_free(TernOptions *opts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TernOptions, tern_options_free)

/*
 * Parse argv[1..argc-1] into @opts.  On error the message reads like
 * "-m foo: invalid size 'foo'" (main() prefixes "tern: ").
 */
bool cmdline_parse(int argc, char **argv, TernOptions *opts, GError **errp);

/* The text -help prints; g_free() it. */
char *cmdline_help_text(void);

#endif
