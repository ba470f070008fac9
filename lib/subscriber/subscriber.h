/*
 * subscriber — the subscriber data model of DESIGN §5, its strict loader and its lookups.
 *
 * A file is parsed (jansson) and validated into an immutable snapshot: an array of subscriber_t plus sorted
 * indexes by IMSI, MSISDN and normalised IMPU, searched with bsearch. Immutability is what makes reload safe:
 * sub_store (sub_store.h) swaps whole snapshots, and a reader holding one never sees half a file.
 *
 * Validation is strict because operators edit these files by hand: unknown keys, missing fields, wrong types,
 * duplicate IMSI/MSISDN/IMPU, bad digits, bad hex and bad enums are all errors that name file:line:column and the
 * field, e.g. "subs.json:12:17: subscribers[1].imsi: must be 5 to 15 digits".
 *
 * Identities compare by subscriber, not by string (DESIGN §4): "tel:+15550000001", "sip:+15550000001@host;user=phone",
 * "msisdn-15550000001", "15550000001" and every listed IMPU name the same subscriber.
 */
#ifndef MIHUA_SUBSCRIBER_H
#define MIHUA_SUBSCRIBER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUB_IMSI_MAX 15   /* TS 23.003 §2.2: at most 15 digits */
#define SUB_IMSI_MIN 5    /* MCC + MNC at least */
#define SUB_MSISDN_MAX 15 /* E.164: at most 15 digits */
#define SUB_MSISDN_MIN 5
#define SUB_IMPU_MAX 8          /* IMPUs per subscriber; a test core rarely has more than two */
#define SUB_URI_MAX 256         /* longest IMPU accepted */
#define SUB_KMS_KEY_LEN 32      /* bytes; 64 hex characters in the file */
#define SUB_SIP_PASSWORD_MIN 8  /* SIP Digest secret (DESIGN §5): short enough to type into a phone, */
#define SUB_SIP_PASSWORD_MAX 64 /* long enough for a generated one */
#define SUB_ERR_MAX 512

typedef enum {
    SUB_RAT_NONE = 0,
    SUB_RAT_EUTRAN,
    SUB_RAT_NR,
    SUB_RAT_UTRAN,
    SUB_RAT_GERAN,
} sub_rat_t;

typedef struct {
    char imsi[SUB_IMSI_MAX + 1];
    char msisdn[SUB_MSISDN_MAX + 1];
    char *impu[SUB_IMPU_MAX]; /* as written in the file */
    size_t n_impu;
    bool voice_encryption;
    sub_rat_t rat;
    bool ims_vops;
    bool has_kms_key;
    uint8_t kms_key[SUB_KMS_KEY_LEN]; /* secrets last: sub_subscriber_clear wipes from kms_key on */
    bool has_sip_password;
    char sip_password[SUB_SIP_PASSWORD_MAX + 1]; /* registrar Digest secret, printable ASCII, NUL-terminated */
} subscriber_t;

#define SUB_ERR_FIELD_MAX 128

/* `msg` is the whole message for people and logs; the other members carry its parts for programs (the admin API
 * names the field in ProblemDetails invalidParams). field is "" and line/col are 0 when the error is not about a
 * place in the document (unreadable file, out of memory). */
typedef struct {
    char msg[SUB_ERR_MAX];         /* "file:line:column: field: reason" */
    char field[SUB_ERR_FIELD_MAX]; /* "subscribers[1].imsi", "(json)" for syntax errors */
    int line, col;
    const char *reason; /* points into msg, after "field: "; "" when msg has no field */
} sub_error_t;

/* Empties an error (msg "", field "", reason ""); every function that fills one starts with it. */
void sub_error_clear(sub_error_t *err);

typedef struct sub_snapshot sub_snapshot_t;

/* The largest subscriber file read by default: about 3.5 million subscribers at ~305 bytes each (a file from
 * `mihua-subscribers gen 1000000` is 305 MB). A larger file (or a FIFO, a device) is refused from fstat(2) before a
 * byte is read: reading is all in memory, and a daemon would otherwise hold the whole text and its parse at once. */
#define SUB_FILE_MAX_BYTES_DEFAULT (1L << 30)
#define SUB_FILE_MAX_BYTES_SETTING "subscribers_max_bytes" /* the setting named in the refusal */

/* Reads a subscriber file whole, refusing it unread when it is not a regular file or larger than `max_bytes`.
 * NULL with `err` filled (msg only) on any failure. */
