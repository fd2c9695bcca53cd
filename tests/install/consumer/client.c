/* SPDX-License-Identifier: MIT */
/*
 * client URI QUEUE: call hello("install") on the rpcd serving QUEUE and
 * print the result, a string. Built out of tree against an installed rpcd.
 */
#include <rpcd/client.h>

#include <msgpack.h>
#include <stdio.h>

int main(int argc, char **argv)
{
  rpcd_client *c = NULL;
  rpcd_reply *r = NULL;
  msgpack_sbuffer buf;
  msgpack_packer pk;
  msgpack_unpacked res;
  const void *data;
  size_t len;
  int rc;
  int status = 1;

  if (argc != 3) {
    fprintf(stderr, "usage: %s URI QUEUE\n", argv[0]);
    return 2;
  }
  if (rpcd_client_new(&c) != RPCD_OK ||
      rpcd_client_set_queue(c, argv[2]) != RPCD_OK) {
    fprintf(stderr, "cannot set up the client\n");
    goto out;
  }
  if (rpcd_client_connect(c, argv[1]) != RPCD_OK) {
    fprintf(stderr, "connect: %s\n", rpcd_client_last_error(c));
    goto out;
  }
  msgpack_sbuffer_init(&buf);
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_str_with_body(&pk, "install", 7);
  rc = rpcd_client_call(c, "hello", buf.data, buf.size, 5000, &r, 0);
  msgpack_sbuffer_destroy(&buf);
  if (rc != RPCD_OK) {
    fprintf(stderr, "hello: %s: %s\n", rpcd_strerror(rc),
            rc == RPCD_EREMOTE ? rpcd_reply_error_message(r)
                               : rpcd_client_last_error(c));
    goto out;
  }
  rpcd_reply_result(r, &data, &len);
  msgpack_unpacked_init(&res);
  if (msgpack_unpack_next(&res, data, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
      res.data.type == MSGPACK_OBJECT_STR) {
    printf("%.*s\n", (int)res.data.via.str.size, res.data.via.str.ptr);
    status = 0;
  } else {
    fprintf(stderr, "hello: the result is not a string\n");
  }
  msgpack_unpacked_destroy(&res);
out:
  rpcd_reply_free(r);
  rpcd_client_free(c);
  return status;
}
