/* SPDX-License-Identifier: ISC */
/* pidfile: the pid file. Its folder stays open after it is written, so that
 * the file can be removed at exit by name even after a chroot. */
#define _GNU_SOURCE
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct pidfile {
	char *path; /* as configured, for messages */
	int dir;    /* its folder, open */
	char *name; /* its name in DIR */
};

/* Reads the pid in NAME (in folder DIR): > 0, 0 when there is no such
 * file, -1 with errno when it cannot be read, -2 when it holds no pid. */
static long
read_pid(int dir, const char *name)
{
	char buf[32], *end;
	ssize_t n;
	long pid;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return -2;
	return pid;
}

/* True when process PID runs the same program as this one (its name, as
 * the kernel keeps it): a recycled pid is not a running portsplit. */
static bool
same_program(long pid)
{
	char path[64], theirs[64] = "", ours[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(theirs, sizeof(theirs), f) == NULL)
			theirs[0] = '\0';
		fclose(f);
	}
	if ((f = fopen("/proc/self/comm", "re")) != NULL) {
		if (fgets(ours, sizeof(ours), f) == NULL)
			ours[0] = '\0';
		fclose(f);
	}
	return theirs[0] != '\0' && strcmp(theirs, ours) == 0;
}

int
pidfile_check(const char *path, char *err, size_t errlen)
{
	long pid = read_pid(AT_FDCWD, path);

	if (pid == 0)
		return 0;
	if (pid == -1) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (pid > 0 && pid != getpid() &&
	    (kill((pid_t)pid, 0) == 0 || errno == EPERM) && same_program(pid)) {
		snprintf(err, errlen,
		         "pid file %s: portsplit is already running as pid %ld "
		         "(stop it first, or remove the file if it is not)",
		         path, pid);
		return -1;
	}
	if (pid > 0)
		log_msg(LVL_INFO,
		        "pid file %s is stale (no portsplit runs as pid %ld): "
		        "removing it",
		        path, pid);
	else
		log_msg(LVL_INFO, "pid file %s holds no pid: removing it",
		        path);
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "pid file %s: cannot remove it: %s", path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

static void
pidfile_free(struct pidfile *p)
{
	if (p->dir >= 0)
		close(p->dir);
	free(p->path);
	free(p->name);
	free(p);
}

struct pidfile *
pidfile_write(const char *path, char *err, size_t errlen)
{
	struct pidfile *p = calloc(1, sizeof(*p));
	char *dcopy = strdup(path), *bcopy = strdup(path), buf[32];
	int fd = -1, len;
	bool ok = false;

	if (p != NULL)
		p->dir = -1;
	if (p == NULL || dcopy == NULL || bcopy == NULL)
		goto out;
	p->dir = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->path = strdup(path);
	p->name = strdup(basename(bcopy));
	if (p->dir < 0 || p->path == NULL || p->name == NULL)
		goto out;
	fd = openat(p->dir, p->name,
	            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		unlinkat(p->dir, p->name, 0);
		goto out;
	}
	ok = true;
out:
	if (!ok)
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dcopy);
	free(bcopy);
	if (!ok && p != NULL) {
		pidfile_free(p);
		p = NULL;
	}
	return p;
}

int
pidfile_remove(struct pidfile *p, char *err, size_t errlen)
{
	int rc = 0;

	if (p == NULL)
		return 0;
	if (read_pid(p->dir, p->name) == (long)getpid() &&
	    unlinkat(p->dir, p->name, 0) < 0) {
		snprintf(err, errlen, "pid file %s: cannot remove it: %s",
		         p->path, strerror(errno));
		rc = -1;
	}
	pidfile_free(p);
	return rc;
}

void
pidfile_forget(struct pidfile *p)
{
	if (p != NULL)
		pidfile_free(p);
}
