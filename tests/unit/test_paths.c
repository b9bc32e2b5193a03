/* SPDX-License-Identifier: ISC */
/* paths_beside: which signature library a program uses, from the folder
 * holding its executable and the folders that exist around it. */
#include "paths.h"
#include "unit.h"

/* The folders that "exist" in the current case, NULL-terminated. */
static const char *const *present;

static int
exists(const char *dir)
{
	for (size_t i = 0; present[i] != NULL; i++)
		if (strcmp(present[i], dir) == 0)
			return 1;
	return 0;
}

static void
expect(const char *exe_dir, const char *const *dirs, const char *want,
       const char *what)
{
	char out[256] = "";
	int rc;

	present = dirs;
	rc = paths_beside(exe_dir, exists, out, sizeof(out));
	if (want == NULL)
		ok(rc == -1, "%s: none (got '%s')", what, out);
	else
		ok_str(rc == 0 ? out : NULL, want, "%s", what);
}

int
main(void)
{
	static const char *const tree[] = {"/src/ps/build/../src",
	                                   "/src/ps/build/../signatures", NULL};
	static const char *const asan[] = {
	    "/src/ps/build/asan/../../src",
	    "/src/ps/build/asan/../../signatures", NULL};
	static const char *const staged[] = {
	    "/tmp/d/usr/sbin/../share/portsplit/signatures", NULL};
	static const char *const stray[] = {"/opt/x/bin/../signatures", NULL};
	static const char *const nothing[] = {NULL};

	expect("/src/ps/build", tree, "/src/ps/build/../signatures",
	       "build/portsplit uses the tree's signatures/");
	expect("/src/ps/build/asan", asan,
	       "/src/ps/build/asan/../../signatures",
	       "build/asan/portsplit uses the tree's signatures/");
	expect("/tmp/d/usr/sbin", staged,
	       "/tmp/d/usr/sbin/../share/portsplit/signatures",
	       "an installed tree under DESTDIR uses its own library");
	expect("/opt/x/bin", stray, NULL,
	       "a signatures/ folder with no src/ beside it is no tree");
	expect("/usr/sbin", nothing, NULL,
	       "nothing beside: the compiled-in library");
	ok(strcmp(paths_library(), paths_installed_library()) == 0,
	   "without paths_init() the library is the compiled-in one (%s)",
	   paths_library());
	return unit_done();
}
