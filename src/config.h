/* SPDX-License-Identifier: ISC */
/* config: the structures of a loaded configuration, the INI reader that
 * builds them, and `FILE:LINE:` errors.
 *
 * A configuration is built once by config_load() and then only read: every
 * connection holds a reference to the configuration it started under, and a
 * reload builds a new one beside it. Everything it points to (names, files,
 * compiled signatures, resolved addresses) is owned by it and lives until
 * the last reference is dropped. */
#ifndef PORTSPLIT_CONFIG_H
#define PORTSPLIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/types.h>

#include "acl.h"
#include "frame.h"
#include "sig.h"

/* The largest `workers =`. */
#define CONFIG_WORKERS_MAX 256
/* The largest `max_peek =`: also the size of the buffer a loop peeks
 * into (engine.c), so raising it raises both. */
#define CONFIG_PEEK_MAX 65536

/* What happens to a connection a service takes. */
enum action_kind { ACTION_CLOSE, ACTION_CONNECT, ACTION_EXEC };

/* `on_reject`: what happens when a forward's backend rejects the
 * connection (see reject.h). */
enum on_reject {
	ON_REJECT_NONE,    /* not given: the relay passes the close on */
	ON_REJECT_SERVICE, /* to reject_to (NULL: [fallback] is absent, close)
	                    */
	ON_REJECT_CLOSE,   /* close the client */
};

/* One `string =` or `regex =` line. */
struct sigdef {
	struct sig *sig;
	char *text;       /* the value as written */
	const char *file; /* owned by config->files */
	int line;
	size_t service; /* index in config->services */
	size_t group;   /* index in config->groups */
};

/* The lines of one origin within a service: its own lines, or one library
 * signature (`signature = NAME`). A frame, when declared, applies to the
 * group's lines only. */
struct group {
	char *name; /* NULL for the service's own lines */
	const char *file;
	int line; /* where `signature =` stood; 0 for own lines */
	bool has_frame;
	struct frame frame;
	size_t first_sig, nsigs; /* range in config->sigs */
};

/* A service: a `[name]` section. Ranked services are config->services in
 * file order; `[fallback]` and `[timeout]` are kept apart. */
struct service {
	char *name;
	const char *file;
	int line;
	size_t first_group, ngroups; /* range in config->groups */
	size_t first_sig, nsigs;     /* range in config->sigs */
	enum action_kind action;
	char *connect; /* `connect =` as written, or NULL */
	int connect_line;
	/* A numeric address is resolved at load (BACKEND); a host name is
	 * not (BACKEND NULL): it is looked up, off the loop, when a
	 * connection needs it (resolve.h), from HOST and PORT. */
	struct addrinfo *backend;
	char *host, *port;
	/* exec: `exec =` then each `execarg =`, in order, NULL-terminated;
	 * argv[0] is the program, looked up on PATH when it has no '/'.
	 * NULL for other actions. */
	char **argv;
	bool pty; /* `pty = yes` */
	/* Guards that rule the service out for a first message (see
	 * matcher.c): `replay_window` (0: none) and `fresh`. */
	uint32_t replay_window_ms;
	bool has_fresh;
	uint32_t fresh_offset; /* of the big-endian 32-bit Unix time */
	uint32_t fresh_ms;     /* the largest distance from now allowed */
	enum on_reject on_reject;
	const struct service *reject_to; /* in the same configuration */
	char *reject_name;               /* as written, or NULL */
	/* Who may reach it: for other clients it is ruled out. */
	struct acl allow, deny;
	int proxy_protocol; /* `proxy_protocol = v1|v2`: 1 or 2; 0: none */
	bool transparent;   /* `transparent = yes` */
	/* `listen =`: the binds (indices in config->binds) it is offered
	 * on; none: every one. */
	size_t *listens;
	size_t nlistens;
};

/* One `bind =` line and its resolved addresses. */
struct bind {
	char *text;
	const char *file;
	int line;
	struct addrinfo *ai;
	/* `:::PORT`, the original Portsplit's form for every address: its
	 * socket takes IPv4 clients too (IPV6_V6ONLY off), as the
	 * original's did, unless another line listens on IPv4 on that
	 * port (IPV4_LINE, then it is IPv6 only). `[::]:PORT` is IPv6
	 * only. */
	bool dual_stack;
	int ipv4_line;
	/* Each address of AI as a listener names itself (addr_format). */
	char **names;
	size_t nnames;
	/* Its own `role = fallback|timeout` services, or NULL: then
	 * config->fallback and config->timeout. Owned by config->services. */
	const struct service *fallback, *timeout;
};

