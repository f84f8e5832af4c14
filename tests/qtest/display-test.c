/*
 * The display end to end: screendump's errors and files from a mode the
 * test sets through the qtest protocol, the draw guest's picture, and the
 * picture across migration (stopped: identical files; live: a later
 * frame with the same static part), plus what the video memory adds to a
 * migration (its written pages, nothing more).
 */
#include "libqtest.h"
#include "libqtest-proto.h"
#include "test-accel.h"

#include <glib/gstdio.h>
#include <string.h>

#define LFB 0xe0000000u
#define VBE_INDEX 0x1ce
#define VBE_DATA 0x1cf

/* The draw guest (tests/guest/draw.S). */
#define DRAW_W 256
#define DRAW_H 192
#define DRAW_BAND_ROWS 160
#define DRAW_COUNTER_ADDR 0x600

typedef struct Vm {
    QTestState *qts;
    QTestProto *qt;
    char *qtest_path;
} Vm;

typedef struct Picture {
    int width, height;
    const uint8_t *rgb;         /* into data */
    char *data;                 /* the whole file */
    gsize len;
} Picture;

static char *test_dir;

static char *tmp_path(const char *name)
{
    return g_build_filename(test_dir, name, NULL);
}

/* tern with @extra, a qtest connection, and -accel @accel (kvm may skip). */
static Vm *vm_start(const char *accel, const char *extra)
{
    Vm *vm = g_new0(Vm, 1);
    g_autofree char *args = NULL;
    g_autofree char *qarg = NULL;
    const char *why;

    if (!strcmp(accel, "kvm") && !qtest_kvm_usable(&why)) {
        g_test_skip(why);
        g_free(vm);
        return NULL;
    }
    vm->qtest_path = qtest_proto_socket_path();
    qarg = qtest_proto_arg(vm->qtest_path);
    args = g_strdup_printf("-display none -m 16 -accel %s %s %s", accel, qarg,
                           extra);
    vm->qts = qtest_init(args);
    vm->qt = qtest_proto_connect(vm->qtest_path);
    return vm;
}

static Vm *vm_start_draw(const char *accel, const char *extra)
{
    g_autofree char *args = g_strdup_printf(
        "-device VGA -kernel %s/draw.bin %s", g_getenv("TERN_GUEST_DIR"),
        extra);

    return vm_start(accel, args);
}

static void vm_free(Vm *vm)
{
    if (!vm) {
        return;
    }
    qtest_proto_free(vm->qt);
    qtest_quit(vm->qts);
    g_free(vm->qtest_path);
    g_free(vm);
}

static void vbe_set(Vm *vm, uint16_t idx, uint16_t value)
{
    qtest_outw(vm->qt, VBE_INDEX, idx);
    qtest_outw(vm->qt, VBE_DATA, value);
}

static void mode_set(Vm *vm, uint16_t x, uint16_t y, uint16_t bpp)
{
    vbe_set(vm, 4, 0);
    vbe_set(vm, 1, x);
    vbe_set(vm, 2, y);
    vbe_set(vm, 3, bpp);
    vbe_set(vm, 4, 0x41);
}

static void screendump(Vm *vm, const char *path, const char *format)
{
    qtest_qmp_assert_success(vm->qts, "{'execute': 'screendump', 'arguments':"
                             " {'filename': '%s', 'format': '%s'}}", path,
                             format);
}

