/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader. Before it opens a plugin it resolves the path given to
 * an absolute one and checks the file: a regular file that only root or the
 * user rpcd runs as can replace, and a shared object whose segments are all
 * in the file. After dlopen() it checks that rpcd_plugin_entry is a function
 * in an executable segment, calls it, and checks the descriptor it returns
 * field by field, so that a plugin built against another ABI or another
 * msgpack-c is refused with a reason instead of crashing the server later.
 * A 1.2 plugin's typed methods are read into the host's own rpcd_method_spec
 * (method_desc.c) before any of its code runs. Loading is all or nothing.
 *
 * None of this makes an untrusted plugin safe: dlopen() runs a plugin's ELF
 * constructors and applies its relocations, and the symbol lookup runs an
 * IFUNC resolver, before any check here can refuse it. A plugin is trusted
 * code; the checks catch mistakes, not malice.
 */
#define _GNU_SOURCE /* dladdr1(), dl_iterate_phdr(), ElfW() */

#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_api.h"
#include "log.h"
#include "rpcd_proto.h"

#define MAX_PLUGIN_NAME 64
/* A 1.0/1.1 descriptor ends before method_descs; a 1.2 one after close. */
#define INFO_SIZE_1_1 offsetof(rpcd_plugin_info, method_descs)
#define INFO_SIZE_1_2                                                          \
  (offsetof(rpcd_plugin_info, close) + sizeof(((rpcd_plugin_info *)0)->close))
#define MAX_METHODS_PER_PLUGIN 4096

#ifdef RPCD_SANITIZE
/* Keep the code mapped so LeakSanitizer can still name plugin frames. */
#define DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#else
#define DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif

static _Thread_local const rpcd_plugin *current_plugin;

const rpcd_plugin *rpcd__plugin_current(void)
{
  return current_plugin;
}

void rpcd__plugin_set_current(const rpcd_plugin *plugin)
{
  current_plugin = plugin;
}

static bool plugin_name_valid(const char *name)
{
  size_t len = strlen(name);

  return len <= MAX_PLUGIN_NAME && rpcd__method_name_valid(name, len);
}

/* The 1.2 members exist only in a descriptor that claims 1.2 or later
 * (whose size check_info() made sure of). */
static bool has_1_2(const rpcd_plugin_info *info)
{
  return info->abi_minor >= 2;
}

static const rpcd_method_desc *info_descs(const rpcd_plugin_info *info)
{
  return has_1_2(info) ? info->method_descs : NULL;
}

/* The ctx open() and close() get: no call, the plugin's state. */
static rpcd_ctx plugin_ctx(const rpcd_plugin *p)
{
  rpcd_ctx ctx = {
      .size = sizeof(ctx),
      .api = &rpcd__host_api,
      .state = p->state,
      .host = p,
  };

  return ctx;
}

/* A method of either table: named, with a handler, not the server's. */
static int check_method(const char *name, bool has_fn, char *err, size_t errlen)
{
  /* Checked here, not only by the registry, so that a bad name is refused
   * before init runs and as RPCD_EPLUGIN. */
  if (!rpcd__method_name_valid(name, strlen(name))) {
    rpcd__set_err(err, errlen,
                  "invalid method name \"%.255s\": must be 1 to %d "
                  "characters of [A-Za-z0-9_.-]",
                  name, RPCD_MAX_METHOD_LEN);
    return RPCD_EPLUGIN;
  }
  if (!has_fn) {
    rpcd__set_err(err, errlen, "method \"%.255s\" has no handler", name);
    return RPCD_EPLUGIN;
  }
  if (strncmp(name, "rpc.", 4) == 0) {
    rpcd__set_err(err, errlen,
                  "method \"%.255s\": names under \"rpc.\" are reserved "
                  "for the server",
                  name);
    return RPCD_EPLUGIN;
  }
  return RPCD_OK;
}

/* The typed table: entry sizes, count, names and handlers. What each
 * method declares is read later, by rpcd__method_spec_read(). */
