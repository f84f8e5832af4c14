"""The schema model: checks every expression's shape, builds entities
(types, commands, events), resolves type references and enforces the
semantic rules.  Every error names file:line."""

import re

from .common import (QAPIError, VALID_ENUM_VALUE, VALID_EVENT_NAME,
                     VALID_FEATURE_NAME, VALID_MEMBER_NAME, VALID_TYPE_NAME,
                     c_enum_const, c_name)
from .parser import parse_schema

# Keys each meta-type accepts: (required, optional).
_KEYS = {
    'enum': (['enum', 'data'], ['prefix', 'features']),
    'struct': (['struct', 'data'], ['base', 'features']),
    'union': (['union', 'base', 'discriminator', 'data'], ['features']),
    'alternate': (['alternate', 'data'], ['features']),
    'command': (['command'], ['data', 'returns', 'boxed', 'allow-oob',
                              'success-response', 'features']),
    'event': (['event'], ['data', 'boxed', 'features']),
}


class Entity:
    meta = None

    def __init__(self, name, info, doc, features):
        self.name = name
        self.info = info
        self.doc = doc
        self.features = features or []

    def c_name(self):
        return c_name(self.name, False)

    def describe(self):
        return "%s '%s'" % (self.meta, self.name)


class Feature:
    def __init__(self, name, info):
        self.name = name
        self.info = info


# ---------------------------------------------------------------- types

class Type(Entity):
    def is_pointer(self):
        """Whether the C representation is a pointer (NULL when absent)."""
        return True

    def c_type(self):
        return self.c_name() + ' *'

    def c_param_type(self):
        return self.c_type()

    def qtype(self):
        """The QType an alternate uses to tell this type apart on the wire."""
        return 'QTYPE_QDICT'

    def is_implicit(self):
        return False


class BuiltinType(Type):
    meta = 'built-in'

    def __init__(self, name, ctype, json_type):
        super().__init__(name, None, None, None)
        self._ctype = ctype
        self.json_type = json_type

    def is_pointer(self):
        return self.name in ('str', 'any')

    def c_type(self):
        return self._ctype

    def c_param_type(self):
        return 'const char *' if self.name == 'str' else self._ctype

    def qtype(self):
        return {'string': 'QTYPE_QSTRING', 'int': 'QTYPE_QNUM',
                'number': 'QTYPE_QNUM', 'boolean': 'QTYPE_QBOOL',
                'null': 'QTYPE_QNULL', 'value': 'QTYPE_NONE'}[self.json_type]


BUILTINS = [
    ('str', 'char *', 'string'), ('number', 'double', 'number'),
    ('int', 'int64_t', 'int'), ('int8', 'int8_t', 'int'),
    ('int16', 'int16_t', 'int'), ('int32', 'int32_t', 'int'),
    ('int64', 'int64_t', 'int'), ('uint8', 'uint8_t', 'int'),
    ('uint16', 'uint16_t', 'int'), ('uint32', 'uint32_t', 'int'),
    ('uint64', 'uint64_t', 'int'), ('size', 'uint64_t', 'int'),
    ('bool', 'bool', 'boolean'), ('null', 'bool', 'null'),
    ('any', 'JsonNode *', 'value'),
]


class EnumMember:
    def __init__(self, name, info, features):
        self.name = name
        self.info = info
        self.features = features


class EnumType(Type):
    meta = 'enum'

    def __init__(self, name, info, doc, features, members, prefix):
        super().__init__(name, info, doc, features)
        self.members = members
        self.prefix = prefix

    def is_pointer(self):
        return False

    def c_type(self):
        return self.c_name()

    def qtype(self):
        return 'QTYPE_QSTRING'

    def const(self, member):
        return c_enum_const(self.name, member, self.prefix)

    def max_const(self):
        return c_enum_const(self.name, '_MAX', self.prefix)


class ArrayType(Type):
    meta = 'array'

    def __init__(self, element):
        super().__init__(element.name + 'List', None, None, None)
        self.element = element

    def qtype(self):
        return 'QTYPE_QLIST'


class Member:
    def __init__(self, name, info, typeref, optional, features):
        self.name = name
        self.info = info
        self.typeref = typeref
        self.type = None
        self.optional = optional
        self.features = features

    def c_name(self):
        return c_name(self.name)

    def has_flag(self):
        """Optional scalars carry a 'bool has_<name>' beside the value."""
        return self.optional and not self.type.is_pointer()


