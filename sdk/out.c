/* SPDX-License-Identifier: MIT */
/*
 * The client's output: a publish is encoded into its AMQP frames (method,
 * content header, body) in a buffer of the client's own and written with
 * one send(2), where amqp_basic_publish() writes each frame with a send of
 * its own. Requests published while rpcd_client_process() runs (from
 * completion callbacks, held calls whose queue answered) wait in the
 * buffer and go out together, in one write: when it ends, or once the
 * oldest has waited OUT_MAX_WAIT_MS behind slow callbacks.
 *
 * rabbitmq-c has no output buffer of its own (it writes every frame before
 * it returns), so frames written here never interleave with its own: they
 * are written whole, between its calls. Over TLS the socket belongs to
 * rabbitmq-c's TLS layer, which has no public call to write bytes: there a
 * publish goes out at once through amqp_basic_publish().
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client_internal.h"

/* A frame: type (1 byte), channel (2), payload size (4), payload, end (1). */
#define FRAME_HEAD 7
#define FRAME_OVERHEAD 8
/* Room for a publish's method and header frames. Both names in them, the
 * queue and the method, are at most 255 bytes; the rest is fixed. */
#define PUBLISH_HEAD_ROOM 2048
/* A buffer grown past this (a large request) is freed once written. */
#define OUT_KEEP (256u * 1024u)

