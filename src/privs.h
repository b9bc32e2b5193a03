/* SPDX-License-Identifier: ISC */
/* privs: giving up root after binding — `user`, `group` and `chroot`.
 * Names are looked up before anything is dropped (after a chroot the user
 * and group databases are usually out of reach); the drop itself goes
 * chroot -> setgroups -> setgid -> setuid, then checks that none of it can
 * be undone. */
#ifndef PORTSPLIT_PRIVS_H
#define PORTSPLIT_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What to become. Filled by the lookups; privs_clear() frees it. */
struct privs {
	bool set_uid, set_gid;
	uid_t uid;
	gid_t gid;
	char *user_name; /* malloc'd; NULL for a number with no entry */
	gid_t *groups;   /* supplementary groups, malloc'd */
	int ngroups;
	const char *chroot_dir; /* borrowed from the configuration; or NULL */
	/* Keep CAP_NET_ADMIN, and no other capability, after setuid: a
	 * `transparent = yes` service binds to its clients' addresses. */
	bool keep_net_admin;
};

/* Looks up TEXT, a user name or number, into P (uid, and the user's own
 * group when the user is in the database). Returns 0, or -1 when there is
 * no such user. */
int privs_lookup_user(const char *text, struct privs *p);
/* Looks up TEXT, a group name or number, into P. Returns 0, or -1 when
 * there is no such group. */
int privs_lookup_group(const char *text, struct privs *p);
/* Fills P's supplementary groups once uid and gid are known: the user's
 * groups from the group database plus P->gid, or P->gid alone. Returns 0,
 * or -1 when a user is to be set without any group to go with it. */
int privs_lookup_groups(struct privs *p);
/* True when P asks for anything. */
bool privs_wanted(const struct privs *p);
/* Applies P: chroot (and chdir "/"), setgroups, setgid, setuid (keeping
 * CAP_NET_ADMIN alone when P asks: the bounding set loses every other
 * capability first), then verifies that root cannot be regained. Returns 0, or
 * -1 with a message in ERR (the process must then not go on). */
int privs_drop(const struct privs *p, char *err, size_t errlen);
/* Frees what the lookups allocated. */
void privs_clear(struct privs *p);

#endif