struct config {
	char *path;
	struct bind *binds;
	size_t nbinds;
	uint32_t timeout_ms;
	uint32_t connect_timeout_ms;
	uint32_t idle_timeout_ms; /* 0: none */
	/* With workers: how long a worker a reload replaced may go on
	 * serving its connections before it is stopped; 0: no limit. */
	uint32_t reload_grace_ms;
	/* How long a begun framed first message may stay incomplete before
	 * its signatures are judged on what came (0: until the timeout). */
	uint32_t frame_timeout_ms;
	unsigned maxconn;
	unsigned workers; /* event-loop processes; 0: auto, one per core */
	size_t max_peek;
	char *pid_path; /* NULL: none */
	int pid_line;
	int log_level;  /* enum log_level */
	int log_dest;   /* enum log_dest */
	char *log_path; /* with LOG_TO_FILE */
	/* Privileges, applied once at start (config_identity() resolves
	 * them); NULL when not given. The lines are for error messages. */
	char *user, *group, *chroot_dir;
	int user_line, group_line, chroot_line;
	char *sig_path;           /* colon-separated folders */
	struct service *services; /* ranked, in file order */
	size_t nservices;
	size_t
	    nbuilt; /* slots of services[] filled: ranked, then the specials */
	struct service *fallback; /* NULL when not configured */
	struct service *timeout;  /* NULL when not configured */
	size_t nroles;            /* `role =` sections, after the special two */
	struct group *groups;
	size_t ngroups;
	struct sigdef *sigs;
	size_t nsigs;
	/* Some service has replay_window or fresh; the longest window. */
	bool guards;
	uint32_t replay_window_max_ms;
	/* Who may connect at all; whose PROXY headers are trusted. */
	struct acl allow, deny, proxy_from;
	unsigned maxconn_per_source; /* 0: no limit */
	char **files; /* every file read, for the pointers above */
	size_t nfiles;
	unsigned refs;
};

/* Errors and warnings found while loading, in the order found: one line
 * each, `FILE:LINE: message` or `FILE:LINE: warning: message` (`FILE:
 * message` when it is about the whole file). A warning is a value now read
 * differently from the original Portsplit, or a choice worth knowing; it
 * does not stop the load. */
struct config_errors {
	char **lines;
	size_t n;
	size_t nwarnings; /* how many of the lines are warnings */
	/* Memory ran out while loading: the load failed whatever the lines
	 * say (some may be missing), and nothing of it was kept. */
	bool oom;
};

/* Loads PATH. Returns 0 with *OUT (one reference) when valid, and any
 * warnings in ERRS; otherwise -1, *OUT NULL, and every error and warning
 * found in ERRS (ERRS->oom when an allocation failed: then everything built
 * is freed, and nothing exits). Free ERRS with config_errors_free either
 * way. */
int config_load(const char *path, struct config **out,
                struct config_errors *errs);
/* Frees the error lines. */
void config_errors_free(struct config_errors *errs);
/* Takes a reference. */
struct config *config_ref(struct config *cfg);
/* Drops a reference; frees the configuration with the last one. */
void config_unref(struct config *cfg);
/* Resolves CFG's `user` and `group` (names or numbers) and checks that the
 * `chroot` folder exists and that the `pid` file's folder can be written, into
 * *ID (privs.h; the caller clears it with privs_clear). Returns 0, or -1 with
 * errors added to ERRS (which must be zeroed or hold earlier errors). Run at
 * start and by --check, not on reload: after a chroot the names may not
 * resolve. */
struct privs;
int config_identity(const struct config *cfg, struct privs *id,
                    struct config_errors *errs);

/* Looks up every `connect` host name of CFG once (blocking: for -t and
 * the start, before any loop runs) and adds a warning to ERRS for each
 * name that does not resolve now. */
void config_check_names(const struct config *cfg, struct config_errors *errs);
/* The index in CFG->binds of the listener named NAME (as addr_format
 * prints its address), or -1. */
int config_bind_index(const struct config *cfg, const char *name);
/* Whether SVC is offered on bind number BIND (-1: unknown, then only a
 * service offered everywhere is). */
bool config_offered(const struct service *svc, int bind);

/* Writes a description of SVC's action, e.g. "connect 127.0.0.1:22". */
void config_action_text(const struct service *svc, char *buf, size_t len);

#endif
