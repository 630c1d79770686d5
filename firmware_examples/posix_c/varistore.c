#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200112L /* getaddrinfo */
#endif

#include "varistore.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Appends `s` to buf[*len], percent-encoding all but the unreserved characters when `encode`. */
static int append(char *buf, size_t size, size_t *len, const char *s, int encode) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = !encode || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';
        if (*len + (plain ? 1 : 3) >= size) return 0;
        if (plain) {
            buf[(*len)++] = (char)c;
        } else {
            buf[(*len)++] = '%';
            buf[(*len)++] = hex[c >> 4];
            buf[(*len)++] = hex[c & 15];
        }
    }
    buf[*len] = '\0';
    return 1;
}

/* Puts what went wrong in buf (with the system's reason for a network error), closes `fd` unless it is -1,
 * and returns `status`. */
static vs_status fail(int fd, vs_status status, char *buf, size_t size, const char *what) {
    int err = status == VS_NETWORK ? errno : 0;
    snprintf(buf, size, "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
    if (fd >= 0) close(fd);
    return status;
}

/* Sends the request in buf[0..len) and receives the whole answer (HTTP/1.0: until the server closes)
 * into buf, NUL-terminated; returns its length in *len. The one function that touches sockets. */
static vs_status exchange(const vs_config *cfg, char *buf, size_t size, size_t *len) {
    char port[8];
    struct addrinfo hints, *found, *ai;
    struct timeval timeout;
    int fd = -1, err;
    size_t done = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", cfg->port);
    err = getaddrinfo(cfg->host, port, &hints, &found);
    if (err != 0) {
        snprintf(buf, size, "cannot resolve %s: %s", cfg->host, gai_strerror(err));
        return VS_NETWORK;
    }
    timeout.tv_sec = cfg->timeout_s;
    timeout.tv_usec = 0;
    for (ai = found; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        /* On Linux SO_SNDTIMEO bounds connect() too. */
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
                        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0 ||
                        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)) {
            err = errno;
            close(fd);
            errno = err;
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd < 0) return fail(-1, VS_NETWORK, buf, size, "cannot connect");

    while (done < *len) {
        ssize_t n = send(fd, buf + done, *len - done, 0);
        if (n <= 0) return fail(fd, VS_NETWORK, buf, size, "cannot send");
        done += (size_t)n;
    }
    done = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + done, size - 1 - done, 0);
        if (n == 0) break;
        if (n < 0) return fail(fd, VS_NETWORK, buf, size, "cannot receive");
        done += (size_t)n;
        if (done == size - 1) return fail(fd, VS_BAD_ANSWER, buf, size, "answer longer than the buffer");
    }
    close(fd);
    buf[done] = '\0';
    *len = done;
    return VS_OK;
}

/* GET /?key=K&action=ACTION&id=ID[&value=VALUE]; on VS_OK or VS_REFUSED buf holds the answer's body:
 * whatever the HTTP status (200, or 429/503 with a result code), the body is the protocol's answer. */
static vs_status request(const vs_config *cfg, const char *action, const char *id, const char *value, char *buf,
                         size_t size) {
    const struct {
        const char *text;
        int encode; /* a user's text: percent-encoded */
    } parts[] = {
        {"GET /?key=", 0}, {cfg->key, 1}, {"&action=", 0}, {action, 0}, {"&id=", 0}, {id, 1},
        {value ? "&value=" : "", 0}, {value ? value : "", 1},
        {" HTTP/1.0\r\nHost: ", 0}, {cfg->host, 0}, {"\r\n\r\n", 0},
    };
    size_t i, len = 0;
    vs_status status;
    char *body;

    for (i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (!append(buf, size, &len, parts[i].text, parts[i].encode))
            return fail(-1, VS_BAD_ANSWER, buf, size, "request longer than the buffer");
    status = exchange(cfg, buf, size, &len);
    if (status != VS_OK) return status;
    body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || body == NULL)
        return fail(-1, VS_BAD_ANSWER, buf, size, "not an HTTP answer");
    body += 4;
    memmove(buf, body, len - (size_t)(body - buf) + 1);
    if (strncmp(buf, "success", 7) == 0) return VS_OK;
    if (strncmp(buf, "error_", 6) == 0) return VS_REFUSED;
    return fail(-1, VS_BAD_ANSWER, buf, size, "not a Varistore answer (is this the right host and port?)");
}

vs_status vs_swrite(const vs_config *cfg, const char *id, const char *value, char *buf, size_t size) {
    vs_status status = request(cfg, "swrite", id, value, buf, size);
    if (status == VS_OK && strcmp(buf, "success") != 0)
        return fail(-1, VS_BAD_ANSWER, buf, size, "unexpected answer");
    return status;
}

vs_status vs_sread(const vs_config *cfg, const char *id, char *buf, size_t size) {
    vs_status status = request(cfg, "sread", id, NULL, buf, size);
    if (status == VS_OK) {
        if (strncmp(buf, "success|", 8) != 0) return fail(-1, VS_BAD_ANSWER, buf, size, "unexpected answer");
        memmove(buf, buf + 8, strlen(buf + 8) + 1);
    }
    return status;
}

const char *vs_explain(const char *result) {
    static const char *const table[][2] = {
        {"success", "done"},
        {"error_cooldown", "written too soon: wait the variable's cooldown (60 s for a new variable) and write again"},
        {"error_invalid_key", "the API key is wrong, or this address is banned: check VARISTORE_KEY"},
        {"error_invalid_id", "no such variable in this account: check VARISTORE_ID"},
        {"error_invalid_parameters", "the value does not fit the variable's type, or a parameter is missing"},
        {"error_unconfirmed", "the account is not confirmed yet: follow the link in the sign-up email"},
        {"error_banned", "the account is banned"},
        {"error_db", "the server's database is unavailable: try again later"},
    };
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(result, table[i][0]) == 0) return table[i][1];
    return "refused by the server";
}