class Branch:
    def __init__(self, name, info, typeref):
        self.name = name
        self.info = info
        self.typeref = typeref
        self.type = None


class ObjectType(Type):
    """A struct, a union (with variants) or an implicit argument type."""
    meta = 'struct'

    def __init__(self, name, info, doc, features, base, members,
                 tag_name=None, branches=None, implicit=False):
        super().__init__(name, info, doc, features)
        self.baseref = base
        self.base = None
        self.local_members = members
        self.tag_name = tag_name
        self.tag_member = None
        self.branches = branches
        self.implicit = implicit
        if branches is not None:
            self.meta = 'union'
        self._resolving = False
        self._resolved = False

    def is_implicit(self):
        return self.implicit

    def members(self):
        """All non-variant members: base members first."""
        return (self.base.members() if self.base else []) + self.local_members

    def is_union(self):
        return self.branches is not None


class AlternateType(Type):
    meta = 'alternate'

    def __init__(self, name, info, doc, features, branches):
        super().__init__(name, info, doc, features)
        self.branches = branches

    def qtype(self):
        return 'QTYPE_NONE'


class Command(Entity):
    meta = 'command'

    def __init__(self, name, info, doc, features, argref, retref, boxed,
                 allow_oob, success_response):
        super().__init__(name, info, doc, features)
        self.argref = argref
        self.arg_type = None
        self.retref = retref
        self.ret_type = None
        self.boxed = boxed
        self.allow_oob = allow_oob
        self.success_response = success_response


class Event(Entity):
    meta = 'event'

    def __init__(self, name, info, doc, features, argref, boxed):
        super().__init__(name, info, doc, features)
        self.argref = argref
        self.arg_type = None
        self.boxed = boxed


# ----------------------------------------------------- expression shape

def _check_keys(expr, info, meta, name):
    required, optional = _KEYS[meta]
    for key in expr:
        if key == 'if':
            raise QAPIError(info, "%s '%s': 'if' is not supported"
                            % (meta, name))
        if key not in required and key not in optional:
            raise QAPIError(info, "%s '%s' has unknown key '%s'"
                            % (meta, name, key))
    for key in required:
        if key not in expr:
            raise QAPIError(info, "%s '%s' misses key '%s'" % (meta, name, key))


def _check_bool(expr, key, info, default):
    val = expr.get(key, default)
    if not isinstance(val, bool):
        raise QAPIError(info, "'%s' must be a boolean" % key)
    return val


def _features(value, info, source):
    if value is None:
        return []
    if not isinstance(value, list):
        raise QAPIError(info, "%s: 'features' must be an array" % source)
    out = []
    for feat in value:
        if isinstance(feat, dict):
            if 'if' in feat:
                raise QAPIError(info, "%s: 'if' is not supported" % source)
            if set(feat) != {'name'}:
                raise QAPIError(info, "%s: feature must be a string or "
                                "{'name': ...}" % source)
            feat = feat['name']
        if not isinstance(feat, str) or not VALID_FEATURE_NAME.match(feat):
            raise QAPIError(info, "%s: feature '%s' has an invalid name"
                            % (source, feat))
        if feat in [f.name for f in out]:
            raise QAPIError(info, "%s: duplicate feature '%s'" % (source, feat))
        out.append(Feature(feat, info))
    return out


def _typeref(value, info, source):
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if len(value) != 1:
            raise QAPIError(info, "%s: array type must contain exactly one "
                            "element type" % source)
        if not isinstance(value[0], str):
            raise QAPIError(info, "%s: nested arrays are not supported"
                            % source)
        return [value[0]]
    raise QAPIError(info, "%s should be a type name" % source)


# Member names that break the lower-case rule, allowed where a type is
# named in a 'member-name-exceptions' pragma (QEMU's UuidInfo has 'UUID').
CASE_EXCEPTION_MEMBER_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_-]*$')