static void picture_free(Picture *p)
{
    if (p) {
        g_free(p->data);
        g_free(p);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Picture, picture_free)

/* A PPM as QEMU writes it: "P6\nW H\n255\n" and W * H * 3 bytes. */
static Picture *picture_load(const char *path)
{
    Picture *p = g_new0(Picture, 1);
    int header = 0;

    g_assert_true(g_file_get_contents(path, &p->data, &p->len, NULL));
    g_assert_cmpint(sscanf(p->data, "P6\n%d %d\n255\n%n", &p->width,
                           &p->height, &header), ==, 2);
    g_assert_cmpint(header, >, 0);
    g_assert_cmpuint(p->len, ==, header + (gsize)p->width * p->height * 3);
    p->rgb = (const uint8_t *)p->data + header;
    return p;
}

static uint32_t picture_pixel(const Picture *p, int x, int y)
{
    const uint8_t *px = p->rgb + ((size_t)y * p->width + x) * 3;

    return px[0] << 16 | px[1] << 8 | px[2];
}

static Picture *vm_picture(Vm *vm, const char *name)
{
    g_autofree char *path = tmp_path(name);

    screendump(vm, path, "ppm");
    return picture_load(path);
}

/* ---- screendump from a mode set over qtest ---- */

static void test_errors(void)
{
    Vm *bare = vm_start("qtest", "");
    Vm *vm = vm_start("qtest", "-device VGA");
    g_autofree char *bad = g_build_filename(test_dir, "no", "x.ppm", NULL);
    g_autofree char *ok = tmp_path("ok.ppm");
    g_autoptr(JsonNode) hmp = NULL;

    qtest_qmp_expect_error(bare->qts, "GenericError", "There is no console "
                           "to take a screendump from", "{'execute': "
                           "'screendump', 'arguments': {'filename': '%s'}}",
                           ok);
    qtest_qmp_expect_error(vm->qts, "GenericError", "no surface",
                           "{'execute': 'screendump', 'arguments': "
                           "{'filename': '%s'}}", ok);
    g_assert_false(g_file_test(ok, G_FILE_TEST_EXISTS));
    mode_set(vm, 64, 8, 32);
    qtest_qmp_expect_error(vm->qts, "GenericError", "'head' must be specified "
                           "together with 'device'", "{'execute': "
                           "'screendump', 'arguments': {'filename': '%s', "
                           "'head': 0}}", ok);
    qtest_qmp_expect_error(vm->qts, "GenericError", "Device 'nope' not found",
                           "{'execute': 'screendump', 'arguments': "
                           "{'filename': '%s', 'device': 'nope'}}", ok);
    qtest_qmp_expect_error(vm->qts, "GenericError", "Device vga (head 1) is "
                           "not bound to a QemuConsole", "{'execute': "
                           "'screendump', 'arguments': {'filename': '%s', "
                           "'device': 'vga', 'head': 1}}", ok);
    qtest_qmp_expect_error(vm->qts, "GenericError", "failed to open file",
                           "{'execute': 'screendump', 'arguments': "
                           "{'filename': '%s'}}", bad);
    qtest_qmp_expect_error(vm->qts, "GenericError", "'format'",
                           "{'execute': 'screendump', 'arguments': "
                           "{'filename': '%s', 'format': 'gif'}}", ok);
    hmp = qtest_qmp_assert_success_ref(vm->qts, "{'execute': "
                                       "'human-monitor-command', 'arguments':"
                                       " {'command-line': 'screendump %s -f "
                                       "gif'}}", ok);
    g_assert_cmpstr(json_node_get_string(hmp), ==,
                    "Error: invalid parameter value: gif\r\n");
    qtest_qmp_assert_success(vm->qts, "{'execute': 'screendump', 'arguments':"
                             " {'filename': '%s', 'device': 'vga', "
                             "'head': 0}}", ok);
    g_unlink(ok);
    vm_free(bare);
    vm_free(vm);
}

/* 16 bpp pixels written over qtest come out as PPM and PNG. */
static void test_pixels(void)
{
    Vm *vm = vm_start("qtest", "-device VGA");
    g_autofree char *png = tmp_path("p.png");
    g_autofree char *hmp_png = tmp_path("h.png");
    g_autoptr(Picture) pic = NULL;
    g_autoptr(JsonNode) out = NULL;
    g_autofree char *data = NULL;
    gsize len;

    mode_set(vm, 32, 4, 16);
    qtest_writew(vm->qt, LFB, 0xf800);                  /* (0,0) red */
    qtest_writew(vm->qt, LFB + (3 * 32 + 31) * 2, 0x001f);  /* (31,3) blue */
    pic = vm_picture(vm, "p.ppm");
    g_assert_cmpint(pic->width, ==, 32);
    g_assert_cmpint(pic->height, ==, 4);
    g_assert_cmphex(picture_pixel(pic, 0, 0), ==, 0xff0000);
    g_assert_cmphex(picture_pixel(pic, 31, 3), ==, 0x0000ff);
    g_assert_cmphex(picture_pixel(pic, 1, 0), ==, 0);

    screendump(vm, png, "png");
    out = qtest_qmp_assert_success_ref(vm->qts, "{'execute': "
                                       "'human-monitor-command', 'arguments':"
                                       " {'command-line': 'screendump %s -f "
                                       "png'}}", hmp_png);
    g_assert_cmpstr(json_node_get_string(out), ==, "");
    /* PNG signature, then IHDR: width 32, height 4, depth 8, RGB (2). */
    g_assert_true(g_file_get_contents(hmp_png, &data, &len, NULL));
    g_assert_cmpuint(len, >, 33);
    g_assert_cmpmem(data, 8, "\x89PNG\r\n\x1a\n", 8);
    g_assert_cmpmem(data + 12, 4, "IHDR", 4);
    g_assert_cmpmem(data + 16, 10, "\0\0\0\x20\0\0\0\x04\x08\x02", 10);
    g_unlink(png);
    g_unlink(hmp_png);
    vm_free(vm);
}

/* ---- the draw guest ---- */

static const uint32_t draw_colours[8] = {
    0xff0000, 0x00ff00, 0x0000ff, 0xffff00,
    0xff00ff, 0x00ffff, 0x808080, 0xff8000,
};

/* The bands, and the counter read from the middle line of its strip. */
static uint32_t draw_check(const Picture *p)
{
    uint32_t gray = 0, bin;

    g_assert_cmpint(p->width, ==, DRAW_W);
    g_assert_cmpint(p->height, ==, DRAW_H);
    for (int y = 0; y < DRAW_BAND_ROWS; y += 7) {
        for (int x = 0; x < DRAW_W; x += 5) {
            g_assert_cmphex(picture_pixel(p, x, y), ==, draw_colours[x / 32]);
        }
    }
    for (int cell = 0; cell < 32; cell++) {
        uint32_t px = picture_pixel(p, cell * 8 + 4, DRAW_BAND_ROWS + 16);

        g_assert_true(px == 0 || px == 0xffffff);
        gray = gray << 1 | (px != 0);
    }
    bin = gray;
    for (int shift = 1; shift < 32; shift <<= 1) {
        bin ^= bin >> shift;
    }
    return bin;
}

/* Wait (a liveness bound, not a measurement) until the guest's frame
 * counter reaches @frames. */
static uint32_t draw_wait_frames(Vm *vm, uint32_t frames)
{
    gint64 deadline = qtest_deadline_ms(60000);
    uint32_t n;

    while ((n = qtest_readl(vm->qt, DRAW_COUNTER_ADDR)) < frames) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the draw guest is stuck at frame %u (want %u)", n,
                    frames);
        }
        g_usleep(2000);
    }
    return n;
}

