/*
 * fault — the fault rule table (see fault.h for the JSON form and the matching rules).
 *
 * One mutex guards a small array of rules; fault_take reads an atomic count first, so a simulator with no rule
 * set pays one load per request and never takes the lock. Validation is strict, like the rest of the admin API:
 * an unknown member, a value of the wrong type or range, or an action the protocol does not have is a 400 naming
 * the member, and the table is unchanged.
 */
#include "core/fault.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct fault_table {
    pthread_mutex_t lock;
    fault_t rules[FAULT_MAX_RULES];
    size_t n;
    atomic_size_t live; /* == n, readable without the lock */
    uint64_t next_id;
};

static const char *const action_names[] = {"answer", "delay", "drop", "close", "reset"};
static const char *const member_names[] = {
    "protocol",   "action", "subscriber",  "command",    "resultCode", "experimentalResultCode",
    "status",     "cause",  "contentType", "retryAfter", "delayMs",    "count",
    "durationMs", NULL};

fault_table_t *fault_table_new(void)
{
    fault_table_t *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->next_id = 1;
    return t;
}

void fault_table_free(fault_table_t *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    char *param, *err;
    size_t param_len, err_len;
} why_t;

static int bad(why_t *w, const char *param, const char *reason)
{
    snprintf(w->param, w->param_len, "%s", param);
    snprintf(w->err, w->err_len, "%s", reason);
    return -1;
}

/* An optional integer member within [min, max]; 1 when present, 0 when absent, -1 when bad. */
static int get_int(const json_t *body, const char *key, long long min, long long max, long long *out, why_t *w)
{
    const json_t *v = json_object_get(body, key);

    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char reason[96];
        snprintf(reason, sizeof reason, "must be an integer from %lld to %lld", min, max);
        return bad(w, key, reason);
    }
    *out = json_integer_value(v);
    return 1;
}

/* An optional string member copied into dst; 1 present, 0 absent, -1 bad. */
static int get_str(const json_t *body, const char *key, char *dst, size_t size, why_t *w)
{
    const json_t *v = json_object_get(body, key);

    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size)
        return bad(w, key, "must be a non-empty string of fewer than 128 characters");
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 1;
}

static int check_members(const json_t *body, why_t *w)
{
    const char *key;
    const json_t *v;

    json_object_foreach((json_t *)body, key, v)
    {
        size_t i = 0;
        while (member_names[i] != NULL && strcmp(member_names[i], key) != 0)
            i++;
        if (member_names[i] == NULL)
            return bad(w, key, "unknown member");
    }
    return 0;
}

static int parse_action(const json_t *body, fault_t *f, why_t *w)
{
    const char *proto = json_string_value(json_object_get(body, "protocol"));
    const char *action = json_string_value(json_object_get(body, "action"));

    if (proto == NULL || (strcmp(proto, "diameter") != 0 && strcmp(proto, "sbi") != 0))
        return bad(w, "protocol", "must be \"diameter\" or \"sbi\"");
    f->proto = strcmp(proto, "sbi") == 0 ? FAULT_PROTO_SBI : FAULT_PROTO_DIAMETER;
    for (size_t i = 0; action != NULL && i < sizeof action_names / sizeof action_names[0]; i++)
        if (strcmp(action, action_names[i]) == 0) {
            f->action = (fault_action_t)i;
            if (f->proto == FAULT_PROTO_SBI && (f->action == FAULT_DROP || f->action == FAULT_CLOSE))
                return bad(w, "action", "an SBI fault is answer, delay or reset");
            if (f->proto == FAULT_PROTO_DIAMETER && f->action == FAULT_RESET)
                return bad(w, "action", "a Diameter fault is answer, delay, drop or close");
            return 0;
        }
    return bad(w, "action", "must be answer, delay, drop, close or reset");
}

