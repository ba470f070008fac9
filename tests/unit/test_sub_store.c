/*
 * Unit tests for lib/subscriber/sub_store: reload swaps whole snapshots and keeps the old one on a broken file, a
 * restart with the same file keeps what was written since and an edited file replaces it, the refresher follows
 * another connection's commits, readers holding a snapshot are never disturbed, concurrent readers only ever
 * see whole snapshots, and a file over the size bound or not a regular file is refused without being read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "subscriber/sub_store.h"

#define DIR_LEN 64   /* "/tmp/mihua_store_XXXXXX" */
#define PATH_LEN 128 /* a file inside that directory */
#define MSG_LEN 1024 /* expected messages: a path plus a reason */
#define READERS 4
#define RELOADS 200
#define NEW_SUB                                                                       \
    "{\"subscribers\": [{\"imsi\": \"001010000000003\", \"msisdn\": \"15550000002\"," \
    " \"impu\": [\"sip:bob@ims.test\"], \"voice_encryption\": true,"                  \
    " \"access\": {\"rat\": \"GERAN\", \"ims_vops\": false}}]}"
#define REFRESH_BOUND_MS 2000          /* generous bound for a loaded CI machine; the figure is printed */
#define SMALL_MAX 1024                 /* the bound in the size tests: the fixture's file fits, 2 KB does not */
#define PADDED_SIZE 2048               /* a valid document padded with trailing blanks to twice the bound */
#define SPARSE_SIZE (2LL << 30)        /* 2 GiB of holes: reading it would cost 2 GiB and seconds */
#define REFUSE_BOUND_MS 1000           /* a refusal is a stat(2); generous for a loaded machine */
#define RSS_GROWTH_MAX_KB (64L * 1024) /* peak RSS may move a little (allocator), never by the file's size */

/* Version A and B of the same subscriber differ in two fields that a reader checks together. */
#define DOC_TEMPLATE                                                                                  \
    "{\"subscribers\": [\n"                                                                           \
    "  {\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\",\n"                                \
    "   \"impu\": [\"sip:+15550000001@ims.test\", \"tel:+15550000001\"], \"voice_encryption\": %s,\n" \
    "   \"access\": {\"rat\": \"%s\", \"ims_vops\": true}}%s\n"                                       \
    "]}\n"
#define SECOND_SUB                                                                                        \
    ",\n  {\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:bob@ims.test\"]," \
    " \"voice_encryption\": false, \"access\": {\"rat\": \"NONE\", \"ims_vops\": false},"                 \
    " \"kms_key\": \"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\"}"

