/*
 * QEMUFile: the buffered byte stream a migration is written to and read
 * from, over any channel (socket, pipe, file) or a memory buffer.
 *
 * Errors are sticky: once a read or write fails, later calls do nothing
 * (reads return zeros) and the first error is kept; callers check at section
 * boundaries with qemu_file_get_error().  A QEMUFile is used by one thread;
 * only qemu_file_shutdown() may be called from another (to cancel).
 */
#ifndef MIGRATION_QEMU_FILE_H
#define MIGRATION_QEMU_FILE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct QEMUFile QEMUFile;
typedef struct Channel Channel;

/* A channel under a QEMUFile.  All hooks run on the QEMUFile's thread except shutdown. */
typedef struct QEMUFileOps {
    /* Write all of @iov; false with @errp set on failure. */
    bool (*writev)(void *opaque, const struct iovec *iov, int iovcnt, GError **errp);
    /* Read up to @len bytes; 0 at end of stream, -1 with @errp set on failure. */
    ssize_t (*read)(void *opaque, void *buf, size_t len, GError **errp);
    /* Make blocked and future reads/writes fail.  Any thread.  May be NULL. */
    void (*shutdown)(void *opaque);
    /* Release the channel.  May be NULL. */
    bool (*close)(void *opaque, GError **errp);
} QEMUFileOps;

/* A QEMUFile over @ops; @writable chooses the direction. */
QEMUFile *qemu_file_new(const QEMUFileOps *ops, void *opaque, bool writable);

/* Was @f opened for writing? */
bool qemu_file_is_writable(QEMUFile *f);

/* The channel under @f, for backends. */
void *qemu_file_channel(QEMUFile *f);
const QEMUFileOps *qemu_file_channel_ops(QEMUFile *f);

/* Over a migration channel (include/migration/channel.h); takes ownership of @ch. */
QEMUFile *qemu_file_new_channel(Channel *ch, bool writable);
/*
 * The other direction of @f's channel (the return path), over the same
 * connection; NULL with @errp set when @f's channel is not a socket.
 * Each file is closed on its own; the connection closes with the last.
 */
QEMUFile *qemu_file_get_return_path(QEMUFile *f, GError **errp);
/*
 * Over a new channel on @fd (socket, pipe, regular file) with its own cancel
 * token; takes ownership of @fd, closed on failure.
 */
QEMUFile *qemu_file_new_fd(int fd, bool writable, GError **errp);

/* An output QEMUFile collecting bytes in memory (for tests and postcopy packages). */
QEMUFile *qemu_file_new_output_buffer(void);
/* The bytes written so far to an output buffer file (flushes first). */
GBytes *qemu_file_output_buffer_bytes(QEMUFile *f);
/* An input QEMUFile reading a copy of @data. */
QEMUFile *qemu_file_new_input_buffer(const void *data, size_t len);
/*
 * An input QEMUFile reading @data in place, no copy: the caller keeps
 * @data alive until qemu_fclose().  A read past @len stays a read past
 * the caller's allocation, where AddressSanitizer sees it.
 */
QEMUFile *qemu_file_new_input_borrowed(const void *data, size_t len);

/* Flush (when writable), close the channel and free @f.  False if any error occurred. */
bool qemu_fclose(QEMUFile *f, GError **errp);

/* ---- writing ---- */
void qemu_put_byte(QEMUFile *f, uint8_t v);
void qemu_put_be16(QEMUFile *f, uint16_t v);
void qemu_put_be32(QEMUFile *f, uint32_t v);
void qemu_put_be64(QEMUFile *f, uint64_t v);
void qemu_put_buffer(QEMUFile *f, const void *buf, size_t len);
/*
 * Queue @buf without copying it (guest pages go out straight from guest
 * memory).  @buf must stay mapped until the next qemu_fflush(); its bytes are
 * read when the flush happens.
 */
void qemu_put_buffer_async(QEMUFile *f, const void *buf, size_t len);
void qemu_fflush(QEMUFile *f);

/* Bytes handed to the channel plus bytes queued (write side). */
uint64_t qemu_file_transferred(QEMUFile *f);

/* @len bytes went to the channel beside @f (positioned writes): count them as transferred. */
void qemu_file_account(QEMUFile *f, uint64_t len);

/* ---- reading ---- */
/* Bytes read from the channel that are still buffered in @f. */
size_t qemu_file_unread(QEMUFile *f);
/*
 * Seekable channels: the caller moved the channel to stream offset
 * @stream_pos; drop what is buffered and go on from there.
 */
void qemu_file_jump(QEMUFile *f, uint64_t stream_pos);
uint8_t qemu_get_byte(QEMUFile *f);
uint16_t qemu_get_be16(QEMUFile *f);
uint32_t qemu_get_be32(QEMUFile *f);
uint64_t qemu_get_be64(QEMUFile *f);
/* Read exactly @len bytes; returns the count read (< @len only on error). */
size_t qemu_get_buffer(QEMUFile *f, void *buf, size_t len);
/* The byte @offset bytes ahead without consuming it, or -1 at end of stream. */
int qemu_peek_byte(QEMUFile *f, size_t offset);
/* Stream offset of the next byte to read (for error messages). */
uint64_t qemu_file_tell(QEMUFile *f);

/* ---- errors ---- */
/* 0, or the negative errno of the first error. */
int qemu_file_get_error(QEMUFile *f);
/* Copy the first error into @errp; true if there was none. */
bool qemu_file_check_error(QEMUFile *f, GError **errp);
/* Record an error unless one is already recorded (takes ownership of @err). */
void qemu_file_set_error(QEMUFile *f, int errnum, GError *err);
/* Fail every later operation; any thread (used by migrate_cancel). */
void qemu_file_shutdown(QEMUFile *f);

#endif