static int check_descs(const rpcd_plugin_info *info, char *err, size_t errlen)
{
  const rpcd_method_desc *descs = info->method_descs;
  size_t stride;
  size_t n;
  size_t i;
  int rc;

  if (rpcd__method_descs_count(descs, &n, err, errlen) != RPCD_OK)
    return RPCD_EPLUGIN;
  if (n == 0) {
    rpcd__set_err(err, errlen, "plugin \"%s\" registers no methods",
                  info->name);
    return RPCD_EPLUGIN;
  }
  if (n > MAX_METHODS_PER_PLUGIN) {
    rpcd__set_err(err, errlen, "method table has more than %d entries",
                  MAX_METHODS_PER_PLUGIN);
    return RPCD_EPLUGIN;
  }
  stride = rpcd__desc_size(descs);
  for (i = 0; i < n; i++) {
    const rpcd_method_desc *d = rpcd__desc_at(descs, stride, i);

    rc = check_method(d->name, d->fn != NULL, err, errlen);
    if (rc != RPCD_OK)
      return rc;
  }
  return RPCD_OK;
}

/* Check everything the descriptor promises. No plugin code runs here. */
static int check_info(const rpcd_registry *reg, const rpcd_plugin_info *info,
                      char *err, size_t errlen)
{
  size_t i;

  if (!info) {
    rpcd__set_err(err, errlen, "rpcd_plugin_entry() returned NULL");
    return RPCD_EPLUGIN;
  }
  if (info->size < INFO_SIZE_1_1) {
    rpcd__set_err(err, errlen,
                  "descriptor size is %zu bytes, expected at least %zu "
                  "(built against an older, incompatible plugin.h?)",
                  info->size, INFO_SIZE_1_1);
    return RPCD_EPLUGIN;
  }
  if (info->abi_major != RPCD_PLUGIN_ABI_MAJOR) {
    rpcd__set_err(err, errlen,
                  "plugin ABI %u.%u is incompatible with the server's %u.%u",
                  info->abi_major, info->abi_minor, RPCD_PLUGIN_ABI_MAJOR,
                  RPCD_PLUGIN_ABI_MINOR);
    return RPCD_EPLUGIN;
  }
  if (info->abi_minor > RPCD_PLUGIN_ABI_MINOR) {
    rpcd__set_err(err, errlen,
                  "plugin needs ABI %u.%u but the server offers %u.%u "
                  "(upgrade rpcd)",
                  info->abi_major, info->abi_minor, RPCD_PLUGIN_ABI_MAJOR,
                  RPCD_PLUGIN_ABI_MINOR);
    return RPCD_EPLUGIN;
  }
  if (has_1_2(info) && info->size < INFO_SIZE_1_2) {
    rpcd__set_err(err, errlen,
                  "descriptor size is %zu bytes, expected at least %zu for "
                  "ABI %u.%u (built against an older plugin.h than the ABI "
                  "it claims?)",
                  info->size, INFO_SIZE_1_2, info->abi_major, info->abi_minor);
    return RPCD_EPLUGIN;
  }
  if (info->msgpack_major != MSGPACK_VERSION_MAJOR) {
    rpcd__set_err(err, errlen,
                  "plugin was built against msgpack-c %u, the server uses %d",
                  info->msgpack_major, MSGPACK_VERSION_MAJOR);
    return RPCD_EPLUGIN;
  }
  for (i = 0; i < sizeof(info->reserved) / sizeof(info->reserved[0]); i++) {
    if (info->reserved[i] != 0) {
      rpcd__set_err(err, errlen, "reserved field %zu is not zero", i);
      return RPCD_EPLUGIN;
    }
  }
  if (!info->name || !plugin_name_valid(info->name)) {
    rpcd__set_err(err, errlen,
                  "plugin name must be 1 to %d characters of [A-Za-z0-9_.-]",
                  MAX_PLUGIN_NAME);
    return RPCD_EPLUGIN;
  }
  if (!info->version) {
    rpcd__set_err(err, errlen, "plugin \"%s\" has no version", info->name);
    return RPCD_EPLUGIN;
  }
  if (rpcd__registry_find_plugin(reg, info->name)) {
    rpcd__set_err(err, errlen, "a plugin named \"%s\" is already loaded",
                  info->name);
    return RPCD_EEXIST;
  }
  if (info->methods && info_descs(info)) {
    rpcd__set_err(err, errlen,
                  "plugin \"%s\" sets both methods and method_descs: set "
                  "exactly one",
                  info->name);
    return RPCD_EPLUGIN;
  }
  if (has_1_2(info) && info->init && info->open) {
    rpcd__set_err(err, errlen,
                  "plugin \"%s\" sets both init and open: set one at most",
                  info->name);
    return RPCD_EPLUGIN;
  }
  if (info_descs(info))
    return check_descs(info, err, errlen);
  if (!info->methods || !info->methods[0].name) {
    rpcd__set_err(err, errlen, "plugin \"%s\" registers no methods",
                  info->name);
    return RPCD_EPLUGIN;
  }
  for (i = 0; info->methods[i].name; i++) {
    const rpcd_method *m = &info->methods[i];

    if (i >= MAX_METHODS_PER_PLUGIN) {
      rpcd__set_err(err, errlen,
                    "method table has more than %d entries (missing the "
                    "NULL entry at its end?)",
                    MAX_METHODS_PER_PLUGIN);
      return RPCD_EPLUGIN;
    }
    int rc = check_method(m->name, m->fn != NULL, err, errlen);

    if (rc != RPCD_OK)
      return rc;
    if (m->flags != 0) {
      rpcd__set_err(err, errlen, "method \"%.255s\": unknown flags 0x%x",
                    m->name, (unsigned)m->flags);
      return RPCD_EPLUGIN;
    }
  }
  return RPCD_OK;
}

