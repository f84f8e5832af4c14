/*
 * Where generated qapi_event_send_*() functions deliver events.  The QMP
 * server installs an emitter that adds the timestamp and fans the event out
 * to every negotiated monitor; tests install their own.
 */
#ifndef QAPI_QMP_EVENT_H
#define QAPI_QMP_EVENT_H

#include <json-glib/json-glib.h>

/*
 * @event: the event name, e.g. "MIGRATION".
 * @data: the event's "data" object (transfer full), or NULL when the event
 * has no data.  May be called from any thread.
 */
typedef void (*QapiEventEmitter)(const char *event, JsonObject *data,
                                 void *opaque);

/* Install the emitter; set once at start-up (tests may swap it). */
void qapi_event_set_emitter(QapiEventEmitter emit, void *opaque);

/* Deliver an event; used by generated code.  Drops it if no emitter is set. */
void qapi_event_emit(const char *event, JsonObject *data);

#endif
