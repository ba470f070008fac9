/*
 * journal — a bounded ring of exchange records (see journal.h).
 *
 * Each entry is stored as the JSON object the admin API serves, built once when it is recorded; a query filters
 * on the object's own fields and hands out new references, so the lock is never held while rendering or sending.
 * jansson's reference counts are atomic, so an entry evicted while a query still holds it stays valid for that
 * query. Trade-off: filtering is a linear scan of the ring, which at the default capacity costs microseconds and
 * keeps one representation of an entry instead of a second index.
 */
#include "core/journal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct journal {
    pthread_mutex_t lock;
    json_t **ring; /* capacity slots; the oldest entry at `head` */
    size_t capacity;
    size_t head, count;
    uint64_t next_id;
    uint64_t dropped; /* entries evicted because the ring was full */
};

journal_t *journal_new(size_t capacity)
{
    journal_t *j = calloc(1, sizeof *j);

    if (capacity == 0)
        capacity = JOURNAL_CAPACITY_DEFAULT;
    if (j == NULL || (j->ring = calloc(capacity, sizeof *j->ring)) == NULL) {
        free(j);
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    j->capacity = capacity;
    j->next_id = 1;
    return j;
}

void journal_free(journal_t *j)
{
    if (j == NULL)
        return;
    journal_clear(j);
    pthread_mutex_destroy(&j->lock);
    free(j->ring);
    free(j);
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v != NULL)
        json_object_set_new(o, key, json_string(v));
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_time(int64_t ms, char *buf, size_t size)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];

    gmtime_r(&s, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", base, (int)(ms % 1000));
}

static json_t *record_json(const journal_record_t *rec, int64_t at_ms)
{
    json_t *o = json_object();
    char when[40];

    if (o == NULL)
        return NULL;
    format_time(at_ms, when, sizeof when);
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "timeMs", json_integer(at_ms));
    set_str(o, "protocol", rec->protocol);
    set_str(o, "peer", rec->peer);
    set_str(o, "identity", rec->identity);
    set_str(o, "command", rec->command);
    set_str(o, "path", rec->path);
    json_object_set_new(o, "result", json_integer(rec->result));
    json_object_set_new(o, "latencyMs", json_real((double)(int64_t)(rec->latency_ms * 1000.0) / 1000.0));
    set_str(o, "fault", rec->fault);
    if (rec->detail != NULL)
        json_object_update_missing(o, rec->detail);
    return o;
}

void journal_add(journal_t *j, const journal_record_t *rec)
{
    json_t *o = record_json(rec, now_ms());
    json_t *evicted = NULL;

    json_decref(rec->detail);
    if (o == NULL)
        return;
    pthread_mutex_lock(&j->lock);
    json_object_set_new(o, "id", json_integer((json_int_t)j->next_id++));
    if (j->count == j->capacity) {
        evicted = j->ring[j->head];
        j->ring[j->head] = o;
        j->head = (j->head + 1) % j->capacity;
        j->dropped++;
    } else {
        j->ring[(j->head + j->count) % j->capacity] = o;
        j->count++;
    }
    pthread_mutex_unlock(&j->lock);
    json_decref(evicted);
}

static bool str_is(const json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL && strcasecmp(v, want) == 0;
}

static bool matches(const json_t *o, const journal_filter_t *f)
{
    if (f->since_id != 0 && (uint64_t)json_integer_value(json_object_get(o, "id")) <= f->since_id)
        return false;
    if (f->since_ms != 0 && json_integer_value(json_object_get(o, "timeMs")) < f->since_ms)
        return false;
    if (f->identity != NULL && !str_is(o, "identity", f->identity))
        return false;
    if (f->command != NULL && !str_is(o, "command", f->command) && !str_is(o, "commandCode", f->command))
        return false;
    if (f->path != NULL) {
        const char *p = json_string_value(json_object_get(o, "path"));
        if (p == NULL || strncmp(p, f->path, strlen(f->path)) != 0)
            return false;
    }
    return !f->has_result || json_integer_value(json_object_get(o, "result")) == f->result;
}

json_t *journal_query(journal_t *j, const journal_filter_t *f)
{
    json_t *list = json_array(), *out = json_object();

    if (list == NULL || out == NULL) {
        json_decref(list);
        json_decref(out);
        return NULL;
    }
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->count; i++) {
        json_t *o = j->ring[(j->head + i) % j->capacity];
        if (matches(o, f))
            json_array_append(list, o);
    }
    json_object_set_new(out, "capacity", json_integer((json_int_t)j->capacity));
    json_object_set_new(out, "dropped", json_integer((json_int_t)j->dropped));
    json_object_set_new(out, "lastId", json_integer((json_int_t)(j->next_id - 1)));
    pthread_mutex_unlock(&j->lock);
    if (f->limit != 0 && json_array_size(list) > f->limit) { /* keep the newest */
        json_t *tail = json_array();
        for (size_t i = json_array_size(list) - f->limit; tail != NULL && i < json_array_size(list); i++)
            json_array_append(tail, json_array_get(list, i));
        json_decref(list);
        list = tail != NULL ? tail : json_array();
    }
    json_object_set_new(out, "exchanges", list);
    return out;
}

size_t journal_clear(journal_t *j)
{
    json_t **old;
    size_t n, head, cap;

    pthread_mutex_lock(&j->lock);
    n = j->count;
    head = j->head;
    cap = j->capacity;
    old = calloc(n ? n : 1, sizeof *old);
    for (size_t i = 0; old != NULL && i < n; i++)
        old[i] = j->ring[(head + i) % cap];
    if (old == NULL) /* no room to release outside the lock: release inside it */
        for (size_t i = 0; i < n; i++)
            json_decref(j->ring[(head + i) % cap]);
    j->count = 0;
    j->head = 0;
    pthread_mutex_unlock(&j->lock);
    for (size_t i = 0; old != NULL && i < n; i++)
        json_decref(old[i]);
    free(old);
    return n;
}
