/*
 * qemu/job-slot.h: jobs run on the worker, one at a time, and waiting
 * returns only once the job is done.
 */
#include "qemu/job-slot.h"

typedef struct Job {
    JobSlot slot;
    QemuMutex gate_lock;
    QemuCond gate_cond;
    bool gate_open;             /* the job may finish */
    int runs;                   /* the worker's while queued */
    GThread *ran_on;
} Job;

static void job_run(void *opaque)
{
    Job *j = opaque;

    qemu_mutex_lock(&j->gate_lock);
    while (!j->gate_open) {
        qemu_cond_wait(&j->gate_cond, &j->gate_lock);
    }
    qemu_mutex_unlock(&j->gate_lock);
    j->runs++;
    j->ran_on = g_thread_self();
}

static void job_open_gate(Job *j)
{
    qemu_mutex_lock(&j->gate_lock);
    j->gate_open = true;
    qemu_cond_broadcast(&j->gate_cond);
    qemu_mutex_unlock(&j->gate_lock);
}

static void job_init(Job *j)
{
    *j = (Job) { 0 };
    qemu_mutex_init(&j->gate_lock);
    qemu_cond_init(&j->gate_cond);
    job_slot_init(&j->slot);
    job_slot_start(&j->slot, "test/job", job_run, j);
}

static void job_free(Job *j)
{
    job_slot_destroy(&j->slot);
    qemu_mutex_destroy(&j->gate_lock);
    qemu_cond_destroy(&j->gate_cond);
}

/* Busy until the job is done, on the worker; the result is there after wait. */
static void test_queue_wait(void)
{
    Job j;

    job_init(&j);
    g_assert_false(job_slot_busy(&j.slot));
    job_slot_queue(&j.slot);
    g_assert_true(job_slot_busy(&j.slot));      /* held at the gate */
    job_open_gate(&j);
    job_slot_wait(&j.slot);
    g_assert_false(job_slot_busy(&j.slot));
    g_assert_cmpint(j.runs, ==, 1);
    g_assert_true(j.ran_on != g_thread_self());
    for (int i = 0; i < 100; i++) {
        job_slot_queue(&j.slot);
        job_slot_wait(&j.slot);
    }
    g_assert_cmpint(j.runs, ==, 101);
    job_free(&j);
}

/* Destroying with a job running lets it finish; an idle slot stops at once. */
static void test_destroy(void)
{
    Job j;
    JobSlot never_started;

    job_init(&j);
    job_slot_queue(&j.slot);
    job_open_gate(&j);
    job_free(&j);
    g_assert_cmpint(j.runs, <=, 1);

    job_slot_init(&never_started);
    job_slot_destroy(&never_started);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/job-slot/queue-wait", test_queue_wait);
    g_test_add_func("/job-slot/destroy", test_destroy);
    return g_test_run();
}
