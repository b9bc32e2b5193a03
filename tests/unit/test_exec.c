/* SPDX-License-Identifier: ISC */
/* Unit tests for the pure parts of exec.c (the UCSPI environment, the
 * status text) and for the user and group lookups of privs.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "privs.h"
#include "unit.h"

/* The value of NAME in ENV, or NULL; counts how often it appears. */
static const char *
lookup(char **env, const char *name, int *count)
{
	const char *found = NULL;
	size_t len = strlen(name);

	*count = 0;
	for (char **e = env; *e != NULL; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
			found = *e + len + 1;
			(*count)++;
		}
	return found;
}

static void
check_var(char **env, const char *name, const char *want)
{
	int n;
	const char *got = lookup(env, name, &n);

	ok_str(got, want, "%s=%s", name, want);
	ok(n == 1, "%s appears once (%d)", name, n);
}

static void
env_v4(void)
{
	char *base[] = {
	    "PATH=/usr/bin:/bin",
	    "PROTO=UDP",
	    "TCPREMOTEHOST=stale.example",
	    "TCPREMOTEIP=10.9.9.9",
	    "TCPLOCALPORT=1",
	    "PORTSPLIT_SERVICE=old",
	    "HOME=/root",
	    "TCPX=dropped",
	    "LISTEN_FDS=2",
	    "LISTEN_PID=1",
	    "LISTEN_FDNAMES=a:b",
	    "NOTIFY_SOCKET=/run/systemd/notify",
	    "WATCHDOG_USEC=30000000",
	    "WATCHDOG_PID=1",
	    "LD_PRELOAD=/tmp/x.so",
	    "LANG=C.UTF-8",
	    "LC_ALL=C",
	    "TZ=UTC",
	    "TERM=xterm",
	    "LCX=dropped",
	    NULL,
	};
	struct sockaddr_in remote = {.sin_family = AF_INET,
	                             .sin_port = htons(40001)};
	struct sockaddr_in local = {.sin_family = AF_INET,
	                            .sin_port = htons(443)};
	char **env;
	int n;

	inet_pton(AF_INET, "192.0.2.7", &remote.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
	env = exec_env_new(base, "ssh", (struct sockaddr *)&remote,
	                   (struct sockaddr *)&local);
	if (!ok(env != NULL, "IPv4 environment built"))
		return;
	check_var(env, "PROTO", "TCP");
	check_var(env, "TCPREMOTEIP", "192.0.2.7");
	check_var(env, "TCPREMOTEPORT", "40001");
	check_var(env, "TCPLOCALIP", "127.0.0.1");
	check_var(env, "TCPLOCALPORT", "443");
	check_var(env, "PORTSPLIT_SERVICE", "ssh");
	check_var(env, "PATH", "/usr/bin:/bin");
	check_var(env, "HOME", "/root");
	check_var(env, "LANG", "C.UTF-8");
	check_var(env, "LC_ALL", "C");
	check_var(env, "TZ", "UTC");
	check_var(env, "TERM", "xterm");
	ok(lookup(env, "TCPREMOTEHOST", &n) == NULL,
	   "an inherited TCPREMOTEHOST is dropped, not passed on stale");
	static const char *const dropped[] = {
	    "TCPX",           "LISTEN_FDS",    "LISTEN_PID",
	    "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC",
	    "WATCHDOG_PID",   "LD_PRELOAD",    "LCX"};
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		ok(lookup(env, dropped[i], &n) == NULL,
		   "the daemon's %s is not passed on", dropped[i]);
	size_t count = 0;
	while (env[count] != NULL)
		count++;
	ok(count == 12, "12 variables: 6 kept + 6 ours (%zu)", count);
	exec_env_free(env);
}

static void
env_v6(void)
{
	struct sockaddr_in6 remote = {.sin6_family = AF_INET6,
	                              .sin6_port = htons(65535)};
	struct sockaddr_in6 local = {.sin6_family = AF_INET6,
	                             .sin6_port = htons(1)};
	char **env;
	char longname[41];

	memset(longname, 'x', 40);
	longname[40] = '\0';
	inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	          &remote.sin6_addr);
	inet_pton(AF_INET6, "::1", &local.sin6_addr);
	env = exec_env_new(NULL, longname, (struct sockaddr *)&remote,
	                   (struct sockaddr *)&local);
	if (!ok(env != NULL, "IPv6 environment built from an empty base"))
		return;
	check_var(env, "TCPREMOTEIP", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	check_var(env, "TCPREMOTEPORT", "65535");
	check_var(env, "TCPLOCALIP", "::1");
	check_var(env, "TCPLOCALPORT", "1");
	check_var(env, "PORTSPLIT_SERVICE", longname);
	ok(env[6] == NULL, "exactly 6 variables");
	exec_env_free(env);
}

static void
status_text(void)
{
	char buf[32];
	int st;
	pid_t pid;

	exec_status_text(0, buf, sizeof(buf));
	ok_str(buf, "exit=0", "status 0");
	if ((pid = fork()) == 0)
		_exit(3);
	waitpid(pid, &st, 0);
	exec_status_text(st, buf, sizeof(buf));
	ok_str(buf, "exit=3", "a child that exits 3");
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	exec_status_text(st, buf, sizeof(buf));
	ok_str(buf, "signal=9", "a child killed by SIGKILL");
}

static void
lookups(void)
{
	struct privs p = {0};

	ok(privs_lookup_user("root", &p) == 0 && p.set_uid && p.uid == 0 &&
	       p.set_gid && p.gid == 0,
	   "user root: uid 0 and its group 0");
	ok(privs_lookup_group("0", &p) == 0 && p.gid == 0, "group by number");
	ok(privs_lookup_groups(&p) == 0 && p.ngroups >= 1 && p.groups[0] == 0,
	   "root's groups include gid 0 (%d groups)", p.ngroups);
	privs_clear(&p);
	ok(privs_lookup_user("no-such-user-portsplit", &p) < 0,
	   "an unknown user name fails");
	ok(privs_lookup_group("no-such-group-portsplit", &p) < 0,
	   "an unknown group name fails");
	privs_clear(&p);
	ok(privs_lookup_user("4000000", &p) == 0 && p.uid == 4000000 &&
	       !p.set_gid,
	   "a number without an entry is taken, without a group");
	ok(privs_lookup_groups(&p) < 0, "... and then a group is required");
	privs_clear(&p);
	ok(!privs_wanted(&p), "nothing asked: nothing to drop");
	ok(privs_drop(&p, NULL, 0) == 0, "dropping nothing succeeds");
}

int
main(void)
{
	env_v4();
	env_v6();
	status_text();
	lookups();
	return unit_done();
}
