"""Generates <prefix>qapi-introspect.[ch]: the query-qmp-schema data as an
array of QEMU SchemaInfo objects.  Like QEMU, it lists commands and events
and the types they use; type names other than built-ins are masked as
"0", "1", ..., and every integer type appears as the built-in "int"."""

import json

from .common import c_name, c_string
from .schema import (AlternateType, ArrayType, BuiltinType, EnumType,
                     ObjectType)

_EMPTY = ObjectType('q_empty', None, None, None, None, [], implicit=True)


def _features(entity_features):
    return [f.name for f in entity_features]


class IntrospectGenerator:
    def __init__(self, schema, prefix):
        self.schema = schema
        self.prefix = prefix
        self._names = {}
        self._used = []

    def fn_name(self):
        return '%sqmp_schema_introspect' % c_name(self.prefix)

    def _name(self, name):
        if name not in self._names:
            self._names[name] = str(len(self._names))
        return self._names[name]

    def _use(self, typ):
        if isinstance(typ, BuiltinType) and typ.json_type == 'int':
            typ = self.schema.types['int']
        elif (isinstance(typ, ArrayType) and isinstance(typ.element, BuiltinType)
              and typ.element.json_type == 'int'):
            typ = self.schema.array_of(self.schema.types['int'])
        if all(t is not typ for t in self._used):
            self._used.append(typ)
        if isinstance(typ, BuiltinType):
            return typ.name
        if isinstance(typ, ArrayType):
            return '[' + self._use(typ.element) + ']'
        return self._name(typ.name)

    @staticmethod
    def _tree(name, meta, extra, features):
        obj = {'name': name, 'meta-type': meta}
        obj.update(extra)
        if features:
            obj['features'] = _features(features)
        return obj

    def _member(self, m):
        obj = {'name': m.name, 'type': self._use(m.type)}
        if m.optional:
            obj['default'] = None
        if m.features:
            obj['features'] = _features(m.features)
        return obj

    def _type(self, typ):
        if isinstance(typ, BuiltinType):
            return self._tree(typ.name, 'builtin',
                              {'json-type': typ.json_type}, [])
        if isinstance(typ, ArrayType):
            elt = self._use(typ.element)
            return self._tree('[' + elt + ']', 'array',
                              {'element-type': elt}, [])
        name = self._name(typ.name)
        if isinstance(typ, EnumType):
            members = []
            for m in typ.members:
                member = {'name': m.name}
                if m.features:
                    member['features'] = _features(m.features)
                members.append(member)
            return self._tree(name, 'enum', {
                'members': members,
                'values': [m.name for m in typ.members]}, typ.features)
        if isinstance(typ, AlternateType):
            return self._tree(name, 'alternate', {
                'members': [{'type': self._use(b.type)}
                            for b in typ.branches]}, typ.features)
        extra = {'members': [self._member(m) for m in typ.members()]}
        if typ.is_union():
            extra['tag'] = typ.tag_member.name
            extra['variants'] = [{'case': b.name, 'type': self._use(b.type)}
                                 for b in typ.branches]
        return self._tree(name, 'object', extra, typ.features)

    def trees(self):
        """The SchemaInfo list as Python data."""
        self._names, self._used = {}, []
        out = []
        for cmd in self.schema.commands():
            extra = {'arg-type': self._use(cmd.arg_type or _EMPTY),
                     'ret-type': self._use(cmd.ret_type or _EMPTY)}
            if cmd.allow_oob:
                extra['allow-oob'] = True
            out.append(self._tree(cmd.name, 'command', extra, cmd.features))
        for ev in self.schema.events():
            out.append(self._tree(ev.name, 'event',
                                  {'arg-type': self._use(ev.arg_type or _EMPTY)},
                                  ev.features))
        i = 0
        while i < len(self._used):
            out.append(self._type(self._used[i]))
            i += 1
        return out

    def header(self):
        guard = c_name(self.prefix + 'qapi-introspect').upper() + '_H'
        return ('#ifndef %s\n#define %s\n\n#include <json-glib/json-glib.h>\n\n'
                '/*\n * The query-qmp-schema reply: a new JSON array of '
                'SchemaInfo objects\n * (transfer full).\n */\n'
                'JsonNode *%s(void);\n\n#endif\n' % (guard, guard, self.fn_name()))

    def source(self, header_name):
        lines = ['[']
        trees = self.trees()
        for i, tree in enumerate(trees):
            sep = ',' if i + 1 < len(trees) else ''
            lines.append(json.dumps(tree) + sep)
        lines.append(']')
        literal = '\n'.join('    ' + c_string(line) for line in lines)
        return ('#include "%s"\n\n'
                'static const char schema_json[] =\n%s;\n\n'
                'JsonNode *%s(void)\n{\n'
                '    g_autoptr(JsonParser) parser = json_parser_new();\n\n'
                '    if (!json_parser_load_from_data(parser, schema_json, -1, '
                'NULL)) {\n'
                '        g_assert_not_reached();\n    }\n'
                '    return json_parser_steal_root(parser);\n}\n'
                % (header_name, literal, self.fn_name()))
