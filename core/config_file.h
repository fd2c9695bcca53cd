/* SPDX-License-Identifier: MIT */
/*
 * The --config FILE of rpcd: its syntax only. A line is blank, a comment
 * ("#" first), or "key = value"; config.c checks the keys against the
 * RPCD_FLAGS table and the values with the flags' own code. Ownership: an
 * rpcd_config_file owns its text, and its keys and values point into it.
 *
 *   # a comment
 *   queue = jobs                    # blanks around "=" are ignored
 *   plugin = /usr/lib/rpcd/fib.so   # a '#' after a blank starts a comment
 *   text-method = "with \"quotes\" and \\ and # inside"
 *   skip-bad-plugins = true
 */
#ifndef RPCD_CONFIG_FILE_H
#define RPCD_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Larger is a mistake (a binary file?), not a configuration. */
#define RPCD_CONFIG_FILE_MAX (1u << 20)

/* A "key = value" line, or a bad one (key NULL), in the order of the file,
 * so that problems found later can be told in line order with these. */
typedef struct rpcd_config_line {
  const char *key;   /* [a-z][a-z0-9-]*, NUL-terminated; NULL: a bad line */
  const char *value; /* unquoted, NUL-terminated, "" for "key ="; for a bad
                        line, why it is bad (owned) */
  unsigned line;     /* 1-based */
} rpcd_config_line;

typedef struct rpcd_config_file {
  char *text; /* owned: the file, keys and values cut out of it in place */
  rpcd_config_line *lines; /* owned: the lines that are not blank or
                              comments, in order */
  size_t n;
  /* Of the file read (fstat of the open file); 0 from a parsed string. */
  unsigned mode; /* st_mode & 07777 */
  uid_t uid;
  gid_t gid;
} rpcd_config_file;

/*
 * Split `text` (`len` bytes, copied) into lines. A value is either quoted,
 * "..." with \" and \\ as the only escapes, and then only blanks or a
 * comment may follow it; or unquoted: the rest of the line up to a '#' at
 * its start or after a blank, trailing blanks stripped. A key is what
 * comes before the first '=', blanks stripped, and must be [a-z][a-z0-9-]*.
 * `name` (the file) only prefixes messages.
 *
 * Every bad line is reported, not just the first: err gets one
 * "NAME:LINE: reason" line per problem (rpcd__problem_add()) and *n_bad
 * their count. *out has them too, as lines without a key, and the lines
 * that parsed.
 *
 * \return RPCD_OK (*n_bad == 0), RPCD_EINVAL (*n_bad > 0) with *out set,
 *         or RPCD_ENOMEM with *out NULL. Free *out with
 *         rpcd__config_file_free().
 */
int rpcd__config_file_parse(const char *text, size_t len, const char *name,
                            rpcd_config_file **out, unsigned *n_bad, char *err,
                            size_t errlen);

/*
 * Read and parse the file at `path`, recording its mode and owner. A file
 * that cannot be opened or read, is not a regular file or is larger than
 * RPCD_CONFIG_FILE_MAX is RPCD_EINVAL with *out NULL and err "PATH:
 * reason"; bad lines are reported as by rpcd__config_file_parse(). What
 * the mode and owner must be is config.c's business.
 */
int rpcd__config_file_read(const char *path, rpcd_config_file **out,
                           unsigned *n_bad, char *err, size_t errlen);

void rpcd__config_file_free(rpcd_config_file *f);

/*
 * Add a line to a list of problems in err: the first one replaces what err
 * held before (err[0] == '\0' marks an empty list), later ones follow a
 * '\n'. What does not fit is cut off; err stays NUL-terminated.
 */
void rpcd__problem_add(char *err, size_t errlen, bool first, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

#endif /* RPCD_CONFIG_FILE_H */