/* ------------------------------------------------------------------------ */
/* The file, before dlopen()                                                 */

/*
 * Resolve `path` to an absolute path with no symbolic links, ".." or "."
 * (realpath()): a --plugin value is a path, never a library name for
 * dlopen() to search the library path for, and the absolute path still
 * names the same file after a chdir. *out is malloc()ed.
 */
static int resolve_path(const char *path, char **out, char *why, size_t len)
{
  char cwd[PATH_MAX];
  struct stat st;
  int e;

  *out = realpath(path, NULL);
  if (*out)
    return RPCD_OK;
  e = errno;
  if (e == ENOMEM)
    return RPCD_ENOMEM;
  if (e == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
    rpcd__set_err(why, len, "%s (a dangling symbolic link)", strerror(e));
  else if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
    rpcd__set_err(why, len, "%s (resolved against %s)", strerror(e), cwd);
  else
    rpcd__set_err(why, len, "%s", strerror(e));
  return RPCD_EPLUGIN;
}

/*
 * Whoever can replace a plugin can run code in rpcd. Refuse a file or
 * directory owned by someone other than root or the user rpcd runs as, or
 * writable by others or by a group other than rpcd's own. A directory with
 * the sticky bit (like /tmp) may be writable: others cannot replace what
 * they do not own in it.
 */
static int check_owner_mode(const char *what, const struct stat *st, char *why,
                            size_t len)
{
  bool sticky = S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);
  unsigned mode = (unsigned)(st->st_mode & 07777);

  if (st->st_uid != 0 && st->st_uid != geteuid()) {
    rpcd__set_err(why, len,
                  "%s is owned by uid %lu, who is neither root nor the user "
                  "rpcd runs as (uid %lu) and could replace the plugin",
                  what, (unsigned long)st->st_uid, (unsigned long)geteuid());
    return RPCD_EPLUGIN;
  }
  if ((st->st_mode & S_IWOTH) && !sticky) {
    rpcd__set_err(why, len,
                  "%s is writable by others (mode %04o): anyone could "
                  "replace the plugin (chmod o-w it)",
                  what, mode);
    return RPCD_EPLUGIN;
  }
  if ((st->st_mode & S_IWGRP) && st->st_gid != getegid() && !sticky) {
    rpcd__set_err(why, len,
                  "%s is writable by group %lu (mode %04o), not rpcd's own "
                  "group: its members could replace the plugin (chmod g-w "
                  "it)",
                  what, (unsigned long)st->st_gid, mode);
    return RPCD_EPLUGIN;
  }
  return RPCD_OK;
}

