/*
 * The channel layer's own structures, shared by channel.c (fd channels,
 * cancel tokens) and the layers a channel may carry between its bytes and
 * its fd (channel-tls.c), which channel.c reaches only through
 * ChannelLayerOps.
 */
#ifndef MIGRATION_CHANNEL_INTERNAL_H
#define MIGRATION_CHANNEL_INTERNAL_H

#include <stdint.h>
#include <sys/uio.h>

#include "migration/channel.h"

struct ChannelCancel {
    gint refcount;
    gint triggered;     /* atomic: 0, then 1 for good */
    int efd;            /* readable once triggered; never drained */
};

/* What a channel keeps for writes by reference (channel-zerocopy.c). */
typedef struct ChannelZeroCopy ChannelZeroCopy;

/* A layer's forms of channel_read, channel_writev_all, and its teardown. */
typedef struct ChannelLayerOps {
    ssize_t (*read)(Channel *ch, void *buf, size_t len, GError **errp);
    bool (*writev_all)(Channel *ch, const struct iovec *iov, int iovcnt,
                       GError **errp);
    void (*detach)(Channel *ch);    /* at the last close */
} ChannelLayerOps;

struct Channel {
    gint refcount;      /* the stream and its return path share a channel */
    int fd;
    bool pollable;      /* false: a regular file or block device */
    ChannelCancel *cancel;
    /* Every read and write goes through the layer, if there is one. */
    const ChannelLayerOps *layer_ops;
    void *layer;        /* the layer's state: a TlsSession */
    /* Bytes channel_peek read ahead, returned by the next reads. */
    uint8_t peeked[CHANNEL_PEEK_MAX];
    size_t npeeked;
    ChannelZeroCopy *zc;    /* NULL until a write by reference */
    void (*zc_free)(ChannelZeroCopy *zc);  /* set with @zc, run at the last close */
};

/* False with ECANCELED in @errp once @c is triggered. */
bool channel_cancel_check(ChannelCancel *c, GError **errp);

#endif
