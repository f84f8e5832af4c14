/*
 * The chardev core: the registry of chardevs by id, creation from a backend
 * name and options (or QEMU's shorthand strings), and the frontend calls of
 * include/chardev/char.h.  Backends plug in through ChardevClass.
 */
#include "char-internal.h"

#include "qemu/option.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

static const ChardevClass *const chardev_classes[] = {
    &chardev_socket_class,
    &chardev_stdio_class,
    &chardev_file_class,
    &chardev_null_class,
};

/*
 * id -> Chardev.  Filled at start-up by main() (and by tests), read from the
 * main thread only, emptied at exit.
 */
static GHashTable *chardev_registry;

static GHashTable *registry(void)
{
    if (!chardev_registry) {
        chardev_registry = g_hash_table_new(g_str_hash, g_str_equal);
    }
    return chardev_registry;
}

Chardev *qemu_chr_find(const char *id)
{
    return chardev_registry ? g_hash_table_lookup(chardev_registry, id) : NULL;
}

bool qemu_chr_class_in_use(const ChardevClass *cls)
{
    GHashTableIter it;
    Chardev *chr;

    if (!chardev_registry) {
        return false;
    }
    g_hash_table_iter_init(&it, chardev_registry);
    while (g_hash_table_iter_next(&it, NULL, (gpointer *)&chr)) {
        if (chr->cls == cls) {
            return true;
        }
    }
    return false;
}

static const ChardevClass *chardev_class_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(chardev_classes); i++) {
        if (!strcmp(chardev_classes[i]->name, name)) {
            return chardev_classes[i];
        }
    }
    return NULL;
}

/* QEMU's rule for object ids: a letter, then letters, digits, '-', '.', '_'. */
static bool chardev_id_is_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

Chardev *qemu_chr_new(const char *id, const char *backend, GHashTable *opts,
                      GError **errp)
{
    g_autoptr(GHashTable) empty_opts = NULL;
    const ChardevClass *cls;
    Chardev *chr;

    if (!id || !chardev_id_is_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (qemu_chr_find(id)) {
        error_setg(errp, "Chardev '%s' already exists", id);
        return NULL;
    }
    cls = chardev_class_find(backend);
    if (!cls) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    if (!opts) {
        opts = empty_opts = g_hash_table_new(g_str_hash, g_str_equal);
    }
    if (!qemu_opts_check_keys(opts, cls->opt_keys, errp)) {
        return NULL;
    }

    chr = g_malloc0(cls->instance_size);
    chr->id = g_strdup(id);
    chr->cls = cls;
    qemu_mutex_init(&chr->lock);
    if (!cls->open(chr, opts, errp)) {
        error_prepend(errp, "chardev '%s': ", id);
        qemu_mutex_destroy(&chr->lock);
        g_free(chr->id);
        g_free(chr);
        return NULL;
    }
    g_hash_table_insert(registry(), chr->id, chr);
    return chr;
}

/* Parse "server=on,wait=off" and add it to @opts. */
static bool chardev_merge_opts(const char *str, GHashTable *opts,
                               GError **errp)
{
    g_autoptr(GHashTable) more = qemu_opts_parse(str, NULL, errp);
    GHashTableIter it;
    char *key, *value;

    if (!more) {
        return false;
    }
    g_hash_table_iter_init(&it, more);
    while (g_hash_table_iter_next(&it, (gpointer *)&key, (gpointer *)&value)) {
        if (g_hash_table_contains(opts, key)) {
            error_setg(errp, "Parameter '%s' given twice", key);
            return false;
        }
        g_hash_table_iter_steal(&it);
        g_hash_table_insert(opts, key, value);
    }
    return true;
}

/* "HOST:PORT[,opts]" into host/port + opts; HOST may be "[v6addr]" or empty. */
static bool chardev_parse_tcp(const char *rest, GHashTable *opts,
                              GError **errp)
{
    const char *comma = strchr(rest, ',');
    g_autofree char *addr = comma ? g_strndup(rest, comma - rest)
                                  : g_strdup(rest);
    char *colon = strrchr(addr, ':');
    char *host = addr;

    if (!colon || !colon[1]) {
        error_setg(errp, "address '%s' lacks a port (expected HOST:PORT)",
                   addr);
        return false;
    }
    *colon = '\0';
    if (host[0] == '[' && colon > host && colon[-1] == ']') {
        colon[-1] = '\0';
        host++;
    }
    g_hash_table_insert(opts, g_strdup("host"), g_strdup(host));
    g_hash_table_insert(opts, g_strdup("port"), g_strdup(colon + 1));
    return !comma || chardev_merge_opts(comma + 1, opts, errp);
}

Chardev *qemu_chr_new_from_compat(const char *id, const char *spec,
                                  GError **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                       g_free, g_free);
    const char *backend;
    const char *rest;

    if (!strcmp(spec, "stdio") || !strcmp(spec, "null")) {
        backend = spec;
    } else if ((rest = g_str_has_prefix(spec, "file:") ? spec + 5 : NULL)) {
        backend = "file";
        g_hash_table_insert(opts, g_strdup("path"), g_strdup(rest));
    } else if ((rest = g_str_has_prefix(spec, "unix:") ? spec + 5 : NULL)) {
        const char *comma = strchr(rest, ',');

        backend = "socket";
        g_hash_table_insert(opts, g_strdup("path"),
                            comma ? g_strndup(rest, comma - rest)
                                  : g_strdup(rest));
        if (comma && !chardev_merge_opts(comma + 1, opts, errp)) {
            return NULL;
        }
    } else if ((rest = g_str_has_prefix(spec, "tcp:") ? spec + 4 : NULL)) {
        backend = "socket";
        if (!chardev_parse_tcp(rest, opts, errp)) {
            return NULL;
        }
    } else {
        error_setg(errp, "'%s' is not a supported character device "
                   "(expected stdio, null, file:PATH, unix:PATH or "
                   "tcp:HOST:PORT)", spec);
        return NULL;
    }
    return qemu_chr_new(id, backend, opts, errp);
}