typedef struct {
    char dir[DIR_LEN];
    char path[PATH_LEN];
    sub_store_t *st;
} fixture_t;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void write_version(const char *path, int version_b, int two)
{
    char text[2048];
    snprintf(text, sizeof(text), DOC_TEMPLATE, version_b ? "false" : "true", version_b ? "EUTRAN" : "NR",
             two ? SECOND_SUB : "");
    write_file(path, text);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/mihua_store_XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/subs.json", fx->dir);
    write_version(fx->path, 0, 1);
    sub_error_t err;
    fx->st = sub_store_new(NULL, fx->path, &err);
    if (fx->st == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    sub_store_free(fx->st);
    DIR *d = opendir(fx->dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[MSG_LEN];
        snprintf(p, sizeof(p), "%s/%s", fx->dir, e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && unlink(p) < 0)
            rmdir(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void test_new_and_acquire(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(sub_store_path(fx->st), fx->path);
    assert_int_equal(sub_store_generation(fx->st), 1);
    sub_snapshot_t *s = sub_store_acquire(fx->st);
    assert_int_equal(sub_snapshot_count(s), 2);
    assert_int_equal(sub_find_by_identity(s, "tel:+15550000001")->rat, SUB_RAT_NR);
    sub_snapshot_release(s);
}

static void test_new_fails_on_missing_or_invalid_file(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    char path[PATH_LEN], expected[MSG_LEN];

    snprintf(path, sizeof(path), "%s/absent.json", fx->dir);
    assert_null(sub_store_new(NULL, path, &err));
    snprintf(expected, sizeof(expected), "%s: cannot read: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, expected);

    write_file(path, "{\"subscribers\": [], \"version\": 2}\n");
    assert_null(sub_store_new(NULL, path, &err));
    snprintf(expected, sizeof(expected), "%s:1:21: version: unknown key", path);
    assert_string_equal(err.msg, expected);
}

static void test_reload_swaps_and_holders_keep_old(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    sub_snapshot_t *old = sub_store_acquire(fx->st);

    write_version(fx->path, 1, 0);
    assert_int_equal(sub_store_reload(fx->st, &err), 0);
    assert_int_equal(sub_store_generation(fx->st), 2);

    sub_snapshot_t *cur = sub_store_acquire(fx->st);
    assert_ptr_not_equal(cur, old);
    assert_int_equal(sub_snapshot_count(cur), 1);
    assert_int_equal(sub_find_by_imsi(cur, "001010000000001")->rat, SUB_RAT_EUTRAN);
    assert_null(sub_find_by_imsi(cur, "001010000000002"));
    /* The reader that acquired before the reload still sees the whole old file. */
    assert_int_equal(sub_snapshot_count(old), 2);
    assert_int_equal(sub_find_by_imsi(old, "001010000000001")->rat, SUB_RAT_NR);
    assert_non_null(sub_find_by_identity(old, "sip:bob@ims.test"));
    sub_snapshot_release(old);
    sub_snapshot_release(cur);
}

/* The fixture's snapshot (version A, two subscribers) is still the one in force. */
static void assert_still_version_a(sub_store_t *st, sub_snapshot_t *before)
{
    sub_snapshot_t *after = sub_store_acquire(st);
    assert_ptr_equal(after, before);
    assert_int_equal(sub_store_generation(st), 1);
    assert_int_equal(sub_snapshot_count(after), 2);
    assert_int_equal(sub_find_by_identity(after, "msisdn-15550000001")->rat, SUB_RAT_NR);
    sub_snapshot_release(after);
}

static void test_reload_keeps_old_on_broken_file(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    char expected[MSG_LEN];
    sub_snapshot_t *before = sub_store_acquire(fx->st);

    write_file(fx->path, "{\"subscribers\": [\n  {\"imsi\": \"0010\"}\n]}\n");
    assert_int_equal(sub_store_reload(fx->st, &err), -1);
    snprintf(expected, sizeof(expected), "%s:2:12: subscribers[0].imsi: must be 5 to 15 digits", fx->path);
    assert_string_equal(err.msg, expected);

    write_file(fx->path, "{\"subscribers\": [\n");
    assert_int_equal(sub_store_reload(fx->st, &err), -1);
    snprintf(expected, sizeof(expected), "%s:2:1: (json): ']' expected near end of file", fx->path);
    assert_string_equal(err.msg, expected);

    unlink(fx->path);
    assert_int_equal(sub_store_reload(fx->st, &err), -1);
    snprintf(expected, sizeof(expected), "%s: cannot read: %s", fx->path, strerror(ENOENT));
    assert_string_equal(err.msg, expected);

    assert_still_version_a(fx->st, before);
    sub_snapshot_release(before);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* Version B of one subscriber, padded with blanks to PADDED_SIZE: valid, so only its size can refuse it. */
static void write_padded(const char *path)
{
    char text[PADDED_SIZE + 1];
    int n = snprintf(text, sizeof(text), DOC_TEMPLATE, "false", "EUTRAN", "");
    assert_true(n > 0 && n < PADDED_SIZE);
    memset(text + n, ' ', (size_t)(PADDED_SIZE - n));
    text[PADDED_SIZE] = '\0';
    write_file(path, text);
}

static void test_reload_refuses_file_over_max_unread(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    char expected[MSG_LEN];
    struct stat sb;
    struct timespec t0;

    assert_int_equal(stat(fx->path, &sb), 0);
    assert_true(sb.st_size < SMALL_MAX);
    sub_store_free(fx->st);
    fx->st = sub_store_new_max(NULL, fx->path, SMALL_MAX, &err);
    assert_non_null(fx->st);
    sub_snapshot_t *before = sub_store_acquire(fx->st);

    write_padded(fx->path);
    assert_int_equal(sub_store_reload(fx->st, &err), -1);
    snprintf(expected, sizeof(expected), "%s: %d bytes, more than subscribers_max_bytes (%d): not read", fx->path,
             PADDED_SIZE, SMALL_MAX);
    assert_string_equal(err.msg, expected);

    long rss0 = peak_rss_kb();
    assert_int_equal(truncate(fx->path, SPARSE_SIZE), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sub_store_reload(fx->st, &err), -1);
    long ms = elapsed_ms(&t0);
    long grown = peak_rss_kb() - rss0;
    printf("2 GiB sparse file refused in %ld ms, peak RSS +%ld kB\n", ms, grown);
    snprintf(expected, sizeof(expected), "%s: %lld bytes, more than subscribers_max_bytes (%d): not read", fx->path,
             SPARSE_SIZE, SMALL_MAX);
    assert_string_equal(err.msg, expected);
    assert_true(ms < REFUSE_BOUND_MS);
    assert_true(grown < RSS_GROWTH_MAX_KB);

    assert_still_version_a(fx->st, before);
    sub_snapshot_release(before);
}

static void test_new_refuses_file_over_max(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    char path[PATH_LEN], expected[MSG_LEN];

    snprintf(path, sizeof(path), "%s/big.json", fx->dir);
    write_padded(path);
    assert_null(sub_store_new_max(NULL, path, SMALL_MAX, &err));
    snprintf(expected, sizeof(expected), "%s: %d bytes, more than subscribers_max_bytes (%d): not read", path,
             PADDED_SIZE, SMALL_MAX);
    assert_string_equal(err.msg, expected);
    sub_store_t *st = sub_store_new_max(NULL, path, PADDED_SIZE, &err); /* at the bound: read */
    assert_non_null(st);
    sub_store_free(st);
}

/* A FIFO with bytes waiting: refused without blocking, and the bytes are still there afterwards. */
static void test_non_regular_files_refused_unread(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    char fifo[PATH_LEN], expected[MSG_LEN], back[8] = {0};

    snprintf(fifo, sizeof(fifo), "%s/subs.fifo", fx->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int fd = open(fifo, O_RDWR | O_NONBLOCK);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"s", 3), 3);
    assert_null(sub_store_new(NULL, fifo, &err));
    snprintf(expected, sizeof(expected), "%s: a FIFO, not a regular file: not read", fifo);
    assert_string_equal(err.msg, expected);
    assert_int_equal(read(fd, back, sizeof(back) - 1), 3);
    assert_string_equal(back, "{\"s");
    close(fd);

    assert_null(sub_store_new(NULL, "/dev/zero", &err));
    assert_string_equal(err.msg, "/dev/zero: a character device, not a regular file: not read");
    assert_null(sub_snapshot_load_file(fx->dir, &err));
    snprintf(expected, sizeof(expected), "%s: a directory, not a regular file: not read", fx->dir);
    assert_string_equal(err.msg, expected);
}

/* The admin API's path: a write through the store's connection, then an immediate refresh. */
static void patch_rat(sub_db_t *db, const char *rat)
{
    sub_error_t err;
    json_t *patch = json_pack("{s:{s:s}}", "access", "rat", rat);
    assert_int_equal(sub_db_patch(db, "001010000000001", patch, NULL, &err), SUB_DB_OK);
    json_decref(patch);
}

static void test_restart_keeps_changes_until_the_file_changes(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    char db_path[PATH_LEN];

    snprintf(db_path, sizeof(db_path), "%s/subs.db", fx->dir);
    assert_string_equal(sub_store_db_path(fx->st), db_path); /* default: next to the file */
    patch_rat(sub_store_db(fx->st), "UTRAN");
    assert_int_equal(sub_store_refresh(fx->st, &err), 0);
    assert_int_equal(sub_store_generation(fx->st), 2);
    assert_int_equal(sub_store_refresh(fx->st, &err), 0); /* nothing new: no second read */
    assert_int_equal(sub_store_generation(fx->st), 2);

    sub_store_free(fx->st); /* restart with the same file: the change survives */
    fx->st = sub_store_new(NULL, fx->path, &err);
    assert_non_null(fx->st);
    sub_snapshot_t *s = sub_store_acquire(fx->st);
    assert_int_equal(sub_find_by_imsi(s, "001010000000001")->rat, SUB_RAT_UTRAN);
    sub_snapshot_release(s);

    sub_store_free(fx->st); /* an edited file replaces the data set */
    write_version(fx->path, 1, 0);
    fx->st = sub_store_new(NULL, fx->path, &err);
    assert_non_null(fx->st);
    s = sub_store_acquire(fx->st);
    assert_int_equal(sub_snapshot_count(s), 1);
    assert_int_equal(sub_find_by_imsi(s, "001010000000001")->rat, SUB_RAT_EUTRAN);
    sub_snapshot_release(s);
}

static void test_bad_file_at_start_changes_nothing(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;

    patch_rat(sub_store_db(fx->st), "GERAN");
    sub_store_free(fx->st);
    write_file(fx->path, "{\"subscribers\": [{\"imsi\": \"x\"}]}\n");
    assert_null(sub_store_new(NULL, fx->path, &err));
    char db_path[PATH_LEN];
    snprintf(db_path, sizeof(db_path), "%s/subs.db", fx->dir);
    fx->st = sub_store_new(db_path, NULL, &err); /* no file: what is stored */
    assert_non_null(fx->st);
    sub_snapshot_t *s = sub_store_acquire(fx->st);
    assert_int_equal(sub_snapshot_count(s), 2);
    assert_int_equal(sub_find_by_imsi(s, "001010000000001")->rat, SUB_RAT_GERAN);
    sub_snapshot_release(s);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Another connection (another daemon) commits: the refresher puts it in force without any call on this store. */
static void test_refresher_follows_another_writer(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    sub_db_t *other = sub_db_open(sub_store_db_path(fx->st), &err);
    assert_non_null(other);

    long t0 = now_ms();
    patch_rat(other, "UTRAN");
    const subscriber_t *sub = NULL;
    sub_snapshot_t *s = NULL;
    while (now_ms() - t0 < REFRESH_BOUND_MS) {
        s = sub_store_acquire(fx->st);
        sub = sub_find_by_imsi(s, "001010000000001");
        if (sub->rat == SUB_RAT_UTRAN)
            break;
        sub_snapshot_release(s);
        s = NULL;
        sched_yield();
    }
    assert_non_null(s);
    print_message("# refresher: a foreign commit in force after %ld ms\n", now_ms() - t0);
    assert_int_equal(sub_store_generation(fx->st), 2);
    sub_snapshot_release(s);
    sub_db_close(other);
}

/* Polls the store (bounded) until `id` resolves to `imsi` ("" for nobody); the snapshot is returned held. */
static sub_snapshot_t *wait_for_owner(sub_store_t *st, const char *id, const char *imsi)
{
    long t0 = now_ms();
    while (now_ms() - t0 < REFRESH_BOUND_MS) {
        sub_snapshot_t *s = sub_store_acquire(st);
        const subscriber_t *sub = sub_find_by_identity(s, id);
        if (strcmp(sub != NULL ? sub->imsi : "", imsi) == 0)
            return s;
        sub_snapshot_release(s);
        sched_yield();
    }
    return NULL;
}

/* Another writer changes one subscriber, deletes another and gives its MSISDN and IMPU to a new one: the refresher
 * puts a layer in force (only the changed rows read) that answers exactly as a full read would. */
static void test_layer_answers_like_a_full_read(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    sub_db_t *other = sub_db_open(sub_store_db_path(fx->st), &err);
    sub_snapshot_t *doc = sub_snapshot_load_text("new", NEW_SUB, strlen(NEW_SUB), &err);
    bool created;

    assert_non_null(other);
    assert_non_null(doc);
    patch_rat(other, "UTRAN");
    assert_int_equal(sub_db_delete(other, "001010000000002", &err), SUB_DB_OK);
    assert_int_equal(sub_db_put(other, sub_snapshot_at(doc, 0), &created, &err), SUB_DB_OK);
    sub_snapshot_t *s = wait_for_owner(fx->st, "sip:bob@ims.test", "001010000000003");
    assert_non_null(s);
    assert_true(sub_snapshot_is_layer(s));
    assert_int_equal(sub_snapshot_count(s), 2);
    assert_null(sub_find_by_imsi(s, "001010000000002"));
    assert_string_equal(sub_find_by_identity(s, "msisdn-15550000002")->imsi, "001010000000003");
    assert_string_equal(sub_find_by_identity(s, "tel:+15550000002")->imsi, "001010000000003");
    assert_int_equal(sub_find_by_identity(s, "sip:+15550000001@x.test")->rat, SUB_RAT_UTRAN);
    assert_true(sub_find_by_identity(s, "tel:+15550000001")->has_kms_key == false);
    sub_snapshot_release(s);

    /* The same state read whole: a restart sees the same answers. */
    sub_store_free(fx->st);
    fx->st = sub_store_new(NULL, fx->path, &err);
    s = sub_store_acquire(fx->st);
    assert_false(sub_snapshot_is_layer(s));
    assert_int_equal(sub_snapshot_count(s), 2);
    assert_string_equal(sub_find_by_identity(s, "sip:bob@ims.test")->imsi, "001010000000003");
    sub_snapshot_release(s);

    /* A replacing import is not in the changelog: the next refresh reads everything. */
    sub_snapshot_t *file = sub_snapshot_load_file(fx->path, &err);
    assert_int_equal(sub_db_import(other, file, true, "x", NULL, NULL, &err), SUB_DB_OK);
    sub_snapshot_release(file);
    s = wait_for_owner(fx->st, "sip:bob@ims.test", "001010000000002");
    assert_non_null(s);
    assert_false(sub_snapshot_is_layer(s));
    sub_snapshot_release(s);
    sub_snapshot_release(doc);
    sub_db_close(other);
}

/* ---- readers racing reloads ---- */

typedef struct {
    sub_store_t *st;
    atomic_int stop;
    atomic_int torn;
    atomic_long reads;
} race_t;

static void *reader(void *arg)
{
    race_t *r = arg;
    while (!atomic_load(&r->stop)) {
        sub_snapshot_t *s = sub_store_acquire(r->st);
        const subscriber_t *a = sub_find_by_identity(s, "sip:+15550000001@elsewhere");
        /* Version A is (NR, encrypted), version B (EUTRAN, not): any other pair would be a torn read. */
        if (a == NULL || (a->rat == SUB_RAT_NR) != a->voice_encryption)
            atomic_store(&r->torn, 1);
        sub_snapshot_release(s);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void test_readers_during_reloads(void **state)
{
    fixture_t *fx = *state;
    race_t r = {.st = fx->st};
    pthread_t t[READERS];
    sub_error_t err;

    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
    for (int i = 0; i < RELOADS; i++) {
        write_version(fx->path, i % 2 == 0, i % 3 == 0);
        assert_int_equal(sub_store_reload(fx->st, &err), 0);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&r.torn), 0);
    assert_true(atomic_load(&r.reads) > 0);
    assert_int_equal(sub_store_generation(fx->st), RELOADS + 1);
}

#define FIXTURE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_new_and_acquire),
        FIXTURE_TEST(test_new_fails_on_missing_or_invalid_file),
        FIXTURE_TEST(test_reload_swaps_and_holders_keep_old),
        FIXTURE_TEST(test_reload_keeps_old_on_broken_file),
        FIXTURE_TEST(test_reload_refuses_file_over_max_unread),
        FIXTURE_TEST(test_new_refuses_file_over_max),
        FIXTURE_TEST(test_non_regular_files_refused_unread),
        FIXTURE_TEST(test_restart_keeps_changes_until_the_file_changes),
        FIXTURE_TEST(test_bad_file_at_start_changes_nothing),
        FIXTURE_TEST(test_refresher_follows_another_writer),
        FIXTURE_TEST(test_layer_answers_like_a_full_read),
        FIXTURE_TEST(test_readers_during_reloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
