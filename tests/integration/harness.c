/* SPDX-License-Identifier: MIT */
/*
 * Integration-test helpers: the broker URI, rpcd child processes, and raw
 * AMQP publishes that bypass the SDK (to send what a broken or foreign
 * client would send).
 */
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "rpcd_proto.h"
#include "transport_amqp.h"

int64_t h_now_ms(void)
{
  return rpcd__now_mono_ms();
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

  nanosleep(&ts, NULL);
}

const char *h_broker_uri(void)
{
  static char uri[256];
  FILE *f;
  size_t n;

  if (uri[0])
    return uri;
  f = fopen(BROKER_URI_FILE, "r");
  if (!f) {
    fprintf(stderr,
            "no broker: %s is missing (run through ctest, which "
            "starts one)\n",
            BROKER_URI_FILE);
    abort();
  }
  n = fread(uri, 1, sizeof(uri) - 1, f);
  fclose(f);
  while (n > 0 && (uri[n - 1] == '\n' || uri[n - 1] == ' '))
    n--;
  uri[n] = '\0';
  return uri;
}

void h_unique_queue(char *buf, size_t len)
{
  uuid_t u;
  char s[37];

  uuid_generate(u);
  uuid_unparse_lower(u, s);
  snprintf(buf, len, "rpcd-test-%s", s);
}

static amqp_connection_state_t connect_or_die(void)
{
  amqp_connection_state_t conn;
  char err[256];

  if (rpcd__amqp_connect(h_broker_uri(), NULL, 1, &conn, err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "harness: %s\n", err);
    abort();
  }
  return conn;
}

int h_queue_consumers(const char *queue)
{
  amqp_connection_state_t conn = connect_or_die();
  amqp_queue_declare_ok_t *ok;
  int n = -1;

  ok = amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0,
                          amqp_empty_table);
  if (ok)
    n = (int)ok->consumer_count;
  else
    rpcd__amqp_last_status(conn, 1, "passive declare", NULL, 0);
  rpcd__amqp_close(conn, ok ? 1 : 0);
  return n;
}

void h_queue_declare(const char *queue)
{
  amqp_connection_state_t conn = connect_or_die();

  amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 0, 0, 0,
                     amqp_empty_table);
  rpcd__amqp_close(conn, 1);
}

void h_queue_delete(const char *queue)
{
  amqp_connection_state_t conn = connect_or_die();

  amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue), 0, 0);
  rpcd__amqp_close(conn, 1);
}

void h_rpcd_log_path(const char *queue, char *buf, size_t len)
{
  snprintf(buf, len, "%s/rpcd-%s.log", LOG_DIR, queue);
}

pid_t h_rpcd_start(const char *queue, const char *const *extra_args)
{
  const char *argv[32];
  char log_path[512];
  size_t n = 0;
  pid_t pid;
  int i;

  h_rpcd_log_path(queue, log_path, sizeof(log_path));
  argv[n++] = RPCD_BIN;
  argv[n++] = "--uri";
  argv[n++] = h_broker_uri();
  argv[n++] = "--queue";
  argv[n++] = queue;
  argv[n++] = "--log-level";
  argv[n++] = "debug";
  for (i = 0; extra_args && extra_args[i] && n < 30; i++)
    argv[n++] = extra_args[i];
  argv[n] = NULL;

  pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    /* A server is a process group of its own (tests kill whole groups),
     * and it stops when the test program dies. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    execv(RPCD_BIN, (char *const *)argv);
    _exit(127);
  }
  for (i = 0; i < 150; i++) {
    int status;

    if (h_queue_consumers(queue) > 0)
      return pid;
    if (waitpid(pid, &status, WNOHANG) == pid)
      break;
    sleep_ms(100);
  }
  fprintf(stderr, "harness: rpcd did not start; its log %s:\n", log_path);
  {
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "tail -n 20 '%s' >&2", log_path);
    if (system(cmd) != 0)
      fprintf(stderr, "(could not show the log)\n");
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

int h_rpcd_stop(pid_t pid)
{
  int status;
  int i;

  if (pid <= 0)
    return -1;
  kill(pid, SIGTERM);
  for (i = 0; i < 150; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status))
        return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    sleep_ms(100);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

static void copy_bytes(char *dst, size_t cap, amqp_bytes_t b)
{
  size_t n = b.len < cap - 1 ? b.len : cap - 1;

  if (n) /* an empty field may come with no bytes at all */
    memcpy(dst, b.bytes, n);
  dst[n] = '\0';
}

