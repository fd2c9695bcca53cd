/* SPDX-License-Identifier: MIT */
/*
 * Helpers for integration tests against the private broker that the ctest
 * fixture started (tools/broker.sh): find its URI, run an rpcd child process
 * on a queue of its own, and publish raw messages the way a foreign client
 * would, bypassing the SDK.
 */
#ifndef RPCD_TEST_HARNESS_H
#define RPCD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The broker URI from the fixture's uri file (path: BROKER_URI_FILE).
 * Static buffer; aborts the test program when there is none. */
const char *h_broker_uri(void);

/* A fresh queue name, "rpcd-test-<uuid>" (static buffer per call slot). */
void h_unique_queue(char *buf, size_t len);

/* Start rpcd on `queue` with extra args (NULL-terminated), stderr to
 * LOG_DIR/rpcd-<queue>.log, and wait until it consumes the queue. Returns the
 * pid, or -1 (with the log's tail printed) if it did not come up in 15 s. */
pid_t h_rpcd_start(const char *queue, const char *const *extra_args);

/* The log file of the rpcd started on `queue`. */
void h_rpcd_log_path(const char *queue, char *buf, size_t len);

/* SIGTERM rpcd and wait (at most 15 s). Returns its exit status, 128+signal
 * if it was killed by one, or -1 if it would not stop (it is then killed). */
int h_rpcd_stop(pid_t pid);

/* Number of consumers on `queue`, or -1 if it does not exist. */
int h_queue_consumers(const char *queue);

/* Declare a (non-durable, auto-delete=false) queue nobody consumes, and
 * delete it. */
void h_queue_declare(const char *queue);
void h_queue_delete(const char *queue);

typedef struct h_raw_reply {
  bool got; /* a reply arrived before the timeout */
  char body[4096];
  size_t body_len;
  char content_type[128];
  char correlation_id[128];
  bool has_status;
  int64_t status; /* x-rpc-status */
} h_raw_reply;

typedef struct h_raw_request {
  const void *body;
  size_t body_len;
  const char *content_type;  /* NULL: no content type */
  bool with_reply_to;        /* direct reply-to */
  const char *header_method; /* x-rpc-method, or NULL */
  bool with_version;
  int32_t version; /* x-rpc-v */
  bool with_deadline;
  int64_t deadline_ms;
  /* How x-rpc-deadline is sent: 0 an int64 field of deadline_ms; 'T' an
   * AMQP timestamp (deadline_ms / 1000 seconds); 'S' the string
   * deadline_text; 'd' deadline_ms as a double. */
  char deadline_kind;
  const char *deadline_text;
  bool version_as_u64; /* send x-rpc-v as an unsigned 64-bit field */
  uint64_t version_u64;
  size_t content_type_len;    /* 0: strlen(content_type); else may hold NUL */
  const void *correlation_id; /* NULL: "raw-call-1" */
  size_t correlation_id_len;
} h_raw_request;

/* Publish `req` to `queue` on a connection of its own and wait up to
 * timeout_ms for the reply (when with_reply_to). */
void h_raw_call(const char *queue, const h_raw_request *req,
                unsigned timeout_ms, h_raw_reply *reply);

/* Fork a fake server: the child runs serve(), which must not return; the
 * parent waits (15 s at most) until `queue` has a consumer. Returns the
 * child's pid, or -1 (the child is then killed). */
pid_t h_fake_start(const char *queue, void (*serve)(void));

/* SIGKILL a fake server and reap it; *pid becomes 0. Nothing when 0. */
void h_fake_stop(pid_t *pid);

/* Wait until `queue` has exactly n consumers; false after timeout_ms. */
bool h_wait_consumers(const char *queue, int n, unsigned timeout_ms);

/* One message taken (and acked) from "<queue>.dead". */
typedef struct h_dead_letter {
  char reason[64]; /* x-rpcd-reason */
  char signal[64]; /* x-rpcd-signal */
  char method[256];
  bool has_time; /* x-rpcd-time present */
  char correlation_id[128];
  char body[4096];
  size_t body_len;
} h_dead_letter;

/* Take one message from "<queue>.dead"; false when it is empty. */
bool h_dead_letter_get(const char *queue, h_dead_letter *out);

/* Monotonic milliseconds. */
int64_t h_now_ms(void);

#endif /* RPCD_TEST_HARNESS_H */
