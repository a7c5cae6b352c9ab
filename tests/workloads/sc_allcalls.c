// SPDX-License-Identifier: GPL-2.0
/*
 * Makes every syscall of the syscall-count gadget's table that this
 * architecture has, at least once, with distinct known arguments, for
 * tests/test_vm_decode.py, which compares the module's records of it with
 * strace's view of the same run. Raw syscall() everywhere, so that the C
 * library cannot substitute another call; calls the architecture lacks are
 * fenced with #ifdef SYS_<name>. It also builds for the 32-bit ABIs (i686,
 * armhf), as tests/vm_support.py builds every workload for them, but only
 * the 64-bit program is compared.
 *
 * Runs as root in the test VM: /tmp is writable and `lo` is up (the test
 * script does `ip link set lo up`). Every result is the same on each run
 * and under strace -f, except where being traced changes it by design
 * (PTRACE_TRACEME fails under strace), and the test compares a run with
 * strace's view of that same run.
 *
 * Stage 1 re-executes itself so that execve is recorded with its argv;
 * stage 2 makes the calls and ends with execveat into stage 3, which
 * leaves with exit_group(0).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>

#define ALLCALLS "/bin/sc_allcalls"
#define DIR "/tmp/sc-allcalls"
#define FILE1 DIR "/file1"
#define FILE2 DIR "/file2"
#define MNT DIR "/mnt"
#define SOCK_PATH DIR "/sock"

static const char payload[] = "hello, \"world\"\n\x01\xff";	/* 17 bytes */
static unsigned long peek_word = 0x5eed1234;

/* Paths read at syscall entry must be in memory already: keep copies. */
static char path_a[64], path_b[64];

static long sc(long nr, long a, long b, long c, long d, long e, long f)
{
	return syscall(nr, a, b, c, d, e, f);
}

