/*
 * Command-line parsing: QEMU's syntax for each option tern has, and one
 * clear error line for each kind of bad input.
 */
#include <fcntl.h>
#include <glib.h>
#include <unistd.h>
#include <string.h>

#include "cmdline.h"

static TernOptions *parse_ok(const char *line)
{
    g_auto(GStrv) words = g_strsplit(line, " ", -1);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    TernOptions *o = tern_options_new();

    g_ptr_array_add(argv, "tern");
    for (int i = 0; words[i]; i++) {
        g_ptr_array_add(argv, words[i]);
    }
    if (!cmdline_parse(argv->len, (char **)argv->pdata, o, &err)) {
        g_error("'%s': %s", line, err->message);
    }
    return o;
}

static void parse_fails(const char *line, const char *msg)
{
    g_auto(GStrv) words = g_strsplit(line, " ", -1);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(TernOptions) o = tern_options_new();

    g_ptr_array_add(argv, "tern");
    for (int i = 0; words[i]; i++) {
        g_ptr_array_add(argv, words[i]);
    }
    g_assert_false(cmdline_parse(argv->len, (char **)argv->pdata, o, &err));
    if (strcmp(err->message, msg) != 0) {
        g_error("'%s': got '%s' want '%s'", line, err->message, msg);
    }
}

static void test_memory(void)
{
    g_autoptr(TernOptions) a = parse_ok("-m 512");
    g_autoptr(TernOptions) b = parse_ok("-m 1G");
    g_autoptr(TernOptions) c = parse_ok("-m size=64M");
    g_autoptr(TernOptions) d = parse_ok("-object memory-backend-memfd,id=m,"
                                        "size=1G,share=on -machine "
                                        "memory-backend=m");
    g_autoptr(TernOptions) e = parse_ok("-kernel a-b.bin");

    g_assert_cmpuint(a->machine->ram_size, ==, 512u << 20);
    g_assert_cmpuint(b->machine->ram_size, ==, 1u << 30);
    g_assert_cmpuint(c->machine->ram_size, ==, 64u << 20);
    g_assert_cmpuint(d->machine->backends->len, ==, 1);
    g_assert_cmpstr(d->machine->memory_backend, ==, "m");
    g_assert_cmpuint(e->machine->ram_size, ==, 0);      /* default later */
}

static void test_misc(void)
{
    g_autoptr(TernOptions) o = parse_ok(
        "-smp 2 -accel kvm -accel interp -machine tern-pc -kernel g.bin "
        "-append start=1M,end=2M -name guest=vm1 "
        "-uuid 11111111-2222-3333-4444-555555555555 -S -no-shutdown "
        "-display none -serial file:/tmp/s -chardev socket,id=c,path=/p "
        "-mon chardev=c,mode=control -qmp unix:/q,server=on,wait=off "
        "-monitor stdio -qtest unix:/t -incoming defer -nodefaults");

    g_assert_cmpint(o->action, ==, CMDLINE_RUN);
    g_assert_cmpint(o->machine->smp, ==, 2);
    g_assert_cmpstr(o->machine->accels[0], ==, "kvm");
    g_assert_cmpstr(o->machine->accels[1], ==, "interp");
    g_assert_null(o->machine->accels[2]);
    g_assert_cmpstr(o->machine->kernel, ==, "g.bin");
    g_assert_cmpstr(o->machine->append, ==, "start=1M,end=2M");
    g_assert_cmpstr(o->name, ==, "vm1");
    g_assert_true(o->has_uuid);
    g_assert_cmphex(o->uuid[15], ==, 0x55);
    g_assert_true(o->start_stopped);
    g_assert_true(o->no_shutdown);
    g_assert_true(o->nodefaults);
    g_assert_cmpstr(o->serial, ==, "file:/tmp/s");
    g_assert_cmpuint(o->chardevs->len, ==, 1);
    g_assert_cmpuint(o->monitors->len, ==, 3);
    g_assert_true(((CmdlineMonitor *)o->monitors->pdata[0])->qmp);
    g_assert_cmpstr(((CmdlineMonitor *)o->monitors->pdata[0])->chardev, ==, "c");
    g_assert_true(((CmdlineMonitor *)o->monitors->pdata[1])->qmp);
    g_assert_false(((CmdlineMonitor *)o->monitors->pdata[2])->qmp);
    g_assert_cmpstr(o->qtest, ==, "unix:/t");
    g_assert_cmpstr(o->incoming, ==, "defer");
}

