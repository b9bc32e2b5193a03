/* listener: bound sockets, accept, the connection limit, and pausing
 * accept when the process is out of descriptors. */
#ifndef PORTSPLIT_LISTENER_H
#define PORTSPLIT_LISTENER_H

#include <netdb.h>
#include <stddef.h>

#include "daemon.h"

/* Binds and listens on every address of every `bind =` of D->cfg. Returns
 * 0, or -1 with a message in ERR (the listeners opened so far stay in D and
 * are closed by listener_close_all). */
int listener_open_all(struct daemon *d, char *err, size_t errlen);
/* Makes D's listeners those of CFG (a configuration being reloaded):
 * listeners whose address is still there keep their socket, new addresses
 * are bound, removed ones closed. All or nothing: returns 0, or -1 with a
 * message in ERR and D's listeners as they were. */
int listener_update(struct daemon *d, const struct config *cfg, char *err,
		    size_t errlen);
/* Closes every listener of D. */
void listener_close_all(struct daemon *d);

#endif