void h_raw_call(const char *queue, const h_raw_request *req,
                unsigned timeout_ms, h_raw_reply *reply)
{
  amqp_connection_state_t conn = connect_or_die();
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[3];
  int64_t deadline;
  amqp_bytes_t body;
  int nh = 0;

  memset(reply, 0, sizeof(*reply));
  memset(&props, 0, sizeof(props));
  if (req->with_reply_to) {
    amqp_basic_consume(conn, 1, amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO),
                       amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
    if (rpcd__amqp_last_status(conn, 1, "consume", NULL, 0) != RPCD_OK)
      abort();
    props._flags |= AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
    props.reply_to = amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO);
    props.correlation_id = amqp_cstring_bytes("raw-call-1");
    if (req->correlation_id) {
      props.correlation_id.bytes = (void *)req->correlation_id;
      props.correlation_id.len = req->correlation_id_len;
    }
  }
  if (req->content_type) {
    props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.content_type = amqp_cstring_bytes(req->content_type);
    if (req->content_type_len)
      props.content_type.len = req->content_type_len;
  }
  if (req->header_method) {
    headers[nh].key = amqp_cstring_bytes(RPCD_HDR_METHOD);
    headers[nh].value.kind = AMQP_FIELD_KIND_UTF8;
    headers[nh].value.value.bytes = amqp_cstring_bytes(req->header_method);
    nh++;
  }
  if (req->with_version) {
    headers[nh].key = amqp_cstring_bytes(RPCD_HDR_VERSION);
    headers[nh].value.kind = AMQP_FIELD_KIND_I32;
    headers[nh].value.value.i32 = req->version;
    if (req->version_as_u64) {
      headers[nh].value.kind = AMQP_FIELD_KIND_U64;
      headers[nh].value.value.u64 = req->version_u64;
    }
    nh++;
  }
  if (req->with_deadline) {
    headers[nh].key = amqp_cstring_bytes(RPCD_HDR_DEADLINE);
    headers[nh].value.kind = AMQP_FIELD_KIND_I64;
    headers[nh].value.value.i64 = req->deadline_ms;
    if (req->deadline_kind == 'T') {
      headers[nh].value.kind = AMQP_FIELD_KIND_TIMESTAMP;
      headers[nh].value.value.u64 = (uint64_t)(req->deadline_ms / 1000);
    } else if (req->deadline_kind == 'S') {
      headers[nh].value.kind = AMQP_FIELD_KIND_UTF8;
      headers[nh].value.value.bytes = amqp_cstring_bytes(req->deadline_text);
    } else if (req->deadline_kind == 'd') {
      headers[nh].value.kind = AMQP_FIELD_KIND_F64;
      headers[nh].value.value.f64 = (double)req->deadline_ms;
    }
    nh++;
  }
  if (nh) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers.num_entries = nh;
    props.headers.entries = headers;
  }
  body.bytes = (void *)req->body;
  body.len = req->body_len;
  if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue),
                         0, 0, &props, body) != AMQP_STATUS_OK)
    abort();

  deadline = h_now_ms() + timeout_ms;
  while (req->with_reply_to && h_now_ms() < deadline) {
    int64_t left = deadline - h_now_ms();
    struct timeval tv = {left / 1000, (left % 1000) * 1000};
    amqp_envelope_t env;
    amqp_rpc_reply_t r;
    const amqp_table_entry_t *st;

    amqp_maybe_release_buffers(conn);
    r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
      break;
    reply->got = true;
    reply->body_len = env.message.body.len < sizeof(reply->body)
                          ? env.message.body.len
                          : sizeof(reply->body);
    memcpy(reply->body, env.message.body.bytes, reply->body_len);
    if (env.message.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
      copy_bytes(reply->content_type, sizeof(reply->content_type),
                 env.message.properties.content_type);
    if (env.message.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
      copy_bytes(reply->correlation_id, sizeof(reply->correlation_id),
                 env.message.properties.correlation_id);
    if (env.message.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
      st = rpcd__amqp_table_get(&env.message.properties.headers,
                                RPCD_HDR_STATUS);
      if (st)
        reply->has_status = rpcd__amqp_field_int(&st->value, &reply->status);
    }
    amqp_destroy_envelope(&env);
    break;
  }
  rpcd__amqp_close(conn, 1);
}

bool h_wait_consumers(const char *queue, int n, unsigned timeout_ms)
{
  int64_t deadline = h_now_ms() + timeout_ms;

  do {
    if (h_queue_consumers(queue) == n)
      return true;
    sleep_ms(20);
  } while (h_now_ms() < deadline);
  return false;
}

static void header_text(const amqp_table_t *t, const char *key, char *out,
                        size_t cap)
{
  const amqp_table_entry_t *e = rpcd__amqp_table_get(t, key);

  out[0] = '\0';
  if (e && (e->value.kind == AMQP_FIELD_KIND_UTF8 ||
            e->value.kind == AMQP_FIELD_KIND_BYTES))
    copy_bytes(out, cap, e->value.value.bytes);
}

bool h_dead_letter_get(const char *queue, h_dead_letter *out)
{
  amqp_connection_state_t conn = connect_or_die();
  char dead[300];
  amqp_rpc_reply_t r;
  amqp_message_t msg;
  bool got = false;

  memset(out, 0, sizeof(*out));
  snprintf(dead, sizeof(dead), "%s.dead", queue);
  r = amqp_basic_get(conn, 1, amqp_cstring_bytes(dead), 1);
  if (r.reply_type == AMQP_RESPONSE_NORMAL &&
      r.reply.id == AMQP_BASIC_GET_OK_METHOD &&
      amqp_read_message(conn, 1, &msg, 0).reply_type == AMQP_RESPONSE_NORMAL) {
    const amqp_basic_properties_t *p = &msg.properties;

    got = true;
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
      header_text(&p->headers, "x-rpcd-reason", out->reason,
                  sizeof(out->reason));
      header_text(&p->headers, "x-rpcd-signal", out->signal,
                  sizeof(out->signal));
      header_text(&p->headers, "x-rpcd-method", out->method,
                  sizeof(out->method));
      out->has_time = rpcd__amqp_table_get(&p->headers, "x-rpcd-time") != NULL;
    }
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
      copy_bytes(out->correlation_id, sizeof(out->correlation_id),
                 p->correlation_id);
    out->body_len =
        msg.body.len < sizeof(out->body) ? msg.body.len : sizeof(out->body);
    memcpy(out->body, msg.body.bytes, out->body_len);
    amqp_destroy_message(&msg);
  }
  rpcd__amqp_close(conn, 1);
  return got;
}

pid_t h_fake_start(const char *queue, void (*serve)(void))
{
  pid_t pid = fork();

  if (pid < 0)
    return -1;
  if (pid == 0) {
    serve();
    _exit(1);
  }
  if (h_wait_consumers(queue, 1, 15000))
    return pid;
  h_fake_stop(&pid);
  return -1;
}

void h_fake_stop(pid_t *pid)
{
  if (*pid > 0) {
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
  }
}
