"""Shared pieces of the generator: source locations, the error type, and the
rules that turn schema names into C names."""

import re


class SourceInfo:
    """Where something was written: a file name and a 1-based line."""

    def __init__(self, fname, line):
        self.fname = fname
        self.line = line

    def __str__(self):
        return '%s:%d' % (self.fname, self.line)


class QAPIError(Exception):
    """A schema error; str() gives 'file:line: message'."""

    def __init__(self, info, msg):
        super().__init__(msg)
        self.info = info
        self.msg = msg

    def __str__(self):
        if self.info is None:
            return self.msg
        return '%s: %s' % (self.info, self.msg)


C_KEYWORDS = frozenset('''
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local bool true false asm typeof errno unix linux
    class new delete private public protected template this throw try catch
    namespace operator virtual friend using explicit mutable export and or
    not xor
'''.split())


def c_name(name, protect=True):
    """The C identifier for a schema name: '-' and '.' become '_', and with
    @protect a C keyword gets a 'q_' prefix."""
    name = name.replace('-', '_').replace('.', '_')
    if protect and name in C_KEYWORDS:
        return 'q_' + name
    return name


def camel_to_upper(name):
    """The default enum prefix, QEMU's way: an upper-case letter that starts a
    lower-case run, or follows a digit, begins a new word.
    MigrationStatus -> MIGRATION_STATUS, MultiFDCompression -> MULTIFD_COMPRESSION."""
    name = c_name(name, False)
    if name.isupper():
        return name
    out = ''
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and name[i - 1] != '_':
            if i + 1 < len(name) and name[i + 1].islower():
                out += '_'
            elif name[i - 1].isdigit():
                out += '_'
        out += ch
    return out.lstrip('_').upper()


def c_enum_const(type_name, member, prefix=None):
    """The C constant of enum member @member, e.g. MIGRATION_STATUS_ACTIVE."""
    if prefix is None:
        prefix = camel_to_upper(type_name)
    return (prefix + '_' + c_name(member, False)).upper()


def c_string(text):
    """@text as a C string literal."""
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


VALID_TYPE_NAME = re.compile(r'^[A-Z][A-Za-z0-9]*$')
VALID_MEMBER_NAME = re.compile(r'^[a-z][a-z0-9_-]*$')
VALID_ENUM_VALUE = re.compile(r'^[a-z0-9][a-z0-9_-]*$')
VALID_EVENT_NAME = re.compile(r'^[A-Z][A-Z0-9_]*$')
VALID_FEATURE_NAME = re.compile(r'^[a-z][a-z0-9-]*$')


def indent(text, level=1):
    """Indent every non-empty line of @text by @level * 4 spaces."""
    pad = '    ' * level
    return ''.join(pad + line if line.strip() else line
                   for line in text.splitlines(True))
