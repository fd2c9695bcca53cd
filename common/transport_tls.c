/* SPDX-License-Identifier: MIT */
#include "transport_tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <rpcd/status.h>

#include "rpcd_proto.h"

/*
 * The first certificate the handshake refused, and why. The verify
 * callback runs inside SSL_connect() on the connecting thread, and
 * rabbitmq-c keeps the SSL object to itself, so the record is per thread:
 * reset by rpcd__tls_socket_new(), read by rpcd__tls_describe() on the
 * same thread right after the connect.
 */
static _Thread_local struct {
  bool set;
  int error;
  int depth;
  char subject[160];
} refused;

static int on_verify(int ok, X509_STORE_CTX *store)
{
  X509 *cert;

  if (ok || refused.set)
    return ok;
  refused.set = true;
  refused.error = X509_STORE_CTX_get_error(store);
  refused.depth = X509_STORE_CTX_get_error_depth(store);
  cert = X509_STORE_CTX_get_current_cert(store);
  if (cert)
    X509_NAME_oneline(X509_get_subject_name(cert), refused.subject,
                      sizeof(refused.subject));
  else
    refused.subject[0] = '\0';
  return ok;
}

/* The reason OpenSSL queued last ("sslv3 alert certificate expired"), or
 * NULL when it queued none. */
static const char *openssl_reason(void)
{
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;

  return r && *r ? r : NULL;
}

static const char *openssl_reason_or(const char *fallback)
{
  const char *r = openssl_reason();

  return r ? r : fallback;
}

int rpcd__tls_check(const rpcd_tls_options *tls, char *err, size_t errlen)
{
  const char *key;
  SSL_CTX *ctx;
  int rc = RPCD_EINVAL;

  if (!tls)
    return RPCD_OK;
  if (tls->key_file && !tls->cert_file) {
    rpcd__set_err(err, errlen, "a client key without a client certificate");
    return RPCD_EINVAL;
  }
  if (tls->external && !tls->cert_file) {
    rpcd__set_err(err, errlen,
                  "EXTERNAL login needs a client certificate: the broker "
                  "takes the user from it");
    return RPCD_EINVAL;
  }
  ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    rpcd__set_err(err, errlen, "TLS: %s", openssl_reason_or("out of memory"));
    return RPCD_ENOMEM;
  }
  ERR_clear_error();
  key = tls->key_file ? tls->key_file : tls->cert_file;
  if (tls->ca_file &&
      SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1)
    rpcd__set_err(err, errlen, "CA file \"%s\": %s", tls->ca_file,
                  openssl_reason_or("no PEM certificate in it"));
  else if (tls->cert_file &&
           SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1)
    rpcd__set_err(err, errlen, "client certificate \"%s\": %s", tls->cert_file,
                  openssl_reason_or("no PEM certificate in it"));
  else if (key && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
    rpcd__set_err(err, errlen, "client key \"%s\": %s", key,
                  openssl_reason_or("no unencrypted PEM key in it"));
  else if (key && SSL_CTX_check_private_key(ctx) != 1)
    rpcd__set_err(err, errlen,
                  "client key \"%s\" does not belong to the certificate "
                  "\"%s\"",
                  key, tls->cert_file);
  else
    rc = RPCD_OK;
  ERR_clear_error();
  SSL_CTX_free(ctx);
  return rc;
}

