/*
 * authz-listfile: the rules of an authz-list, read from a file and read
 * again when it changes.  The watch is an inotify fd on the file's
 * directory (editors replace files by rename, which a watch on the file
 * itself would lose), dispatched by the default main context.
 */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <glib-unix.h>

#include "crypto/authz-listfile.h"
#include "qapi/qapi-visit.h"
#include "qemu/error.h"

typedef struct ListFileWatch {
    AuthzRules *rules;
    char *filename;
    char *basename;
    int fd;                         /* inotify */
} ListFileWatch;

bool authz_listfile_load(AuthzRules *rules, const char *filename, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(AuthZListProperties) props = NULL;
    GError *local = NULL;

    if (!json_parser_load_from_mapped_file(parser, filename, &local) ||
        !visit_AuthZListProperties_from_json(json_parser_get_root(parser), &props,
                                             &local)) {
        error_setg(errp, "Unable to load authorization rules from '%s': %s",
                   filename, local->message);
        g_error_free(local);
        return false;
    }
    authz_rules_set(rules, props->has_policy ? props->policy : QAUTHZ_LIST_POLICY_DENY,
                    g_steal_pointer(&props->rules));
    return true;
}

/* Whether the pending inotify events name our file. */
static bool listfile_touched(ListFileWatch *w)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool touched = false;
    ssize_t n;

    while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            touched |= ev->len && g_str_equal(ev->name, w->basename);
            p += sizeof(*ev) + ev->len;
        }
    }
    return touched;
}

static gboolean listfile_changed(gint fd, GIOCondition cond, gpointer opaque)
{
    ListFileWatch *w = opaque;
    g_autoptr(GError) err = NULL;

    if (listfile_touched(w) && !authz_listfile_load(w->rules, w->filename, &err)) {
        warn_report("%s; denying every client until it loads", err->message);
        authz_rules_set(w->rules, QAUTHZ_LIST_POLICY_DENY, NULL);
    }
    return G_SOURCE_CONTINUE;
}

static void listfile_watch_free(gpointer opaque)
{
    ListFileWatch *w = opaque;

    close(w->fd);
    authz_rules_unref(w->rules);
    g_free(w->filename);
    g_free(w->basename);
    g_free(w);
}

GSource *authz_listfile_watch(AuthzRules *rules, const char *filename, GError **errp)
{
    g_autofree char *dir = g_path_get_dirname(filename);
    const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                          IN_DELETE;
    ListFileWatch *w;
    GSource *source;
    int fd;

    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dir, mask) < 0) {
        error_setg(errp, "Unable to watch '%s' for changes: %s", dir, g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    w = g_new0(ListFileWatch, 1);
    w->rules = authz_rules_ref(rules);
    w->filename = g_strdup(filename);
    w->basename = g_path_get_basename(filename);
    w->fd = fd;
    source = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(source, G_SOURCE_FUNC(listfile_changed), w, listfile_watch_free);
    g_source_attach(source, NULL);
    return source;
}
