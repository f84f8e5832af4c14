/*
 * QEMU's run state machine for what tern does: the state, the transitions
 * QEMU allows between the states tern enters, and who is told of a change.
 * Moving the VM between running and stopped parks the vCPUs, so vm_start /
 * vm_stop live with them in cpus.c; shutdown requests are shutdown.c.
 */
#include "vm-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qapi/qapi-util.h"
#include "qemu/error.h"

/*
 * QEMU's transition table restricted to the states tern enters (prelaunch,
 * inmigrate, running, paused, finish-migrate, postmigrate, shutdown,
 * internal-error, guest-panicked, and io-error and watchdog, which only a
 * destination enters when the source was in them).  Transitions into
 * debug, restore-vm, save-vm, suspended and colo are left out on purpose:
 * tern has nothing that makes them, so asking for one is a bug (a
 * destination given one of them by the source stays paused instead).
 */
static const struct {
    RunState from, to;
} runstate_transitions[] = {
    { RUN_STATE_PRELAUNCH, RUN_STATE_INMIGRATE },
    { RUN_STATE_PRELAUNCH, RUN_STATE_RUNNING },
    { RUN_STATE_PRELAUNCH, RUN_STATE_FINISH_MIGRATE },

    { RUN_STATE_INMIGRATE, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_INMIGRATE, RUN_STATE_IO_ERROR },
    { RUN_STATE_INMIGRATE, RUN_STATE_WATCHDOG },
    { RUN_STATE_INMIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_INMIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_INMIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_INMIGRATE, RUN_STATE_GUEST_PANICKED },
    { RUN_STATE_INMIGRATE, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_INMIGRATE, RUN_STATE_PRELAUNCH },
    { RUN_STATE_INMIGRATE, RUN_STATE_POSTMIGRATE },

    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_PAUSED },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_PRELAUNCH },

    { RUN_STATE_IO_ERROR, RUN_STATE_RUNNING },
    { RUN_STATE_IO_ERROR, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_IO_ERROR, RUN_STATE_PRELAUNCH },

    { RUN_STATE_WATCHDOG, RUN_STATE_RUNNING },
    { RUN_STATE_WATCHDOG, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_WATCHDOG, RUN_STATE_PRELAUNCH },

    { RUN_STATE_PAUSED, RUN_STATE_RUNNING },
    { RUN_STATE_PAUSED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_PAUSED, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_PAUSED, RUN_STATE_PRELAUNCH },

    { RUN_STATE_POSTMIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_PRELAUNCH },

    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_PRELAUNCH },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_IO_ERROR },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_WATCHDOG },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_GUEST_PANICKED },

    { RUN_STATE_RUNNING, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_RUNNING, RUN_STATE_PAUSED },
    { RUN_STATE_RUNNING, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_RUNNING, RUN_STATE_SHUTDOWN },
    { RUN_STATE_RUNNING, RUN_STATE_GUEST_PANICKED },
    { RUN_STATE_RUNNING, RUN_STATE_SAVE_VM },
    { RUN_STATE_RUNNING, RUN_STATE_RESTORE_VM },

    /* savevm / loadvm of a running guest (migration/snapshot.c). */
    { RUN_STATE_SAVE_VM, RUN_STATE_RUNNING },
    { RUN_STATE_RESTORE_VM, RUN_STATE_RUNNING },
    { RUN_STATE_RESTORE_VM, RUN_STATE_PRELAUNCH },

    { RUN_STATE_SHUTDOWN, RUN_STATE_PAUSED },
    { RUN_STATE_SHUTDOWN, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_SHUTDOWN, RUN_STATE_PRELAUNCH },

    { RUN_STATE_GUEST_PANICKED, RUN_STATE_RUNNING },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_PRELAUNCH },
};

typedef struct VMStateNotifier {
    VMStateChangeFunc fn;
    void *opaque;
} VMStateNotifier;

const char *runstate_name(RunState state)
{
    return RunState_str(state);
}

const char *shutdown_cause_name(ShutdownCause cause)
{
    return ShutdownCause_str(cause);
}