char *sub_file_read(const char *path, size_t max_bytes, size_t *len, sub_error_t *err);

/* Loads and validates a whole file (at most SUB_FILE_MAX_BYTES_DEFAULT). NULL with `err` filled on any error. */
sub_snapshot_t *sub_snapshot_load_file(const char *path, sub_error_t *err);

/* Same from memory; `name` stands for the file name in messages. */
sub_snapshot_t *sub_snapshot_load_text(const char *name, const char *text, size_t len, sub_error_t *err);

/* Builds a snapshot from a JSON document already in memory (admin API). Positions in errors are those of the
 * document rendered with sub_json_dump (name is used as the file name). */
sub_snapshot_t *sub_snapshot_from_json(const char *name, json_t *root, sub_error_t *err);

/* Builds a snapshot from subscribers already validated one by one (the store's rows): indexes them and checks the
 * cross-subscriber rules. Takes ownership of `subs` (a malloc'd array of n) whatever the outcome; `name` names the
 * source in messages. NULL with `err` filled on a duplicate or out of memory. */
sub_snapshot_t *sub_snapshot_from_subs(const char *name, subscriber_t *subs, size_t n, sub_error_t *err);

/* Frees a subscriber's IMPU strings and wipes its kms_key and sip_password; the struct can then be reused. */
void sub_subscriber_clear(subscriber_t *sub);

/* Fills `err` with "name:line:column: subscribers[index].field: reason", the position found in `text` (the
 * document the subscriber came from; NULL or "" gives 0:0). For errors found after validation, e.g. against data
 * already stored. `field` may be NULL (the element itself) or a key such as "msisdn". */
void sub_error_at(sub_error_t *err, const char *name, const char *text, size_t len, size_t index, const char *field,
                  const char *reason);

/* Reference counting: a snapshot lives until its last holder releases it. Both are thread-safe. */
sub_snapshot_t *sub_snapshot_ref(sub_snapshot_t *s);
void sub_snapshot_release(sub_snapshot_t *s);

/* A layer over a full snapshot: `changed` (ownership taken, current versions of the subscribers changed since
 * base) answers first; `masked` (malloc'd array, ownership taken, sorted here) lists every IMSI changed or deleted
 * since base, whose base version is then hidden. Lookups cost two bsearches instead of one; building one costs
 * O(changes), not O(subscribers). `base` must not itself be a layer; the layer holds a reference to it. NULL (and
 * everything given freed) on error. */
sub_snapshot_t *sub_snapshot_layer(sub_snapshot_t *base, subscriber_t *changed, size_t n_changed,
                                   char (*masked)[SUB_IMSI_MAX + 1], size_t n_masked, sub_error_t *err);
bool sub_snapshot_is_layer(const sub_snapshot_t *s);

/* Subscribers the snapshot answers for (a layer and its base together). */
size_t sub_snapshot_count(const sub_snapshot_t *s);
/* The i-th subscriber of the snapshot's own array: all of them for a loaded snapshot, only the changed ones for a
 * layer (i < count of the changes). Lookups (sub_find_*) are what covers a layer and its base. */
const subscriber_t *sub_snapshot_at(const sub_snapshot_t *s, size_t i);

const subscriber_t *sub_find_by_imsi(const sub_snapshot_t *s, const char *imsi);
const subscriber_t *sub_find_by_msisdn(const sub_snapshot_t *s, const char *msisdn);
/* Any identity form listed in the header comment; NULL when it names nobody. */
const subscriber_t *sub_find_by_identity(const sub_snapshot_t *s, const char *identity);

/* The JSON form of a subscriber / a whole snapshot (DESIGN §5 shape), new references. */
json_t *sub_to_json(const subscriber_t *sub);
json_t *sub_snapshot_to_json(const sub_snapshot_t *s);

/* Canonical text of a document (2-space indent, keys in DESIGN order), malloc'd. */
char *sub_json_dump(json_t *root);

const char *sub_rat_name(sub_rat_t rat);
int sub_rat_parse(const char *name, sub_rat_t *out);

/* Normalises an identity for comparison: lower-cases scheme and host of sip/tel URIs, drops URI parameters and
 * visual separators of tel numbers. Writes at most `size` bytes; returns 0 or -1 when it does not fit or is not
 * an identity. Exposed for tests and for the AS's call records. */
int sub_identity_normalise(const char *identity, char *out, size_t size);

#endif
