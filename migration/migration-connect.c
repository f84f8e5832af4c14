/*
 * The source's main channel (include/migration/migration.h): connected at
 * a migration's start (migration.c) and again at each postcopy resume
 * (postcopy-recover-source.c), so it sits below both.
 */
#include "migration/migration.h"
#include "migration/ram.h"
#include "transport.h"
#include "tls.h"

/*
 * Every wait of the stream, the connect included, ends when migrate_cancel
 * triggers s->cancel, so nothing here needs to know what the transport is.
 */
bool migration_connect(MigrationState *s, GError **errp)
{
    Channel *ch;

    ram_state_wait_mapped_restore(s->ram);     /* a file: may be the one mapped */
    ch = transport_connect(s->addr, s->cancel, errp);

    if (!ch) {
        return false;
    }
    if (s->tls_err || (s->tls && !migration_tls_wrap(s->tls, ch, errp))) {
        /* As QEMU: connected first, so the destination sees it fail too. */
        if (s->tls_err) {
            g_propagate_error(errp, g_error_copy(s->tls_err));
        }
        channel_close(ch, NULL);
        return false;
    }
    s->to_dst = qemu_file_new_channel(ch, true);
    return true;
}