def _members(data, info, owner, name_exception=False):
    if not isinstance(data, dict):
        raise QAPIError(info, "%s: 'data' must be an object" % owner)
    out = []
    seen = {}
    for key, value in data.items():
        optional = key.startswith('*')
        name = key[1:] if optional else key
        source = "member '%s'" % name
        valid = CASE_EXCEPTION_MEMBER_NAME if name_exception else VALID_MEMBER_NAME
        if not valid.match(name):
            raise QAPIError(info, "%s: %s has an invalid name" % (owner, source))
        if name.startswith('has-') or name.startswith('has_') or name == 'u':
            raise QAPIError(info, "%s: %s uses a reserved name" % (owner, source))
        features = []
        if isinstance(value, dict):
            for k in value:
                if k == 'if':
                    raise QAPIError(info, "%s: %s: 'if' is not supported"
                                    % (owner, source))
                if k not in ('type', 'features'):
                    raise QAPIError(info, "%s: %s has unknown key '%s'"
                                    % (owner, source, k))
            if 'type' not in value:
                raise QAPIError(info, "%s: %s misses key 'type'"
                                % (owner, source))
            features = _features(value.get('features'), info, source)
            value = value['type']
        cname = c_name(name)
        if cname in seen:
            raise QAPIError(info, "%s: member '%s' collides with member '%s'"
                            % (owner, name, seen[cname]))
        seen[cname] = name
        out.append(Member(name, info, _typeref(value, info, source),
                          optional, features))
    return out


def _enum_members(data, info, name):
    if not isinstance(data, list):
        raise QAPIError(info, "enum '%s': 'data' must be an array" % name)
    out = []
    seen = {}
    for value in data:
        features = []
        if isinstance(value, dict):
            if 'if' in value:
                raise QAPIError(info, "enum '%s': 'if' is not supported" % name)
            extra = set(value) - {'name', 'features'}
            if extra or 'name' not in value:
                raise QAPIError(info, "enum '%s': member must be a string or "
                                "{'name': ..., 'features': ...}" % name)
            features = _features(value.get('features'), info,
                                 "enum '%s'" % name)
            value = value['name']
        if not isinstance(value, str) or not VALID_ENUM_VALUE.match(value):
            raise QAPIError(info, "enum '%s': value '%s' has an invalid name"
                            % (name, value))
        cname = c_name(value, False)
        if cname in seen:
            raise QAPIError(info, "enum '%s': value '%s' collides with value "
                            "'%s'" % (name, value, seen[cname]))
        seen[cname] = value
        out.append(EnumMember(value, info, features))
    return out


# ------------------------------------------------------------- schema

