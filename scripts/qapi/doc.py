"""Doc comments in QEMU's format: a '##' block whose first line is
'@Name:' documents the definition that follows it; '@member:' lines
describe members, 'Features:' starts feature descriptions, and tagged
sections ('Since:', 'Returns:', 'Errors:', ...) carry the rest.  A block
without '@Name:' is free-form text (e.g. '= Migration' headings)."""

import re

from .common import QAPIError, SourceInfo

_SYMBOL = re.compile(r'^@([A-Za-z0-9_-]+):$')
_ARG = re.compile(r'^@([A-Za-z0-9_.-]+):\s*(.*)$')
_TAG = re.compile(r'^(Since|Returns|Errors|Note|Notes|Example|Examples):\s*(.*)$')


class DocBlock:
    """A parsed doc comment."""

    def __init__(self, info, lines):
        self.info = info
        self.symbol = None
        self.body = []             # free text lines
        self.members = {}          # name -> text, in order
        self.features = {}         # name -> text, in order
        self.sections = []         # [tag, text]
        if lines and _SYMBOL.match(lines[0][1]):
            self.symbol = _SYMBOL.match(lines[0][1]).group(1)
            self._parse(lines[1:])
        else:
            self.body = [text for _, text in lines]

    def _parse(self, lines):
        in_features = False
        cur = None                 # (dict, name) or a section list
        for lineno, text in lines:
            info = SourceInfo(self.info.fname, lineno)
            arg = _ARG.match(text)
            tag = _TAG.match(text)
            if arg:
                name, rest = arg.groups()
                where = self.features if in_features else self.members
                if name in where:
                    raise QAPIError(info, "'%s' documented twice" % name)
                where[name] = rest
                cur = (where, name)
            elif text == 'Features:':
                if in_features:
                    raise QAPIError(info, "duplicated 'Features:' line")
                in_features = True
                cur = None
            elif tag:
                section = [tag.group(1), tag.group(2)]
                self.sections.append(section)
                cur = section
            elif text == '':
                if isinstance(cur, list):
                    cur[1] += '\n'
                else:
                    cur = None
                    self.body.append('')
            elif isinstance(cur, tuple):
                where, name = cur
                where[name] = (where[name] + ' ' + text.strip()).strip()
            elif isinstance(cur, list):
                sep = '' if cur[1] == '' or cur[1].endswith('\n') else '\n'
                cur[1] += sep + text
            else:
                self.body.append(text)

    def section(self, tag):
        """The text of the first section tagged @tag, or None."""
        for name, text in self.sections:
            if name == tag:
                return text.strip()
        return None

    def check(self, kind, name, member_names, feature_names):
        """Checks that the block documents @name and only existing members
        and features."""
        extra = [m for m in self.members if m not in member_names]
        if extra:
            raise QAPIError(self.info, "the following documented members are "
                            "not in the declaration: %s" % ', '.join(extra))
        extra = [f for f in self.features if f not in feature_names]
        if extra:
            raise QAPIError(self.info, "documented feature '%s' does not exist "
                            "in %s '%s'" % (extra[0], kind, name))
