/*
 * The HMP line editor: echo, backspace, and history on the up/down arrows.
 * Bytes go in as they arrive; finished lines come out through a callback.
 */
#ifndef MONITOR_READLINE_H
#define MONITOR_READLINE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READLINE_MAX_LINE    4095   /* longer input is cut, as in QEMU */
#define READLINE_MAX_HISTORY 64

/* Raw output (already "\r\n"); a finished line without its newline. */
typedef void (*ReadLineOutput)(void *opaque, const char *str);
typedef void (*ReadLineDone)(void *opaque, const char *line);

typedef struct ReadLineState ReadLineState;

ReadLineState *readline_new(const char *prompt, ReadLineOutput out,
                            ReadLineDone done, void *opaque);
void readline_free(ReadLineState *rs);

/* Feed input; may call @done (which may print) once per finished line. */
void readline_feed(ReadLineState *rs, const uint8_t *buf, size_t len);

/* Print the prompt and the line typed so far. */
void readline_show_prompt(ReadLineState *rs);

/*
 * While @hold is true, a finished line prints no new prompt (the monitor is
 * suspended); whoever resumes it calls readline_show_prompt().
 */
void readline_hold_prompt(ReadLineState *rs, bool hold);

/* Drop a half-typed line and escape sequence (the client left). */
void readline_reset(ReadLineState *rs);

#endif
