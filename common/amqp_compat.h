/* SPDX-License-Identifier: MIT */
/*
 * rabbitmq-c moved its headers to <rabbitmq-c/...> in 0.12 and made the old
 * paths warn; Debian 12 ships 0.11 with only the old ones. Include this
 * instead of either.
 */
#ifndef RPCD_AMQP_COMPAT_H
#define RPCD_AMQP_COMPAT_H

#if defined(__has_include)
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/framing.h>
#include <rabbitmq-c/ssl_socket.h>
#include <rabbitmq-c/tcp_socket.h>
#define RPCD_HAVE_RABBITMQ_C_DIR 1
#endif
#endif

#ifndef RPCD_HAVE_RABBITMQ_C_DIR
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#endif

#endif /* RPCD_AMQP_COMPAT_H */