amqp_socket_t *rpcd__tls_socket_new(amqp_connection_state_t conn,
                                    const rpcd_tls_options *tls, char *err,
                                    size_t errlen)
{
  amqp_socket_t *sock = amqp_ssl_socket_new(conn);
  SSL_CTX *ctx;

  refused.set = false;
  if (!sock) {
    rpcd__set_err(err, errlen, "TLS: could not set up a socket: %s",
                  openssl_reason_or("out of memory"));
    return NULL;
  }
  ctx = amqp_ssl_socket_get_context(sock);
  if (tls && tls->ca_file) {
    if (amqp_ssl_socket_set_cacert(sock, tls->ca_file) != AMQP_STATUS_OK) {
      rpcd__set_err(err, errlen, "CA file \"%s\": %s", tls->ca_file,
                    openssl_reason_or("no PEM certificate in it"));
      return NULL;
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    rpcd__set_err(err, errlen, "TLS: the system's CA store: %s",
                  openssl_reason_or("could not be loaded"));
    return NULL;
  }
  if (tls && tls->cert_file &&
      amqp_ssl_socket_set_key(sock, tls->cert_file,
                              tls->key_file ? tls->key_file : tls->cert_file) !=
          AMQP_STATUS_OK) {
    rpcd__set_err(err, errlen, "client certificate \"%s\" or its key: %s",
                  tls->cert_file, openssl_reason_or("unusable"));
    return NULL;
  }
  if (tls && tls->insecure) {
    amqp_ssl_socket_set_verify_peer(sock, 0);
    amqp_ssl_socket_set_verify_hostname(sock, 0);
  } else {
    /* rabbitmq-c sets the verify mode on its SSL object without a
     * callback, which keeps the context's: this one only takes notes. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
    amqp_ssl_socket_set_verify_peer(sock, 1);
    amqp_ssl_socket_set_verify_hostname(sock, 1);
  }
  if (amqp_ssl_socket_set_ssl_versions(sock, AMQP_TLSv1_2, AMQP_TLSvLATEST) !=
      AMQP_STATUS_OK) {
    rpcd__set_err(err, errlen, "TLS: TLS 1.2 is not available");
    return NULL;
  }
  return sock;
}

/* Some words on what the refused certificate most likely means. */
static const char *refusal_hint(int error)
{
  switch (error) {
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    return " (not signed by a CA the client trusts: is the CA file the one "
           "that signed the broker's certificate?)";
  case X509_V_ERR_CERT_HAS_EXPIRED:
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return " (check the certificate's dates and both clocks)";
  default:
    return "";
  }
}

void rpcd__tls_describe(int status, bool at_login, const char *host, int port,
                        char *err, size_t errlen)
{
  const char *reason = openssl_reason();

  if (refused.set) {
    rpcd__set_err(err, errlen,
                  "TLS: the broker's certificate was refused: %s (depth %d%s%s)"
                  "%s",
                  X509_verify_cert_error_string(refused.error), refused.depth,
                  refused.subject[0] ? ", " : "", refused.subject,
                  refusal_hint(refused.error));
  } else if (status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED) {
    rpcd__set_err(err, errlen,
                  "TLS: the broker's certificate is not for host \"%s\" "
                  "(rabbitmq-c matches the certificate's DNS names only, also "
                  "for an IP address: connect by a name it lists, e.g. "
                  "localhost, or give the certificate a DNS:%s entry)",
                  host, host);
  } else if (status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED) {
    rpcd__set_err(err, errlen,
                  "TLS: the broker's certificate could not be verified");
  } else if (at_login) {
    rpcd__set_err(err, errlen,
                  "TLS: the broker ended the connection at login: %s (under "
                  "TLS 1.3 this is how a refused client certificate shows: "
                  "expired, not signed by a CA the broker trusts, or "
                  "missing where the broker requires one)",
                  reason ? reason : amqp_error_string2(status));
  } else if (reason && strstr(reason, "wrong version number")) {
    rpcd__set_err(err, errlen,
                  "TLS handshake failed: %s (is port %d a plain AMQP port? "
                  "then use amqp://)",
                  reason, port);
  } else {
    rpcd__set_err(err, errlen, "TLS handshake failed: %s",
                  reason ? reason : amqp_error_string2(status));
  }
  ERR_clear_error();
}

int rpcd__tls_cert_user(const char *cert_file, char *user, size_t userlen,
                        char *err, size_t errlen)
{
  FILE *f = fopen(cert_file, "r");
  X509 *cert;
  int n;

  if (!f) {
    rpcd__set_err(err, errlen, "client certificate \"%s\": cannot be read",
                  cert_file);
    return RPCD_EINVAL;
  }
  cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (!cert) {
    rpcd__set_err(err, errlen, "client certificate \"%s\": no PEM certificate",
                  cert_file);
    ERR_clear_error();
    return RPCD_EINVAL;
  }
  n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
                                user, (int)userlen);
  X509_free(cert);
  if (n <= 0 || (size_t)n >= userlen) {
    rpcd__set_err(err, errlen,
                  "client certificate \"%s\": no common name of at most %zu "
                  "bytes to log in as",
                  cert_file, userlen - 1);
    ERR_clear_error();
    return RPCD_EINVAL;
  }
  return RPCD_OK;
}
