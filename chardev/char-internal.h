/*
 * What the chardev core (char.c) and its backends (char-*.c) share: the
 * Chardev instance, the backend operations table, and the helpers a backend
 * calls to hand bytes and connection changes to the frontend.
 */
#ifndef MONITOR_CHAR_INTERNAL_H
#define MONITOR_CHAR_INTERNAL_H

#include "chardev/char-backend.h"
#include "qemu/error.h"
#include "qemu/option.h"
#include "qemu/thread.h"

#include <glib-unix.h>
#include <sys/types.h>

typedef struct ChardevClass ChardevClass;

struct Chardev {
    char *id;
    const ChardevClass *cls;

    /*
     * @lock protects everything below and the backend's connection state:
     * writers (any thread) and the context thread both take it.  Frontend
     * handlers are always called with it released.
     */
    QemuMutex lock;
    ChrReadHandler fe_read;
    ChrEventHandler fe_event;
    void *fe_opaque;
    GMainContext *ctx;          /* where the sources run; NULL = main loop */
    bool paused;                /* frontend asked us to stop reading */
    bool connected;
    GSource *announce_src;      /* pending "connected" event for a new frontend */
};

/*
 * A backend.  Hooks run in the main thread unless said otherwise; those marked
 * "locked" are called with chr->lock held.
 */
struct ChardevClass {
    const char *name;
    size_t instance_size;                 /* of the struct embedding Chardev */
    /* Accepted options, NULL-terminated; CHARDEV_COMMON_KEYS first. */
    const char *const *opt_keys;
    /* Open from @opts; chr->lock not held.  false + @errp on failure. */
    bool (*open)(Chardev *chr, GHashTable *opts, GError **errp);
    /* Locked, any thread: write all of @buf; @len, or -1 if not connected. */
    ssize_t (*write)(Chardev *chr, const uint8_t *buf, size_t len);
    /*
     * Locked: make the backend's GSources in chr->ctx match the state.  With
     * @enabled false, drop them all (no frontend, or the context changes);
     * otherwise keep a listener while nobody is connected and a reader while
     * qemu_chr_wants_input().  Optional.
     */
    void (*update_sources)(Chardev *chr, bool enabled);
    /* Locked: take a received fd (-1 if none).  Optional. */
    int (*get_msgfd)(Chardev *chr);
    void (*set_echo)(Chardev *chr, bool echo);      /* optional */
    /* Release everything; sources already dropped.  Not locked. */
    void (*close)(Chardev *chr);
};

/* Keys every backend accepts (main() leaves them in the -chardev table). */
#define CHARDEV_COMMON_KEYS "id", "backend"

extern const ChardevClass chardev_socket_class;
extern const ChardevClass chardev_stdio_class;
extern const ChardevClass chardev_file_class;
extern const ChardevClass chardev_null_class;

/* True if a registered chardev uses @cls (e.g. stdio, which is unique). */
bool qemu_chr_class_in_use(const ChardevClass *cls);

/* Backend side: deliver bytes to the frontend.  Context thread, not locked. */
void qemu_chr_be_read(Chardev *chr, const uint8_t *buf, size_t len);

/*
 * Backend side: the peer connected or went away.  Updates chr->connected
 * (taking the lock) and calls the frontend's event handler.  Context thread.
 */
void qemu_chr_be_event(Chardev *chr, bool connected);

/* Locked: whether the backend should be reading now. */
bool qemu_chr_wants_input(const Chardev *chr);

/* Locked: ask the backend to refresh its sources after a state change. */
void qemu_chr_update_sources_locked(Chardev *chr);

/* Replace *@slot by a new fd source on @fd in chr->ctx (NULL @fd < 0: drop). */
void qemu_chr_replace_fd_source(Chardev *chr, GSource **slot, int fd,
                                GIOCondition cond, GUnixFDSourceFunc fn,
                                void *opaque);

/* Drop a source: destroy + unref, NULL-safe, clears *@slot. */
void qemu_chr_drop_source(GSource **slot);

/* Write all of @buf to a blocking or non-blocking fd; false on error. */
bool qemu_chr_write_fd_all(int fd, const uint8_t *buf, size_t len,
                           bool is_socket, int timeout_ms);

#endif
