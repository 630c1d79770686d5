/* A tiny Varistore (VariPass-compatible) client: `swrite` and `sread` over HTTP/1.0.
 *
 * Plain C99 over POSIX sockets, no malloc: the request is built, and the answer received, in one
 * buffer the caller owns. On a board without BSD sockets (an AT-command modem, a bare TCP stack),
 * replace exchange() in varistore.c with your stack's connect/send/receive; the rest stays.
 */
#ifndef VARISTORE_H
#define VARISTORE_H

#include <stddef.h>

typedef struct {
    const char *host; /* "varistore.example" or "192.168.1.10" */
    unsigned port;    /* 80 */
    const char *key;  /* the account's 16-character API key */
    int timeout_s;    /* for each of connect, send and receive */
} vs_config;

typedef enum {
    VS_OK = 0,     /* `buf` holds "success" (swrite) or the value (sread) */
    VS_REFUSED,    /* `buf` holds the server's result code: "error_cooldown", "error_invalid_key"... */
    VS_NETWORK,    /* could not resolve, connect, send or receive in time: `buf` says which */
    VS_BAD_ANSWER, /* not a Varistore answer, or the request or answer longer than `buf`: `buf` says which */
} vs_status;

/* Write `value` (any text: it is URL-encoded here) to variable `id`. */
vs_status vs_swrite(const vs_config *cfg, const char *id, const char *value, char *buf, size_t size);

/* Read variable `id`: on VS_OK `buf` holds the value part of `success|value`. */
vs_status vs_sread(const vs_config *cfg, const char *id, char *buf, size_t size);

/* What a result code means, in a sentence, for a log or a display. */
const char *vs_explain(const char *result);

#endif
