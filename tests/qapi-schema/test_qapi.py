#!/usr/bin/env python3
"""Unit tests of the QAPI generator (scripts/qapi): every schema in bad/
must fail with the message in its .err file; the real schema and the test
schema must parse and generate; introspection and docs keep QEMU's shape."""

import contextlib
import glob
import io
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from scripts.qapi.common import QAPIError, c_enum_const, c_name, camel_to_upper  # noqa: E402
from scripts.qapi.gen_commands import CommandsGenerator, impl_decl  # noqa: E402
from scripts.qapi.gen_doc import DocGenerator  # noqa: E402
from scripts.qapi.gen_introspect import IntrospectGenerator  # noqa: E402
from scripts.qapi.main import generate, main  # noqa: E402
from scripts.qapi.schema import Schema  # noqa: E402

MAIN_SCHEMA = os.path.join(ROOT, 'qapi', 'qapi-schema.json')
TEST_SCHEMA = os.path.join(HERE, 'qapi-schema-test.json')


class BadSchemaTest(unittest.TestCase):
    """One test per bad/*.json, added below."""

    def check_bad(self, name):
        cwd = os.getcwd()
        os.chdir(HERE)
        try:
            with open(os.path.join('bad', name + '.err')) as f:
                expected = f.read().strip()
            with self.assertRaises(QAPIError) as ctx:
                Schema(os.path.join('bad', name + '.json'))
            self.assertEqual(str(ctx.exception), expected)
        finally:
            os.chdir(cwd)


def _add_bad_tests():
    names = sorted(os.path.basename(p)[:-5]
                   for p in glob.glob(os.path.join(HERE, 'bad', '*.json')))
    for name in names:
        def test(self, name=name):
            self.check_bad(name)
        setattr(BadSchemaTest, 'test_' + name.replace('-', '_'), test)
    return names


BAD_NAMES = _add_bad_tests()


class BadSchemaInventoryTest(unittest.TestCase):
    def test_enough_negative_schemas(self):
        self.assertGreaterEqual(len(BAD_NAMES), 15)

    def test_every_bad_schema_has_expectation(self):
        for name in BAD_NAMES:
            self.assertTrue(os.path.exists(os.path.join(HERE, 'bad', name + '.err')),
                            name)


class NamesTest(unittest.TestCase):
    def test_c_name(self):
        self.assertEqual(c_name('dirty-sync-count'), 'dirty_sync_count')
        self.assertEqual(c_name('a.b'), 'a_b')
        self.assertEqual(c_name('default'), 'q_default')
        self.assertEqual(c_name('unix'), 'q_unix')
        self.assertEqual(c_name('default', False), 'default')

    def test_enum_prefix(self):
        self.assertEqual(camel_to_upper('MigrationStatus'), 'MIGRATION_STATUS')
        self.assertEqual(camel_to_upper('XBZRLECacheStats'), 'XBZRLE_CACHE_STATS')
        self.assertEqual(camel_to_upper('MultiFDCompression'), 'MULTIFD_COMPRESSION')
        self.assertEqual(camel_to_upper('QMPCapability'), 'QMP_CAPABILITY')
        self.assertEqual(c_enum_const('MigrationStatus', 'postcopy-active'),
                         'MIGRATION_STATUS_POSTCOPY_ACTIVE')
        self.assertEqual(c_enum_const('Foo', 'x', 'MY_PFX'), 'MY_PFX_X')


class MainSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = Schema(MAIN_SCHEMA)

    def enum(self, name):
        return [m.name for m in self.schema.types[name].members]

    def members(self, name):
        return [m.name for m in self.schema.types[name].members()]

    def test_migration_status_order(self):
        self.assertEqual(self.enum('MigrationStatus'), [
            'none', 'setup', 'cancelling', 'cancelled', 'active',
            'postcopy-active', 'postcopy-paused', 'postcopy-recover-setup',
            'postcopy-recover', 'completed', 'failed', 'colo',
            'pre-switchover', 'device', 'wait-unplug'])

    def test_capabilities(self):
        caps = self.enum('MigrationCapability')
        # QEMU 9.1's 22 in QEMU's order, with compress where QEMU 9.0 had it,
        # then tern's own.
        self.assertEqual(len(caps), 26)
        self.assertEqual(caps[0], 'xbzrle')
        self.assertEqual(caps[4], 'compress')
        self.assertEqual(caps[22], 'mapped-ram')
        self.assertEqual(caps[-3:], ['x-verify-ram', 'x-mapped-ram-restore',
                                     'x-switchover-commit'])
        unstable = [m.name for m in self.schema.types['MigrationCapability'].members
                    if [f.name for f in m.features] == ['unstable']]
        self.assertEqual(unstable, ['x-colo', 'x-ignore-shared', 'x-verify-ram',
                                    'x-mapped-ram-restore', 'x-switchover-commit'])
        deprecated = [m.name for m in self.schema.types['MigrationCapability'].members
                      if [f.name for f in m.features] == ['deprecated']]
        self.assertEqual(deprecated, ['compress'])

    def test_parameters(self):
        set_params = self.schema.types['MigrateSetParameters']
        query = self.schema.types['MigrationParameters']
        self.assertEqual(self.members('MigrateSetParameters'),
                         self.members('MigrationParameters'))
        self.assertEqual(self.members('MigrationParameters'),
                         self.enum('MigrationParameter'))
        for m in set_params.members():
            self.assertTrue(m.optional)
        tls = {m.name: m.type.name for m in set_params.members()}
        self.assertEqual(tls['tls-creds'], 'StrOrNull')
        self.assertEqual({m.name: m.type.name for m in query.members()}['tls-creds'],
                         'str')

    def test_run_state(self):
        self.assertEqual(len(self.enum('RunState')), 16)
        self.assertEqual(self.members('StatusInfo'), ['running', 'status'])

    def test_addresses(self):
        addr = self.schema.types['MigrationAddress']
        self.assertEqual(addr.tag_member.name, 'transport')
        self.assertEqual({b.name: b.type.name for b in addr.branches},
                         {'socket': 'SocketAddress', 'exec': 'MigrationExecCommand',
                          'rdma': 'InetSocketAddress', 'file': 'FileMigrationArgs'})
        self.assertEqual(self.enum('MigrationChannelType'), ['main', 'cpr'])

    def test_migration_options_commands(self):
        cmds = {c.name: c for c in self.schema.commands()}
        set_caps = cmds['migrate-set-capabilities']
        self.assertEqual([m.name for m in set_caps.arg_type.members()],
                         ['capabilities'])
        self.assertEqual(cmds['query-migrate-capabilities'].ret_type.name,
                         'MigrationCapabilityStatusList')
        self.assertTrue(cmds['migrate-set-parameters'].boxed)
        self.assertEqual(cmds['migrate-set-parameters'].arg_type.name,
                         'MigrateSetParameters')
        self.assertEqual(cmds['query-migrate-parameters'].ret_type.name,
                         'MigrationParameters')

    def test_monitor_commands(self):
        names = {c.name for c in self.schema.commands()}
        self.assertTrue({'qmp_capabilities', 'query-version', 'query-commands',
                         'query-qmp-schema', 'quit', 'getfd', 'closefd',
                         'human-monitor-command'} <= names)

    def test_uuid_member_name_exception(self):
        uuid = self.schema.types['UuidInfo']
        self.assertEqual([m.name for m in uuid.members()], ['UUID'])

    def test_run_state_commands(self):
        names = {c.name for c in self.schema.commands()}
        self.assertLessEqual({'query-status', 'stop', 'cont', 'query-name',
                              'query-memory-size-summary'}, names)
        events = {e.name for e in self.schema.events()}
        self.assertLessEqual({'STOP', 'RESUME', 'SHUTDOWN'}, events)

    def test_generates_all_files(self):
        with tempfile.TemporaryDirectory() as out:
            files = generate(self.schema, out, '', False, 'qapi-schema.json')
            files += generate(self.schema, out, '', True, 'qapi-schema.json')
            for f in files:
                self.assertTrue(os.path.getsize(os.path.join(out, f)) > 0, f)
            with open(os.path.join(out, 'qapi-types.h')) as f:
                text = f.read()
            self.assertIn('MIGRATION_STATUS_WAIT_UNPLUG,\n    MIGRATION_STATUS__MAX', text)
            self.assertIn('    bool has_downtime_limit;\n    uint64_t downtime_limit;', text)
            self.assertIn('    StrOrNull *tls_creds;', text)
            self.assertIn('        UnixSocketAddress q_unix;', text)
            self.assertIn('G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationInfo, qapi_free_MigrationInfo)',
                          text)

    def test_reference(self):
        md = DocGenerator(self.schema).markdown()
        self.assertIn('## Migration', md)
        self.assertIn('### Enum `MigrationStatus`', md)
        self.assertIn('- `x-colo`:', md)


class TestSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = Schema(TEST_SCHEMA)
        cls.trees = IntrospectGenerator(cls.schema, 'test-').trees()
        cls.by_name = {t['name']: t for t in cls.trees}

    def test_commands_listed_with_options(self):
        add = self.by_name['test-add']
        self.assertEqual(add['meta-type'], 'command')
        self.assertEqual(add['ret-type'], 'int')
        self.assertTrue(add['arg-type'].isdigit())
        self.assertTrue(self.by_name['test-oob']['allow-oob'])
        self.assertNotIn('allow-oob', add)
        self.assertEqual(self.by_name['test-fail']['features'], ['unstable'])

    def test_masked_types_and_builtins(self):
        names = [t['name'] for t in self.trees]
        self.assertEqual(len(names), len(set(names)))
        for t in self.trees:
            if t['meta-type'] == 'builtin':
                self.assertIn(t['name'], ('int', 'str', 'bool', 'number', 'any', 'null'))
            elif t['meta-type'] in ('enum', 'object', 'alternate'):
                self.assertTrue(t['name'].isdigit(), t)
        self.assertEqual(self.by_name['int']['json-type'], 'int')
        self.assertEqual(self.by_name['str']['json-type'], 'string')
        self.assertEqual(self.by_name['any']['json-type'], 'value')
        self.assertNotIn('uint8', names)

    def test_arg_object(self):
        arg = self.by_name[self.by_name['test-add']['arg-type']]
        self.assertEqual(arg['meta-type'], 'object')
        self.assertEqual(arg['members'], [
            {'name': 'a', 'type': 'int'},
            {'name': 'b', 'type': 'int', 'default': None},
            {'name': 'label', 'type': 'str', 'default': None}])

    def test_enum_and_union(self):
        lst = self.by_name[self.by_name['test-list']['ret-type']]
        self.assertEqual(lst['meta-type'], 'array')
        enum = self.by_name[lst['element-type']]
        self.assertEqual(enum['values'], ['one', 'two-words', 'x-three'])
        self.assertEqual(enum['members'][2], {'name': 'x-three',
                                              'features': ['unstable']})
        union = self.by_name[self.by_name['test-boxed']['arg-type']]
        self.assertEqual(union['tag'], 'kind')
        self.assertEqual([v['case'] for v in union['variants']], ['one', 'two-words'])

    def test_events(self):
        self.assertEqual(self.by_name['TEST_PLAIN']['meta-type'], 'event')
        empty = self.by_name[self.by_name['TEST_PLAIN']['arg-type']]
        self.assertEqual(empty['members'], [])

    def test_member_features(self):
        echo_ret = self.by_name[self.by_name['test-echo']['ret-type']]
        level = [m for m in echo_ret['members'] if m['name'] == 'level'][0]
        self.assertEqual(level['features'], ['deprecated'])

    def test_doc(self):
        doc = self.schema.commands()[0].doc
        self.assertEqual(doc.symbol, 'test-add')
        self.assertEqual(doc.members['b'], 'the second addend, default 1.')
        self.assertEqual(doc.section('Since'), '1.0')
        md = DocGenerator(self.schema).markdown()
        self.assertIn('### Command `test-add`', md)
        self.assertIn('- `b`: `int` (optional) — the second addend, default 1.', md)
        self.assertIn('*Allows out-of-band execution.*', md)
        self.assertIn('**Returns:** `int` — the sum.', md)


class CommandContextTest(unittest.TestCase):
    """Every handler takes the context first; the marshaller passes it on."""

    @classmethod
    def setUpClass(cls):
        cls.schema = Schema(TEST_SCHEMA)
        cls.cmds = {c.name: c for c in cls.schema.commands()}
        gen = CommandsGenerator(cls.schema, 'test-')
        cls.header = gen.header('test-qapi-visit.h')
        cls.source = gen.source('test-qapi-commands.h')

    def test_handler_signatures(self):
        self.assertEqual(impl_decl(self.cmds['test-add']),
                         'bool qmp_test_add(TernContext *ctx, int64_t a, '
                         'bool has_b, int64_t b, const char *label, '
                         'int64_t *ret, GError **errp)')
        self.assertEqual(impl_decl(self.cmds['test-oob']),
                         'bool qmp_test_oob(TernContext *ctx, GError **errp)')
        self.assertEqual(impl_decl(self.cmds['test-boxed']),
                         'char *qmp_test_boxed(TernContext *ctx, '
                         'const TestUnion *arg, GError **errp)')
        self.assertTrue(impl_decl(self.cmds['test-list']).startswith(
            'TestEnumList *qmp_test_list(TernContext *ctx, bool has_n, '))

    def test_marshaller_passes_context(self):
        self.assertIn('bool qmp_marshal_test_oob(TernContext *ctx, '
                      'JsonObject *args, JsonNode **ret, GError **errp);',
                      self.header)
        self.assertIn('qmp_test_oob(ctx, errp)', self.source)
        self.assertIn('retval = qmp_test_boxed(ctx, &arg, &err);', self.source)
        self.assertIn('retval = qmp_test_list(ctx, arg.has_n, arg.n, &err);',
                      self.source)


class CommandLineTest(unittest.TestCase):
    def test_error_exit(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), tempfile.TemporaryDirectory() as out:
            status = main(['-o', out, os.path.join(HERE, 'bad', 'unknown-type.json')])
        self.assertEqual(status, 1)
        self.assertIn("unknown-type.json:1: struct 'Foo' member 'a' uses unknown type 'Bar'",
                      err.getvalue())

    def test_doc_output(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, 'docs', 'ref.md')
            self.assertEqual(main(['--doc', path, TEST_SCHEMA]), 0)
            with open(path) as f:
                self.assertTrue(f.read().startswith('# QMP reference'))


if __name__ == '__main__':
    unittest.main(verbosity=2)
