// SPDX-License-Identifier: GPL-2.0
/*
 * Writes to /dev/null from buffers that end exactly where a page is
 * unmapped, so that a capture reading one byte past its buffer faults:
 * 13 bytes (a word, half a word and a byte) and 6 (half a word and a
 * quarter) at odd addresses, then 12 bytes of which the last 7 are in the
 * unmapped page. /dev/null takes every write whole without reading it, so
 * the results are the counts, whatever the buffers hold.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *end;
	long fd;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || munmap(map + page, page))
		return 1;
	end = map + page;
	memcpy(end - 13, "0123456789abc", 13);
	fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
	if (fd < 0)
		return 2;
	syscall(SYS_write, fd, end - 13, 13);
	syscall(SYS_write, fd, end - 6, 6);
	syscall(SYS_write, fd, end - 5, 12);
	return 0;
}
