/* SPDX-License-Identifier: ISC */
/* An allocation-failure injector for the tests, loaded with LD_PRELOAD.
 * While the file named by FAILMALLOC_FLAG exists, every malloc, calloc,
 * realloc and posix_memalign of at least as many bytes as the file holds
 * fails with ENOMEM (an empty file: every allocation); otherwise they pass
 * through. A flag file that holds "skip N" instead lets the next N
 * allocations pass (of any size, in any thread) and fails every one after
 * them, so that a test can fail an allocation at each point of a piece of
 * work in turn; a new flag file (another inode or time) starts the count
 * again. Each failure is counted in the file FAILMALLOC_FLAG.count (one
 * byte appended per failure), so a test knows that allocations did fail. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_memalign)(void **, size_t, size_t);

/* dlsym() may allocate before the real functions are known. */
static _Alignas(16) char early[8192];
static size_t early_used;

static void *
early_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (early_used + n > sizeof(early))
		return NULL;
	p = early + early_used;
	early_used += n;
	return p;
}

static int
is_early(const void *p)
{
	return (const char *)p >= early && (const char *)p < early + sizeof(early);
}

static void
init(void)
{
	static int busy;

	if (busy || real_malloc != NULL)
		return;
	busy = 1;
	*(void **)&real_calloc = dlsym(RTLD_NEXT, "calloc");
	*(void **)&real_malloc = dlsym(RTLD_NEXT, "malloc");
	*(void **)&real_realloc = dlsym(RTLD_NEXT, "realloc");
	*(void **)&real_free = dlsym(RTLD_NEXT, "free");
	*(void **)&real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	busy = 0;
}

/* "skip N": the flag last read, and how many allocations may still pass. */
static long skip_left;
static int skip_on;
static struct timespec skip_mtime;
static ino_t skip_ino;

/* Whether FLAG (whose stat is ST) says "skip N"; a new file is read again
 * (open and read never allocate) and restarts the count. */
static int
skip_mode(const char *flag, const struct stat *st)
{
	char text[32];
	ssize_t got;
	int fd;

	if (st->st_ino == skip_ino && st->st_mtim.tv_sec == skip_mtime.tv_sec &&
	    st->st_mtim.tv_nsec == skip_mtime.tv_nsec)
		return skip_on;
	skip_on = 0;
	fd = open(flag, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		got = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (got > 5 && memcmp(text, "skip ", 5) == 0) {
			text[got] = '\0';
			__atomic_store_n(&skip_left, strtol(text + 5, NULL, 10),
			                 __ATOMIC_SEQ_CST);
			skip_on = 1;
		}
	}
	skip_ino = st->st_ino;
	skip_mtime = st->st_mtim;
	return skip_on;
}

static int
should_fail(size_t n)
{
	static const char *flag;
	static char count[4096];
	struct stat st;
	int fd;

	/* Looked up until found: the first allocations (a sanitizer's
	 * start-up) may come before the environment is there. */
	if (flag == NULL) {
		flag = getenv("FAILMALLOC_FLAG");
		if (flag == NULL || strlen(flag) + 7 > sizeof(count)) {
			flag = NULL;
			return 0;
		}
		memcpy(count, flag, strlen(flag));
		memcpy(count + strlen(flag), ".count", 7);
	}
	if (stat(flag, &st) < 0)
		return 0;
	if (skip_mode(flag, &st)) {
		/* The count left to pass; below zero, every one fails. */
		if (__atomic_sub_fetch(&skip_left, 1, __ATOMIC_SEQ_CST) >= 0)
			return 0;
	} else if (n < (size_t)st.st_size) {
		return 0;
	}
	fd = open(count, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, "x", 1) < 0) {
		}
		close(fd);
	}
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t n)
{
	init();
	if (real_malloc == NULL)
		return early_alloc(n);
	return should_fail(n) ? NULL : real_malloc(n);
}

void *
calloc(size_t k, size_t n)
{
	init();
	if (real_calloc == NULL)
		return early_alloc(k * n); /* zeroed: static storage */
	return should_fail(k * n) ? NULL : real_calloc(k, n);
}

void *
realloc(void *p, size_t n)
{
	init();
	if (is_early(p) || real_realloc == NULL) {
		void *q = malloc(n);
		if (q != NULL && p != NULL) {
			/* Early blocks are never freed; copy what can be. */
			size_t left = (size_t)(early + sizeof(early) - (char *)p);
			memcpy(q, p, n < left ? n : left);
		}
		return q;
	}
	return should_fail(n) ? NULL : real_realloc(p, n);
}

void
free(void *p)
{
	init();
	if (p == NULL || is_early(p) || real_free == NULL)
		return;
	real_free(p);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	init();
	if (real_memalign == NULL)
		return ENOMEM;
	return should_fail(n) ? ENOMEM : real_memalign(out, align, n);
}