/* check_owner_mode() for every directory above the absolute path `path`
 * (which may itself be a directory), up to "/". */
static int check_parent_dirs(const char *path, char *why, size_t len)
{
  char dir[PATH_MAX];
  char what[PATH_MAX + 16];
  struct stat st;
  char *slash;
  int rc;

  if (strlen(path) >= sizeof(dir)) {
    rpcd__set_err(why, len, "path too long");
    return RPCD_EPLUGIN;
  }
  strcpy(dir, path);
  while ((slash = strrchr(dir, '/')) != NULL) {
    if (slash == dir)
      slash[1] = '\0'; /* "/" itself */
    else
      *slash = '\0';
    if (stat(dir, &st) != 0) {
      rpcd__set_err(why, len, "directory %s: %s", dir, strerror(errno));
      return RPCD_EPLUGIN;
    }
    snprintf(what, sizeof(what), "directory %s", dir);
    rc = check_owner_mode(what, &st, why, len);
    if (rc != RPCD_OK)
      return rc;
    if (slash == dir)
      break;
  }
  return RPCD_OK;
}

/* Read exactly n bytes at off; false on a short read or an error. */
static bool read_at(int fd, void *buf, size_t n, off_t off)
{
  unsigned char *p = buf;

  while (n > 0) {
    ssize_t got = pread(fd, p, n, off);

    if (got < 0 && errno == EINTR)
      continue;
    if (got == 0)
      errno = 0; /* the file ended early: not an error of the system */
    if (got <= 0)
      return false;
    p += got;
    n -= (size_t)got;
    off += got;
  }
  return true;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ELFDATA ELFDATA2LSB
#else
#define NATIVE_ELFDATA ELFDATA2MSB
#endif
#if __ELF_NATIVE_CLASS == 64
#define NATIVE_ELFCLASS ELFCLASS64
#else
#define NATIVE_ELFCLASS ELFCLASS32
#endif

/*
 * dlopen() maps a shared object's segments straight from the file; a file
 * cut short (an interrupted copy, a full disk) leaves pages past its end
 * mapped, and the first touch of one kills the process with SIGBUS before
 * any message. Check that the ELF header, the program headers and every
 * loadable segment lie within the file. Whatever else is wrong with an ELF
 * file (magic, class, machine, type) dlopen() refuses with its own message.
 */
static int check_elf_extent(int fd, off_t size, char *why, size_t len)
{
  ElfW(Ehdr) eh;
  ElfW(Phdr) ph;
  uint64_t end;
  unsigned i;

  if (size == 0) {
    rpcd__set_err(why, len, "the file is empty");
    return RPCD_EPLUGIN;
  }
  if (size < (off_t)SELFMAG)
    return RPCD_OK; /* not ELF: dlopen() says so */
  if (!read_at(fd, eh.e_ident, SELFMAG, 0)) {
    rpcd__set_err(why, len, "cannot read the file: %s",
                  errno ? strerror(errno) : "short read");
    return RPCD_EPLUGIN;
  }
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return RPCD_OK;
  if ((uint64_t)size < sizeof(eh)) {
    rpcd__set_err(why, len,
                  "the file is truncated: %lld bytes, shorter than an ELF "
                  "header",
                  (long long)size);
    return RPCD_EPLUGIN;
  }
  if (!read_at(fd, &eh, sizeof(eh), 0)) {
    rpcd__set_err(why, len, "cannot read the file: %s",
                  errno ? strerror(errno) : "short read");
    return RPCD_EPLUGIN;
  }
  if (eh.e_ident[EI_CLASS] != NATIVE_ELFCLASS ||
      eh.e_ident[EI_DATA] != NATIVE_ELFDATA || eh.e_phentsize != sizeof(ph))
    return RPCD_OK; /* not ours to read: dlopen() refuses it */
  end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ph);
  if (end > (uint64_t)size) {
    rpcd__set_err(why, len,
                  "the file is truncated: its program headers end at byte "
                  "%llu, the file has %lld bytes",
                  (unsigned long long)end, (long long)size);
    return RPCD_EPLUGIN;
  }
  for (i = 0; i < eh.e_phnum; i++) {
    if (!read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph)))) {
      rpcd__set_err(why, len, "cannot read the file: %s",
                    errno ? strerror(errno) : "short read");
      return RPCD_EPLUGIN;
    }
    if (ph.p_type != PT_LOAD)
      continue;
    if ((uint64_t)ph.p_offset > UINT64_MAX - (uint64_t)ph.p_filesz ||
        (uint64_t)ph.p_offset + (uint64_t)ph.p_filesz > (uint64_t)size) {
      rpcd__set_err(
          why, len,
          "the file is truncated: segment %u needs bytes up to "
          "%llu, the file has %lld (an interrupted copy?)",
          i, (unsigned long long)ph.p_offset + (unsigned long long)ph.p_filesz,
          (long long)size);
      return RPCD_EPLUGIN;
    }
  }
  return RPCD_OK;
}

