// SPDX-License-Identifier: GPL-2.0
/*
 * One nanosleep of argv[1] milliseconds, by the raw syscall: a latency long
 * enough that the host descheduling QEMU for a few milliseconds between two
 * probes of one tracepoint is noise, while a wrong clock rate is not.
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 0;
	struct timespec nap = { ms / 1000, (ms % 1000) * 1000000 };

	return syscall(SYS_nanosleep, &nap, NULL) ? 1 : 0;
}
