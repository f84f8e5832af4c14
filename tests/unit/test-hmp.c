/*
 * Unit tests for the HMP shell: argument parsing against args_type, error
 * lines, help and info, the line editor, and a shell on a socket chardev.
 */
#include "monitor-internal.h"
#include "readline.h"
#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Prints its arguments back as "name=value" pairs in args_type order. */
static void t_print(Monitor *mon, TernContext *ctx, JsonObject *args)
{
    g_autoptr(GList) names = json_object_get_members(args);

    for (GList *l = names; l; l = l->next) {
        JsonNode *v = json_object_get_member(args, l->data);
        GType t = json_node_get_value_type(v);

        if (t == G_TYPE_STRING) {
            monitor_printf(mon, "%s=[%s] ", (char *)l->data,
                           json_node_get_string(v));
        } else if (t == G_TYPE_BOOLEAN) {
            monitor_printf(mon, "%s=%s ", (char *)l->data,
                           json_node_get_boolean(v) ? "true" : "false");
        } else {
            monitor_printf(mon, "%s=%" G_GINT64_FORMAT " ", (char *)l->data,
                           json_node_get_int(v));
        }
    }
    monitor_printf(mon, "n=%" G_GINT64_FORMAT "\n", hmp_arg_int(args, "n", -1));
}

static const HMPCommand test_cmds[] = {
    { "t_str", "name:s", "name", "a string", t_print },
    { "t_flags", "detach:-d,resume:-r,uri:s", "[-d] [-r] uri", "flags", t_print },
    { "t_bool", "cap:s,state:b", "cap on|off", "a boolean", t_print },
    { "t_size", "sz:o", "size", "a size", t_print },
    { "t_int", "n:i?", "[n]", "an optional integer", t_print },
    { "t_rest", "text:S", "text...", "the rest of the line", t_print },
    { "t_alias|ta", "", "", "an alias", t_print },
    { "t_fval", "file:s,format:-fs,dev:s?", "file [-f format] [dev]",
      "a flag with a value", t_print },
};

static const HMPCommand test_info_cmds[] = {
    { "thing", "verbose:-v", "[-v]", "show the thing", t_print },
};

static char *hmp(const char *line)
{
    g_autoptr(GError) err = NULL;
    char *out = qmp_human_monitor_command(NULL, line, false, 0, &err);

    g_assert_no_error(err);
    return out;
}

#define ASSERT_HMP(line, expected) do { \
        g_autofree char *out_ = hmp(line); \
        g_assert_cmpstr(out_, ==, expected); \
    } while (0)

static void setup_tables(void)
{
    hmp_register_commands(test_cmds, G_N_ELEMENTS(test_cmds));
    hmp_register_info_commands(test_info_cmds, G_N_ELEMENTS(test_info_cmds));
}

static void test_args(void)
{
    setup_tables();
    ASSERT_HMP("t_str hello", "name=[hello] n=-1\r\n");
    ASSERT_HMP("  t_str   \"two words \\\"q\\\" \\\\\"  ",
               "name=[two words \"q\" \\] n=-1\r\n");
    ASSERT_HMP("t_flags tcp:1:2", "uri=[tcp:1:2] n=-1\r\n");
    ASSERT_HMP("t_flags -d -r unix:/p", "detach=true resume=true uri=[unix:/p] n=-1\r\n");
    ASSERT_HMP("t_flags -rd x", "resume=true detach=true uri=[x] n=-1\r\n");
    ASSERT_HMP("t_bool events on", "cap=[events] state=true n=-1\r\n");
    ASSERT_HMP("t_bool events off", "cap=[events] state=false n=-1\r\n");
    ASSERT_HMP("t_size 64M", "sz=67108864 n=-1\r\n");
    ASSERT_HMP("t_size 4096", "sz=4096 n=-1\r\n");
    ASSERT_HMP("t_int -5", "n=-5 n=-5\r\n");
    ASSERT_HMP("t_int 0x10", "n=16 n=16\r\n");
    ASSERT_HMP("t_int", "n=-1\r\n");
    ASSERT_HMP("t_rest  a b  c ", "text=[a b  c] n=-1\r\n");
    ASSERT_HMP("ta", "n=-1\r\n");
    ASSERT_HMP("t_fval a.png -f png d0", "file=[a.png] format=[png] dev=[d0] n=-1\r\n");
    ASSERT_HMP("t_fval a.ppm", "file=[a.ppm] n=-1\r\n");
    ASSERT_HMP("t_fval a.ppm d1", "file=[a.ppm] dev=[d1] n=-1\r\n");
    ASSERT_HMP("t_fval a -f", "t_fval: option -f needs a value\r\n");
    ASSERT_HMP("t_alias", "n=-1\r\n");
    ASSERT_HMP("info thing -v", "verbose=true n=-1\r\n");
    ASSERT_HMP("", "");
    hmp_unregister_all();
}

