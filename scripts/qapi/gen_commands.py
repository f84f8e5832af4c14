"""Generates <prefix>qapi-commands.[ch]: for every command a marshaller
qmp_marshal_<name>() that visits the arguments, calls the hand-written
qmp_<name>() with the context the dispatcher passes and converts its
result, plus <prefix>qmp_init_marshal() registering them all with their
options."""

from .common import c_name, c_string
from .schema import BuiltinType, EnumType

HEADER_DOC = '''/*
 * QMP command implementations follow this pattern (other code provides them):
 *
 * - The first parameter is the context the command runs in (TernContext,
 *   opaque to the generated code and to the dispatcher: the dispatcher
 *   passes the one its monitor was created with).
 * - Arguments come in schema order.  A required argument is passed as its C
 *   type ('str' as const char *).  An optional pointer argument (str, struct,
 *   union, alternate, list, any) is NULL when absent; an optional scalar
 *   argument is preceded by 'bool has_<name>'.  With 'boxed': true the
 *   function takes one 'const ArgType *arg' instead.  All arguments are
 *   borrowed: the marshaller frees them after the call.
 * - Without 'returns':        bool qmp_foo(ctx, args..., GError **errp);
 *   returns true on success, false with @errp set on failure.
 * - Returning a scalar (int*, uint*, size, number, bool, enum):
 *                             bool qmp_foo(ctx, args..., T *ret, GError **errp);
 * - Returning a pointer (str, struct, union, alternate, list, any):
 *                             T *qmp_foo(ctx, args..., GError **errp);
 *   the result is transferred to the caller; failure is reported through
 *   @errp alone (the return value is then ignored), because an empty list
 *   is a legitimate NULL result.
 */
'''


# The type of every handler's first parameter; declared (incomplete) by
# qapi/qmp-registry.h and defined by the code that assembles the process.
CONTEXT_PARAM = 'TernContext *ctx'
MARSHAL_PARAMS = (CONTEXT_PARAM +
                  ', JsonObject *args, JsonNode **ret, GError **errp')


def _returns_scalar(cmd):
    return cmd.ret_type is not None and not cmd.ret_type.is_pointer()


def impl_params(cmd):
    """The parameter list of qmp_<name>()."""
    params = [CONTEXT_PARAM]
    if cmd.arg_type is not None:
        if cmd.boxed:
            params.append('const %s *arg' % cmd.arg_type.c_name())
        else:
            for m in cmd.arg_type.members():
                if m.has_flag():
                    params.append('bool has_%s' % m.c_name())
                ptype = m.type.c_param_type()
                sep = '' if ptype.endswith('*') else ' '
                params.append('%s%s%s' % (ptype, sep, m.c_name()))
    if _returns_scalar(cmd):
        params.append('%s *ret' % cmd.ret_type.c_type())
    params.append('GError **errp')
    return ', '.join(params)


def impl_decl(cmd):
    ret = 'bool '
    if cmd.ret_type is not None and cmd.ret_type.is_pointer():
        ret = cmd.ret_type.c_type()
    return '%sqmp_%s(%s)' % (ret, c_name(cmd.name), impl_params(cmd))


def _call_args(cmd):
    args = ['ctx']
    if cmd.arg_type is not None:
        if cmd.boxed:
            args.append('&arg')
        else:
            for m in cmd.arg_type.members():
                if m.has_flag():
                    args.append('arg.has_%s' % m.c_name())
                args.append('arg.%s' % m.c_name())
    return args


def _marshaller(cmd):
    name = c_name(cmd.name)
    out = 'bool qmp_marshal_%s(%s)\n{\n' % (name, MARSHAL_PARAMS)
    out += '    g_autoptr(GHashTable) seen = qapi_seen_new();\n'
    if cmd.arg_type is not None:
        out += '    %s arg = { 0 };\n' % cmd.arg_type.c_name()
    rtype = cmd.ret_type
    if rtype is not None:
        ctype = rtype.c_type()
        init = 'NULL' if rtype.is_pointer() else '0'
        if isinstance(rtype, EnumType):
            init = '0'
        out += '    %s%sretval = %s;\n' % (ctype, '' if ctype.endswith('*') else ' ',
                                            init)
    out += '    bool ok = false;\n\n'
    if cmd.arg_type is not None:
        out += ('    if (!visit_%s_members_from_json(args, NULL, seen, &arg, '
                'errp)) {\n        goto out;\n    }\n'
                % cmd.arg_type.c_name())
    out += ('    if (!qapi_check_unexpected(args, NULL, seen, errp)) {\n'
            '        goto out;\n    }\n')
    args = _call_args(cmd)
    fn = 'qmp_%s' % name
    if rtype is not None and rtype.is_pointer():
        out += '    {\n        GError *err = NULL;\n\n'
        out += '        retval = %s(%s);\n' % (fn, ', '.join(args + ['&err']))
        out += ('        if (err) {\n            g_propagate_error(errp, err);\n'
                '            goto out;\n        }\n    }\n')
    elif rtype is not None:
        out += '    if (!%s(%s)) {\n        goto out;\n    }\n' % (
            fn, ', '.join(args + ['&retval', 'errp']))
    else:
        out += '    if (!%s(%s)) {\n        goto out;\n    }\n' % (
            fn, ', '.join(args + ['errp']))
    if rtype is not None:
        if isinstance(rtype, BuiltinType):
            conv = 'qapi_out_%s(retval)' % rtype.name
        else:
            conv = 'visit_%s_to_json(retval)' % rtype.c_name()
        out += '    *ret = %s;\n' % conv
    out += '    ok = true;\nout:\n'
    if cmd.arg_type is not None:
        out += '    qapi_free_%s_members(&arg);\n' % cmd.arg_type.c_name()
    if rtype is not None and rtype.is_pointer():
        if isinstance(rtype, BuiltinType):
            out += ('    g_free(retval);\n' if rtype.name == 'str' else
                    '    if (retval) {\n        json_node_unref(retval);\n    }\n')
        else:
            out += '    qapi_free_%s(retval);\n' % rtype.c_name()
    out += '    return ok;\n}\n\n'
    return out