static void vm_stop(Vm *vm)
{
    qtest_qmp_assert_success(vm->qts, "{'execute': 'stop'}");
}

/*
 * A stopped guest shows frame C - 1 whole, or frame C partly drawn over
 * it (C is the counter, incremented before a frame is drawn): the Gray
 * code reads as one of the two.
 */
static void test_draw_picture(gconstpointer data)
{
    Vm *vm = vm_start_draw(data, "");
    g_autoptr(Picture) pic = NULL;
    uint32_t c, shown;

    if (!vm) {
        return;
    }
    draw_wait_frames(vm, 3);
    vm_stop(vm);
    c = qtest_readl(vm->qt, DRAW_COUNTER_ADDR);
    pic = vm_picture(vm, "draw.ppm");
    shown = draw_check(pic);
    g_assert_true(shown == c || shown + 1 == c);
    vm_free(vm);
}

static void wait_migration(Vm *vm)
{
    gint64 deadline = qtest_deadline_ms(120000);

    for (;;) {
        g_autoptr(JsonNode) r = qtest_qmp_assert_success_ref(
            vm->qts, "{'execute': 'query-migrate'}");
        JsonObject *o = json_node_get_object(r);
        const char *st = json_object_get_string_member_with_default(
            o, "status", "none");

        if (!strcmp(st, "completed")) {
            return;
        }
        g_assert_cmpstr(st, !=, "failed");
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
}

static void migrate(Vm *from, Vm *to, const char *uri)
{
    qtest_qmp_assert_success(from->qts, "{'execute': 'migrate', "
                             "'arguments': {'uri': '%s'}}", uri);
    wait_migration(from);
}

static Vm *start_destination(const char *accel, const char *guest_opts,
                             char **uri)
{
    g_autofree char *sock = tmp_path("mig.sock");
    g_autofree char *extra = NULL;

    g_unlink(sock);
    *uri = g_strdup_printf("unix:%s", sock);
    extra = g_strdup_printf("%s -incoming %s", guest_opts, *uri);
    return vm_start(accel, extra);
}

static void wait_runstate(Vm *vm, const char *want)
{
    gint64 deadline = qtest_deadline_ms(60000);

    for (;;) {
        g_autoptr(JsonNode) r = qtest_qmp_assert_success_ref(
            vm->qts, "{'execute': 'query-status'}");
        const char *st = json_object_get_string_member(
            json_node_get_object(r), "status");

        if (!strcmp(st, want)) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
}

/* A stopped guest's picture: byte-identical files on both sides. */
static void test_migrate_stopped(gconstpointer data)
{
    const char *accel = data;
    g_autofree char *uri = NULL;
    g_autofree char *guest = g_strdup_printf(
        "-device VGA -kernel %s/draw.bin", g_getenv("TERN_GUEST_DIR"));
    Vm *src = vm_start(accel, guest);
    Vm *dst;
    g_autoptr(Picture) before = NULL;
    g_autoptr(Picture) after = NULL;

    if (!src) {
        return;
    }
    dst = start_destination(accel, guest, &uri);
    draw_wait_frames(src, 3);
    vm_stop(src);
    before = vm_picture(src, "src.ppm");
    migrate(src, dst, uri);
    wait_runstate(dst, "paused");
    after = vm_picture(dst, "dst.ppm");
    g_assert_cmpuint(before->len, ==, after->len);
    g_assert_true(memcmp(before->data, after->data, before->len) == 0);
    draw_check(after);
    vm_free(src);
    vm_free(dst);
}

/*
 * Live, while the guest draws: the source's last picture (it stops at
 * the switchover) shows frame S; the destination runs on, and once its
 * counter passed S + 1 a stopped picture shows a later frame, over
 * byte-identical bands.
 */
static void test_migrate_live(gconstpointer data)
{
    const char *accel = data;
    g_autofree char *uri = NULL;
    g_autofree char *guest = g_strdup_printf(
        "-device VGA -kernel %s/draw.bin", g_getenv("TERN_GUEST_DIR"));
    Vm *src = vm_start(accel, guest);
    Vm *dst;
    g_autoptr(Picture) before = NULL;
    g_autoptr(Picture) after = NULL;
    uint32_t s, d;
    size_t bands = (size_t)DRAW_W * DRAW_BAND_ROWS * 3;

    if (!src) {
        return;
    }
    dst = start_destination(accel, guest, &uri);
    draw_wait_frames(src, 3);
    migrate(src, dst, uri);
    wait_runstate(src, "postmigrate");
    before = vm_picture(src, "src.ppm");
    s = draw_check(before);
    wait_runstate(dst, "running");
    draw_wait_frames(dst, s + 2);
    vm_stop(dst);
    after = vm_picture(dst, "dst.ppm");
    d = draw_check(after);
    g_assert_cmpuint(d, >, s);
    g_assert_true(memcmp(before->rgb, after->rgb, bands) == 0);
    vm_free(src);
    vm_free(dst);
}

/*
 * What the video memory costs a migration: a 16 MiB vram of which the
 * test wrote 5 pages sends exactly those as data pages (the rest, and
 * the idle qtest machine's RAM, go as zero pages), and they arrive.
 */
static void test_migrate_vram_pages(void)
{
    static const uint32_t pages[] = { 0, 1, 100, 2048, 4095 };
    g_autofree char *uri = NULL;
    Vm *src = vm_start("qtest", "-device VGA");
    Vm *dst = start_destination("qtest", "-device VGA", &uri);
    g_autoptr(JsonNode) r = NULL;
    JsonObject *ram;

    mode_set(src, 64, 64, 32);      /* clears 16 KiB: zero pages */
    for (size_t i = 0; i < G_N_ELEMENTS(pages); i++) {
        qtest_writel(src->qt, LFB + pages[i] * 4096 + 8, 0xc0ffee00 + i);
    }
    migrate(src, dst, uri);
    r = qtest_qmp_assert_success_ref(src->qts, "{'execute': 'query-migrate'}");
    ram = json_object_get_object_member(json_node_get_object(r), "ram");
    g_assert_cmpint(json_object_get_int_member(ram, "normal"), ==,
                    G_N_ELEMENTS(pages));
    wait_runstate(dst, "running");      /* the destination has loaded it all */
    for (size_t i = 0; i < G_N_ELEMENTS(pages); i++) {
        g_assert_cmphex(qtest_readl(dst->qt, LFB + pages[i] * 4096 + 8), ==,
                        0xc0ffee00 + i);
    }
    vm_free(src);
    vm_free(dst);
}

int main(int argc, char **argv)
{
    static const char *const accels[] = { "interp", "kvm" };
    int ret;

    g_test_init(&argc, &argv, NULL);
    test_dir = g_dir_make_tmp("tern-display-test-XXXXXX", NULL);
    if (test_accel_selected(false)) {
        g_test_add_func("/display/screendump/errors", test_errors);
        g_test_add_func("/display/screendump/pixels", test_pixels);
        g_test_add_func("/display/migrate/vram-pages",
                        test_migrate_vram_pages);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
        g_autofree char *pic = NULL, *stopped = NULL, *live = NULL;

        if (!test_accel_selected(!strcmp(accels[i], "kvm"))) {
            continue;
        }
        pic = g_strdup_printf("/display/draw/picture/%s", accels[i]);
        stopped = g_strdup_printf("/display/migrate/stopped/%s", accels[i]);
        live = g_strdup_printf("/display/migrate/live/%s", accels[i]);
        g_test_add_data_func(pic, accels[i], test_draw_picture);
        g_test_add_data_func(stopped, accels[i], test_migrate_stopped);
        g_test_add_data_func(live, accels[i], test_migrate_live);
    }
    ret = g_test_run();
    g_rmdir(test_dir);
    g_free(test_dir);
    return ret;
}
