/*
 * QAPI_CLONE(Type, obj): a deep copy of a generated QAPI object, made by a
 * round trip through its JSON visitors.  Not for hot paths; used for the
 * small address and parameter objects migration keeps.
 */
#ifndef QAPI_QAPI_CLONE_H
#define QAPI_QAPI_CLONE_H

#include <glib.h>
#include "qapi/qapi-visit.h"

#define QAPI_CLONE(Type, obj) ({                                        \
    JsonNode *clone_node_ = visit_##Type##_to_json(obj);                \
    Type *clone_copy_ = NULL;                                           \
    bool clone_ok_ = visit_##Type##_from_json(clone_node_, &clone_copy_, NULL); \
    g_assert(clone_ok_);    /* what we wrote we can read */             \
    json_node_unref(clone_node_);                                       \
    clone_copy_;                                                        \
})

#endif
