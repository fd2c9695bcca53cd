/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader. A plugin's descriptor is checked field by field before
 * any plugin code other than the entry function runs, so that a plugin built
 * against another ABI or another msgpack-c is refused with a reason instead
 * of crashing the server later. Loading is all or nothing.
 */
#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rpcd_proto.h"

#define MAX_PLUGIN_NAME 64
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

/* Check everything the descriptor promises. No plugin code runs here. */
static int check_info(const rpcd_registry *reg, const rpcd_plugin_info *info,
                      char *err, size_t errlen)
{
  size_t i;

  if (!info) {
    rpcd__set_err(err, errlen, "rpcd_plugin_entry() returned NULL");
    return RPCD_EPLUGIN;
  }
  if (info->size < sizeof(rpcd_plugin_info)) {
    rpcd__set_err(err, errlen,
                  "descriptor size is %zu bytes, expected at least %zu "
                  "(built against an older, incompatible plugin.h?)",
                  info->size, sizeof(rpcd_plugin_info));
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
    /* Checked here, not only by rpcd__registry_add(), so that a bad name
     * is refused before init runs and as RPCD_EPLUGIN. */
    if (!rpcd__method_name_valid(m->name, strlen(m->name))) {
      rpcd__set_err(err, errlen,
                    "invalid method name \"%.255s\": must be 1 to %d "
                    "characters of [A-Za-z0-9_.-]",
                    m->name, RPCD_MAX_METHOD_LEN);
      return RPCD_EPLUGIN;
    }
    if (!m->fn) {
      rpcd__set_err(err, errlen, "method \"%.255s\" has no handler", m->name);
      return RPCD_EPLUGIN;
    }
    if (strncmp(m->name, "rpc.", 4) == 0) {
      rpcd__set_err(err, errlen,
                    "method \"%.255s\": names under \"rpc.\" are reserved "
                    "for the server",
                    m->name);
      return RPCD_EPLUGIN;
    }
    if (m->flags != 0) {
      rpcd__set_err(err, errlen, "method \"%.255s\": unknown flags 0x%x",
                    m->name, (unsigned)m->flags);
      return RPCD_EPLUGIN;
    }
  }
  return RPCD_OK;
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
  char detail[512] = "";
  rpcd_plugin_entry_fn entry;
  rpcd_plugin **plugins;
  rpcd_plugin *p;
  size_t i;
  int rc;

  p = calloc(1, sizeof(*p));
  if (!p)
    return RPCD_ENOMEM;
  p->path = strdup(path);
  if (!p->path) {
    rc = RPCD_ENOMEM;
    goto out_free;
  }

  dlerror(); /* clear any earlier error */
  p->handle = dlopen(path, DLOPEN_FLAGS);
  if (!p->handle) {
    const char *why = dlerror();

    rpcd__set_err(detail, sizeof(detail), "%s", why ? why : "dlopen failed");
    rc = RPCD_EPLUGIN;
    goto out_free;
  }
  /* POSIX guarantees dlsym works for functions: hence an entry function
   * rather than an exported data symbol. */
  *(void **)(&entry) = dlsym(p->handle, RPCD_PLUGIN_ENTRY_SYMBOL);
  if (!entry) {
    rpcd__set_err(detail, sizeof(detail),
                  "no %s() function: not an rpcd plugin",
                  RPCD_PLUGIN_ENTRY_SYMBOL);
    rc = RPCD_EPLUGIN;
    goto out_close;
  }
  p->info = entry();
  rc = check_info(reg, p->info, detail, sizeof(detail));
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

  if (p->info->init) {
    char init_err[256] = "";

    rpcd__plugin_set_current(p);
    rc = p->info->init(&rpcd__host_api, &p->state, init_err, sizeof(init_err));
    rpcd__plugin_set_current(NULL);
    if (rc != RPCD_OK) {
      rpcd__set_err(detail, sizeof(detail), "init of plugin \"%s\" failed: %s",
                    p->name, init_err[0] ? init_err : rpcd_strerror(rc));
      rc = RPCD_EPLUGIN;
      goto out_close;
    }
  }
  for (i = 0; p->info->methods[i].name; i++) {
    const rpcd_method *m = &p->info->methods[i];

    rc = rpcd__registry_add(reg, m->name, m->fn, p->state, p, detail,
                            sizeof(detail));
    if (rc != RPCD_OK) {
      rpcd__registry_remove_plugin(reg, p);
      goto out_fini;
    }
  }
  reg->plugins[reg->n_plugins++] = p;
  rpcd_log(RPCD_LOG_INFO, "loaded plugin \"%s\" %s from \"%s\" (%zu methods)",
           p->name, p->version, path, i);
  return RPCD_OK;

out_fini:
  if (p->info->fini) {
    rpcd__plugin_set_current(p);
    p->info->fini(p->state);
    rpcd__plugin_set_current(NULL);
  }
out_close:
  dlclose(p->handle);
out_free:
  rpcd__set_err(err, errlen, "could not load plugin \"%s\": %s", path,
                rc == RPCD_ENOMEM ? "out of memory" : detail);
  plugin_free(p);
  return rc;
}

void rpcd__plugin_unload(rpcd_plugin *p)
{
  if (!p)
    return;
  if (p->info && p->info->fini) {
    rpcd__plugin_set_current(p);
    p->info->fini(p->state);
    rpcd__plugin_set_current(NULL);
  }
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

int rpcd__plugin_load_dir(rpcd_registry *reg, const char *dir, char *err,
                          size_t errlen)
{
  struct dirent *de;
  char **names = NULL;
  size_t n = 0;
  size_t cap = 0;
  size_t i;
  DIR *d;
  int rc = RPCD_OK;

  d = opendir(dir);
  if (!d) {
    rpcd__set_err(err, errlen, "could not open plugin directory \"%s\": %m",
                  dir);
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
    path = malloc(strlen(dir) + strlen(de->d_name) + 2);
    if (!path) {
      rc = RPCD_ENOMEM;
      goto out;
    }
    sprintf(path, "%s/%s", dir, de->d_name);
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
  for (i = 0; i < n && rc == RPCD_OK; i++)
    rc = rpcd__plugin_load(reg, names[i], err, errlen);
out:
  closedir(d);
  for (i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (rc == RPCD_ENOMEM)
    rpcd__set_err(err, errlen, "out of memory reading \"%s\"", dir);
  return rc;
}