void qemu_chr_delete(Chardev *chr)
{
    if (!chr) {
        return;
    }
    qemu_mutex_lock(&chr->lock);
    chr->fe_read = NULL;
    chr->fe_event = NULL;
    chr->fe_opaque = NULL;
    qemu_chr_drop_source(&chr->announce_src);
    if (chr->cls->update_sources) {
        chr->cls->update_sources(chr, false);
    }
    qemu_mutex_unlock(&chr->lock);

    if (chardev_registry) {
        g_hash_table_remove(chardev_registry, chr->id);
    }
    chr->cls->close(chr);
    if (chr->ctx) {
        g_main_context_unref(chr->ctx);
    }
    qemu_mutex_destroy(&chr->lock);
    g_free(chr->id);
    g_free(chr);
}

void qemu_chr_cleanup_all(void)
{
    GHashTableIter it;
    Chardev *chr;

    while (chardev_registry && g_hash_table_size(chardev_registry)) {
        g_hash_table_iter_init(&it, chardev_registry);
        g_hash_table_iter_next(&it, NULL, (gpointer *)&chr);
        qemu_chr_delete(chr);
    }
    if (chardev_registry) {
        g_hash_table_destroy(chardev_registry);
        chardev_registry = NULL;
    }
}

/* ---- frontend side ---- */

ssize_t qemu_chr_write_all(Chardev *chr, const uint8_t *buf, size_t len)
{
    ssize_t ret;

    qemu_mutex_lock(&chr->lock);
    ret = chr->cls->write(chr, buf, len);
    qemu_mutex_unlock(&chr->lock);
    return ret;
}

bool qemu_chr_wants_input(const Chardev *chr)
{
    return chr->fe_read && !chr->paused;
}

void qemu_chr_update_sources_locked(Chardev *chr)
{
    if (chr->cls->update_sources) {
        chr->cls->update_sources(chr, chr->fe_read || chr->fe_event);
    }
}

static gboolean chardev_announce(gpointer opaque)
{
    Chardev *chr = opaque;
    ChrEventHandler event;
    void *fe_opaque;
    bool connected;

    qemu_mutex_lock(&chr->lock);
    qemu_chr_drop_source(&chr->announce_src);
    event = chr->fe_event;
    fe_opaque = chr->fe_opaque;
    connected = chr->connected;
    qemu_mutex_unlock(&chr->lock);

    if (event && connected) {
        event(fe_opaque, true);
    }
    return G_SOURCE_REMOVE;
}

