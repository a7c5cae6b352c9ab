// SPDX-License-Identifier: GPL-2.0
/*
 * Makes each decoded syscall once, with distinct arguments that
 * tests/expected_records.py knows. Raw syscall() everywhere, so that the C
 * library cannot substitute another call (glibc's fstat() is newfstatat).
 *
 * Stage 1 re-executes itself, so that execve is recorded with its argv;
 * stage 2 does the rest and ends with exit_group(3).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <netinet/in.h>

#define PATH "/tmp/mysysdig-workload.txt"
#define MISSING "/tmp/mysysdig-missing-a"	/* 23 bytes: 7 in its last word */
/* Where the guest has this program; the 32-bit build is given its own. */
#ifndef SELF
#define SELF "/bin/sc_workload"
#endif

/*
 * 25 bytes: a plain first word, then escapes in the second and third, so
 * the text renderer's word-at-a-time path and its byte path both show.
 */
static const char payload[] = "hello, world\\ \"quoted\"\n\x01\xff";

static int stage2(void)
{
	char buf[4096];
	char missing[] = MISSING;
	struct stat st;
	int sv[2], n;
	long fd, dupfd, s, child, tid, pid;
	void *map;
	uint32_t word = 0;
	struct timespec nap = { 0, 1000000 };
	struct timespec pto = { 1, 500 };
	struct pollfd pfd;

	fd = syscall(SYS_openat, AT_FDCWD, PATH, O_WRONLY | O_CREAT | O_TRUNC,
		     0640);
	syscall(SYS_write, fd, payload, sizeof(payload) - 1);
	syscall(SYS_lseek, fd, 5, SEEK_SET);
	syscall(SYS_close, fd);

	fd = syscall(SYS_openat, AT_FDCWD, PATH, O_RDONLY, 0);
	syscall(SYS_read, fd, buf, sizeof(buf));
	syscall(SYS_fstat, fd, &st);
#ifdef SYS_newfstatat
	syscall(SYS_newfstatat, AT_FDCWD, PATH, &st, AT_SYMLINK_NOFOLLOW);
#else
	syscall(SYS_fstatat64, AT_FDCWD, PATH, buf, AT_SYMLINK_NOFOLLOW);
#endif
	syscall(SYS_statx, AT_FDCWD, PATH, AT_SYMLINK_NOFOLLOW, STATX_SIZE,
		buf);
	/*
	 * Three calls with the same arguments but for the path's last byte,
	 * the last of its last word: the text writer reuses a line's text
	 * only when the bytes behind the pointer are the same.
	 */
	syscall(SYS_openat, AT_FDCWD, missing, O_RDONLY, 0);
	missing[sizeof(missing) - 2] = 'b';
	syscall(SYS_openat, AT_FDCWD, missing, O_RDONLY, 0);
	missing[sizeof(missing) - 2] = 'a';
	syscall(SYS_openat, AT_FDCWD, missing, O_RDONLY, 0);
	dupfd = syscall(SYS_dup, fd);
	syscall(SYS_close, dupfd);
	syscall(SYS_close, fd);
	syscall(SYS_close, -1);

	syscall(SYS_getcwd, buf, 200);
	syscall(SYS_getuid);

	s = syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	syscall(SYS_close, s);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	syscall(SYS_sendto, sv[0], "ping", 4, 0, NULL, 0);
	syscall(SYS_recvfrom, sv[1], buf, 100, 0, NULL, NULL);
	syscall(SYS_ioctl, sv[1], FIONREAD, &n);
	pfd.fd = sv[0];
	pfd.events = POLLOUT;
	syscall(SYS_ppoll, &pfd, 1, &pto, NULL, 8);

#ifdef SYS_mmap2	/* 32-bit ABIs: their SYS_mmap is absent or old_mmap */
	map = (void *)syscall(SYS_mmap2, NULL, 8192, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#else
	map = (void *)syscall(SYS_mmap, NULL, 8192, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#endif
	syscall(SYS_munmap, map, 8192);

	syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	syscall(SYS_nanosleep, &nap, NULL);
	/* gettid, then getpid: in this order on every arch (as arguments of
	 * one call, the compiler would be free to evaluate them either way). */
	tid = syscall(SYS_gettid);
	pid = getpid();
	syscall(SYS_tgkill, pid, tid, 0);

	/* A child through the raw clone, which leaves with exit(7). */
	child = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (child == 0)
		syscall(SYS_exit, 7);
	waitpid(child, NULL, 0);

	syscall(SYS_exit_group, 3);
	return 0;
}

int main(int argc, char **argv)
{
	char *args[] = { argv[0], "stage2", "a \"quoted\" arg", NULL };
	char *env[] = { NULL };

	if (argc > 1 && !strcmp(argv[1], "stage2"))
		return stage2();
	syscall(SYS_execve, SELF, args, env);
	return 1;
}
