/* SPDX-License-Identifier: MIT */
/*
 * Broker URIs kept out of argv: --uri-file FILE of rpcd and rpcctl, and the
 * blanking of a password that was given on the command line anyway.
 */
#ifndef RPCD_URI_FILE_H
#define RPCD_URI_FILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Read a broker URI from the first line of `path`, trailing whitespace
 * stripped. The file is refused when it is not a regular file, when group
 * or others may read or write it (mode & 077), when it cannot be read, or
 * when its first line is empty. Messages name the file, never its content.
 *
 * \return RPCD_OK with *out a malloc'd string the caller owns (free it),
 *         RPCD_EINVAL with a message in err, RPCD_ENOMEM.
 */
int rpcd__uri_file_read(const char *path, char **out, char *err, size_t errlen);

/*
 * Overwrite the password of `uri` in place with '*' (same length), so that
 * a URI given in argv no longer shows in ps or /proc/PID/cmdline. The
 * password is what rpcd__uri_mask() masks. Best effort: until this runs,
 * and in the memory of the process, the password is still there.
 */
void rpcd__uri_blank_password(char *uri);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_URI_FILE_H */
