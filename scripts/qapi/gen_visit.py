"""Generates <prefix>qapi-visit.[ch]: conversion of every schema type between
its C form and a json-glib JsonNode, strict like QEMU's input visitor."""

from .common import c_name, c_string
from .schema import (TypeOutputGenerator, AlternateType, ArrayType, BuiltinType, EnumType,
                     ObjectType)


def in_call(typ, node, path, lvalue):
    """C expression reading @node into @lvalue (bool, sets errp)."""
    fn = ('qapi_in_%s' % typ.name if isinstance(typ, BuiltinType)
          else 'visit_%s_in' % typ.c_name())
    return '%s(%s, %s, &%s, errp)' % (fn, node, path, lvalue)


def out_expr(typ, value):
    """C expression giving a new JsonNode for @value."""
    if isinstance(typ, BuiltinType):
        return 'qapi_out_%s(%s)' % (typ.name, value)
    return 'visit_%s_to_json(%s)' % (typ.c_name(), value)


def _indent(text, level=1):
    pad = '    ' * level
    return ''.join(pad + line if line.strip() else line
                   for line in text.splitlines(True))


class VisitGenerator(TypeOutputGenerator):
    def _types(self):
        if self.builtins:
            return []
        return [t for t in self.schema.types.values()
                if isinstance(t, (ObjectType, AlternateType, EnumType))]

    # ---- header

    def header(self, types_header):
        guard = ('QAPI_BUILTIN_VISIT_H' if self.builtins else
                 c_name(self.prefix + 'qapi-visit').upper() + '_H')
        h = ['#ifndef %s\n#define %s\n\n' % (guard, guard)]
        h.append('#include "qapi/qapi-json-visit.h"\n')
        if not self.builtins:
            h.append('#include "qapi/qapi-builtin-visit.h"\n')
        h.append('#include "%s"\n\n' % types_header)
        for t in self._types():
            h.append(self._decl(t))
        for lst in self.lists():
            h.append(self._decl(lst))
        h.append('#endif\n')
        return ''.join(h)

    @staticmethod
    def _decl(t):
        n = t.c_name()
        if isinstance(t, EnumType):
            return ('bool visit_%s_in(JsonNode *node, const QapiPath *path, '
                    '%s *out, GError **errp);\n'
                    'bool visit_%s_from_json(JsonNode *node, %s *out, '
                    'GError **errp);\n'
                    'JsonNode *visit_%s_to_json(%s value);\n\n'
                    % (n, n, n, n, n, n))
        out = ''
        if isinstance(t, ObjectType):
            out += ('bool visit_%s_members_from_json(JsonObject *obj, '
                    'const QapiPath *path, GHashTable *seen, %s *out, '
                    'GError **errp);\n'
                    'void visit_%s_members_to_json(JsonObject *obj, '
                    'const %s *in);\n' % (n, n, n, n))
        if not isinstance(t, ArrayType):
            out += ('bool visit_%s_fill(JsonNode *node, const QapiPath *path, '
                    '%s *out, GError **errp);\n' % (n, n))
        out += ('bool visit_%s_in(JsonNode *node, const QapiPath *path, '
                '%s **out, GError **errp);\n' % (n, n))
        if not t.is_implicit():
            out += ('bool visit_%s_from_json(JsonNode *node, %s **out, '
                    'GError **errp);\n' % (n, n))
        out += 'JsonNode *visit_%s_to_json(const %s *obj);\n\n' % (n, n)
        return out

    # ---- source

    def source(self, header_name):
        c = ['#include "%s"\n#include "qemu/error.h"\n\n' % header_name]
        for t in self._types():
            if isinstance(t, EnumType):
                c.append(self._enum(t))
            elif isinstance(t, ObjectType):
                c.append(self._object(t))
            else:
                c.append(self._alternate(t))
        for lst in self.lists():
            c.append(self._list(lst))
        return ''.join(c)

    def _enum(self, e):
        n = e.c_name()
        return ('bool visit_%s_in(JsonNode *node, const QapiPath *path, '
                '%s *out, GError **errp)\n{\n'
                '    int value;\n\n'
                '    if (!qapi_in_enum(node, path, &%s_lookup, &value, errp)) {\n'
                '        return false;\n    }\n'
                '    *out = value;\n    return true;\n}\n\n'
                'bool visit_%s_from_json(JsonNode *node, %s *out, GError **errp)\n'
                '{\n    return visit_%s_in(node, NULL, out, errp);\n}\n\n'
                'JsonNode *visit_%s_to_json(%s value)\n{\n'
                '    return qapi_out_str(%s_str(value));\n}\n\n'
                % (n, n, n, n, n, n, n, n, n))

    @staticmethod
    def _member_in(m, target):
        lv = '%s->%s' % (target, m.c_name())
        out = '{\n'
        out += '    QapiPath p = { path, %s, 0 };\n' % c_string(m.name)
        out += '    JsonNode *n = qapi_in_member(obj, %s, seen);\n\n' % c_string(m.name)
        if not m.optional:
            out += ('    if (!n) {\n        qapi_error_missing(&p, errp);\n'
                    '        return false;\n    }\n')
            out += '    if (!%s) {\n        return false;\n    }\n' % in_call(
                m.type, 'n', '&p', lv)
        else:
            if m.has_flag():
                out += '    %s->has_%s = n != NULL;\n' % (target, m.c_name())
            out += '    if (n && !%s) {\n        return false;\n    }\n' % in_call(
                m.type, 'n', '&p', lv)
        return out + '}\n'

    @staticmethod
    def _member_out(m, source):
        val = '%s->%s' % (source, m.c_name())
        stmt = 'json_object_set_member(obj, %s, %s);\n' % (
            c_string(m.name), out_expr(m.type, val))
        if m.has_flag():
            return 'if (%s->has_%s) {\n    %s}\n' % (source, m.c_name(), stmt)
        if m.optional:
            return 'if (%s) {\n    %s}\n' % (val, stmt)
        return stmt

    def _object(self, obj):
        n = obj.c_name()
        body_in, body_out = '', ''
        own = obj.local_members
        if obj.base is not None:
            body_in += ('if (!visit_%s_members_from_json(obj, path, seen, '
                        '(%s *)out, errp)) {\n    return false;\n}\n'
                        % (obj.base.c_name(), obj.base.c_name()))
            body_out += ('visit_%s_members_to_json(obj, (const %s *)in);\n'
                         % (obj.base.c_name(), obj.base.c_name()))
        for m in own:
            body_in += self._member_in(m, 'out')
            body_out += self._member_out(m, 'in')
        if obj.is_union() and obj.branches:
            tag = obj.tag_member
            sw_in = 'switch (out->%s) {\n' % tag.c_name()
            sw_out = 'switch (in->%s) {\n' % tag.c_name()
            for br in obj.branches:
                case = 'case %s:\n' % tag.type.const(br.name)
                sw_in += case + ('    return visit_%s_members_from_json(obj, '
                                 'path, seen, &out->u.%s, errp);\n'
                                 % (br.type.c_name(), c_name(br.name)))
                sw_out += case + ('    visit_%s_members_to_json(obj, '
                                  '&in->u.%s);\n    break;\n'
                                  % (br.type.c_name(), c_name(br.name)))
            body_in += sw_in + 'default:\n    break;\n}\n'
            body_out += sw_out + 'default:\n    break;\n}\n'
        if not body_out:
            body_out = '(void)obj;\n(void)in;\n'
        return ('bool visit_%s_members_from_json(JsonObject *obj, '
                'const QapiPath *path, GHashTable *seen, %s *out, '
                'GError **errp)\n{\n%s    return true;\n}\n\n'
                'void visit_%s_members_to_json(JsonObject *obj, const %s *in)\n'
                '{\n%s}\n\n'
                'bool visit_%s_fill(JsonNode *node, const QapiPath *path, '
                '%s *out, GError **errp)\n{\n'
                '    g_autoptr(GHashTable) seen = qapi_seen_new();\n'
                '    JsonObject *obj;\n\n'
                '    return qapi_in_object(node, path, &obj, errp) &&\n'
                '           visit_%s_members_from_json(obj, path, seen, out, '
                'errp) &&\n'
                '           qapi_check_unexpected(obj, path, seen, errp);\n}\n\n'
                % (n, n, _indent(body_in), n, n, _indent(body_out), n, n, n)
                + self._in_out_ptr(obj,
                                   'JsonObject *obj = json_object_new();\n\n'
                                   'visit_%s_members_to_json(obj, in);\n'
                                   'return qapi_out_object(obj);\n' % n))

    def _in_out_ptr(self, t, to_body):
        n = t.c_name()
        out = ('bool visit_%s_in(JsonNode *node, const QapiPath *path, '
               '%s **out, GError **errp)\n{\n'
               '    %s *obj = g_new0(%s, 1);\n\n'
               '    if (!visit_%s_fill(node, path, obj, errp)) {\n'
               '        qapi_free_%s(obj);\n'
               '        return false;\n    }\n'
               '    *out = obj;\n    return true;\n}\n\n'
               % (n, n, n, n, n, n))
        if not t.is_implicit():
            out += ('bool visit_%s_from_json(JsonNode *node, %s **out, '
                    'GError **errp)\n{\n'
                    '    return visit_%s_in(node, NULL, out, errp);\n}\n\n'
                    % (n, n, n))
        out += ('JsonNode *visit_%s_to_json(const %s *in)\n{\n%s}\n\n'
                % (n, n, _indent(to_body)))
        return out

    def _alternate(self, alt):
        n = alt.c_name()
        sw_in = 'switch (qapi_json_qtype(node)) {\n'
        sw_out = 'switch (in->type) {\n'
        for br in alt.branches:
            qt = br.type.qtype()
            lv = 'out->u.%s' % c_name(br.name)
            sw_in += 'case %s:\n    out->type = %s;\n' % (qt, qt)
            sw_out += 'case %s:\n' % qt
            if br.type.name == 'null':
                sw_in += '    return true;\n'
                sw_out += '    return qapi_out_null(true);\n'
            elif isinstance(br.type, ObjectType):
                sw_in += ('    return visit_%s_fill(node, path, &%s, errp);\n'
                          % (br.type.c_name(), lv))
                sw_out += ('    return visit_%s_to_json(&in->u.%s);\n'
                           % (br.type.c_name(), c_name(br.name)))
            else:
                sw_in += '    return %s;\n' % in_call(br.type, 'node', 'path', lv)
                sw_out += '    return %s;\n' % out_expr(
                    br.type, 'in->u.%s' % c_name(br.name))
        sw_in += ('default:\n'
                  '    error_setg(errp, "Invalid parameter type for \'%%s\', '
                  'expected: %%s",\n'
                  '               qapi_path_leaf(path), %s);\n'
                  '    return false;\n}\n' % c_string(alt.name))
        sw_out += 'default:\n    g_assert_not_reached();\n}\n'
        return ('bool visit_%s_fill(JsonNode *node, const QapiPath *path, '
                '%s *out, GError **errp)\n{\n%s}\n\n'
                % (n, n, _indent(sw_in))
                + self._in_out_ptr(alt, sw_out))

    def _list(self, lst):
        n = lst.c_name()
        el = lst.element
        return ('bool visit_%s_in(JsonNode *node, const QapiPath *path, '
                '%s **out, GError **errp)\n{\n'
                '    %s *head = NULL;\n'
                '    %s **tail = &head;\n'
                '    JsonArray *array;\n\n'
                '    if (!qapi_in_array(node, path, &array, errp)) {\n'
                '        return false;\n    }\n'
                '    for (guint i = 0; i < json_array_get_length(array); i++) {\n'
                '        QapiPath p = { path, NULL, i };\n'
                '        %s *elt = g_new0(%s, 1);\n\n'
                '        *tail = elt;\n'
                '        tail = &elt->next;\n'
                '        if (!%s) {\n'
                '            qapi_free_%s(head);\n'
                '            return false;\n'
                '        }\n    }\n'
                '    *out = head;\n    return true;\n}\n\n'
                'bool visit_%s_from_json(JsonNode *node, %s **out, GError **errp)\n'
                '{\n    return visit_%s_in(node, NULL, out, errp);\n}\n\n'
                'JsonNode *visit_%s_to_json(const %s *obj)\n{\n'
                '    JsonArray *array = json_array_new();\n'
                '    JsonNode *node = json_node_init_array(json_node_alloc(), array);\n\n'
                '    for (; obj; obj = obj->next) {\n'
                '        json_array_add_element(array, %s);\n'
                '    }\n'
                '    json_array_unref(array);\n'
                '    return node;\n}\n\n'
                % (n, n, n, n, n, n,
                   in_call(el, 'json_array_get_element(array, i)', '&p',
                           'elt->value'),
                   n, n, n, n, n, n, out_expr(el, 'obj->value')))