/* Check the plugin file at the absolute path `path` before dlopen(). The
 * file could change between this check and dlopen() opening it again; only
 * root or rpcd's user can change it then, which the check makes sure of. */
static int check_file(const char *path, char *why, size_t len)
{
  struct stat st;
  int rc;
  int fd;

  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    rpcd__set_err(why, len, "%s", strerror(errno));
    return RPCD_EPLUGIN;
  }
  if (fstat(fd, &st) != 0) {
    rpcd__set_err(why, len, "%s", strerror(errno));
    rc = RPCD_EPLUGIN;
  } else if (S_ISDIR(st.st_mode)) {
    rpcd__set_err(why, len,
                  "is a directory, not a plugin file (--plugin-dir loads "
                  "every *.so in a directory)");
    rc = RPCD_EPLUGIN;
  } else if (!S_ISREG(st.st_mode)) {
    rpcd__set_err(why, len, "not a regular file (%s)",
                  S_ISFIFO(st.st_mode)   ? "a FIFO"
                  : S_ISCHR(st.st_mode)  ? "a character device"
                  : S_ISBLK(st.st_mode)  ? "a block device"
                  : S_ISSOCK(st.st_mode) ? "a socket"
                                         : "of an unknown kind");
    rc = RPCD_EPLUGIN;
  } else {
    rc = check_owner_mode("the file", &st, why, len);
    if (rc == RPCD_OK)
      rc = check_parent_dirs(path, why, len);
    if (rc == RPCD_OK)
      rc = check_elf_extent(fd, st.st_size, why, len);
  }
  close(fd);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The entry point, after dlopen() and before it is called                   */

typedef struct segment_query {
  uintptr_t addr;
  bool found;
  bool exec;
} segment_query;

static int find_segment(struct dl_phdr_info *info, size_t size, void *data)
{
  segment_query *q = data;
  ElfW(Half) i;

  (void)size;
  for (i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = (uintptr_t)info->dlpi_addr + ph->p_vaddr;

    if (ph->p_type == PT_LOAD && q->addr >= start &&
        q->addr - start < ph->p_memsz) {
      q->found = true;
      q->exec = (ph->p_flags & PF_X) != 0;
      return 1;
    }
  }
  return 0;
}

static const char *symbol_kind(unsigned type, char *buf, size_t len)
{
  switch (type) {
  case STT_NOTYPE:
    return "an untyped symbol";
  case STT_OBJECT:
    return "an object symbol";
  case STT_SECTION:
    return "a section symbol";
  case STT_FILE:
    return "a file symbol";
  case STT_COMMON:
    return "a common symbol";
  case STT_TLS:
    return "a thread-local symbol";
  case STT_GNU_IFUNC:
    return "an indirect function (IFUNC) symbol";
  default:
    snprintf(buf, len, "a symbol of type %u", type);
    return buf;
  }
}

/*
 * The entry must be a function: an exported data object, a thread-local
 * variable or an absolute symbol under that name would be "called" as code
 * and crash the server. Require that an exported symbol of type STT_FUNC
 * starts exactly at the address dlsym() returned, and that the address is
 * in an executable segment. An IFUNC's resolver has already run by now
 * (dlsym() runs it); what it returns is refused unless it is itself an
 * exported function.
 */