void qemu_chr_set_handlers_full(Chardev *chr, ChrReadHandler read,
                                ChrEventHandler event, void *opaque,
                                GMainContext *ctx)
{
    qemu_mutex_lock(&chr->lock);
    qemu_chr_drop_source(&chr->announce_src);
    if (chr->cls->update_sources) {
        chr->cls->update_sources(chr, false);   /* sources move to @ctx */
    }
    if (chr->ctx) {
        g_main_context_unref(chr->ctx);
    }
    chr->ctx = ctx ? g_main_context_ref(ctx) : NULL;
    chr->fe_read = read;
    chr->fe_event = event;
    chr->fe_opaque = opaque;
    qemu_chr_update_sources_locked(chr);

    /* A frontend attached to a live connection hears about it first. */
    if (event && chr->connected) {
        chr->announce_src = g_idle_source_new();
        /* Before any input already waiting: a greeting comes first. */
        g_source_set_priority(chr->announce_src, G_PRIORITY_HIGH);
        g_source_set_callback(chr->announce_src, chardev_announce, chr, NULL);
        g_source_attach(chr->announce_src, chr->ctx);
    }
    qemu_mutex_unlock(&chr->lock);
}

void qemu_chr_set_handlers(Chardev *chr, ChrReadHandler read,
                           ChrEventHandler event, void *opaque)
{
    qemu_chr_set_handlers_full(chr, read, event, opaque, NULL);
}

void qemu_chr_set_paused(Chardev *chr, bool paused)
{
    qemu_mutex_lock(&chr->lock);
    if (chr->paused != paused) {
        chr->paused = paused;
        qemu_chr_update_sources_locked(chr);
    }
    qemu_mutex_unlock(&chr->lock);
}

bool qemu_chr_is_connected(Chardev *chr)
{
    bool ret;

    qemu_mutex_lock(&chr->lock);
    ret = chr->connected;
    qemu_mutex_unlock(&chr->lock);
    return ret;
}

int qemu_chr_get_msgfd(Chardev *chr)
{
    int fd = -1;

    qemu_mutex_lock(&chr->lock);
    if (chr->cls->get_msgfd) {
        fd = chr->cls->get_msgfd(chr);
    }
    qemu_mutex_unlock(&chr->lock);
    return fd;
}

void qemu_chr_set_echo(Chardev *chr, bool echo)
{
    if (chr->cls->set_echo) {
        chr->cls->set_echo(chr, echo);
    }
}

/* ---- backend side ---- */

void qemu_chr_be_read(Chardev *chr, const uint8_t *buf, size_t len)
{
    ChrReadHandler read;
    void *opaque;

    qemu_mutex_lock(&chr->lock);
    read = chr->fe_read;
    opaque = chr->fe_opaque;
    qemu_mutex_unlock(&chr->lock);
    if (read) {
        read(opaque, buf, len);
    }
}

void qemu_chr_be_event(Chardev *chr, bool connected)
{
    ChrEventHandler event;
    void *opaque;

    qemu_mutex_lock(&chr->lock);
    chr->connected = connected;
    qemu_chr_drop_source(&chr->announce_src);
    event = chr->fe_event;
    opaque = chr->fe_opaque;
    qemu_mutex_unlock(&chr->lock);
    if (event) {
        event(opaque, connected);
    }
}

void qemu_chr_drop_source(GSource **slot)
{
    if (*slot) {
        g_source_destroy(*slot);
        g_source_unref(*slot);
        *slot = NULL;
    }
}

void qemu_chr_replace_fd_source(Chardev *chr, GSource **slot, int fd,
                                GIOCondition cond, GUnixFDSourceFunc fn,
                                void *opaque)
{
    qemu_chr_drop_source(slot);
    if (fd < 0) {
        return;
    }
    *slot = g_unix_fd_source_new(fd, cond);
    g_source_set_callback(*slot, (GSourceFunc)(void (*)(void))fn, opaque, NULL);
    g_source_attach(*slot, chr->ctx);
}

bool qemu_chr_write_fd_all(int fd, const uint8_t *buf, size_t len,
                           bool is_socket, int timeout_ms)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = is_socket
            ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
            : write(fd, buf + done, len - done);

        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A live peer that stopped reading gets @timeout_ms, not forever. */
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            int r = poll(&pfd, 1, timeout_ms);

            if (r == 0 || (r < 0 && errno != EINTR)) {
                return false;
            }
        } else {
            return false;
        }
    }
    return true;
}
