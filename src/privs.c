/* SPDX-License-Identifier: ISC */
/* privs: looking up and dropping privileges.
 *
 * The order matters: chroot needs root, the group calls need root, and
 * setuid() gives root up for good, so it comes last. Afterwards every way
 * back is tried, and any that works is a failure: a daemon that was asked
 * to drop privileges must not run with them. */
#define _GNU_SOURCE
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Parses a user or group number; -1 when TEXT is not one. */
static long
numeric_id(const char *text)
{
	char *end;
	long id;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	id = strtol(text, &end, 10);
	return *end != '\0' || errno != 0 || id >= 0x7fffffff ? -1 : id;
}

int
privs_lookup_user(const char *text, struct privs *p)
{
	long n = numeric_id(text);
	struct passwd *pw = n < 0 ? getpwnam(text) : getpwuid((uid_t)n);

	if (pw == NULL && n < 0)
		return -1;
	p->set_uid = true;
	p->uid = pw != NULL ? pw->pw_uid : (uid_t)n;
	if (pw != NULL) {
		free(p->user_name);
		p->user_name = strdup(pw->pw_name);
		if (p->user_name == NULL)
			return -1;
		if (!p->set_gid) {
			p->set_gid = true;
			p->gid = pw->pw_gid;
		}
	}
	return 0;
}

int
privs_lookup_group(const char *text, struct privs *p)
{
	long n = numeric_id(text);
	struct group *gr = n < 0 ? getgrnam(text) : NULL;

	if (gr == NULL && n < 0)
		return -1;
	/* An explicit group wins over the user's own. */
	p->set_gid = true;
	p->gid = gr != NULL ? gr->gr_gid : (gid_t)n;
	return 0;
}

int
privs_lookup_groups(struct privs *p)
{
	int n = 16;

	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
	if (!p->set_gid)
		return p->set_uid ? -1 : 0;
	if (p->user_name != NULL) {
		for (;;) {
			gid_t *g = realloc(p->groups, (size_t)n * sizeof(*g));
			int want = n;
			if (g == NULL)
				return -1;
			p->groups = g;
			if (getgrouplist(p->user_name, p->gid, g, &want) >= 0) {
				p->ngroups = want;
				return 0;
			}
			if (want <= n)
				break;
			n = want;
		}
	}
	free(p->groups);
	p->groups = malloc(sizeof(gid_t));
	if (p->groups == NULL)
		return -1;
	p->groups[0] = p->gid;
	p->ngroups = 1;
	return 0;
}

bool
privs_wanted(const struct privs *p)
{
	return p->set_uid || p->set_gid || p->chroot_dir != NULL;
}

/* True when the process holds any capability outside ALLOWED (a mask of
 * the first 32). */
static bool
has_capabilities(uint32_t allowed)
{
	struct __user_cap_header_struct h = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return true; /* cannot tell: assume the worst */
	return ((d[0].effective | d[0].permitted) & ~allowed) != 0 ||
	       (d[1].effective | d[1].permitted) != 0;
}

/* Tries every way back to root; returns the one that worked, or NULL. */
static const char *
regained(const struct privs *p)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (p->set_uid && p->uid != 0) {
		if (setuid(0) == 0)
			return "setuid(0) succeeded";
		if (seteuid(0) == 0)
			return "seteuid(0) succeeded";
		if (getresuid(&r, &e, &s) < 0 || r != p->uid || e != p->uid ||
		    s != p->uid)
			return "real, effective and saved user ids differ";
		if (has_capabilities(p->keep_net_admin ? 1u << CAP_NET_ADMIN
		                                       : 0))
			return "capabilities are left";
	}
	if (p->set_gid) {
		if (getresgid(&rg, &eg, &sg) < 0 || rg != p->gid ||
		    eg != p->gid || sg != p->gid)
			return "real, effective and saved group ids differ";
		if (p->gid != 0 && p->set_uid && p->uid != 0 &&
		    (setgid(0) == 0 || setegid(0) == 0))
			return "setgid(0) succeeded";
	}
	return NULL;
}

/* Before setuid: no capability but CAP_NET_ADMIN can ever come back (the
 * bounding set), and the permitted ones survive the uid change. */
static int
keep_caps_before(void)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

/* After setuid: CAP_NET_ADMIN alone, effective and permitted; nothing to
 * inherit, and a later exec keeps nothing. */
static int
keep_caps_after(void)
{
	struct __user_cap_header_struct h = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	return prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

int
privs_drop(const struct privs *p, char *err, size_t errlen)
{
	const char *back;

	if (!privs_wanted(p))
		return 0;
	if (geteuid() != 0) {
		/* Already the user asked for: nothing to give up. */
		if (p->chroot_dir == NULL &&
		    (!p->set_uid || p->uid == geteuid()) &&
		    (!p->set_gid || p->gid == getegid()))
			return 0;
		snprintf(err, errlen,
		         "cannot drop privileges (user, group, chroot): "
		         "portsplit is not running as root");
		return -1;
	}
	if (p->chroot_dir != NULL &&
	    (chroot(p->chroot_dir) < 0 || chdir("/") < 0)) {
		snprintf(err, errlen, "chroot %s: %s", p->chroot_dir,
		         strerror(errno));
		return -1;
	}
	if (p->set_gid) {
		if (setgroups((size_t)p->ngroups, p->groups) < 0) {
			snprintf(err, errlen, "setgroups: %s", strerror(errno));
			return -1;
		}
		if (setresgid(p->gid, p->gid, p->gid) < 0) {
			snprintf(err, errlen, "setgid %u: %s", (unsigned)p->gid,
			         strerror(errno));
			return -1;
		}
	}
	bool keep = p->keep_net_admin && p->set_uid && p->uid != 0;
	if (keep && keep_caps_before() < 0) {
		snprintf(err, errlen, "keeping CAP_NET_ADMIN: %s",
		         strerror(errno));
		return -1;
	}
	if (p->set_uid && setresuid(p->uid, p->uid, p->uid) < 0) {
		snprintf(err, errlen, "setuid %u: %s", (unsigned)p->uid,
		         strerror(errno));
		return -1;
	}
	if (keep && keep_caps_after() < 0) {
		snprintf(err, errlen, "keeping CAP_NET_ADMIN: %s",
		         strerror(errno));
		return -1;
	}
	back = regained(p);
	if (back != NULL) {
		snprintf(err, errlen, "privileges not dropped: %s", back);
		return -1;
	}
	return 0;
}

void
privs_clear(struct privs *p)
{
	free(p->user_name);
	free(p->groups);
	memset(p, 0, sizeof(*p));
}
