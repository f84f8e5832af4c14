/* Test double for include/chardev/char.h; see chardev-stub.c. */
#ifndef TESTS_UNIT_CHARDEV_STUB_H
#define TESTS_UNIT_CHARDEV_STUB_H

#include <glib.h>
#include <stdbool.h>

#include "chardev/char.h"

Chardev *stub_chr_new(void);
void stub_chr_free(Chardev *chr);
GString *stub_chr_written(Chardev *chr);
void stub_chr_input(Chardev *chr, const char *data);
bool stub_chr_has_frontend(Chardev *chr);

#endif