static int check_entry(void *addr, char *why, size_t len)
{
  const ElfW(Sym) *sym = NULL;
  segment_query q = {.addr = (uintptr_t)addr};
  Dl_info info;
  char kind[32];
  unsigned type;

  if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT)) {
    rpcd__set_err(why, len,
                  "%s is not a function (its address is in no loaded "
                  "object: a thread-local or absolute symbol?)",
                  RPCD_PLUGIN_ENTRY_SYMBOL);
    return RPCD_EPLUGIN;
  }
  if (!sym || info.dli_saddr != addr) {
    rpcd__set_err(why, len,
                  "%s is not a function (no exported symbol starts at its "
                  "address: an IFUNC that resolved to a hidden function?)",
                  RPCD_PLUGIN_ENTRY_SYMBOL);
    return RPCD_EPLUGIN;
  }
  type = ELF64_ST_TYPE(sym->st_info); /* the same for ELF32 */
  if (type != STT_FUNC) {
    rpcd__set_err(why, len, "%s is not a function (%s)",
                  RPCD_PLUGIN_ENTRY_SYMBOL,
                  symbol_kind(type, kind, sizeof(kind)));
    return RPCD_EPLUGIN;
  }
  dl_iterate_phdr(find_segment, &q);
  if (!q.found || !q.exec) {
    rpcd__set_err(why, len,
                  "%s is not a function (it lies in a non-executable "
                  "segment)",
                  RPCD_PLUGIN_ENTRY_SYMBOL);
    return RPCD_EPLUGIN;
  }
  return RPCD_OK;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

/* Read every typed method's descriptor into *specs (n of them); nothing
 * when the plugin has the untyped table. */
static int read_specs(const rpcd_plugin_info *info, rpcd_method_spec **specs,
                      size_t *n, char *err, size_t errlen)
{
  const rpcd_method_desc *descs = info_descs(info);
  size_t stride;
  size_t i;
  int rc = RPCD_OK;

  *specs = NULL;
  *n = 0;
  if (!descs)
    return RPCD_OK;
  stride = rpcd__desc_size(descs);
  while (((const rpcd_method_desc *)rpcd__desc_at(descs, stride, *n))->name)
    ++*n;
  *specs = calloc(*n, sizeof(**specs));
  if (!*specs)
    return RPCD_ENOMEM;
  for (i = 0; i < *n && rc == RPCD_OK; i++)
    rc = rpcd__method_spec_read(&(*specs)[i], rpcd__desc_at(descs, stride, i),
                                err, errlen);
  return rc == RPCD_EINVAL ? RPCD_EPLUGIN : rc;
}

static void specs_free(rpcd_method_spec *specs, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    rpcd__method_spec_free(&specs[i]);
  free(specs);
}

/* Run init or open; *why gets the plugin's message on failure. */
static int plugin_start(rpcd_plugin *p, char *why, size_t len)
{
  const rpcd_plugin_info *info = p->info;
  int rc = RPCD_OK;

  rpcd__plugin_set_current(p);
  if (info->init) {
    rc = info->init(&rpcd__host_api, &p->state, why, len);
  } else if (has_1_2(info) && info->open) {
    rpcd_ctx ctx = plugin_ctx(p);

    rc = info->open(&ctx, why, len);
    p->state = ctx.state;
  }
  rpcd__plugin_set_current(NULL);
  return rc;
}

/* fini or close, whichever the plugin has (close wins for 1.2). */
static void plugin_stop(rpcd_plugin *p)
{
  const rpcd_plugin_info *info = p->info;

  rpcd__plugin_set_current(p);
  if (has_1_2(info) && info->close) {
    rpcd_ctx ctx = plugin_ctx(p);

    info->close(&ctx);
  } else if (info->fini) {
    info->fini(p->state);
  }
  rpcd__plugin_set_current(NULL);
}

static void plugin_free(rpcd_plugin *p)
{
  free(p->path);
  free(p->name);
  free(p->version);
  free(p);
}