int runstate_from_name(const char *name)
{
    return qapi_enum_parse(&RunState_lookup, name, -1, NULL);
}

RunState runstate_get(VM *vm)
{
    return vm->state;
}

bool runstate_check(VM *vm, RunState state)
{
    return vm->state == state;
}

bool runstate_is_running(VM *vm)
{
    return vm->state == RUN_STATE_RUNNING;
}

bool runstate_needs_reset(VM *vm)
{
    return vm->state == RUN_STATE_INTERNAL_ERROR ||
           vm->state == RUN_STATE_SHUTDOWN;
}

bool runstate_transition_valid(RunState from, RunState to)
{
    for (size_t i = 0; i < G_N_ELEMENTS(runstate_transitions); i++) {
        if (runstate_transitions[i].from == from &&
            runstate_transitions[i].to == to) {
            return true;
        }
    }
    return false;
}

void runstate_set(VM *vm, RunState state)
{
    g_assert(state >= 0 && state < RUN_STATE__MAX);
    if (vm->state == state) {
        return;
    }
    if (!runstate_transition_valid(vm->state, state)) {
        error_report("invalid runstate transition: '%s' -> '%s'",
                     runstate_name(vm->state), runstate_name(state));
        abort();
    }
    vm->state = state;
}

void vm_state_notify(VM *vm, bool running, RunState state)
{
    for (GList *l = vm->notifiers; l; l = l->next) {
        VMStateNotifier *n = l->data;
        n->fn(n->opaque, running, state);
    }
}

gpointer vm_state_notifier_add(VM *vm, VMStateChangeFunc fn, void *opaque)
{
    VMStateNotifier *n = g_new(VMStateNotifier, 1);

    n->fn = fn;
    n->opaque = opaque;
    vm->notifiers = g_list_append(vm->notifiers, n);
    return n;
}

void vm_state_notifier_remove(VM *vm, gpointer handle)
{
    vm->notifiers = g_list_remove(vm->notifiers, handle);
    g_free(handle);
}

void runstate_set_autostart(VM *vm, bool autostart)
{
    vm->autostart = autostart;
}

bool runstate_autostart(VM *vm)
{
    return vm->autostart;
}

void runstate_set_no_shutdown(VM *vm, bool no_shutdown)
{
    vm->no_shutdown = no_shutdown;
}

bool runstate_no_shutdown(VM *vm)
{
    return vm->no_shutdown;
}

void vm_set_name(VM *vm, const char *name)
{
    g_free(vm->name);
    vm->name = g_strdup(name);
}

const char *vm_get_name(VM *vm)
{
    return vm->name;
}

void vm_set_uuid(VM *vm, const guint8 uuid[16])
{
    memcpy(vm->uuid, uuid, sizeof(vm->uuid));
    vm->has_uuid = true;
}

const guint8 *vm_get_uuid(VM *vm)
{
    return vm->uuid;
}

bool vm_has_uuid(VM *vm)
{
    return vm->has_uuid;
}

char *vm_uuid_string(VM *vm)
{
    const guint8 *u = vm->uuid;

    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                           u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                           u[15]);
}

bool qemu_uuid_parse(const char *str, guint8 uuid[16], GError **errp)
{
    /* Dashes sit after hex digit 8, 12, 16 and 20 of the 32. */
    static const int dash_at[] = { 8, 13, 18, 23 };
    size_t d = 0;
    int nibble = 0;

    if (strlen(str) != 36) {
        goto bad;
    }
    for (int i = 0; i < 36; i++) {
        int v;

        if (d < G_N_ELEMENTS(dash_at) && i == dash_at[d]) {
            if (str[i] != '-') {
                goto bad;
            }
            d++;
            continue;
        }
        v = g_ascii_xdigit_value(str[i]);
        if (v < 0) {
            goto bad;
        }
        if (nibble % 2 == 0) {
            uuid[nibble / 2] = v << 4;
        } else {
            uuid[nibble / 2] |= v;
        }
        nibble++;
    }
    return true;

bad:
    error_setg(errp, "Fail to parse UUID string. Wrong format.");
    return false;
}
