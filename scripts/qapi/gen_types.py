"""Generates <prefix>qapi-types.[ch]: C structs, enums with string tables,
list types and the qapi_free_*() functions for every schema type (or, for
the built-in module, the lists of built-in types)."""

from .common import c_name, c_string
from .schema import TypeOutputGenerator, AlternateType, ArrayType, BuiltinType, EnumType, ObjectType


def free_member_code(typ, lvalue, by_value=False):
    """C statement freeing the value @lvalue of type @typ (or its members
    when @by_value), or '' when there is nothing to free."""
    if isinstance(typ, BuiltinType):
        if typ.name == 'str':
            return 'g_free(%s);\n' % lvalue
        if typ.name == 'any':
            return 'if (%s) {\n    json_node_unref(%s);\n}\n' % (lvalue, lvalue)
        return ''
    if isinstance(typ, EnumType):
        return ''
    if by_value:
        return 'qapi_free_%s_members(&%s);\n' % (typ.c_name(), lvalue)
    return 'qapi_free_%s(%s);\n' % (typ.c_name(), lvalue)


def _struct_fields(obj):
    out = ''
    for m in obj.members():
        if m.has_flag():
            out += '    bool has_%s;\n' % m.c_name()
        out += '    %s%s;\n' % (_field_type(m.type), m.c_name())
    if obj.is_union() and obj.branches:
        out += '    union { /* tag: %s */\n' % obj.tag_member.c_name()
        for br in obj.branches:
            out += '        %s %s;\n' % (br.type.c_name(), c_name(br.name))
        out += '    } u;\n'
    if not out:
        out = '    char qapi_dummy_for_empty_struct;\n'
    return out


def _field_type(typ):
    ctype = typ.c_type()
    return ctype if ctype.endswith('*') else ctype + ' '


def _alternate_fields(alt):
    out = '    QType type;\n'
    fields = ''
    for br in alt.branches:
        if br.type.name == 'null':
            continue
        if isinstance(br.type, ObjectType):
            fields += '        %s %s;\n' % (br.type.c_name(), c_name(br.name))
        else:
            fields += '        %s%s;\n' % (_field_type(br.type), c_name(br.name))
    if fields:
        out += '    union {\n' + fields + '    } u;\n'
    return out


def _by_value_deps(typ):
    if isinstance(typ, ObjectType) and typ.is_union():
        return [br.type for br in typ.branches]
    if isinstance(typ, AlternateType):
        return [br.type for br in typ.branches if isinstance(br.type, ObjectType)]
    return []


def _ordered(types):
    """@types ordered so that a type embedded by value comes first."""
    done, out = set(), []

    def visit(t):
        if t.name in done:
            return
        done.add(t.name)
        for dep in _by_value_deps(t):
            if dep in types:
                visit(dep)
        out.append(t)
    for t in types:
        visit(t)
    return out


