/* SPDX-License-Identifier: MIT */
/*
 * TLS to the broker (amqps:// URIs), on rabbitmq-c's SSL socket: the
 * certificate options, peer and host-name verification, SASL EXTERNAL, and
 * failures described in words a user can act on ("the broker's certificate
 * has expired", "not for host 127.0.0.1") instead of "a SSL error
 * occurred". transport_amqp.c calls it; nothing else touches OpenSSL.
 */
#ifndef RPCD_TRANSPORT_TLS_H
#define RPCD_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "amqp_compat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Strings borrowed for the duration of the connect. */
typedef struct rpcd_tls_options {
  const char *ca_file;   /* PEM CAs to trust; NULL: the system's store */
  const char *cert_file; /* PEM client certificate (chain), or NULL */
  const char *key_file;  /* its PEM key, unencrypted; NULL: in cert_file */
  /* No peer or host-name verification: anyone on the path can read and
   * change the traffic. For tests against a throwaway broker only. */
  bool insecure;
  /* Log in with SASL EXTERNAL: the broker takes the user from the client
   * certificate (needs cert_file, and the broker's
   * rabbitmq_auth_mechanism_ssl plugin). */
  bool external;
} rpcd_tls_options;

/*
 * Check the options before anything connects: readable files, a key that
 * matches the certificate, EXTERNAL only with a certificate. The broker
 * cannot say which local file was wrong; this can.
 * \return RPCD_OK, or RPCD_EINVAL with a message in err
 */
int rpcd__tls_check(const rpcd_tls_options *tls, char *err, size_t errlen);

/*
 * A TLS socket on `conn` set up from `tls` (NULL: the defaults, verified
 * against the system's store). Verification failures during the handshake
 * are recorded for rpcd__tls_describe().
 * \return the socket (owned by conn), or NULL with a message in err
 */
amqp_socket_t *rpcd__tls_socket_new(amqp_connection_state_t conn,
                                    const rpcd_tls_options *tls, char *err,
                                    size_t errlen);

/*
 * What went wrong in a TLS connect to host:port that failed with the
 * rabbitmq-c status `status` (during the handshake, or at login when
 * `at_login`: under TLS 1.3 a broker refuses a client certificate only
 * after the client's handshake is done). Written to err.
 */
void rpcd__tls_describe(int status, bool at_login, const char *host, int port,
                        char *err, size_t errlen);

/*
 * The user a client certificate logs in as under EXTERNAL: its subject's
 * common name (RabbitMQ's ssl_cert_login_from = common_name), which is
 * then what the broker accepts as a message's user_id.
 * \return RPCD_OK, RPCD_EINVAL with a message in err
 */
int rpcd__tls_cert_user(const char *cert_file, char *user, size_t userlen,
                        char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_TRANSPORT_TLS_H */