static int parse_answer(const json_t *body, fault_t *f, why_t *w)
{
    long long v = 0;
    int rc;

    if (f->proto == FAULT_PROTO_DIAMETER) {
        int plain = get_int(body, "resultCode", 1000, 9999, &v, w);
        if (plain < 0)
            return -1;
        f->result_code = (uint32_t)v;
        rc = get_int(body, "experimentalResultCode", 1000, 9999, &v, w);
        if (rc < 0)
            return -1;
        if (plain + rc != 1)
            return bad(w, "resultCode", "give one of resultCode or experimentalResultCode");
        f->experimental = rc == 1;
        f->result_code = (uint32_t)v;
        return 0;
    }
    if ((rc = get_int(body, "status", 200, 599, &v, w)) <= 0)
        return rc < 0 ? -1 : bad(w, "status", "an SBI answer needs a status");
    f->status = (int)v;
    long long retry = 0;
    if (get_int(body, "retryAfter", 0, 86400, &retry, w) < 0)
        return -1;
    f->retry_after_s = (unsigned)retry;
    if (get_str(body, "cause", f->cause, sizeof f->cause, w) < 0)
        return -1;
    rc = get_str(body, "contentType", f->content_type, sizeof f->content_type, w);
    if (rc == 0)
        snprintf(f->content_type, sizeof f->content_type, "application/problem+json");
    return rc < 0 ? -1 : 0;
}

static int parse_rule(const json_t *body, fault_t *f, why_t *w)
{
    long long v = 0;
    int has_count, has_duration;

    memset(f, 0, sizeof *f);
    if (!json_is_object(body))
        return bad(w, "/", "the body must be a JSON object");
    if (check_members(body, w) != 0 || parse_action(body, f, w) != 0)
        return -1;
    if (get_str(body, "subscriber", f->subscriber, sizeof f->subscriber, w) < 0 ||
        get_str(body, "command", f->command, sizeof f->command, w) < 0)
        return -1;
    if (f->action == FAULT_ANSWER && parse_answer(body, f, w) != 0)
        return -1;
    if (f->action == FAULT_DELAY) {
        int rc = get_int(body, "delayMs", 1, FAULT_DELAY_MAX_MS, &v, w);
        if (rc <= 0)
            return rc < 0 ? -1 : bad(w, "delayMs", "a delay needs delayMs (1 to 60000)");
        f->delay_ms = (unsigned)v;
    }
    if ((has_count = get_int(body, "count", 1, 1000000000, &v, w)) < 0)
        return -1;
    f->remaining = has_count ? (long)v : 1;
    if ((has_duration = get_int(body, "durationMs", 1, FAULT_DURATION_MAX_MS, &v, w)) < 0)
        return -1;
    if (has_duration) {
        f->expires_ms = now_ms() + v;
        if (!has_count)
            f->remaining = -1;
    }
    return 0;
}

int fault_table_add_json(fault_table_t *t, const json_t *body, fault_t *out, char *param, size_t param_len, char *err,
                         size_t err_len)
{
    why_t w = {param, err, param_len, err_len};
    fault_t f;

    if (parse_rule(body, &f, &w) != 0)
        return -1;
    pthread_mutex_lock(&t->lock);
    if (t->n == FAULT_MAX_RULES) {
        pthread_mutex_unlock(&t->lock);
        return bad(&w, "/", "too many fault rules (64); delete some first");
    }
    f.id = t->next_id++;
    t->rules[t->n++] = f;
    atomic_store(&t->live, t->n);
    pthread_mutex_unlock(&t->lock);
    *out = f;
    return 0;
}

json_t *fault_json(const fault_t *f)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "id", json_integer((json_int_t)f->id));
    json_object_set_new(o, "protocol", json_string(f->proto == FAULT_PROTO_SBI ? "sbi" : "diameter"));
    json_object_set_new(o, "action", json_string(action_names[f->action]));
    if (f->subscriber[0] != '\0')
        json_object_set_new(o, "subscriber", json_string(f->subscriber));
    if (f->command[0] != '\0')
        json_object_set_new(o, "command", json_string(f->command));
    if (f->action == FAULT_ANSWER && f->proto == FAULT_PROTO_DIAMETER)
        json_object_set_new(o, f->experimental ? "experimentalResultCode" : "resultCode", json_integer(f->result_code));
    if (f->action == FAULT_ANSWER && f->proto == FAULT_PROTO_SBI) {
        json_object_set_new(o, "status", json_integer(f->status));
        if (f->cause[0] != '\0')
            json_object_set_new(o, "cause", json_string(f->cause));
        json_object_set_new(o, "contentType", json_string(f->content_type));
        if (f->retry_after_s != 0)
            json_object_set_new(o, "retryAfter", json_integer(f->retry_after_s));
    }
    if (f->action == FAULT_DELAY)
        json_object_set_new(o, "delayMs", json_integer(f->delay_ms));
    if (f->remaining >= 0)
        json_object_set_new(o, "count", json_integer(f->remaining));
    if (f->expires_ms != 0)
        json_object_set_new(o, "remainingMs", json_integer(f->expires_ms > now_ms() ? f->expires_ms - now_ms() : 0));
    json_object_set_new(o, "hits", json_integer((json_int_t)f->hits));
    return o;
}

