/* SPDX-License-Identifier: MIT */
/*
 * Replays saved inputs through a fuzz target without libFuzzer, so that
 * ordinary (gcc, non-sanitizer) builds run the committed crashers and seeds
 * as a ctest (msgpack-c fuzz/regression_runner.cpp). Linked once per target
 * with that target's .c file, it calls its LLVMFuzzerTestOneInput.
 *
 * usage: <runner> DIR [DIR...]
 * Feeds every regular file under each DIR (recursively, in name order) to
 * the target. A target that finds a bug aborts, which fails the test. Exits
 * 1 when a DIR cannot be read or no file was found at all.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
  FILE *f;
  uint8_t *buf;
  long len;
  size_t got;

  f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    perror(path);
    fclose(f);
    return -1;
  }
  /* an exact-size heap copy, so that a sanitizer sees reads past the end */
  buf = malloc(len ? (size_t)len : 1);
  if (!buf) {
    fclose(f);
    return -1;
  }
  got = fread(buf, 1, (size_t)len, f);
  fclose(f);
  if (got != (size_t)len) {
    fprintf(stderr, "%s: short read\n", path);
    free(buf);
    return -1;
  }
  fprintf(stderr, "running %s (%zu bytes)\n", path, got);
  LLVMFuzzerTestOneInput(buf, got);
  free(buf);
  return 0;
}

static int no_dots(const struct dirent *e)
{
  return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* Run every file under path; returns the count, or -1 on error. */
static long run_tree(const char *path)
{
  struct dirent **names;
  struct stat st;
  long total = 0;
  int n;
  int i;

  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode))
    return run_file(path) == 0 ? 1 : -1;
  n = scandir(path, &names, no_dots, alphasort);
  if (n < 0) {
    perror(path);
    return -1;
  }
  for (i = 0; i < n; i++) {
    size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
    char *child = malloc(len);
    long r = -1;

    if (child) {
      snprintf(child, len, "%s/%s", path, names[i]->d_name);
      r = run_tree(child);
      free(child);
    }
    if (r < 0 || total < 0)
      total = -1;
    else
      total += r;
    free(names[i]);
  }
  free(names);
  return total;
}

int main(int argc, char **argv)
{
  long total = 0;
  int i;

  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [DIR...]\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    long r = run_tree(argv[i]);

    if (r < 0)
      return 1;
    total += r;
  }
  fprintf(stderr, "%ld inputs ran without a failure\n", total);
  return total > 0 ? 0 : 1;
}
