/*
 * The snapshot commands as QEMU's jobs (qapi/job.json, qapi/snapshot.json).
 *
 * A QMP snapshot command checks only its job id, creates the job (event
 * created) and returns; the main loop then runs it (running), which does
 * the whole save, load or delete there, BQL held, as QEMU's snapshot jobs
 * hold the monitor; then waiting, pending, concluded, or aborting and
 * concluded with the error in query-jobs.  Jobs are auto-finalized and
 * dismissed by job-dismiss only.
 */
#include "snapshot.h"
#include "qapi/qapi-clone.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "qemu/error.h"
#include "qemu/main-loop.h"
#include "sysemu/context.h"


typedef struct SnapshotJob {
    char *id;
    JobType type;
    JobStatus status;
    int64_t progress;               /* 0, then 1 once the work is done */
    char *error;                    /* set when it failed */
    char *tag;
    char *vmstate;                  /* NULL for snapshot-delete */
    strList *devices;
    MigrationObjects *o;            /* the process's, outlives the job */
} SnapshotJob;

static void snapshot_job_free(gpointer opaque)
{
    SnapshotJob *job = opaque;

    g_free(job->id);
    g_free(job->error);
    g_free(job->tag);
    g_free(job->vmstate);
    qapi_free_strList(job->devices);
    g_free(job);
}

static void snapshot_job_set(SnapshotJob *job, JobStatus status)
{
    job->status = status;
    qapi_event_send_job_status_change(job->id, status);
}

static Snapshots *snapshot_jobs(TernContext *ctx, GError **errp)
{
    if (!ctx || !ctx->migration || !ctx->migration->snapshots) {
        error_setg(errp, "Migration is not initialized");
        return NULL;
    }
    return ctx->migration->snapshots;
}

static SnapshotJob *snapshot_job_find(Snapshots *s, const char *id)
{
    for (guint i = 0; i < s->jobs->len; i++) {
        SnapshotJob *job = g_ptr_array_index(s->jobs, i);

        if (g_str_equal(job->id, id)) {
            return job;
        }
    }
    return NULL;
}

/* The store is the only vmstate node, and there are no disks. */
static bool snapshot_job_check_nodes(const SnapshotJob *job, GError **errp)
{
    if (job->vmstate && !g_str_equal(job->vmstate, SNAPSHOT_STORE_NODE)) {
        error_setg(errp, "No block device node '%s'", job->vmstate);
        return false;
    }
    if (job->devices) {
        error_setg(errp, "No block device node '%s'", job->devices->value);
        return false;
    }
    return true;
}

/* Main loop: the job's work, then its last states. */
static gboolean snapshot_job_run(gpointer opaque)
{
    SnapshotJob *job = opaque;
    GError *err = NULL;
    bool ok;

    snapshot_job_set(job, JOB_STATUS_RUNNING);
    ok = snapshot_job_check_nodes(job, &err);
    if (ok) {
        switch (job->type) {
        case JOB_TYPE_SNAPSHOT_SAVE:
            ok = snapshots_save(job->o, job->tag, false, &err);
            break;
        case JOB_TYPE_SNAPSHOT_LOAD:
            ok = snapshots_load(job->o, job->tag, &err);
            break;
        default:
            ok = snapshots_delete(job->o, job->tag, &err);
            break;
        }
    }
    job->progress = 1;
    if (ok) {
        snapshot_job_set(job, JOB_STATUS_WAITING);
        snapshot_job_set(job, JOB_STATUS_PENDING);
    } else {
        job->error = g_strdup(err->message);
        g_error_free(err);
        snapshot_job_set(job, JOB_STATUS_ABORTING);
    }
    snapshot_job_set(job, JOB_STATUS_CONCLUDED);
    return G_SOURCE_REMOVE;
}

static bool snapshot_job_start(TernContext *ctx, JobType type, const char *id,
                               const char *tag, const char *vmstate, strList *devices,
                               GError **errp)
{
    Snapshots *s = snapshot_jobs(ctx, errp);
    SnapshotJob *job;

    if (!s) {
        return false;
    }
    if (snapshot_job_find(s, id)) {
        error_setg(errp, "Job ID '%s' already in use", id);
        return false;
    }
    job = g_new0(SnapshotJob, 1);
    job->id = g_strdup(id);
    job->type = type;
    job->tag = g_strdup(tag);
    job->vmstate = g_strdup(vmstate);
    job->devices = QAPI_CLONE(strList, devices);
    job->o = ctx->migration;
    /* The array frees what it holds: a dismissed job, and all of them with @s. */
    g_ptr_array_set_free_func(s->jobs, snapshot_job_free);
    g_ptr_array_add(s->jobs, job);
    snapshot_job_set(job, JOB_STATUS_CREATED);
    main_loop_schedule(snapshot_job_run, job);
    return true;
}

bool qmp_snapshot_save(TernContext *ctx, const char *job_id, const char *tag,
                       const char *vmstate, strList *devices, GError **errp)
{
    return snapshot_job_start(ctx, JOB_TYPE_SNAPSHOT_SAVE, job_id, tag, vmstate, devices,
                              errp);
}

bool qmp_snapshot_load(TernContext *ctx, const char *job_id, const char *tag,
                       const char *vmstate, strList *devices, GError **errp)
{
    return snapshot_job_start(ctx, JOB_TYPE_SNAPSHOT_LOAD, job_id, tag, vmstate, devices,
                              errp);
}

bool qmp_snapshot_delete(TernContext *ctx, const char *job_id, const char *tag,
                         strList *devices, GError **errp)
{
    return snapshot_job_start(ctx, JOB_TYPE_SNAPSHOT_DELETE, job_id, tag, NULL, devices,
                              errp);
}

JobInfoList *qmp_query_jobs(TernContext *ctx, GError **errp)
{
    Snapshots *s = snapshot_jobs(ctx, errp);
    JobInfoList *head = NULL, **tail = &head;

    if (!s) {
        return NULL;
    }
    for (guint i = 0; i < s->jobs->len; i++) {
        SnapshotJob *job = g_ptr_array_index(s->jobs, i);
        JobInfo *info = g_new0(JobInfo, 1);

        info->id = g_strdup(job->id);
        info->type = job->type;
        info->status = job->status;
        info->current_progress = job->progress;
        info->total_progress = 1;
        info->error = g_strdup(job->error);
        *tail = g_new0(JobInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}

bool qmp_job_dismiss(TernContext *ctx, const char *id, GError **errp)
{
    Snapshots *s = snapshot_jobs(ctx, errp);
    SnapshotJob *job = s ? snapshot_job_find(s, id) : NULL;

    if (!s) {
        return false;
    }
    if (!job) {
        error_setg(errp, "Job not found");
        return false;
    }
    if (job->status != JOB_STATUS_CONCLUDED) {
        error_setg(errp, "Job '%s' in state '%s' cannot accept command verb 'dismiss'",
                   id, JobStatus_str(job->status));
        return false;
    }
    snapshot_job_set(job, JOB_STATUS_NULL);
    g_ptr_array_remove(s->jobs, job);
    return true;
}
