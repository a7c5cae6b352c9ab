// SPDX-License-Identifier: GPL-2.0
/*
 * scbench: time three syscalls in a loop, inside the guest.
 *
 *   scbench N FILE [LOOP]
 *
 * Runs N getppid(), N read()s of 4 KiB from FILE (which must be at least
 * 1 MiB; the offset wraps to 0 with one lseek every 256 reads) and N write()s
 * of 64 bytes to /dev/null, each after a short warm-up, and prints one line
 * per syscall: "scbench NAME calls=N ns=TOTAL per_call=NS.NN". LOOP (getppid,
 * read4k or write64) runs that loop alone, for profiles of one call. Times come
 * from clock_gettime(CLOCK_MONOTONIC); under QEMU -icount they count guest
 * instructions, so only ratios between runs mean anything.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE 4096
#define READS_PER_WRAP 256

static char buf[READ_SIZE];

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void loop_getppid(long n)
{
	for (long i = 0; i < n; i++)
		if (getppid() < 0)
			die("getppid");
}

static int read_fd;

static void loop_read(long n)
{
	for (long i = 0; i < n; i++) {
		if (i % READS_PER_WRAP == 0 && lseek(read_fd, 0, SEEK_SET) != 0)
			die("lseek");
		if (read(read_fd, buf, READ_SIZE) != READ_SIZE)
			die("read");
	}
}

static int null_fd;

static void loop_write(long n)
{
	for (long i = 0; i < n; i++)
		if (write(null_fd, buf, 64) != 64)
			die("write");
}

static void run(const char *name, void (*loop)(long), long n)
{
	long long start, ns;

	loop(n / 20 + 1);	/* warm-up: caches, page tables, tracer state */
	start = now_ns();
	loop(n);
	ns = now_ns() - start;
	printf("scbench %s calls=%ld ns=%lld per_call=%.2f\n", name, n, ns,
	       (double)ns / n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long n;

	const char *only = argc == 4 ? argv[3] : NULL;

	if (argc < 3 || argc > 4 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: scbench N FILE [getppid|read4k|write64]\n");
		return 2;
	}
	read_fd = open(argv[2], O_RDONLY);
	if (read_fd < 0)
		die(argv[2]);
	if (lseek(read_fd, 0, SEEK_END) < (off_t)READ_SIZE * READS_PER_WRAP)
		die("FILE shorter than 1 MiB");
	null_fd = open("/dev/null", O_WRONLY);
	if (null_fd < 0)
		die("/dev/null");
	memset(buf, 'x', sizeof(buf));
	if (!only || !strcmp(only, "getppid"))
		run("getppid", loop_getppid, n);
	if (!only || !strcmp(only, "read4k"))
		run("read4k", loop_read, n);
	if (!only || !strcmp(only, "write64"))
		run("write64", loop_write, n);
	return 0;
}