#define SC0(n) sc(SYS_##n, 0, 0, 0, 0, 0, 0)
#define SC1(n, a) sc(SYS_##n, (long)(a), 0, 0, 0, 0, 0)
#define SC2(n, a, b) sc(SYS_##n, (long)(a), (long)(b), 0, 0, 0, 0)
#define SC3(n, a, b, c) sc(SYS_##n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SC4(n, a, b, c, d) \
	sc(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SC5(n, a, b, c, d, e) \
	sc(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define SC6(n, a, b, c, d, e, f) \
	sc(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), \
	   (long)(f))

static void reap(long pid)
{
	int st;

	waitpid(pid, &st, 0);
}

static void files(void)
{
	char buf[4096];
	struct stat st;
	struct iovec iov[2];
	char a[8], b[8];
	loff_t off;
	long fd, fd2, dfd;
	int fds[2];
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} handle;
	int mount_id, avail;

	SC3(mkdirat, AT_FDCWD, DIR, 0750);
	fd = SC4(openat, AT_FDCWD, FILE1, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	SC3(write, fd, payload, sizeof(payload) - 1);
	iov[0].iov_base = "abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = "defgh";
	iov[1].iov_len = 5;
	SC3(writev, fd, iov, 2);
	SC5(pwritev, fd, iov, 1, 100, 0);
	SC3(lseek, fd, 5, SEEK_SET);
	SC3(lseek, fd, -2, SEEK_END);
	SC2(fchmod, fd, 0604);
	SC3(fchown, fd, -1, -1);
	SC1(close, fd);

	fd = SC4(openat, AT_FDCWD, FILE1, O_RDONLY, 0);
	SC3(read, fd, buf, sizeof(buf));
	SC2(fstat, fd, &st);
	iov[0].iov_base = a;
	iov[0].iov_len = sizeof(a);
	iov[1].iov_base = b;
	iov[1].iov_len = sizeof(b);
	SC5(preadv, fd, iov, 2, 3, 0);
	SC3(readv, fd, iov, 1);
	fd2 = SC1(dup, fd);
	SC1(close, fd2);
#ifdef SYS_dup2
	SC2(dup2, fd, 40);
	SC1(close, 40);
#endif
	SC3(dup3, fd, 41, O_CLOEXEC);
	SC1(close, 41);
	SC3(fcntl, fd, F_SETFD, FD_CLOEXEC);
	SC3(fcntl, fd, F_GETFL, 0);
	fd2 = SC3(fcntl, fd, F_DUPFD_CLOEXEC, 42);
	SC1(close, fd2);
	SC2(flock, fd, LOCK_EX | LOCK_NB);
	SC2(flock, fd, LOCK_UN);

	/* a copy through sendfile, splice and copy_file_range */
	fd2 = SC4(openat, AT_FDCWD, FILE2, O_RDWR | O_CREAT | O_EXCL, 0600);
	off = 0;
	SC4(sendfile, fd2, fd, &off, 6);
	SC2(pipe2, fds, O_CLOEXEC | O_NONBLOCK);
	SC3(write, fds[1], "splice", 6);
	off = 6;
	SC6(splice, fds[0], NULL, fd2, &off, 6, SPLICE_F_MOVE);
	SC3(ioctl, fds[0], FIONREAD, &avail);
	SC1(close, fds[0]);
	SC1(close, fds[1]);
	off = 0;
	SC6(copy_file_range, fd, &off, fd2, NULL, 4, 0);
	SC1(close, fd2);
	SC1(close, fd);
	SC1(close, -1);
#ifdef SYS_pipe
	SC1(pipe, fds);
	SC1(close, fds[0]);
	SC1(close, fds[1]);
#endif

	/* the name space */
	SC2(getcwd, buf, 200);
	SC1(chdir, DIR);
	SC2(getcwd, buf, 200);
	dfd = SC4(openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY, 0);
	SC1(fchdir, dfd);
	SC1(chroot, "/");
	SC3(fchmodat, AT_FDCWD, FILE1, 0644);
	SC5(fchownat, AT_FDCWD, FILE1, 0, -1, AT_SYMLINK_NOFOLLOW);
	SC3(mkdirat, dfd, "tmp/sc-allcalls/d1", 0700);
	SC5(linkat, AT_FDCWD, FILE1, dfd, "tmp/sc-allcalls/l1", 0);
	SC3(symlinkat, "file1", AT_FDCWD, DIR "/s1");
	strcpy(path_a, DIR "/l1");
	strcpy(path_b, DIR "/l2");
#ifdef SYS_renameat
	SC4(renameat, AT_FDCWD, path_a, AT_FDCWD, path_b);
	strcpy(path_a, DIR "/l2");
	strcpy(path_b, DIR "/l3");
#endif
	SC5(renameat2, AT_FDCWD, path_a, AT_FDCWD, path_b, RENAME_NOREPLACE);
	SC3(unlinkat, AT_FDCWD, path_b, 0);
	SC3(unlinkat, AT_FDCWD, DIR "/s1", 0);
	SC3(unlinkat, dfd, "tmp/sc-allcalls/d1", AT_REMOVEDIR);
	fd = SC4(openat, AT_FDCWD, DIR, O_RDONLY | O_DIRECTORY, 0);
	SC3(getdents64, fd, buf, sizeof(buf));
#ifdef SYS_getdents
	SC3(lseek, fd, 0, SEEK_SET);
	SC3(getdents, fd, buf, sizeof(buf));
#endif
	SC1(close, fd);

	/* open_by_handle_at needs a handle; a made-up one is refused */
	memset(&handle, 0, sizeof(handle));
	handle.fh.handle_bytes = MAX_HANDLE_SZ;
	if (SC5(name_to_handle_at, AT_FDCWD, FILE1, &handle.fh, &mount_id, 0)) {
		handle.fh.handle_bytes = 8;
		handle.fh.handle_type = 1;
	}
	fd = SC3(open_by_handle_at, dfd, &handle.fh, O_RDONLY);
	if (fd >= 0)
		SC1(close, fd);
	fd = SC4(openat2, AT_FDCWD, FILE1, &how, sizeof(how));
	SC1(close, fd);
	SC1(close, dfd);

#ifdef SYS_open
	fd = SC3(open, FILE2, O_RDONLY | O_NOFOLLOW, 0);
	SC1(close, fd);
	fd = SC2(creat, DIR "/file3", 0611);
	SC1(close, fd);
	SC2(stat, FILE2, &st);
	SC2(lstat, DIR "/nonexistent", &st);
	SC2(access, FILE2, R_OK | W_OK);
	SC2(access, DIR "/nonexistent", F_OK);
	SC2(chmod, FILE2, 0664);
	SC3(chown, FILE2, -1, 0);
	SC3(lchown, FILE2, 0, -1);
	SC2(mkdir, DIR "/d2", 0711);
	SC1(rmdir, DIR "/d2");
	SC2(link, FILE2, DIR "/l4");
	SC2(symlink, "file2", DIR "/s2");
	strcpy(path_a, DIR "/l4");
	strcpy(path_b, DIR "/l5");
	SC2(rename, path_a, path_b);
	SC1(unlink, DIR "/l5");
	SC1(unlink, DIR "/s2");
	SC1(unlink, DIR "/file3");
#endif

	/* mounts and quotas */
	SC3(mkdirat, AT_FDCWD, MNT, 0755);
	SC5(mount, "sc-tmpfs", MNT, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k");
	SC2(umount2, MNT, MNT_DETACH);
	fd = SC2(fsopen, "tmpfs", FSOPEN_CLOEXEC);
	SC5(fsconfig, fd, FSCONFIG_SET_STRING, "size", "64k", 0);
	SC1(close, fd);
	SC4(quotactl, QCMD(Q_GETQUOTA, USRQUOTA), "/dev/null", 1000, buf);
}

static void events(void)
{
	struct epoll_event ev[4];
	struct pollfd pfd[2];
	struct timespec pto = { 1, 500 };
	sigset_t mask;
	long fd, fd2;
	int fds[2];

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	SC2(pipe2, fds, 0);
	SC3(write, fds[1], "x", 1);
	pfd[0].fd = fds[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = fds[1];
	pfd[1].events = POLLOUT;
	SC5(ppoll, pfd, 2, &pto, NULL, 8);
#ifdef SYS_poll
	SC3(poll, pfd, 1, 0);
#endif
#ifdef SYS_select
	{
		fd_set rd;
		struct timeval tv = { 0, 0 };

		FD_ZERO(&rd);
		FD_SET(fds[0], &rd);
		SC5(select, fds[0] + 1, &rd, NULL, NULL, &tv);
	}
#endif
	SC1(close, fds[0]);
	SC1(close, fds[1]);

#ifdef SYS_epoll_create
	fd = SC1(epoll_create, 4);
	SC4(epoll_wait, fd, ev, 4, 0);
	SC1(close, fd);
#endif
	fd = SC1(epoll_create1, EPOLL_CLOEXEC);
	SC1(close, fd);
	(void)ev;
#ifdef SYS_eventfd
	fd = SC1(eventfd, 3);
	SC1(close, fd);
#endif
	fd = SC2(eventfd2, 5, EFD_CLOEXEC | EFD_NONBLOCK);
	SC1(close, fd);
#ifdef SYS_inotify_init
	fd = SC0(inotify_init);
	SC1(close, fd);
#endif
	fd = SC1(inotify_init1, IN_CLOEXEC);
	SC1(close, fd);
#ifdef SYS_signalfd
	fd = SC3(signalfd, -1, &mask, 8);
	SC1(close, fd);
#endif
	fd = SC4(signalfd4, -1, &mask, 8, SFD_CLOEXEC | SFD_NONBLOCK);
	SC1(close, fd);
	fd = SC2(timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC);
	SC1(close, fd);
	fd = SC1(userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		SC1(close, fd);

	/* io_uring may be missing or disabled: then the calls fail, alike */
	{
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		fd = SC2(io_uring_setup, 4, &p);
		fd2 = fd >= 0 ? fd : 1000;
		SC6(io_uring_enter, fd2, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
		SC4(io_uring_register, fd2, IORING_UNREGISTER_BUFFERS, NULL, 0);
		if (fd >= 0)
			SC1(close, fd);
	}
}

static void net(void)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_storage peer;
	socklen_t len;
	char buf[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct mmsghdr mm[2];
	struct iovec iovs[2];
	struct timespec tmo = { 1, 500 };
	int one = 1, val, sv[2];
	long ls, cs, as, us, us6;

	/* TCP over 127.0.0.1:4711 */
	in4.sin_port = htons(4711);
	in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = SC3(socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	SC5(setsockopt, ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	SC3(bind, ls, &in4, sizeof(in4));
	SC2(listen, ls, 5);
	len = sizeof(peer);
	SC3(getsockname, ls, &peer, &len);
	cs = SC3(socket, AF_INET, SOCK_STREAM, 0);
	SC3(connect, cs, &in4, sizeof(in4));
	len = sizeof(peer);
	as = SC4(accept4, ls, &peer, &len, SOCK_CLOEXEC);
	len = sizeof(peer);
	SC3(getpeername, as, &peer, &len);
	SC6(sendto, cs, "ping over tcp", 13, MSG_NOSIGNAL, NULL, 0);
	SC6(recvfrom, as, buf, sizeof(buf), 0, NULL, NULL);
	SC2(shutdown, cs, SHUT_WR);
	val = 0;
	len = sizeof(val);
	SC5(getsockopt, as, SOL_SOCKET, SO_TYPE, &val, &len);
	SC1(close, as);
	SC1(close, cs);
	cs = SC3(socket, AF_INET, SOCK_STREAM, 0);
	SC3(connect, cs, &in4, sizeof(in4));
	len = sizeof(peer);
#ifdef SYS_accept
	as = SC3(accept, ls, &peer, &len);
#else
	as = SC4(accept4, ls, &peer, &len, 0);
#endif
	SC1(close, as);
	SC1(close, cs);
	SC1(close, ls);

	/* UDP over 127.0.0.1:4712, addresses on both sides */
	in4.sin_port = htons(4712);
	us = SC3(socket, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	SC3(bind, us, &in4, sizeof(in4));
	SC6(sendto, us, "udp4", 4, 0, &in4, sizeof(in4));
	len = sizeof(peer);
	SC6(recvfrom, us, buf, sizeof(buf), 0, &peer, &len);
	SC1(close, us);

	/* UDP over [::1]:4713 */
	in6.sin6_port = htons(4713);
	in6.sin6_addr = in6addr_loopback;
	us6 = SC3(socket, AF_INET6, SOCK_DGRAM, 0);
	SC3(bind, us6, &in6, sizeof(in6));
	SC6(sendto, us6, "udp6", 4, 0, &in6, sizeof(in6));
	len = sizeof(peer);
	SC6(recvfrom, us6, buf, sizeof(buf), MSG_PEEK, &peer, &len);
	SC1(close, us6);

	/* a unix socket bound to a path */
	strcpy(un.sun_path, SOCK_PATH);
	ls = SC3(socket, AF_UNIX, SOCK_STREAM, 0);
	SC3(bind, ls, &un, offsetof(struct sockaddr_un, sun_path) +
			 sizeof(SOCK_PATH));
	SC2(listen, ls, 1);
	cs = SC3(socket, AF_UNIX, SOCK_STREAM, 0);
	SC3(connect, cs, &un, sizeof(un));
	len = sizeof(peer);
#ifdef SYS_accept
	as = SC3(accept, ls, &peer, &len);
#else
	as = SC4(accept4, ls, &peer, &len, 0);
#endif
	SC1(close, as);
	SC1(close, cs);
	SC1(close, ls);
	SC3(unlinkat, AT_FDCWD, SOCK_PATH, 0);

	/* messages over a socket pair */
	SC4(socketpair, AF_UNIX, SOCK_DGRAM, 0, sv);
	iov.iov_base = "msg1";
	iov.iov_len = 4;
	SC3(sendmsg, sv[0], &mh, 0);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	SC3(recvmsg, sv[1], &mh, MSG_CMSG_CLOEXEC);
	memset(mm, 0, sizeof(mm));
	iovs[0].iov_base = "mm-a";
	iovs[0].iov_len = 4;
	iovs[1].iov_base = "mm-bb";
	iovs[1].iov_len = 5;
	mm[0].msg_hdr.msg_iov = &iovs[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &iovs[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	SC4(sendmmsg, sv[0], mm, 2, 0);
	iovs[0].iov_base = buf;
	iovs[0].iov_len = 100;
	iovs[1].iov_base = buf + 100;
	iovs[1].iov_len = 100;
	SC5(recvmmsg, sv[1], mm, 2, MSG_DONTWAIT, &tmo);
	SC1(close, sv[0]);
	SC1(close, sv[1]);
}

static void memory(void)
{
	long brk0;
	char *p;

	brk0 = SC1(brk, 0);
	SC1(brk, brk0 + 8192);
#ifdef SYS_mmap2	/* 32-bit ABIs: their SYS_mmap is absent or old_mmap */
	p = (char *)SC6(mmap2, 0, 16384, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#else
	p = (char *)SC6(mmap, 0, 16384, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#endif
	p[0] = 1;
	SC3(mprotect, p, 4096, PROT_READ);
	SC2(mlock, p, 4096);
	SC2(munlock, p, 4096);
	SC3(mlock2, p + 4096, 4096, MLOCK_ONFAULT);
	SC1(mlockall, MCL_CURRENT | MCL_ONFAULT);
	SC0(munlockall);
	SC2(munmap, p, 16384);
}

static void processes(void)
{
	struct clone_args ca;
	struct timespec nap = { 0, 1000 };
	struct timespec fto = { 0, 2000 };
	struct rlimit rl;
	uint32_t word = 7, action;
	int ptid = 0;
	long pid, tid, fd, child, data;
	int st;

	pid = SC0(getpid);
	tid = SC0(gettid);

	/* fork, vfork, clone, clone3: each child leaves with exit(n) */
#ifdef SYS_fork
	child = SC0(fork);
	if (child == 0)
		SC1(exit, 1);
	reap(child);
#endif
#if defined(SYS_vfork) && defined(__x86_64__)
	/* the child shares this stack: stay in this frame until exit */
	asm volatile("syscall" : "=a"(child) : "a"(SYS_vfork)
		     : "rcx", "r11", "memory");
	if (child == 0)
		asm volatile("syscall" : : "a"(SYS_exit), "D"(2)
			     : "rcx", "r11", "memory");
	reap(child);
#endif
	child = SC5(clone, CLONE_PARENT_SETTID | SIGCHLD, 0, &ptid, 0, 0);
	if (child == 0)
		SC1(exit, 3);
	reap(child);
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_CLEAR_SIGHAND;
	ca.exit_signal = SIGCHLD;
	child = SC2(clone3, &ca, CLONE_ARGS_SIZE_VER0);
	if (child == 0)
		SC1(exit, 4);
	reap(child);

	/* ptrace a child that asks for it (refused while strace traces it) */
	child = SC5(clone, SIGCHLD, 0, 0, 0, 0);
	if (child == 0) {
		if (SC4(ptrace, PTRACE_TRACEME, 0, 0, 0) == 0)
			SC2(kill, SC0(getpid), SIGSTOP);
		SC1(exit, 5);
	}
	waitpid(child, &st, WUNTRACED);
	SC4(ptrace, PTRACE_PEEKDATA, child, &peek_word, &data);
	if (WIFSTOPPED(st)) {
		SC4(ptrace, PTRACE_CONT, child, 0, 0);
		reap(child);
	}

	SC2(kill, pid, 0);
	SC2(tkill, tid, SIGURG);
	SC3(tgkill, pid, tid, SIGCHLD);
	SC6(futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	SC6(futex, &word, FUTEX_WAIT, 8, &fto, NULL, 0);
	SC2(nanosleep, &nap, NULL);
	SC5(prctl, PR_GET_DUMPABLE, 0, 0, 0, 0);
	SC5(prctl, PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0);
	action = SECCOMP_RET_KILL_PROCESS;
	SC3(seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
	{
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)-1;
		SC3(bpf, BPF_MAP_LOOKUP_ELEM, &attr, 32);
	}
	SC0(setsid);
	SC2(setpgid, 0, 0);
#ifdef SYS_getrlimit
	SC2(getrlimit, RLIMIT_NOFILE, &rl);
#else
	rl.rlim_cur = 1024;
	rl.rlim_max = 4096;
#endif
	SC2(setrlimit, RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 4096;
	rl.rlim_max = RLIM_INFINITY;
	SC2(setrlimit, RLIMIT_CORE, &rl);

	SC1(unshare, CLONE_NEWUTS);
	fd = SC4(openat, AT_FDCWD, "/proc/self/ns/uts", O_RDONLY, 0);
	SC2(setns, fd, CLONE_NEWUTS);
	SC1(close, fd);
}

static void credentials(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[2];
	unsigned int r, e, s;
	int id;
	struct sembuf op = { .sem_num = 1, .sem_op = 2, .sem_flg = IPC_NOWAIT };

	SC0(getuid);
	SC0(geteuid);
	SC0(getgid);
	SC0(getegid);
	SC1(setuid, 0);
	SC1(setgid, 0);
	SC3(setresuid, -1, 0, -1);
	SC3(setresgid, 0, -1, 0);
	SC3(getresuid, &r, &e, &s);
	SC3(getresgid, &r, &e, &s);
	memset(caps, 0, sizeof(caps));
	SC2(capget, &hdr, caps);
	SC2(capset, &hdr, caps);

	id = SC3(semget, IPC_PRIVATE, 2, IPC_CREAT | IPC_EXCL | 0600);
#ifdef SYS_semop
	SC3(semop, id, &op, 1);
#else
	(void)op;
#endif
	SC4(semctl, id, 1, GETVAL, 0);
	SC4(semctl, id, 0, IPC_RMID, 0);
}

static void finish(void)
{
	char *argv[] = { path_a, "stage3", NULL };
	char *envp[] = { path_b, NULL };
	long dfd;

	SC3(unlinkat, AT_FDCWD, FILE1, 0);
	SC3(unlinkat, AT_FDCWD, FILE2, 0);
	SC3(unlinkat, AT_FDCWD, MNT, AT_REMOVEDIR);
	SC3(unlinkat, AT_FDCWD, DIR, AT_REMOVEDIR);
	strcpy(path_a, "sc_allcalls");
	strcpy(path_b, "SC=1");
	/* a failing execveat first, then the real one into stage 3 */
	SC5(execveat, AT_FDCWD, DIR "/nonexistent", argv, envp,
	    AT_SYMLINK_NOFOLLOW);
	dfd = SC4(openat, AT_FDCWD, "/bin", O_RDONLY | O_DIRECTORY, 0);
	SC5(execveat, dfd, path_a, argv, envp, 0);
	SC1(exit_group, 9);
}

int main(int argc, char **argv)
{
	char *args[] = { path_a, "stage2", "two \"words\"", NULL };
	char *env[] = { path_b, NULL };

	if (argc > 1 && !strcmp(argv[1], "stage3"))
		SC1(exit_group, 0);
	if (argc > 1 && !strcmp(argv[1], "stage2")) {
		files();
		events();
		net();
		memory();
		processes();
		credentials();
		finish();
		return 1;
	}
	strcpy(path_a, ALLCALLS);
	strcpy(path_b, "SC=0");
	SC3(execve, path_a, args, env);
	return 1;
}