int rpcd__plugin_load(rpcd_registry *reg, const char *path, char *err,
                      size_t errlen)
{
  char detail[PATH_MAX + 256] = "";
  rpcd_plugin_entry_fn entry;
  rpcd_method_spec *specs = NULL;
  rpcd_plugin **plugins;
  rpcd_plugin *p;
  void *entry_addr;
  size_t n_specs = 0;
  size_t i;
  int rc;

  p = calloc(1, sizeof(*p));
  if (!p)
    return RPCD_ENOMEM;
  /* From here on the plugin is named by its absolute path: that is what
   * dlopen() gets, what the messages say and what the registry records. */
  rc = resolve_path(path, &p->path, detail, sizeof(detail));
  if (rc != RPCD_OK)
    goto out_free;
  rc = check_file(p->path, detail, sizeof(detail));
  if (rc != RPCD_OK)
    goto out_free;

  dlerror(); /* clear any earlier error */
  p->handle = dlopen(p->path, DLOPEN_FLAGS);
  if (!p->handle) {
    const char *why = dlerror();

    rpcd__set_err(detail, sizeof(detail), "%s", why ? why : "dlopen failed");
    rc = RPCD_EPLUGIN;
    goto out_free;
  }
  /* POSIX guarantees dlsym works for functions: hence an entry function
   * rather than an exported data symbol. */
  entry_addr = dlsym(p->handle, RPCD_PLUGIN_ENTRY_SYMBOL);
  if (!entry_addr) {
    rpcd__set_err(detail, sizeof(detail),
                  "no %s() function: not an rpcd plugin",
                  RPCD_PLUGIN_ENTRY_SYMBOL);
    rc = RPCD_EPLUGIN;
    goto out_close;
  }
  rc = check_entry(entry_addr, detail, sizeof(detail));
  if (rc != RPCD_OK)
    goto out_close;
  *(void **)(&entry) = entry_addr;
  p->info = entry();
  rc = check_info(reg, p->info, detail, sizeof(detail));
  if (rc == RPCD_OK)
    rc = read_specs(p->info, &specs, &n_specs, detail, sizeof(detail));
  if (rc != RPCD_OK)
    goto out_close;
  p->name = strdup(p->info->name);
  p->version = strdup(p->info->version);
  plugins = realloc(reg->plugins, (reg->n_plugins + 1) * sizeof(*plugins));
  if (!p->name || !p->version || !plugins) {
    if (plugins)
      reg->plugins = plugins;
    rc = RPCD_ENOMEM;
    goto out_close;
  }
  reg->plugins = plugins;

  {
    char init_err[256] = "";

    rc = plugin_start(p, init_err, sizeof(init_err));
    if (rc != RPCD_OK) {
      rpcd__set_err(detail, sizeof(detail), "%s of plugin \"%s\" failed: %s",
                    p->info->init ? "init" : "open", p->name,
                    init_err[0] ? init_err : rpcd_strerror(rc));
      rc = RPCD_EPLUGIN;
      goto out_close;
    }
  }
  if (specs) {
    const rpcd_method_desc *descs = info_descs(p->info);
    size_t stride = rpcd__desc_size(descs);

    for (i = 0; i < n_specs; i++) {
      const rpcd_method_desc *d = rpcd__desc_at(descs, stride, i);

      rc = rpcd__registry_add_typed(reg, d->name, d->fn, &specs[i], p->state, p,
                                    detail, sizeof(detail));
      if (rc != RPCD_OK)
        break;
    }
  } else {
    for (i = 0; p->info->methods[i].name; i++) {
      const rpcd_method *m = &p->info->methods[i];

      rc = rpcd__registry_add(reg, m->name, m->fn, p->state, p, detail,
                              sizeof(detail));
      if (rc != RPCD_OK)
        break;
    }
  }
  if (rc != RPCD_OK) {
    rpcd__registry_remove_plugin(reg, p);
    goto out_fini;
  }
  specs_free(specs, n_specs);
  reg->plugins[reg->n_plugins++] = p;
  rpcd__log(RPCD_LOG_INFO, "loaded plugin \"%s\" %s from \"%s\" (%zu methods)",
            p->name, p->version, p->path, i);
  return RPCD_OK;

out_fini:
  plugin_stop(p);
out_close:
  specs_free(specs, n_specs);
  dlclose(p->handle);
out_free:
  /* The resolved path, and the given one when it differs (relative, or
   * through a symbolic link). */
  if (p->path && strcmp(p->path, path) != 0)
    rpcd__set_err(err, errlen, "could not load plugin \"%s\" (from \"%s\"): %s",
                  p->path, path, rc == RPCD_ENOMEM ? "out of memory" : detail);
  else
    rpcd__set_err(err, errlen, "could not load plugin \"%s\": %s", path,
                  rc == RPCD_ENOMEM ? "out of memory" : detail);
  plugin_free(p);
  return rc;
}

