"""Reads QAPI schema files: QEMU's JSON dialect (single-quoted strings,
'#' comments, top-level dictionaries), 'include' directives and '##' doc
comment blocks.  Produces a flat list of expressions in source order."""

import os

from .common import QAPIError, SourceInfo
from .doc import DocBlock


class Expression:
    """One top-level definition: its dictionary, location and doc block."""

    def __init__(self, expr, info, doc):
        self.expr = expr
        self.info = info
        self.doc = doc


class _FileParser:
    def __init__(self, fname, text):
        self.fname = fname
        self.text = text
        self.pos = 0
        self.line = 1

    def info(self):
        return SourceInfo(self.fname, self.line)

    def error(self, msg):
        raise QAPIError(self.info(), msg)

    def skip_space(self, top_level):
        """Skips blanks and comments; at top level returns a DocBlock when a
        '##' block starts here."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == '\n':
                self.line += 1
                self.pos += 1
            elif ch in ' \t\r':
                self.pos += 1
            elif ch == '#':
                end = self.text.find('\n', self.pos)
                end = len(self.text) if end < 0 else end
                comment = self.text[self.pos:end]
                if top_level and comment.startswith('##'):
                    return self.read_doc_block(comment)
                self.pos = end
            else:
                return None
        return None

    def read_doc_block(self, first):
        info = self.info()
        if first.rstrip() != '##':
            self.error("junk after '##' at start of documentation comment")
        lines = []
        self.pos += len(first)
        while True:
            if self.pos >= len(self.text):
                raise QAPIError(info, 'documentation comment must end with \'##\'')
            self.pos += 1            # the newline
            self.line += 1
            while self.pos < len(self.text) and self.text[self.pos] in ' \t':
                self.pos += 1
            end = self.text.find('\n', self.pos)
            end = len(self.text) if end < 0 else end
            raw = self.text[self.pos:end]
            if not raw.startswith('#'):
                raise QAPIError(info, 'documentation comment must end with \'##\'')
            self.pos = end
            if raw.startswith('##'):
                if raw.rstrip() != '##':
                    self.error("junk after '##' at end of documentation comment")
                return DocBlock(info, lines)
            if len(raw) > 1 and raw[1] != ' ':
                self.error("missing space after #")
            lines.append((self.line, raw[2:].rstrip()))

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ''

    def value(self):
        self.skip_space(False)
        ch = self.peek()
        if ch == '{':
            return self.dictionary()
        if ch == '[':
            return self.array()
        if ch == "'":
            return self.string()
        for word, val in (('true', True), ('false', False)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return val
        if ch == '':
            self.error('expected value, got end of file')
        if ch == '"':
            self.error("strings must use single quotes")
        self.error("stray '%s'" % ch)

    def string(self):
        self.pos += 1
        out = ''
        while True:
            ch = self.peek()
            if ch in ('', '\n'):
                self.error('missing terminating "\'"')
            self.pos += 1
            if ch == "'":
                return out
            if ch == '\\':
                esc = self.peek()
                if esc not in ("'", '\\', '/', '"'):
                    self.error("unknown escape \\%s" % esc)
                self.pos += 1
                ch = esc
            out += ch

    def expect(self, chars):
        self.skip_space(False)
        ch = self.peek()
        if ch == '' or ch not in chars:
            self.error("expected %s" % ' or '.join("'%s'" % c for c in chars))
        self.pos += 1
        return ch

    def dictionary(self):
        self.pos += 1
        out = {}
        self.skip_space(False)
        if self.peek() == '}':
            self.pos += 1
            return out
        while True:
            self.skip_space(False)
            if self.peek() != "'":
                self.error('expected string key')
            key = self.string()
            if key in out:
                self.error("duplicate key '%s'" % key)
            self.expect(':')
            out[key] = self.value()
            if self.expect(',}') == '}':
                return out

    def array(self):
        self.pos += 1
        out = []
        self.skip_space(False)
        if self.peek() == ']':
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            if self.expect(',]') == ']':
                return out

    def top_level(self):
        """Yields ('doc', DocBlock) and ('expr', dict, info) in order."""
        while True:
            doc = self.skip_space(True)
            if doc is not None:
                yield ('doc', doc)
                continue
            if self.pos >= len(self.text):
                return
            info = self.info()
            if self.peek() != '{':
                self.error('expected \'{\' at start of a definition')
            yield ('expr', self.dictionary(), info)


def parse_schema(fname):
    """Parses @fname and everything it includes; returns the list of
    Expression objects plus free-standing doc blocks (as Expression with
    expr None), in order."""
    out = []
    _parse_into(fname, out, set(), [])
    return out


def _parse_into(fname, out, seen, stack):
    path = os.path.realpath(fname)
    if path in stack:
        raise QAPIError(None, "inclusion loop for %s" % fname)
    if path in seen:
        return
    seen.add(path)
    try:
        with open(fname, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise QAPIError(None, "can't read schema file '%s': %s"
                        % (fname, e.strerror))
    parser = _FileParser(fname, text)
    pending = None
    for item in parser.top_level():
        if item[0] == 'doc':
            if pending is not None:
                _flush_doc(pending, out)
            pending = item[1]
            continue
        expr, info = item[1], item[2]
        if 'include' in expr:
            if pending is not None:
                _flush_doc(pending, out)
                pending = None
            _include(expr, info, fname, out, seen, stack + [path])
            continue
        doc = None
        if pending is not None and pending.symbol is not None:
            doc = pending
        elif pending is not None:
            out.append(Expression(None, pending.info, pending))
        pending = None
        out.append(Expression(expr, info, doc))
    if pending is not None:
        _flush_doc(pending, out)


def _flush_doc(doc, out):
    if doc.symbol is not None:
        raise QAPIError(doc.info, "documentation for '%s' is not followed by "
                        "the definition" % doc.symbol)
    out.append(Expression(None, doc.info, doc))


def _include(expr, info, fname, out, seen, stack):
    if len(expr) != 1:
        raise QAPIError(info, "invalid 'include' directive")
    target = expr['include']
    if not isinstance(target, str):
        raise QAPIError(info, "value of 'include' must be a string")
    incl = os.path.join(os.path.dirname(fname), target)
    if not os.path.exists(incl):
        raise QAPIError(info, "can't read include file '%s'" % target)
    if os.path.realpath(incl) in stack:
        raise QAPIError(info, "inclusion loop for %s" % target)
    _parse_into(incl, out, seen, stack)
