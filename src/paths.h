/* SPDX-License-Identifier: ISC */
/* paths: where the signature library is, for a program run from the source
 * tree, installed, or installed under a staging folder (DESTDIR).
 *
 * The library is looked up beside the executable first, so that the
 * program found where it was built uses the tree's signatures/, and an
 * installed tree that was moved as a whole (a DESTDIR staging folder, a
 * relocated prefix) uses its own share/portsplit/signatures; otherwise the
 * folder compiled in from PREFIX. */
#ifndef PORTSPLIT_PATHS_H
#define PORTSPLIT_PATHS_H

#include <stddef.h>

/* The library folder compiled in (PREFIX/share/portsplit/signatures). */
const char *paths_installed_library(void);

/* Decides, once, which library this process uses (see above), from
 * EXE, the executable's real path (NULL: /proc/self/exe). Called by main
 * before the first configuration is read, that is before any chroot.
 * Without it, paths_library() is the compiled-in folder. */
void paths_init(const char *exe);

/* The signature library folder in use: the tree's, the relocated one or
 * the installed one. Valid for the process's life. */
const char *paths_library(void);

/* Pure: given the folder holding the executable, writes to OUT the
 * library folder to use when one of the candidates beside it exists
 * (EXISTS says whether a folder exists), and returns 0; -1 when none
 * does. Exposed for the unit test. */
int paths_beside(const char *exe_dir, int (*exists)(const char *dir), char *out,
                 size_t outlen);

#endif