class Schema:
    """All entities of a schema file and what it includes."""

    def __init__(self, fname):
        self.fname = fname
        self.types = {}          # name -> Type
        self.entities = []       # definitions in source order
        self.items = []          # entities and free doc blocks, for docs
        self._arrays = {}
        for name, ctype, json_type in BUILTINS:
            self.types[name] = BuiltinType(name, ctype, json_type)
        self.member_name_exceptions = set()
        for item in parse_schema(fname):
            if item.expr is None:
                self.items.append(item.doc)
                continue
            entity = self._define(item.expr, item.info, item.doc)
            if entity is None:      # a pragma
                continue
            self.entities.append(entity)
            self.items.append(entity)
        for entity in list(self.entities):
            self._resolve(entity)
        # Like QEMU, every named type has a list type, used or not.
        for entity in self.entities:
            if isinstance(entity, Type):
                self.array_of(entity)
        for entity in self.entities:
            self._check(entity)
            self._check_doc(entity)

    # --- pass 1: shapes and names

    def _define(self, expr, info, doc):
        metas = [m for m in _KEYS if m in expr]
        if 'pragma' in expr:
            return self._pragma(expr, info)
        if not metas:
            raise QAPIError(info, "expression is missing metatype")
        if len(metas) > 1:
            raise QAPIError(info, "expression has more than one metatype: %s"
                            % ', '.join(metas))
        meta = metas[0]
        name = expr[meta]
        if not isinstance(name, str):
            raise QAPIError(info, "'%s' requires a string name" % meta)
        _check_keys(expr, info, meta, name)
        if doc is not None and doc.symbol != name:
            raise QAPIError(info, "definition of '%s' follows documentation "
                            "for '%s'" % (name, doc.symbol))
        features = _features(expr.get('features'), info,
                             "%s '%s'" % (meta, name))
        if meta in ('command',):
            if not VALID_MEMBER_NAME.match(name):
                raise QAPIError(info, "command name '%s' is invalid" % name)
        elif meta == 'event':
            if not VALID_EVENT_NAME.match(name):
                raise QAPIError(info, "event name '%s' should be upper case"
                                % name)
        elif not VALID_TYPE_NAME.match(name):
            raise QAPIError(info, "%s name '%s' should be CamelCase"
                            % (meta, name))
        if name in self.types or name in [e.name for e in self.entities]:
            other = self.types.get(name)
            if isinstance(other, BuiltinType):
                raise QAPIError(info, "'%s' is already defined as a built-in "
                                "type" % name)
            raise QAPIError(info, "'%s' is already defined" % name)
        entity = getattr(self, '_define_' + meta)(expr, info, doc, name,
                                                  features)
        if isinstance(entity, Type):
            self.types[name] = entity
        return entity

    def _define_enum(self, expr, info, doc, name, features):
        prefix = expr.get('prefix')
        if prefix is not None and (not isinstance(prefix, str) or
                                   not prefix.replace('_', 'A').isalnum()):
            raise QAPIError(info, "enum '%s': 'prefix' must be a C identifier"
                            % name)
        return EnumType(name, info, doc, features,
                        _enum_members(expr['data'], info, name), prefix)

    def _pragma(self, expr, info):
        """Only 'member-name-exceptions' is supported; it applies to later definitions."""
        if len(expr) != 1 or not isinstance(expr['pragma'], dict):
            raise QAPIError(info, "'pragma' must be the only key, with an object value")
        for key, value in expr['pragma'].items():
            if key != 'member-name-exceptions':
                raise QAPIError(info, "pragma '%s' is not supported" % key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise QAPIError(info, "pragma 'member-name-exceptions' must be "
                                "a list of type names")
            self.member_name_exceptions.update(value)
        return None

    def _define_struct(self, expr, info, doc, name, features):
        base = expr.get('base')
        if base is not None and not isinstance(base, str):
            raise QAPIError(info, "struct '%s': 'base' must name a struct type"
                            % name)
        return ObjectType(name, info, doc, features, base,
                          _members(expr['data'], info, "struct '%s'" % name,
                                   name in self.member_name_exceptions))

    def _implicit(self, name, info, data, owner):
        obj = ObjectType(name, info, None, None, None,
                         _members(data, info, owner), implicit=True)
        self.types[name] = obj
        return obj

    def _define_union(self, expr, info, doc, name, features):
        owner = "union '%s'" % name
        base = expr['base']
        if isinstance(base, dict):
            base = self._implicit('q_obj_%s-base' % name, info, base, owner)
        elif not isinstance(base, str):
            raise QAPIError(info, "%s: 'base' must be a type name or an "
                            "object" % owner)
        tag = expr['discriminator']
        if not isinstance(tag, str):
            raise QAPIError(info, "%s: 'discriminator' must be a string"
                            % owner)
        data = expr['data']
        if not isinstance(data, dict):
            raise QAPIError(info, "%s: 'data' must be an object" % owner)
        branches = []
        for key, value in data.items():
            if isinstance(value, dict):
                if set(value) != {'type'}:
                    raise QAPIError(info, "%s: branch '%s' must be a type name"
                                    % (owner, key))
                value = value['type']
            if not isinstance(value, str):
                raise QAPIError(info, "%s: branch '%s' must be a type name"
                                % (owner, key))
            branches.append(Branch(key, info, value))
        return ObjectType(name, info, doc, features, base, [],
                          tag_name=tag, branches=branches)

    def _define_alternate(self, expr, info, doc, name, features):
        owner = "alternate '%s'" % name
        data = expr['data']
        if not isinstance(data, dict) or not data:
            raise QAPIError(info, "%s: 'data' must be a non-empty object"
                            % owner)
        branches = []
        for key, value in data.items():
            if not VALID_MEMBER_NAME.match(key):
                raise QAPIError(info, "%s: branch '%s' has an invalid name"
                                % (owner, key))
            branches.append(Branch(key, info,
                                   _typeref(value, info, "branch '%s'" % key)))
        return AlternateType(name, info, doc, features, branches)

    def _argref(self, expr, info, name, owner):
        data = expr.get('data')
        boxed = _check_bool(expr, 'boxed', info, False)
        if data is None:
            if boxed:
                raise QAPIError(info, "%s: 'boxed': true requires 'data'"
                                % owner)
            return None, boxed
        if isinstance(data, dict):
            if boxed:
                raise QAPIError(info, "%s: 'data' must name a type when "
                                "'boxed' is true" % owner)
            return self._implicit('q_obj_%s-arg' % name, info, data,
                                  owner), boxed
        if not isinstance(data, str):
            raise QAPIError(info, "%s: 'data' must be an object or a type "
                            "name" % owner)
        return data, boxed

    def _define_command(self, expr, info, doc, name, features):
        owner = "command '%s'" % name
        argref, boxed = self._argref(expr, info, name, owner)
        ret = expr.get('returns')
        if ret is not None:
            ret = _typeref(ret, info, "%s: 'returns'" % owner)
        return Command(name, info, doc, features, argref, ret, boxed,
                       _check_bool(expr, 'allow-oob', info, False),
                       _check_bool(expr, 'success-response', info, True))

    def _define_event(self, expr, info, doc, name, features):
        argref, boxed = self._argref(expr, info, name, "event '%s'" % name)
        return Event(name, info, doc, features, argref, boxed)

    # --- pass 2: references

    def lookup(self, ref, info, what):
        """The Type for a reference ('Name' or ['Name'])."""
        if isinstance(ref, list):
            element = self.lookup(ref[0], info, what)
            if isinstance(element, ArrayType):
                raise QAPIError(info, "%s: nested arrays are not supported"
                                % what)
            return self.array_of(element)
        typ = self.types.get(ref)
        if typ is None or (typ.is_implicit() and ref.startswith('q_')):
            raise QAPIError(info, "%s uses unknown type '%s'" % (what, ref))
        return typ

    def array_of(self, element):
        if element.name not in self._arrays:
            self._arrays[element.name] = ArrayType(element)
        return self._arrays[element.name]

    def array_types(self):
        return list(self._arrays.values())

    def _resolve(self, entity):
        if isinstance(entity, ObjectType):
            self._resolve_object(entity)
        elif isinstance(entity, AlternateType):
            for br in entity.branches:
                br.type = self.lookup(br.typeref, br.info,
                                      "alternate '%s' branch '%s'"
                                      % (entity.name, br.name))
        elif isinstance(entity, (Command, Event)):
            what = "%s '%s'" % (entity.meta, entity.name)
            if isinstance(entity.argref, ObjectType):
                entity.arg_type = entity.argref
                self._resolve_object(entity.arg_type)
            elif entity.argref is not None:
                entity.arg_type = self.lookup(entity.argref, entity.info,
                                              what + " 'data'")
                self._check_arg_type(entity, what)
            if isinstance(entity, Command) and entity.retref is not None:
                entity.ret_type = self.lookup(entity.retref, entity.info,
                                              what + " 'returns'")
                if entity.ret_type.name == 'null':
                    raise QAPIError(entity.info, "%s cannot return 'null'"
                                    % what)

    def _check_arg_type(self, entity, what):
        typ = entity.arg_type
        if not isinstance(typ, ObjectType):
            raise QAPIError(entity.info, "%s: 'data' cannot use %s type '%s'"
                            % (what, typ.meta, typ.name))
        if typ.is_union() and not entity.boxed:
            raise QAPIError(entity.info, "%s: 'data' can use union type '%s' "
                            "only with 'boxed': true" % (what, typ.name))

    def _resolve_object(self, obj):
        if obj._resolved:
            return
        if obj._resolving:
            raise QAPIError(obj.info, "object '%s' contains itself" % obj.name)
        obj._resolving = True
        owner = "%s '%s'" % (obj.meta, obj.name)
        if isinstance(obj.baseref, ObjectType):
            obj.base = obj.baseref
        elif obj.baseref is not None:
            base = self.lookup(obj.baseref, obj.info, owner + " 'base'")
            if not isinstance(base, ObjectType) or base.is_union():
                raise QAPIError(obj.info, "%s: 'base' requires a struct type, "
                                "'%s' is %s" % (owner, base.name,
                                                _a(base.meta)))
            obj.base = base
        if obj.base is not None:
            self._resolve_object(obj.base)
        for m in obj.local_members:
            m.type = self.lookup(m.typeref, m.info,
                                 "%s member '%s'" % (owner, m.name))
            if m.type.name == 'null':
                raise QAPIError(m.info, "%s: member '%s' cannot use type "
                                "'null'" % (owner, m.name))
        self._check_clash(obj, self._member_groups(obj), owner)
        if obj.is_union():
            self._resolve_union(obj, owner)
        obj._resolving = False
        obj._resolved = True

    @staticmethod
    def _check_clash(obj, groups, owner):
        """@groups: [(members, where)], where says whose members they are,
        e.g. " of base type 'Base'"."""
        seen = {}
        for members, where in groups:
            for m in members:
                cname = c_name(m.name)
                if cname in seen:
                    raise QAPIError(obj.info, "%s: member '%s'%s collides with "
                                    "member '%s'%s" % (owner, m.name, where,
                                                       *seen[cname]))
                seen[cname] = (m.name, where)

    @staticmethod
    def _member_groups(obj):
        if obj.base is None:
            return [(obj.local_members, '')]
        where = '' if obj.base.is_implicit() else \
            " of base type '%s'" % obj.base.name
        return [(obj.base.members(), where), (obj.local_members, '')]

    def _resolve_union(self, obj, owner):
        tag = [m for m in obj.members() if m.name == obj.tag_name]
        if not tag:
            raise QAPIError(obj.info, "%s: discriminator '%s' is not a member "
                            "of 'base'" % (owner, obj.tag_name))
        tag = tag[0]
        if tag.optional:
            raise QAPIError(obj.info, "%s: discriminator member '%s' must not "
                            "be optional" % (owner, tag.name))
        if not isinstance(tag.type, EnumType):
            raise QAPIError(obj.info, "%s: discriminator member '%s' must be "
                            "of enum type" % (owner, tag.name))
        obj.tag_member = tag
        values = [v.name for v in tag.type.members]
        for br in obj.branches:
            if br.name not in values:
                raise QAPIError(br.info, "%s: branch '%s' is not a value of "
                                "%s" % (owner, br.name, tag.type.name))
            br.type = self.lookup(br.typeref, br.info,
                                  "%s branch '%s'" % (owner, br.name))
            if not isinstance(br.type, ObjectType):
                raise QAPIError(br.info, "%s: branch '%s' cannot use %s type "
                                "'%s'" % (owner, br.name, br.type.meta,
                                          br.type.name))
            self._resolve_object(br.type)
            self._check_clash(obj, self._member_groups(obj) +
                              [(br.type.members(), " of branch '%s'" % br.name)],
                              owner)

    # --- pass 3: whole-entity rules

    def _check(self, entity):
        if isinstance(entity, AlternateType):
            seen = {}
            for br in entity.branches:
                typ = br.type
                if isinstance(typ, AlternateType) or typ.name == 'any':
                    raise QAPIError(br.info, "alternate '%s': branch '%s' "
                                    "cannot use type '%s'"
                                    % (entity.name, br.name, typ.name))
                qt = typ.qtype()
                if qt in seen:
                    raise QAPIError(br.info, "alternate '%s': branch '%s' "
                                    "can't be distinguished from '%s'"
                                    % (entity.name, br.name, seen[qt]))
                seen[qt] = br.name

    @staticmethod
    def _check_doc(entity):
        """A doc block may only describe members and features that exist."""
        doc = entity.doc
        if doc is None:
            return
        members = []
        if isinstance(entity, EnumType):
            members = entity.members
        elif isinstance(entity, ObjectType):
            members = entity.members()
        elif isinstance(entity, (Command, Event)) and entity.arg_type:
            members = entity.arg_type.members()
        names = [m.name for m in members]
        if isinstance(entity, AlternateType):
            names = [b.name for b in entity.branches]
        features = [f.name for f in entity.features]
        for m in members:
            features += [f.name for f in m.features]
        doc.check(entity.meta, entity.name, names, features)

    # --- views for the generators

    def object_types(self):
        """Every object type, including implicit ones, in definition order."""
        return [t for t in self.types.values() if isinstance(t, ObjectType)]

    def enum_types(self):
        return [t for t in self.types.values() if isinstance(t, EnumType)]

    def alternate_types(self):
        return [t for t in self.types.values() if isinstance(t, AlternateType)]

    def commands(self):
        return [e for e in self.entities if isinstance(e, Command)]

    def events(self):
        return [e for e in self.entities if isinstance(e, Event)]

    def builtin_types(self):
        return [t for t in self.types.values() if isinstance(t, BuiltinType)]


def _a(meta):
    return ('an ' if meta[0] in 'aeiou' else 'a ') + meta + ' type'


class TypeOutputGenerator:
    """What the types and visitor generators share: their schema, the output
    prefix, and which list types they emit (the built-in ones in the
    builtins pass, every other one otherwise)."""

    def __init__(self, schema, prefix, builtins):
        self.schema = schema
        self.prefix = prefix
        self.builtins = builtins

    def lists(self):
        if self.builtins:
            return [ArrayType(t) for t in self.schema.builtin_types()
                    if t.name != 'null']
        return [a for a in self.schema.array_types()
                if not isinstance(a.element, BuiltinType)]
