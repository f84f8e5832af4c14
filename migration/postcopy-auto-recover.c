/*
 * Postcopy auto-recover, the source's side (tern's own, parameter
 * x-postcopy-auto-recover; postcopy-recover.h): when the link of a
 * postcopy migration breaks, the source reconnects by itself to the
 * address it last used, after a wait that doubles at each failed attempt,
 * as many times as the parameter says.  Each attempt is the manual
 * resume's path (postcopy-recover-setup, postcopy-recover); only who
 * starts it differs.  The destination's side, listening again, is in
 * postcopy-recover-dest.c.
 *
 * Threads: the migration thread waits here in postcopy-paused, on s->cond
 * with a deadline, and starts an attempt itself; migrate resume (BQL) and
 * migrate-pause (out of band) change the same state under s->lock, so
 * whichever comes first wins: a resume moves the state away from
 * postcopy-paused, a pause stops the waiting.
 */
#include "postcopy-recover.h"
#include "migration/channel.h"
#include "migration-states.h"
#include "qapi/qapi-events.h"
#include "qemu/error.h"

/* The wait stops doubling here (or at the first wait, if longer). */
#define AUTO_RECOVER_DELAY_CAP_MS 10000
/* An attempt's handshake that gets no answer this long fails (ms). */
#define AUTO_RECOVER_HANDSHAKE_MS 10000

uint64_t postcopy_auto_recover_delay(uint64_t first_ms, uint32_t attempt)
{
    uint64_t cap = MAX(first_ms, AUTO_RECOVER_DELAY_CAP_MS);
    uint64_t delay = first_ms;

    for (uint32_t i = 1; i < attempt && delay < cap; i++) {
        delay *= 2;
    }
    return MIN(delay, cap);
}

/* Can @addr be connected to again?  An fd was used up by the first connection. */
static bool auto_recover_reconnectable(const MigrationAddress *addr)
{
    return addr && addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
           addr->u.socket.type != SOCKET_ADDRESS_TYPE_FD;
}

static uint32_t auto_recover_max(MigrationState *s)
{
    return migrate_params(s->run_opts)->x_postcopy_auto_recover;
}

/* Under s->lock: the status changed; tell the user (events capability). */
static void auto_recover_event(MigrationState *s, const char *error)
{
    PostcopyAutoRecover *a = &s->auto_recover;
    bool waiting = a->status == X_POSTCOPY_AUTO_RECOVER_STATUS_WAITING;

    if (!migrate_cap(s->opts, MIGRATION_CAPABILITY_EVENTS)) {
        return;
    }
    qapi_event_send_migration_auto_recover(a->status, a->attempts + (waiting ? 1 : 0),
                                           waiting, a->delay, error);
}

/* Under s->lock: no more attempts for this break; error-desc says why. */
static void auto_recover_give_up(MigrationState *s, const char *why)
{
    PostcopyAutoRecover *a = &s->auto_recover;

    a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_GAVE_UP;
    g_free(s->error_desc);
    s->error_desc = g_strdup_printf("postcopy auto-recover gave up after %u attempt%s: %s",
                                    a->attempts, a->attempts == 1 ? "" : "s", why);
    error_report("%s; the source stays in postcopy-paused (migrate with resume to retry)",
                 s->error_desc);
    auto_recover_event(s, s->error_desc);
}

/*
 * Under s->lock, just paused after @why: schedule the next attempt, or say
 * why there is none.  @cancel_ok: the attempt's cancel token could be made.
 */
static void auto_recover_arm(MigrationState *s, const char *why, bool cancel_ok)
{
    PostcopyAutoRecover *a = &s->auto_recover;
    const MigrationParameters *p = migrate_params(s->run_opts);

    if (a->user_paused) {
        a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_STOPPED;
        auto_recover_event(s, NULL);
    } else if (!auto_recover_reconnectable(s->addr)) {
        auto_recover_give_up(s, "an fd: address cannot be connected to again");
    } else if (!cancel_ok) {
        auto_recover_give_up(s, "no cancel token for the attempt");
    } else if (a->attempts >= p->x_postcopy_auto_recover) {
        auto_recover_give_up(s, why);
    } else {
        a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_WAITING;
        a->delay = postcopy_auto_recover_delay(p->x_postcopy_auto_recover_delay,
                                               a->attempts + 1);
        a->due = g_get_monotonic_time() + (int64_t)a->delay * 1000;
        auto_recover_event(s, why);
    }
}

