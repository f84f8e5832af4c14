/*
 * The stdio chardev: reads the process's stdin, writes its stdout.  On a
 * terminal, a line-editing frontend (HMP) can switch off the terminal's own
 * echo and line buffering; the original settings come back at exit.
 */
#include "char-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#define STDIO_WRITE_TIMEOUT_MS 10000

typedef struct StdioChardev {
    Chardev parent;
    bool eof;               /* stdin closed; protected by parent.lock */
    GSource *in_src;
} StdioChardev;

/*
 * The terminal settings found at start-up.  Process-wide because the
 * terminal is; only one stdio chardev may exist.
 */
static struct termios stdio_saved_tty;
static bool stdio_tty_saved;

static const char *const stdio_opt_keys[] = {
    CHARDEV_COMMON_KEYS, "signal", NULL
};

static void stdio_restore_tty(void)
{
    if (stdio_tty_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_saved_tty);
    }
}

static gboolean stdio_in_ready(int fd, GIOCondition cond, gpointer opaque)
{
    StdioChardev *s = opaque;
    uint8_t buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        qemu_mutex_lock(&s->parent.lock);
        s->eof = true;
        qemu_chr_drop_source(&s->in_src);
        qemu_mutex_unlock(&s->parent.lock);
        qemu_chr_be_event(&s->parent, false);
        return G_SOURCE_CONTINUE;
    }
    qemu_chr_be_read(&s->parent, buf, n);
    return G_SOURCE_CONTINUE;
}

static void stdio_update_sources(Chardev *chr, bool enabled)
{
    StdioChardev *s = (StdioChardev *)chr;

    if (enabled && !s->eof && qemu_chr_wants_input(chr)) {
        if (!s->in_src) {
            qemu_chr_replace_fd_source(chr, &s->in_src, STDIN_FILENO,
                                       G_IO_IN | G_IO_HUP | G_IO_ERR,
                                       stdio_in_ready, s);
        }
    } else {
        qemu_chr_drop_source(&s->in_src);
    }
}

static ssize_t stdio_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    return qemu_chr_write_fd_all(STDOUT_FILENO, buf, len, false,
                                 STDIO_WRITE_TIMEOUT_MS) ? (ssize_t)len : -1;
}

static bool stdio_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    if (qemu_chr_class_in_use(&chardev_stdio_class)) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    /* A closed stdout must give EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    chr->connected = true;
    return true;
}

static void stdio_set_echo(Chardev *chr, bool echo)
{
    struct termios tty;

    if (!isatty(STDIN_FILENO)) {
        return;
    }
    if (!stdio_tty_saved) {
        if (tcgetattr(STDIN_FILENO, &stdio_saved_tty) < 0) {
            return;
        }
        stdio_tty_saved = true;
        atexit(stdio_restore_tty);
    }
    tty = stdio_saved_tty;
    if (!echo) {
        tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
        tty.c_cc[VMIN] = 1;
        tty.c_cc[VTIME] = 0;
    }
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

static void stdio_close(Chardev *chr)
{
    stdio_restore_tty();
}

const ChardevClass chardev_stdio_class = {
    .name = "stdio",
    .instance_size = sizeof(StdioChardev),
    .opt_keys = stdio_opt_keys,
    .open = stdio_open,
    .write = stdio_write,
    .update_sources = stdio_update_sources,
    .set_echo = stdio_set_echo,
    .close = stdio_close,
};