void rpcd__plugin_unload(rpcd_plugin *p)
{
  if (!p)
    return;
  if (p->info)
    plugin_stop(p);
  if (p->handle)
    dlclose(p->handle);
  plugin_free(p);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_so_suffix(const char *name)
{
  size_t n = strlen(name);

  return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

void rpcd__plugin_log_skipped(const char *why)
{
  rpcd__log(RPCD_LOG_WARN, "skipping a refused plugin (--skip-bad-plugins): %s",
            why);
}

int rpcd__plugin_load_dir(rpcd_registry *reg, const char *dir, bool skip_bad,
                          char *err, size_t errlen)
{
  char why[PATH_MAX + 256] = "";
  struct dirent *de;
  struct stat st;
  char *abs_dir;
  char **names = NULL;
  size_t n = 0;
  size_t cap = 0;
  size_t i;
  DIR *d;
  int rc = RPCD_OK;

  /* Absolute, so every plugin in it is loaded by an absolute path. */
  abs_dir = realpath(dir, NULL);
  if (!abs_dir) {
    rc = errno == ENOMEM ? RPCD_ENOMEM : RPCD_EPLUGIN;
    rpcd__set_err(err, errlen, "could not open plugin directory \"%s\": %m",
                  dir);
    return rc;
  }
  /* Whoever can write the directory can add a plugin to it. */
  if (stat(abs_dir, &st) != 0 ||
      check_owner_mode("the directory", &st, why, sizeof(why)) != RPCD_OK ||
      check_parent_dirs(abs_dir, why, sizeof(why)) != RPCD_OK) {
    if (!why[0])
      rpcd__set_err(why, sizeof(why), "%s", strerror(errno));
    rpcd__set_err(err, errlen, "refused plugin directory \"%s\": %s", dir, why);
    free(abs_dir);
    return RPCD_EPLUGIN;
  }
  d = opendir(abs_dir);
  if (!d) {
    rpcd__set_err(err, errlen, "could not open plugin directory \"%s\": %m",
                  dir);
    free(abs_dir);
    return RPCD_EPLUGIN;
  }
  while ((de = readdir(d)) != NULL) {
    char *path;

    if (de->d_name[0] == '.' || !has_so_suffix(de->d_name))
      continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      char **grown = realloc(names, ncap * sizeof(*names));

      if (!grown) {
        rc = RPCD_ENOMEM;
        goto out;
      }
      names = grown;
      cap = ncap;
    }
    path = malloc(strlen(abs_dir) + strlen(de->d_name) + 2);
    if (!path) {
      rc = RPCD_ENOMEM;
      goto out;
    }
    sprintf(path, "%s%s%s", abs_dir, strcmp(abs_dir, "/") == 0 ? "" : "/",
            de->d_name);
    names[n++] = path;
  }
  if (n == 0) {
    rpcd__set_err(err, errlen, "plugin directory \"%s\" has no *.so files",
                  dir);
    rc = RPCD_EPLUGIN;
    goto out;
  }
  /* Name order makes the load order, and so any conflict, reproducible. */
  qsort(names, n, sizeof(*names), cmp_str);
  for (i = 0; i < n && rc == RPCD_OK; i++) {
    rc = rpcd__plugin_load(reg, names[i], err, errlen);
    if (rc == RPCD_EPLUGIN && skip_bad) {
      rpcd__plugin_log_skipped(err);
      rc = RPCD_OK;
    }
  }
out:
  closedir(d);
  free(abs_dir);
  for (i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (rc == RPCD_ENOMEM)
    rpcd__set_err(err, errlen, "out of memory reading \"%s\"", dir);
  return rc;
}