static void remove_at(fault_table_t *t, size_t i)
{
    memmove(&t->rules[i], &t->rules[i + 1], (t->n - i - 1) * sizeof t->rules[0]);
    t->n--;
    atomic_store(&t->live, t->n);
}

static void expire(fault_table_t *t, int64_t now)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->rules[i].expires_ms != 0 && t->rules[i].expires_ms <= now)
            remove_at(t, i);
}

json_t *fault_table_list(fault_table_t *t)
{
    json_t *list = json_array();

    if (list == NULL)
        return NULL;
    pthread_mutex_lock(&t->lock);
    expire(t, now_ms());
    for (size_t i = 0; i < t->n; i++)
        json_array_append_new(list, fault_json(&t->rules[i]));
    pthread_mutex_unlock(&t->lock);
    return json_pack("{s:o}", "faults", list);
}

bool fault_table_remove(fault_table_t *t, uint64_t id)
{
    bool found = false;

    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n && !found; i++)
        if (t->rules[i].id == id) {
            remove_at(t, i);
            found = true;
        }
    pthread_mutex_unlock(&t->lock);
    return found;
}

size_t fault_table_clear(fault_table_t *t)
{
    size_t n;

    pthread_mutex_lock(&t->lock);
    n = t->n;
    t->n = 0;
    atomic_store(&t->live, 0);
    pthread_mutex_unlock(&t->lock);
    return n;
}

static bool command_matches(const fault_t *f, const char *command)
{
    if (f->command[0] == '\0')
        return true;
    if (command == NULL)
        return false;
    if (f->proto == FAULT_PROTO_SBI) /* a path prefix */
        return strncmp(command, f->command, strlen(f->command)) == 0;
    return strcasecmp(command, f->command) == 0;
}

static bool subscriber_matches(const fault_t *f, const char *const *ids, size_t n_ids)
{
    if (f->subscriber[0] == '\0')
        return true;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] != NULL && strcasecmp(ids[i], f->subscriber) == 0)
            return true;
    return false;
}

bool fault_take(fault_table_t *t, fault_proto_t proto, const char *const *ids, size_t n_ids, const char *command,
                fault_t *out)
{
    bool found = false;

    if (t == NULL || atomic_load(&t->live) == 0)
        return false;
    pthread_mutex_lock(&t->lock);
    expire(t, now_ms());
    for (size_t i = 0; i < t->n && !found; i++) {
        fault_t *f = &t->rules[i];
        if (f->proto != proto || !command_matches(f, command) || !subscriber_matches(f, ids, n_ids))
            continue;
        f->hits++;
        *out = *f;
        found = true;
        if (f->remaining > 0 && --f->remaining == 0)
            remove_at(t, i);
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

const char *fault_describe(const fault_t *f, char *buf, size_t size)
{
    switch (f->action) {
    case FAULT_ANSWER:
        if (f->proto == FAULT_PROTO_SBI)
            snprintf(buf, size, "answer %d", f->status);
        else
            snprintf(buf, size, "answer %s%u", f->experimental ? "experimental " : "", f->result_code);
        break;
    case FAULT_DELAY:
        snprintf(buf, size, "delay %ums", f->delay_ms);
        break;
    default:
        snprintf(buf, size, "%s", action_names[f->action]);
        break;
    }
    return buf;
}
