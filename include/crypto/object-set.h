/*
 * The objects -object and object-add create (TLS credentials, authz), by
 * id.  One set per process (TernContext.objects), touched under the BQL
 * only: QMP in the main loop, the migration threads for a lookup.  A
 * lookup returns a new reference, so a removed object lives until its
 * last user lets it go.
 */
#ifndef CRYPTO_OBJECT_SET_H
#define CRYPTO_OBJECT_SET_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/qapi-types.h"
#include "crypto/authz.h"
#include "crypto/tls-creds.h"

typedef struct ObjectSet ObjectSet;

ObjectSet *object_set_new(void);
void object_set_free(ObjectSet *set);               /* NULL-safe */

/* Create @opts->id; a duplicate id or a bad property fails. */
bool object_set_add(ObjectSet *set, const ObjectOptions *opts, GError **errp);
bool object_set_del(ObjectSet *set, const char *id, GError **errp);

/* A reference to the credentials @id, or QEMU's error. */
TlsCreds *object_set_tls_creds(ObjectSet *set, const char *id, GError **errp);
/* A reference to the authz object @id, or QEMU's error. */
Authz *object_set_authz(ObjectSet *set, const char *id, GError **errp);

/* qom-list /objects: one "child<TYPE>" entry per object, by id. */
ObjectPropertyInfoList *object_set_list(ObjectSet *set);

/*
 * -object's key=value form (already split into @kv, with "qom-type") as
 * ObjectOptions: the bool properties take on/off/yes/no/true/false.
 * NULL with QEMU's message for a bad value or an unknown type.
 */
ObjectOptions *object_options_from_keyval(GHashTable *kv, GError **errp);

#endif
