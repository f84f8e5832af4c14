/*
 * The HMP line editor (readline.h).  It edits at the end of the line only:
 * typing, backspace, ^U to clear, up/down to walk the history.  Enter may be
 * "\r", "\n" or "\r\n".  Other control bytes and escape sequences are
 * swallowed.
 */
#include "readline.h"

#include <string.h>

typedef enum {
    RL_NORMAL,
    RL_ESC,             /* after ESC */
    RL_CSI,             /* after ESC [ (or ESC O), until the final byte */
} RLState;

struct ReadLineState {
    char *prompt;
    ReadLineOutput out;
    ReadLineDone done;
    void *opaque;

    GString *line;
    RLState state;
    bool last_was_cr;           /* swallow the \n of a \r\n */
    GPtrArray *history;         /* oldest first, owned strings */
    guint hist_pos;             /* == history->len: the line being typed */
    bool prompt_held;           /* readline_hold_prompt() */
};

ReadLineState *readline_new(const char *prompt, ReadLineOutput out,
                            ReadLineDone done, void *opaque)
{
    ReadLineState *rs = g_new0(ReadLineState, 1);

    rs->prompt = g_strdup(prompt);
    rs->out = out;
    rs->done = done;
    rs->opaque = opaque;
    rs->line = g_string_new(NULL);
    rs->history = g_ptr_array_new_with_free_func(g_free);
    return rs;
}

void readline_free(ReadLineState *rs)
{
    if (rs) {
        g_ptr_array_free(rs->history, TRUE);
        g_string_free(rs->line, TRUE);
        g_free(rs->prompt);
        g_free(rs);
    }
}

void readline_reset(ReadLineState *rs)
{
    g_string_truncate(rs->line, 0);
    rs->state = RL_NORMAL;
    rs->last_was_cr = false;
    rs->hist_pos = rs->history->len;
}

void readline_hold_prompt(ReadLineState *rs, bool hold)
{
    rs->prompt_held = hold;
}

void readline_show_prompt(ReadLineState *rs)
{
    rs->out(rs->opaque, rs->prompt);
    rs->out(rs->opaque, rs->line->str);
}

/* Replace the typed line with @text on screen and in the buffer. */
static void readline_replace(ReadLineState *rs, const char *text)
{
    g_string_assign(rs->line, text);
    rs->out(rs->opaque, "\r\033[K");
    readline_show_prompt(rs);
}

static void readline_history_move(ReadLineState *rs, int delta)
{
    guint len = rs->history->len;

    if ((delta < 0 && rs->hist_pos == 0) || (delta > 0 && rs->hist_pos >= len)) {
        return;
    }
    rs->hist_pos += delta;
    readline_replace(rs, rs->hist_pos < len
                     ? g_ptr_array_index(rs->history, rs->hist_pos) : "");
}

static void readline_enter(ReadLineState *rs)
{
    g_autofree char *line = g_strdup(rs->line->str);
    guint len = rs->history->len;

    rs->out(rs->opaque, "\r\n");
    if (*line && (!len || strcmp(g_ptr_array_index(rs->history, len - 1),
                                 line))) {
        if (len == READLINE_MAX_HISTORY) {
            g_ptr_array_remove_index(rs->history, 0);
        }
        g_ptr_array_add(rs->history, g_strdup(line));
    }
    readline_reset(rs);
    rs->done(rs->opaque, line);
    if (!rs->prompt_held) {
        readline_show_prompt(rs);
    }
}

static void readline_char(ReadLineState *rs, uint8_t c)
{
    switch (rs->state) {
    case RL_ESC:
        rs->state = (c == '[' || c == 'O') ? RL_CSI : RL_NORMAL;
        return;
    case RL_CSI:
        if (c >= 0x40 && c <= 0x7e) {       /* the final byte */
            rs->state = RL_NORMAL;
            if (c == 'A') {
                readline_history_move(rs, -1);
            } else if (c == 'B') {
                readline_history_move(rs, 1);
            }
        }
        return;
    case RL_NORMAL:
        break;
    }

    if (c == '\n' && rs->last_was_cr) {
        rs->last_was_cr = false;
        return;
    }
    switch (c) {
    case '\r': case '\n':
        readline_enter(rs);
        break;
    case 27:
        rs->state = RL_ESC;
        break;
    case 8: case 127:
        if (rs->line->len) {
            g_string_truncate(rs->line, rs->line->len - 1);
            rs->out(rs->opaque, "\b \b");
        }
        break;
    case 21:                                /* ^U */
        readline_replace(rs, "");
        break;
    default:
        if (c >= 32 && rs->line->len < READLINE_MAX_LINE) {
            char s[2] = { (char)c, 0 };

            g_string_append_c(rs->line, c);
            rs->out(rs->opaque, s);
        }
        break;
    }
    rs->last_was_cr = c == '\r';      /* after readline_enter()'s reset */
}

void readline_feed(ReadLineState *rs, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        readline_char(rs, buf[i]);
    }
}