class TypesGenerator(TypeOutputGenerator):
    def header(self):
        guard = c_name(self.prefix + 'qapi-types').upper() + '_H'
        if self.builtins:
            guard = 'QAPI_BUILTIN_TYPES_H'
        h = ['#ifndef %s\n#define %s\n\n' % (guard, guard)]
        if self.builtins:
            h.append('#include "qapi/qapi-util.h"\n\n')
        else:
            h.append('#include "qapi/qapi-builtin-types.h"\n\n')
            enums = self.schema.enum_types()
            for e in enums:
                h.append(self._enum_decl(e))
            structs = [t for t in self.schema.types.values()
                       if isinstance(t, (ObjectType, AlternateType))]
            for t in structs:
                h.append('typedef struct %s %s;\n' % (t.c_name(), t.c_name()))
            h.append('\n')
        for lst in self.lists():
            h.append('typedef struct %s %s;\n' % (lst.c_name(), lst.c_name()))
        h.append('\n')
        for lst in self.lists():
            h.append(self._list_decl(lst))
        if not self.builtins:
            for t in _ordered(structs):
                h.append(self._struct_decl(t))
        h.append('#endif\n')
        return ''.join(h)

    def _enum_decl(self, e):
        out = 'typedef enum %s {\n' % e.c_name()
        for m in e.members:
            out += '    %s,\n' % e.const(m.name)
        out += '    %s,\n} %s;\n\n' % (e.max_const(), e.c_name())
        out += 'extern const QEnumLookup %s_lookup;\n' % e.c_name()
        out += ('#define %s_str(val) qapi_enum_lookup(&%s_lookup, (val))\n\n'
                % (e.c_name(), e.c_name()))
        return out

    def _list_decl(self, lst):
        name = lst.c_name()
        return ('struct %s {\n    %s *next;\n    %svalue;\n};\n\n'
                'void qapi_free_%s(%s *obj);\n'
                'G_DEFINE_AUTOPTR_CLEANUP_FUNC(%s, qapi_free_%s)\n\n'
                % (name, name, _field_type(lst.element), name, name, name, name))

    def _struct_decl(self, t):
        name = t.c_name()
        body = (_alternate_fields(t) if isinstance(t, AlternateType)
                else _struct_fields(t))
        return ('struct %s {\n%s};\n\n'
                '/* Frees what @obj owns, not @obj itself. */\n'
                'void qapi_free_%s_members(%s *obj);\n'
                'void qapi_free_%s(%s *obj);\n'
                'G_DEFINE_AUTOPTR_CLEANUP_FUNC(%s, qapi_free_%s)\n\n'
                % (name, body, name, name, name, name, name, name))

    def source(self, header_name):
        c = ['#include "%s"\n\n' % header_name]
        if not self.builtins:
            for e in self.schema.enum_types():
                c.append(self._enum_table(e))
        for lst in self.lists():
            c.append(self._list_free(lst))
        if not self.builtins:
            for t in self.schema.types.values():
                if isinstance(t, ObjectType):
                    c.append(self._object_free(t))
                elif isinstance(t, AlternateType):
                    c.append(self._alternate_free(t))
        return ''.join(c)

    @staticmethod
    def _enum_table(e):
        out = 'const QEnumLookup %s_lookup = {\n' % e.c_name()
        out += '    .array = (const char *const[]) {\n'
        for m in e.members:
            out += '        [%s] = %s,\n' % (e.const(m.name), c_string(m.name))
        out += '    },\n    .size = %s,\n};\n\n' % e.max_const()
        return out

    @staticmethod
    def _list_free(lst):
        name = lst.c_name()
        free = free_member_code(lst.element, 'obj->value')
        body = ''.join('        ' + line + '\n' for line in free.splitlines())
        return ('void qapi_free_%s(%s *obj)\n{\n'
                '    while (obj) {\n'
                '        %s *next = obj->next;\n\n'
                '%s'
                '        g_free(obj);\n'
                '        obj = next;\n'
                '    }\n}\n\n' % (name, name, name, body))

    @staticmethod
    def _free_fn(name, body):
        return ('void qapi_free_%s_members(%s *obj)\n{\n%s}\n\n'
                'void qapi_free_%s(%s *obj)\n{\n'
                '    if (obj) {\n'
                '        qapi_free_%s_members(obj);\n'
                '        g_free(obj);\n'
                '    }\n}\n\n' % (name, name, body or '    (void)obj;\n',
                                  name, name, name))

    def _object_free(self, obj):
        body = ''
        for m in obj.members():
            body += free_member_code(m.type, 'obj->' + m.c_name())
        if obj.is_union() and obj.branches:
            body += 'switch (obj->%s) {\n' % obj.tag_member.c_name()
            for br in obj.branches:
                body += 'case %s:\n' % obj.tag_member.type.const(br.name)
                body += '    ' + free_member_code(
                    br.type, 'obj->u.' + c_name(br.name), True)
                body += '    break;\n'
            body += 'default:\n    break;\n}\n'
        return self._free_fn(obj.c_name(), _indent(body))

    def _alternate_free(self, alt):
        body = 'switch (obj->type) {\n'
        for br in alt.branches:
            free = ''
            if br.type.name != 'null':
                free = free_member_code(br.type, 'obj->u.' + c_name(br.name),
                                        isinstance(br.type, ObjectType))
            if free:
                body += 'case %s:\n' % br.type.qtype()
                body += _indent(free) + '    break;\n'
        body += 'default:\n    break;\n}\n'
        return self._free_fn(alt.c_name(), _indent(body))


def _indent(text):
    return ''.join('    ' + line if line.strip() else line
                   for line in text.splitlines(True))
