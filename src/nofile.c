/* SPDX-License-Identifier: ISC */
/* nofile: raising RLIMIT_NOFILE and counting what maxconn needs. */
#include "nofile.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

/* The kernel's ceiling for any process's descriptor limit. */
static rlim_t
nr_open(void)
{
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 ? (rlim_t)v : 1048576;
}

int
nofile_raise(unsigned long *soft, unsigned long *hard)
{
	struct rlimit rl;
	rlim_t want;

	*soft = *hard = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	want = rl.rlim_max == RLIM_INFINITY ? nr_open() : rl.rlim_max;
	*soft = (unsigned long)rl.rlim_cur;
	*hard = (unsigned long)want;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	*soft = (unsigned long)want;
	return 0;
}

unsigned long
nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return (unsigned long)-1;
	return (unsigned long)rl.rlim_cur;
}

unsigned long
nofile_needed(unsigned maxconn, size_t nlisten, bool splice)
{
	unsigned long per =
	    splice ? NOFILE_PER_CONN_SPLICE : NOFILE_PER_CONN_COPY;

	return (unsigned long)maxconn * per + nlisten + NOFILE_RESERVE;
}
