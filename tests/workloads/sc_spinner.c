// SPDX-License-Identifier: GPL-2.0
/*
 * A second, busy process: waits until the file named by argv[1] exists,
 * then makes argv[2] getppid() calls (0: forever) and exits. Tests use it as
 * the process a filter must leave out, and to load the probe path. With
 * "fifo" as argv[3] it runs SCHED_FIFO, so on one CPU the recorder's writer
 * thread cannot run until it is done: the rings must drop, not block it.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 2000000 };
	long i, n;

	if (argc < 3)
		return 2;
	if (argc > 3 && !strcmp(argv[3], "fifo")) {
		struct sched_param sp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
			perror("sched_setscheduler");
			return 1;
		}
	}
	n = atol(argv[2]);
	while (access(argv[1], F_OK))
		nanosleep(&nap, NULL);
	for (i = 0; n == 0 || i < n; i++)
		syscall(SYS_getppid);
	return 0;
}