static void test_errors(void)
{
    setup_tables();
    ASSERT_HMP("nope", "unknown command: 'nope'\r\n");
    ASSERT_HMP("info nope", "unknown command: 'info nope'\r\n");
    ASSERT_HMP("t_str", "t_str: string expected\r\n");
    ASSERT_HMP("t_str \"open", "t_str: string expected\r\n");
    ASSERT_HMP("t_str a b", "t_str: extraneous characters at the end of line\r\n");
    ASSERT_HMP("t_flags -x uri", "t_flags: unsupported option -x\r\n");
    ASSERT_HMP("t_bool events maybe", "Expected 'on' or 'off'\r\n");
    ASSERT_HMP("t_bool events", "Expected 'on' or 'off'\r\n");
    ASSERT_HMP("t_size lots", "t_size: invalid size\r\n");
    ASSERT_HMP("t_int 1x", "t_int: integer expected\r\n");
    ASSERT_HMP("t_rest", "t_rest: string expected\r\n");
    ASSERT_HMP("closefd nope", "Error: File descriptor named 'nope' not found\r\n");
    ASSERT_HMP("getfd x", "Error: No file descriptor supplied via SCM_RIGHTS\r\n");
    hmp_unregister_all();
}

static void test_help_info(void)
{
    g_autofree char *all = NULL;
    g_autofree char *info = NULL;
    g_autofree char *version = g_strdup_printf("9.1.0 (tern %s)\r\n",
                                               TERN_VERSION);
    g_autoptr(GError) err = NULL;

    setup_tables();
    all = hmp("help");
    g_assert_nonnull(strstr(all, "help|? [cmd] -- show the help\r\n"));
    g_assert_nonnull(strstr(all, "t_flags [-d] [-r] uri -- flags\r\n"));
    ASSERT_HMP("help t_bool", "t_bool cap on|off -- a boolean\r\n");
    ASSERT_HMP("? ta", "t_alias|ta  -- an alias\r\n");
    ASSERT_HMP("help info thing", "info thing [-v] -- show the thing\r\n");
    ASSERT_HMP("help nope", "unknown command: 'nope'\r\n");
    info = hmp("info");
    g_assert_nonnull(strstr(info, "info version  -- show the version of tern\r\n"));
    g_assert_nonnull(strstr(info, "info thing [-v] -- show the thing\r\n"));
    ASSERT_HMP("info version", version);
    g_assert_null(qmp_human_monitor_command(NULL, "info version", true, -1,
                                            &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'cpu-index' expects a CPU number");
    hmp_unregister_all();
}

/* ---- line editor ---- */

typedef struct RLSink {
    GString *echo;
    GPtrArray *lines;
} RLSink;

static void rl_out(void *opaque, const char *s)
{
    g_string_append(((RLSink *)opaque)->echo, s);
}

static void rl_done(void *opaque, const char *line)
{
    g_ptr_array_add(((RLSink *)opaque)->lines, g_strdup(line));
}

static void rl_feed(ReadLineState *rs, const char *s)
{
    readline_feed(rs, (const uint8_t *)s, strlen(s));
}

static void test_readline(void)
{
    RLSink sink = { g_string_new(NULL), g_ptr_array_new_with_free_func(g_free) };
    ReadLineState *rs = readline_new("> ", rl_out, rl_done, &sink);

    readline_show_prompt(rs);
    rl_feed(rs, "info stx\x7f" "atus\r\n");
    g_assert_cmpuint(sink.lines->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(sink.lines, 0), ==, "info status");
    g_assert_cmpstr(sink.echo->str, ==, "> info stx\b \batus\r\n> ");

    rl_feed(rs, "second\n");
    /* Up twice reaches the first line, down once the second; enter runs it. */
    rl_feed(rs, "\033[A\033[A\033[B\r");
    g_assert_cmpuint(sink.lines->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(sink.lines, 2), ==, "second");
    /* ^U clears; unknown escapes and control bytes are swallowed. */
    rl_feed(rs, "junk\x15ok\033[5~\x01\n");
    g_assert_cmpstr(g_ptr_array_index(sink.lines, 3), ==, "ok");
    /* An empty line is delivered but not kept in the history. */
    rl_feed(rs, "\n\033[A\n");
    g_assert_cmpstr(g_ptr_array_index(sink.lines, 4), ==, "");
    g_assert_cmpstr(g_ptr_array_index(sink.lines, 5), ==, "ok");

    readline_free(rs);
    g_string_free(sink.echo, TRUE);
    g_ptr_array_free(sink.lines, TRUE);
}

static void test_readline_limits(void)
{
    RLSink sink = { g_string_new(NULL), g_ptr_array_new_with_free_func(g_free) };
    ReadLineState *rs = readline_new("> ", rl_out, rl_done, &sink);
    g_autofree char *big = g_strnfill(READLINE_MAX_LINE + 100, 'x');

    rl_feed(rs, big);
    rl_feed(rs, "\n");
    g_assert_cmpuint(strlen(g_ptr_array_index(sink.lines, 0)), ==,
                     READLINE_MAX_LINE);
    for (int i = 0; i < READLINE_MAX_HISTORY + 10; i++) {
        g_autofree char *line = g_strdup_printf("cmd%d\n", i);
        rl_feed(rs, line);
    }
    readline_free(rs);
    g_string_free(sink.echo, TRUE);
    g_ptr_array_free(sink.lines, TRUE);
}

/* ---- a shell on a socket ---- */

static char *read_until(int fd, const char *marker, GString *acc)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (!strstr(acc->str, marker) && g_get_monotonic_time() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char buf[4096];

        g_main_context_iteration(NULL, FALSE);
        if (poll(&pfd, 1, 1) == 1) {
            ssize_t n = read(fd, buf, sizeof(buf));

            g_assert_cmpint(n, >, 0);
            g_string_append_len(acc, buf, n);
        }
    }
    g_assert_nonnull(strstr(acc->str, marker));
    return g_strdup(acc->str);
}

static void test_shell_on_socket(void)
{
    g_autoptr(QmpCommandList) cmds = qmp_command_list_new();
    g_autofree char *dir = g_dir_make_tmp("test-hmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "hmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    g_autofree char *banner = NULL, *reply = NULL, *expected = NULL;
    g_autoptr(GString) acc = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    Monitors *mons;
    Chardev *chr;
    int fd;

    mons = monitors_new(cmds, NULL);
    chr = qemu_chr_new_from_compat("hmp0", spec, &err);
    g_assert_no_error(err);
    g_assert_true(monitor_init_hmp(mons, chr, &err));

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    banner = read_until(fd, "(tern) ", acc);
    expected = g_strdup_printf("tern %s monitor - type 'help' for more "
                               "information\r\n(tern) ", TERN_VERSION);
    g_assert_cmpstr(banner, ==, expected);

    g_string_truncate(acc, 0);
    g_assert_cmpint(write(fd, "info version\r\nbogus\n", 20), ==, 20);
    reply = read_until(fd, "unknown command: 'bogus'\r\n(tern) ", acc);
    g_free(expected);
    expected = g_strdup_printf("info version\r\n9.1.0 (tern %s)\r\n(tern) "
                               "bogus\r\nunknown command: 'bogus'\r\n(tern) ",
                               TERN_VERSION);
    g_assert_cmpstr(reply, ==, expected);

    close(fd);
    monitors_free(mons);
    qemu_chr_cleanup_all();
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp/args", test_args);
    g_test_add_func("/hmp/errors", test_errors);
    g_test_add_func("/hmp/help-info", test_help_info);
    g_test_add_func("/hmp/readline", test_readline);
    g_test_add_func("/hmp/readline-limits", test_readline_limits);
    g_test_add_func("/hmp/shell-on-socket", test_shell_on_socket);
    return g_test_run();
}
