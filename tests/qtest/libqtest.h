/*
 * libqtest: start tern processes and talk to them the way QEMU's qtests
 * do.  Each QTestState is one tern (binary from $QTEST_TERN_BINARY) with a
 * private QMP connection in a per-test temporary directory; it is greeted
 * and negotiated before qtest_init() returns.  Every process started here
 * dies with the test, even a failing one.
 */
#ifndef LIBQTEST_H
#define LIBQTEST_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct QTestState QTestState;

/* How long QMP waits may take before the test fails (ms). */
#define QTEST_QMP_TIMEOUT_MS 60000

/*
 * Every wait a test makes for tern (a reply, an event, a guest's output, a
 * state) has a deadline, so that a hang fails instead of stalling the suite.
 * Sanitizer builds run the same work several times slower: their meson test
 * setups set $TERN_TEST_TIME_SCALE, which stretches every deadline.  These
 * are limits for hangs, never oracles.
 */
double qtest_time_scale(void);

/* The monotonic time (us) @ms milliseconds from now, times the scale. */
gint64 qtest_deadline_ms(gint64 ms);

typedef struct QTestOptions {
    /* Don't send qmp_capabilities: the test negotiates (or doesn't). */
    bool no_negotiation;
    /* Connect tern's stdin/stdout to pipes (for "-monitor stdio"). */
    bool stdio_pipes;
    /*
     * Return before tern connects to QMP (a cpr-transfer destination has
     * no monitor until the source migrates); qtest_qmp_accept() waits.
     */
    bool defer_qmp;
} QTestOptions;

/*
 * Start tern with @extra_args (shell-style quoting), connected to a fresh
 * QMP socket, greeted and negotiated.  Fails the test on any error.
 */
QTestState *qtest_init(const char *extra_args);
QTestState *qtest_init_opts(const char *extra_args, const QTestOptions *opts);

/* defer_qmp: wait for tern's QMP connection now, greet and negotiate. */
void qtest_qmp_accept(QTestState *s);

/*
 * A further QMP client of @s's tern, on a unix socket it serves (its
 * "-qmp unix:PATH,server=on,wait=off"), greeted and negotiated unless
 * @negotiate is false.  qtest_quit() on it just disconnects.
 */
QTestState *qtest_qmp_connect(QTestState *s, const char *path, bool negotiate);

/*
 * Stop tern (SIGTERM, then SIGKILL after 10 s) unless it has exited, reap
 * it, remove the temporary directory and free @s.  Fails the test if tern
 * had crashed (died from a signal we did not send).  NULL-safe.
 */
void qtest_quit(QTestState *s);

/* Wait for tern to exit by itself: its exit status, or -SIGNAL; fails the
 * test after @timeout_ms. */
int qtest_wait_exit(QTestState *s, int timeout_ms);

/* Send @sig to tern; qtest_quit() then does not call its death a crash. */
void qtest_kill(QTestState *s, int sig);

pid_t qtest_pid(QTestState *s);
const char *qtest_tmpdir(QTestState *s);

/*
 * Can tern use kvm here?  Opens /dev/kvm, or $TERN_KVM_DEVICE as tern does
 * (point it at a missing file to see what a host without kvm does).  On
 * false, @why says why.
 */
bool qtest_kvm_usable(const char **why);

/* The greeting tern sent (borrowed). */
JsonNode *qtest_qmp_greeting(QTestState *s);

/*
 * Send a request built printf-style (the server accepts 'single quotes',
 * which keeps formats readable) and return the reply (transfer full).
 * Events arriving meanwhile are queued for qtest_qmp_eventwait().
 */
JsonNode *qtest_qmp(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Send without waiting; bytes go out exactly as formatted. */
void qtest_qmp_send(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void qtest_qmp_send_raw(QTestState *s, const void *data, size_t len);

/* Send with @fd attached (SCM_RIGHTS) and return the reply. */
JsonNode *qtest_qmp_fd(QTestState *s, int fd, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* The next reply (not an event), transfer full. */
JsonNode *qtest_qmp_receive(QTestState *s);

/*
 * Run a command that must succeed; returns its "return" value (transfer
 * full; may be ignored with json_node_unref via the _ref-less variant).
 */
JsonNode *qtest_qmp_assert_success_ref(QTestState *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/*
 * Run a command that must fail with error class @cls and a description
 * containing @desc (NULL: any).
 */
/* The output of HMP @line (human-monitor-command must succeed; transfer full). */
char *qtest_hmp(QTestState *s, const char *line);
void qtest_qmp_expect_error(QTestState *s, const char *cls, const char *desc,
                            const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/*
 * The next event called @name (queued or arriving within @timeout_ms), or
 * NULL on timeout.  Transfer full.  Other events stay queued.
 */
JsonNode *qtest_qmp_eventwait(QTestState *s, const char *name, int timeout_ms);

/* Drop every queued event. */
void qtest_qmp_clear_events(QTestState *s);

/* stdio pipes (QTestOptions.stdio_pipes): write to tern's stdin, read its
 * stdout until @marker appears (returns everything read; fails after the
 * QMP timeout). */
void qtest_stdin_write(QTestState *s, const char *text);
char *qtest_stdout_read_until(QTestState *s, const char *marker);

/* Helpers for replies: the "return" member / error class and desc. */
JsonNode *qtest_reply_return(JsonNode *reply);
const char *qtest_reply_error_class(JsonNode *reply);
const char *qtest_reply_error_desc(JsonNode *reply);

#endif