static void put16(unsigned char *p, uint16_t v)
{
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

static void put64(unsigned char *p, uint64_t v)
{
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}

/* Make room for n more bytes after what is buffered. */
static int reserve(rpcd_client *c, size_t n)
{
  unsigned char *grown;
  size_t cap;

  if (n <= c->out_cap - c->out_len)
    return AMQP_STATUS_OK;
  if (n > SIZE_MAX / 4 - c->out_len)
    return AMQP_STATUS_NO_MEMORY;
  cap = c->out_cap ? c->out_cap : 4096;
  while (cap - c->out_len < n)
    cap *= 2;
  grown = realloc(c->out, cap);
  if (!grown)
    return AMQP_STATUS_NO_MEMORY;
  c->out = grown;
  c->out_cap = cap;
  return AMQP_STATUS_OK;
}

/* Begin a frame on the call channel after what is buffered; its payload
 * goes at the pointer returned. */
static unsigned char *frame_begin(rpcd_client *c, uint8_t type)
{
  unsigned char *f = c->out + c->out_len;

  f[0] = type;
  put16(f + 1, CALL_CHANNEL);
  return f + FRAME_HEAD;
}

/* The payload's room: up to the end of the buffer, less the frame end. */
static amqp_bytes_t frame_room(const rpcd_client *c, const unsigned char *at)
{
  amqp_bytes_t room;

  room.bytes = (void *)at;
  room.len = (size_t)(c->out + c->out_cap - at) - 1;
  return room;
}

/* Finish the frame begun last, with `len` bytes of payload. */
static void frame_end(rpcd_client *c, size_t len)
{
  unsigned char *f = c->out + c->out_len;

  put32(f + 3, (uint32_t)len);
  f[FRAME_HEAD + len] = AMQP_FRAME_END;
  c->out_len += len + FRAME_OVERHEAD;
}

static int publish_through_tls(rpcd_client *c, const char *queue,
                               bool mandatory,
                               const amqp_basic_properties_t *props,
                               const void *body, size_t body_len)
{
  amqp_bytes_t b;
  int n;

  b.bytes = (void *)body;
  b.len = body_len;
  n = amqp_basic_publish(c->conn, CALL_CHANNEL, amqp_empty_bytes,
                         amqp_cstring_bytes(queue), mandatory, 0, props, b);
  /* Encoding fails before a byte is written; anything later may have left
   * half a frame in the stream. */
  if (n != AMQP_STATUS_OK && n != AMQP_STATUS_NO_MEMORY &&
      n != AMQP_STATUS_TABLE_TOO_BIG && n != AMQP_STATUS_INVALID_PARAMETER)
    rpcd__connection_lost(c, "publishing over TLS failed", false);
  return n;
}

int rpcd__out_publish(rpcd_client *c, const char *queue, bool mandatory,
                      const amqp_basic_properties_t *props, const void *body,
                      size_t body_len)
{
  int frame_max = amqp_get_frame_max(c->conn);
  size_t chunk = frame_max > FRAME_OVERHEAD ? (size_t)frame_max - FRAME_OVERHEAD
                                            : (body_len ? body_len : 1);
  size_t start = c->out_len;
  amqp_basic_publish_t m;
  unsigned char *pl;
  size_t off;
  int n;

  if (c->tls_socket)
    return publish_through_tls(c, queue, mandatory, props, body, body_len);
  n = reserve(c, PUBLISH_HEAD_ROOM);
  if (n != AMQP_STATUS_OK)
    return n;

  memset(&m, 0, sizeof(m));
  m.exchange = amqp_empty_bytes;
  m.routing_key = amqp_cstring_bytes(queue);
  m.mandatory = mandatory;
  pl = frame_begin(c, AMQP_FRAME_METHOD);
  put32(pl, AMQP_BASIC_PUBLISH_METHOD);
  n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m, frame_room(c, pl + 4));
  if (n < 0)
    goto out_undo;
  frame_end(c, (size_t)n + 4);

  pl = frame_begin(c, AMQP_FRAME_HEADER);
  put16(pl, AMQP_BASIC_CLASS);
  put16(pl + 2, 0); /* weight */
  put64(pl + 4, body_len);
  n = amqp_encode_properties(AMQP_BASIC_CLASS, (void *)props,
                             frame_room(c, pl + 12));
  if (n < 0)
    goto out_undo;
  frame_end(c, (size_t)n + 12);

  /* The body, in frames no larger than the broker accepts. */
  n = reserve(c, body_len + (body_len / chunk + 1) * FRAME_OVERHEAD);
  if (n != AMQP_STATUS_OK)
    goto out_undo;
  for (off = 0; off < body_len;) {
    size_t k = body_len - off < chunk ? body_len - off : chunk;

    pl = frame_begin(c, AMQP_FRAME_BODY);
    memcpy(pl, (const unsigned char *)body + off, k);
    frame_end(c, k);
    off += k;
  }
  return AMQP_STATUS_OK;

out_undo:
  /* Nothing of a publish that could not be encoded is sent. */
  c->out_len = start;
  return n;
}

int rpcd__out_flush(rpcd_client *c, const char *what)
{
  char detail[256];
  size_t off = 0;
  int fd;

  if (c->out_len == 0)
    return RPCD_OK;
  fd = c->conn ? amqp_get_sockfd(c->conn) : -1;
  while (fd >= 0 && off < c->out_len) {
    ssize_t n = send(fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
    struct pollfd p;

    if (n >= 0) {
      off += (size_t)n;
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      break;
    /* A full socket buffer: wait until the broker reads, as rabbitmq-c
     * does for a publish (without a time limit). */
    p.fd = fd;
    p.events = POLLOUT;
    p.revents = 0;
    if (poll(&p, 1, -1) < 0 && errno != EINTR)
      break;
  }
  if (off == c->out_len) {
    rpcd__out_reset(c);
    return RPCD_OK;
  }
  rpcd__set_err(detail, sizeof(detail), "%s: %s", what,
                fd < 0 ? "not connected" : strerror(errno));
  rpcd__out_reset(c);
  /* Part of a frame may have been written: the stream is unusable. */
  rpcd__connection_lost(c, detail, false);
  return RPCD_ECONNLOST;
}

void rpcd__out_reset(rpcd_client *c)
{
  c->out_len = 0;
  if (c->out_cap > OUT_KEEP) {
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
  }
}
