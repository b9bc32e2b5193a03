/* SPDX-License-Identifier: ISC */
/* The descriptor budget: what maxconn needs, and raising the soft limit to
 * the hard one (done on this test process itself). */
#include <sys/resource.h>

#include "nofile.h"
#include "unit.h"

int
main(void)
{
	struct rlimit rl, low;
	unsigned long soft, hard;

	ok(nofile_needed(1024, 1, true) == 1024 * 6 + 1 + 64,
	   "splice: 6 per connection, one per listener, 64 more (%lu)",
	   nofile_needed(1024, 1, true));
	ok(nofile_needed(100, 3, false) == 100 * 2 + 3 + 64,
	   "copy: 2 per connection (%lu)", nofile_needed(100, 3, false));

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < 64 ||
	    rl.rlim_max == RLIM_INFINITY) {
		ok(1, "raising # SKIP hard limit unusable here");
		return unit_done();
	}
	low = rl;
	low.rlim_cur = 32;
	ok(setrlimit(RLIMIT_NOFILE, &low) == 0, "soft limit lowered to 32");
	ok(nofile_limit() == 32, "nofile_limit says 32 (%lu)", nofile_limit());
	ok(nofile_raise(&soft, &hard) == 0, "nofile_raise succeeds");
	ok(soft == (unsigned long)rl.rlim_max && hard == soft,
	   "the soft limit is now the hard one (%lu, %lu, hard %lu)", soft,
	   hard, (unsigned long)rl.rlim_max);
	ok(nofile_limit() == (unsigned long)rl.rlim_max, "and in force (%lu)",
	   nofile_limit());
	ok(nofile_raise(&soft, &hard) == 0 && soft == hard,
	   "raising again changes nothing");
	return unit_done();
}