/* QEMU 10's repeatable -incoming: a main channel and a cpr channel, JSON or dotted. */
static void test_incoming_channels(void)
{
    g_autoptr(TernOptions) a = parse_ok(
        "-incoming unix:/m -incoming cpr,addr.transport=socket,addr.type=unix,addr.path=/c");
    g_autoptr(TernOptions) b = parse_ok(
        "-incoming {\"channel-type\":\"cpr\",\"addr\":{\"transport\":\"socket\","
        "\"type\":\"unix\",\"path\":\"/c\"}} "
        "-incoming main,addr.transport=socket,addr.type=inet,addr.host=h,addr.port=1");

    g_assert_cmpstr(a->incoming, ==, "unix:/m");
    g_assert_null(a->incoming_main);
    g_assert_cmpint(a->incoming_cpr->transport, ==, MIGRATION_ADDRESS_TYPE_SOCKET);
    g_assert_cmpint(a->incoming_cpr->u.socket.type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(a->incoming_cpr->u.socket.u.q_unix.path, ==, "/c");
    g_assert_null(b->incoming);
    g_assert_cmpstr(b->incoming_cpr->u.socket.u.q_unix.path, ==, "/c");
    g_assert_cmpstr(b->incoming_main->u.socket.u.inet.port, ==, "1");
    parse_fails("-incoming defer -incoming unix:/m",
                "-incoming unix:/m: only one main incoming channel may be given");
    parse_fails("-incoming cpr,addr.transport=socket,addr.type=unix,addr.path=/c "
                "-incoming cpr,addr.transport=socket,addr.type=unix,addr.path=/d",
                "-incoming cpr,addr.transport=socket,addr.type=unix,addr.path=/d: "
                "only one cpr incoming channel may be given");
    parse_fails("-incoming bogus,addr.transport=socket",
                "-incoming bogus,addr.transport=socket: Parameter 'channel-type' does "
                "not accept value 'bogus'");
}

static void test_device(void)
{
    g_autoptr(TernOptions) a = parse_ok("-device VGA");
    g_autoptr(TernOptions) b = parse_ok("-device VGA,vgamem_mb=5");
    g_autoptr(TernOptions) c = parse_ok("-device driver=VGA,vgamem_mb=0");
    g_autoptr(TernOptions) d = parse_ok("-m 16");

    g_assert_cmpuint(a->machine->vga_vram_mb, ==, 16);
    g_assert_cmpuint(b->machine->vga_vram_mb, ==, 8);   /* a power of two */
    g_assert_cmpuint(c->machine->vga_vram_mb, ==, 1);
    g_assert_cmpuint(d->machine->vga_vram_mb, ==, 0);   /* no display */
    parse_fails("-device cirrus-vga", "-device cirrus-vga: 'cirrus-vga' is "
                "not a valid device model name (tern has VGA)");
    parse_fails("-device VGA,vgamem_mb=512", "-device VGA,vgamem_mb=512: "
                "vgamem_mb=512: tern maps video memory at 0xe0000000 and "
                "allows at most 256 MiB");
    parse_fails("-device VGA -device VGA", "-device VGA: tern has one "
                "display: VGA given twice");
}

static void test_actions(void)
{
    g_autoptr(TernOptions) v = parse_ok("-version");
    g_autoptr(TernOptions) h = parse_ok("--help");
    g_autoptr(TernOptions) m = parse_ok("-machine help");
    g_autoptr(TernOptions) a = parse_ok("-machine accel=kvm:interp");
    g_autofree char *text = cmdline_help_text();

    g_assert_cmpint(v->action, ==, CMDLINE_VERSION);
    g_assert_cmpint(h->action, ==, CMDLINE_HELP);
    g_assert_cmpint(m->action, ==, CMDLINE_MACHINE_HELP);
    g_assert_cmpstr(a->machine->accels[1], ==, "interp");
    g_assert_nonnull(strstr(text, "-incoming"));
}

static void test_errors(void)
{
    parse_fails("-m foo", "-m foo: invalid size 'foo'");
    parse_fails("-m 0", "-m 0: ram size 0x0 is too small (tern needs at least "
                "1 MiB)");
    parse_fails("-m 8G", "-m 8G: ram size too large: a 32-bit tern guest "
                "addresses at most 4 GiB");
    parse_fails("-m size=1G,slots=2", "-m size=1G,slots=2: Invalid parameter "
                "'slots'");
    parse_fails("-m", "-m: requires an argument");
    parse_fails("-bogus", "-bogus: invalid option");
    parse_fails("disk.img", "disk.img: invalid option (tern takes no disk "
                "image; use -kernel)");
    parse_fails("-accel tcg", "-accel tcg: invalid accelerator tcg");
    parse_fails("-smp 0", "-smp 0: Invalid SMP CPUs 0. The max CPUs supported "
                "by machine 'tern-pc' is 64");
    parse_fails("-machine q35", "-machine q35: unsupported machine type: "
                "\"q35\"; use -machine help to list supported machines");
    parse_fails("-object memory-backend-ram,id=m",
                "-object memory-backend-ram,id=m: can't create backend with "
                "size 0");
    parse_fails("-object iothread,id=t", "-object iothread,id=t: invalid "
                "object type: iothread");
    parse_fails("-object memory-backend-ram,id=m,size=1M -object "
                "memory-backend-ram,id=m,size=1M",
                "-object memory-backend-ram,id=m,size=1M: attempt to add "
                "duplicate property 'm' to object (type 'container')");
    parse_fails("-uuid xyz", "-uuid xyz: Fail to parse UUID string. Wrong "
                "format.");
    parse_fails("-display gtk", "-display gtk: tern opens no display window; "
                "only '-display none' is accepted (screendump shows the VGA)");
    parse_fails("-serial null -serial stdio", "-serial stdio: tern-pc has one "
                "serial port; -serial given twice");
    parse_fails("-mon mode=control", "-mon mode=control: Parameter 'chardev' "
                "is missing");
    parse_fails("-mon chardev=c,mode=x", "-mon chardev=c,mode=x: Parameter "
                "'mode' does not accept value 'x'");
    parse_fails("-chardev socket,path=/p", "-chardev socket,path=/p: Parameter "
                "'id' is missing");
}

/* -add-fd, QEMU's texts: an inherited fd beyond stdio, and a set number. */
static void test_add_fd(void)
{
    int fd = open("/dev/null", O_RDONLY);      /* inheritable, as a parent's would be */
    int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_autofree char *ok = g_strdup_printf("-add-fd fd=%d,set=2,opaque=x", fd);
    g_autofree char *no_set = g_strdup_printf("-add-fd fd=%d", fd);
    g_autofree char *no_set_msg = g_strdup_printf(
        "%s: set option is required and must be non-negative", no_set);
    g_autofree char *in_use = g_strdup_printf("-add-fd fd=%d,set=1", cloexec);
    g_autofree char *in_use_msg = g_strdup_printf("%s: fd is not valid or already in use",
                                                  in_use);
    g_autoptr(TernOptions) o = NULL;
    CmdlineAddFd *a;

    g_assert_cmpint(fd, >, STDERR_FILENO);
    o = parse_ok(ok);
    g_assert_cmpuint(o->add_fds->len, ==, 1);
    a = &g_array_index(o->add_fds, CmdlineAddFd, 0);
    g_assert_cmpint(a->fd, ==, fd);
    g_assert_cmpint(a->set, ==, 2);
    g_assert_cmpstr(a->opaque, ==, "x");

    parse_fails("-add-fd set=1", "-add-fd set=1: fd option is required and must be "
                "non-negative");
    parse_fails("-add-fd fd=2,set=1", "-add-fd fd=2,set=1: fd cannot be a standard I/O "
                "stream");
    parse_fails(no_set, no_set_msg);
    parse_fails(in_use, in_use_msg);
    close(fd);
    close(cloexec);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cmdline/memory", test_memory);
    g_test_add_func("/cmdline/add-fd", test_add_fd);
    g_test_add_func("/cmdline/misc", test_misc);
    g_test_add_func("/cmdline/incoming-channels", test_incoming_channels);
    g_test_add_func("/cmdline/device", test_device);
    g_test_add_func("/cmdline/actions", test_actions);
    g_test_add_func("/cmdline/errors", test_errors);
    return g_test_run();
}
