/*
 * The channel layer's own structures, shared by channel.c (fd channels,
 * cancel tokens) and channel-tls.c (the TLS session a channel may carry).
 */
#ifndef MIGRATION_CHANNEL_INTERNAL_H
#define MIGRATION_CHANNEL_INTERNAL_H

#include "migration/channel.h"
#include "crypto/tls-session.h"

struct ChannelCancel {
    gint refcount;
    gint triggered;     /* atomic: 0, then 1 for good */
    int efd;            /* readable once triggered; never drained */
};

/* What a channel keeps for writes by reference (channel-zerocopy.c). */
typedef struct ChannelZeroCopy ChannelZeroCopy;

struct Channel {
    gint refcount;      /* the stream and its return path share a channel */
    int fd;
    bool pollable;      /* false: a regular file or block device */
    ChannelCancel *cancel;
    TlsSession *tls;    /* every read and write goes through it, or NULL */
    /* Bytes channel_peek read ahead, returned by the next reads. */
    uint8_t peeked[CHANNEL_PEEK_MAX];
    size_t npeeked;
    ChannelZeroCopy *zc;    /* NULL until a write by reference */
};

/* False with ECANCELED in @errp once @c is triggered. */
bool channel_cancel_check(ChannelCancel *c, GError **errp);

#endif