def _options(cmd):
    opts = []
    if not cmd.success_response:
        opts.append('QCO_NO_SUCCESS_RESP')
    if cmd.allow_oob:
        opts.append('QCO_ALLOW_OOB')
    return ' | '.join(opts) if opts else 'QCO_NO_OPTIONS'


class CommandsGenerator:
    def __init__(self, schema, prefix):
        self.schema = schema
        self.prefix = prefix

    def init_fn(self):
        return '%sqmp_init_marshal' % c_name(self.prefix)

    def header(self, visit_header):
        guard = c_name(self.prefix + 'qapi-commands').upper() + '_H'
        h = ['#ifndef %s\n#define %s\n\n' % (guard, guard),
             '#include "qapi/qmp-registry.h"\n',
             '#include "%s"\n\n' % visit_header, HEADER_DOC, '\n']
        for cmd in self.schema.commands():
            h.append('%s;\n' % impl_decl(cmd))
            h.append('bool qmp_marshal_%s(%s);\n\n'
                     % (c_name(cmd.name), MARSHAL_PARAMS))
        h.append('/* Registers every command of the schema in @cmds. */\n')
        h.append('void %s(QmpCommandList *cmds);\n\n#endif\n' % self.init_fn())
        return ''.join(h)

    def source(self, header_name):
        c = ['#include "%s"\n\n' % header_name]
        for cmd in self.schema.commands():
            c.append(_marshaller(cmd))
        c.append('void %s(QmpCommandList *cmds)\n{\n' % self.init_fn())
        for cmd in self.schema.commands():
            c.append('    qmp_register_command(cmds, %s, qmp_marshal_%s, %s);\n'
                     % (c_string(cmd.name), c_name(cmd.name), _options(cmd)))
        if not self.schema.commands():
            c.append('    (void)cmds;\n')
        c.append('}\n')
        return ''.join(c)


class EventsGenerator:
    """<prefix>qapi-events.[ch]: qapi_event_send_<name>() per event."""

    def __init__(self, schema, prefix):
        self.schema = schema
        self.prefix = prefix

    @staticmethod
    def _params(ev):
        if ev.arg_type is None:
            return 'void'
        if ev.boxed:
            return 'const %s *arg' % ev.arg_type.c_name()
        params = []
        for m in ev.arg_type.members():
            if m.has_flag():
                params.append('bool has_%s' % m.c_name())
            ptype = m.type.c_param_type()
            sep = '' if ptype.endswith('*') else ' '
            params.append('%s%s%s' % (ptype, sep, m.c_name()))
        return ', '.join(params)

    def _decl(self, ev):
        return 'void qapi_event_send_%s(%s)' % (c_name(ev.name).lower(),
                                                self._params(ev))

    def header(self, visit_header):
        guard = c_name(self.prefix + 'qapi-events').upper() + '_H'
        h = ['#ifndef %s\n#define %s\n\n' % (guard, guard),
             '#include "qapi/qmp-event.h"\n',
             '#include "%s"\n\n' % visit_header,
             '/*\n * One function per event: builds the "data" object and '
             'hands it to\n * qapi_event_emit().  Arguments are borrowed.\n */\n']
        for ev in self.schema.events():
            h.append('%s;\n' % self._decl(ev))
        h.append('\n#endif\n')
        return ''.join(h)

    def source(self, header_name):
        c = ['#include "%s"\n\n' % header_name]
        for ev in self.schema.events():
            c.append('%s\n{\n' % self._decl(ev))
            name = c_string(ev.name)
            if ev.arg_type is None:
                c.append('    qapi_event_emit(%s, NULL);\n}\n\n' % name)
                continue
            c.append('    JsonObject *data = json_object_new();\n')
            if ev.boxed:
                c.append('\n    visit_%s_members_to_json(data, arg);\n'
                         % ev.arg_type.c_name())
            else:
                c.append('    %s arg = {\n' % ev.arg_type.c_name())
                for m in ev.arg_type.members():
                    if m.has_flag():
                        c.append('        .has_%s = has_%s,\n'
                                 % (m.c_name(), m.c_name()))
                    cast = '(char *)' if m.type.name == 'str' else ''
                    c.append('        .%s = %s%s,\n' % (m.c_name(), cast,
                                                         m.c_name()))
                c.append('    };\n\n    visit_%s_members_to_json(data, &arg);\n'
                         % ev.arg_type.c_name())
            c.append('    qapi_event_emit(%s, data);\n}\n\n' % name)
        return ''.join(c)
