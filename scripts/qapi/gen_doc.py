"""Generates the Markdown QMP reference from the schema's doc comments:
free-form blocks give headings and prose, each documented definition
gets a section listing its members, features and tagged sections."""

from .doc import DocBlock
from .schema import (AlternateType, ArrayType, Command, EnumType, Event,
                     ObjectType)


def _type_ref(typ):
    if typ is None:
        return ''
    if isinstance(typ, ArrayType):
        return '[%s]' % _type_ref(typ.element)
    if typ.is_implicit():
        return 'object'
    return '`%s`' % typ.name


def _features_md(features, doc):
    if not features:
        return ''
    out = '\n**Features:**\n\n'
    for f in features:
        text = doc.features.get(f.name, '') if doc else ''
        out += '- `%s`%s\n' % (f.name, ': ' + text if text else '')
    return out


def _members_md(title, members, doc):
    if not members:
        return ''
    out = '\n**%s:**\n\n' % title
    for m in members:
        text = doc.members.get(m.name, 'Not documented') if doc else 'Not documented'
        opt = ' (optional)' if m.optional else ''
        feats = ''
        if m.features:
            feats = ' — features: ' + ', '.join('`%s`' % f.name for f in m.features)
        out += '- `%s`: %s%s — %s%s\n' % (m.name, _type_ref(m.type), opt,
                                            text, feats)
    return out


def _heading(line):
    level = len(line) - len(line.lstrip('='))
    return '#' * (level + 1) + ' ' + line.lstrip('=').strip()


class DocGenerator:
    def __init__(self, schema):
        self.schema = schema

    def markdown(self):
        out = ['# QMP reference\n\nGenerated from the QAPI schema; do not edit.\n']
        for item in self.schema.items:
            if isinstance(item, DocBlock):
                out.append(self._free(item))
            else:
                out.append(self._entity(item))
        return '\n'.join(out)

    @staticmethod
    def _free(doc):
        lines = [(_heading(l) if l.startswith('=') else l) for l in doc.body]
        return '\n'.join(lines).strip() + '\n'

    def _entity(self, e):
        doc = e.doc
        kind = {Command: 'Command', Event: 'Event', EnumType: 'Enum',
                AlternateType: 'Alternate'}.get(type(e))
        if isinstance(e, ObjectType):
            kind = 'Union' if e.is_union() else 'Struct'
        out = '### %s `%s`\n\n' % (kind, e.name)
        if doc and doc.body:
            out += '\n'.join(doc.body).strip() + '\n'
        if isinstance(e, EnumType):
            out += '\n**Values:**\n\n'
            for m in e.members:
                text = doc.members.get(m.name, 'Not documented') if doc else ''
                feats = ''
                if m.features:
                    feats = ' — features: ' + ', '.join('`%s`' % f.name
                                                        for f in m.features)
                out += '- `%s`: %s%s\n' % (m.name, text, feats)
        elif isinstance(e, ObjectType):
            if e.base is not None and not e.base.is_implicit():
                out += '\nIncludes the members of %s.\n' % _type_ref(e.base)
            members = e.members() if (e.base is None or e.base.is_implicit()) \
                else e.local_members
            out += _members_md('Members', members, doc)
            if e.is_union():
                out += '\n**Branches** (by `%s`):\n\n' % e.tag_member.name
                for br in e.branches:
                    out += '- `%s`: members of %s\n' % (br.name, _type_ref(br.type))
        elif isinstance(e, AlternateType):
            out += '\n**One of:**\n\n'
            for br in e.branches:
                text = doc.members.get(br.name, '') if doc else ''
                out += '- `%s`: %s%s\n' % (br.name, _type_ref(br.type),
                                           ' — ' + text if text else '')
        elif isinstance(e, (Command, Event)):
            if e.arg_type is not None:
                if e.arg_type.is_implicit():
                    out += _members_md('Arguments', e.arg_type.members(), doc)
                else:
                    out += '\n**Arguments:** the members of %s\n' % _type_ref(e.arg_type)
            if isinstance(e, Command):
                if e.ret_type is not None:
                    out += '\n**Returns:** %s' % _type_ref(e.ret_type)
                    ret = doc.section('Returns') if doc else None
                    out += (' — ' + ret if ret else '') + '\n'
                flags = []
                if e.allow_oob:
                    flags.append('allows out-of-band execution')
                if not e.success_response:
                    flags.append('sends no success response')
                if flags:
                    out += '\n*%s.*\n' % '; '.join(flags).capitalize()
        out += _features_md(e.features, doc)
        if doc:
            for tag, text in doc.sections:
                if tag in ('Since', 'Returns'):
                    continue
                out += '\n**%s:** %s\n' % (tag, text.strip())
            since = doc.section('Since')
            if since:
                out += '\n*Since: %s*\n' % since
        return out
