// SPDX-License-Identifier: GPL-2.0
/*
 * Writes to /dev/null from buffers that end exactly where a page is
 * unmapped, so that a capture reading one byte past its buffer faults:
 * 13 bytes (a word, half a word and a byte) and 6 (half a word and a
 * quarter) at odd addresses, then 12 bytes of which the last 7 are in the
 * unmapped page. /dev/null takes every write whole without reading it, so
 * the results are the counts, whatever the buffers hold.
 *
 * Then strings: a path whose NUL is the page's last byte (a capture
 * reading it by words must not read the next page), the empty path of an
 * fstat as glibc makes it (AT_EMPTY_PATH, the NUL at the page's last byte
 * too), and one with no NUL before the unmapped page, which the kernel
 * refuses with EFAULT.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *end;
	struct stat st __attribute__((unused));
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
#ifdef SYS_newfstatat	/* the 32-bit ABIs have fstatat64; the test reads the native run */
	memcpy(end - 10, "/dev/null", 10);
	syscall(SYS_newfstatat, AT_FDCWD, end - 10, &st, 0);
	end[-1] = 0;
	syscall(SYS_newfstatat, fd, end - 1, &st, AT_EMPTY_PATH);
#endif
	memcpy(end - 4, "/dev", 4);
	syscall(SYS_openat, AT_FDCWD, end - 4, O_RDONLY);
	return 0;
}