void postcopy_auto_recover_source_wait(MigrationState *s, const char *why)
{
    PostcopyAutoRecover *a = &s->auto_recover;
    ChannelCancel *cancel = auto_recover_max(s) ? channel_cancel_new(NULL) : NULL;

    qemu_mutex_lock(&s->lock);
    if (auto_recover_max(s)) {
        auto_recover_arm(s, why, cancel != NULL);
    }
    while (migration_status(s) == MIGRATION_STATUS_POSTCOPY_PAUSED) {
        int64_t now = g_get_monotonic_time();

        if (a->status != X_POSTCOPY_AUTO_RECOVER_STATUS_WAITING) {
            qemu_cond_wait(&s->cond, &s->lock);
        } else if (a->user_paused) {
            a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_STOPPED;
            auto_recover_event(s, NULL);
        } else if (now < a->due) {
            qemu_cond_timedwait(&s->cond, &s->lock, (a->due - now + 999) / 1000);
        } else {
            a->attempts++;
            a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_CONNECTING;
            migration_enter_recover_setup(s, g_steal_pointer(&cancel), NULL);
        }
    }
    qemu_mutex_unlock(&s->lock);
    channel_cancel_unref(cancel);
}

int64_t postcopy_auto_recover_handshake_deadline(MigrationState *s)
{
    int64_t deadline = 0;

    qemu_mutex_lock(&s->lock);
    if (s->auto_recover.status == X_POSTCOPY_AUTO_RECOVER_STATUS_CONNECTING) {
        deadline = g_get_monotonic_time() + AUTO_RECOVER_HANDSHAKE_MS * 1000;
    }
    qemu_mutex_unlock(&s->lock);
    return deadline;
}

void postcopy_auto_recover_source_healed(MigrationState *s)
{
    PostcopyAutoRecover *a = &s->auto_recover;

    qemu_mutex_lock(&s->lock);
    if (a->status == X_POSTCOPY_AUTO_RECOVER_STATUS_CONNECTING) {
        a->recoveries++;
        a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_IDLE;
        auto_recover_event(s, NULL);
    }
    a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_IDLE;
    a->attempts = 0;
    qemu_mutex_unlock(&s->lock);
}

void postcopy_auto_recover_source_resumed(MigrationState *s)
{
    PostcopyAutoRecover *a = &s->auto_recover;

    a->user_paused = false;
    a->status = X_POSTCOPY_AUTO_RECOVER_STATUS_IDLE;
    a->attempts = 0;
}

bool postcopy_auto_recover_source_may_pause(MigrationState *s, MigrationStatus st)
{
    XPostcopyAutoRecoverStatus as = s->auto_recover.status;

    return (st == MIGRATION_STATUS_POSTCOPY_PAUSED &&
            as == X_POSTCOPY_AUTO_RECOVER_STATUS_WAITING) ||
           (st == MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP &&
            as == X_POSTCOPY_AUTO_RECOVER_STATUS_CONNECTING);
}

XPostcopyAutoRecoverInfo *postcopy_auto_recover_info(MigrationState *s, MigrationStatus st)
{
    PostcopyAutoRecover *a = &s->auto_recover;
    XPostcopyAutoRecoverInfo *info;

    if (!auto_recover_max(s) || !g_atomic_int_get(&s->start_postcopy) ||
        !(postcopy_recover_in_postcopy(st) || st == MIGRATION_STATUS_COMPLETED)) {
        return NULL;
    }
    info = g_new0(XPostcopyAutoRecoverInfo, 1);
    qemu_mutex_lock(&s->lock);
    info->status = a->status;
    info->attempts = a->attempts;
    info->recoveries = a->recoveries;
    info->has_delay = a->status == X_POSTCOPY_AUTO_RECOVER_STATUS_WAITING;
    info->delay = a->delay;
    qemu_mutex_unlock(&s->lock);
    return info;
}
