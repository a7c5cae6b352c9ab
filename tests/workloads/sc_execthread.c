// SPDX-License-Identifier: GPL-2.0
/*
 * Two ways a thread leaves a recorder's per-thread state behind:
 *
 *  - a thread renames itself (prctl PR_SET_NAME) away from the filter's
 *    name, so its call ends in a task the filter no longer selects, then
 *    exits;
 *  - a thread other than the leader calls execve: the kernel gives it the
 *    leader's thread id during the exec (de_thread), so the call returns
 *    under another id than it entered with.
 *
 * sc_execthread runs both, the exec last; the image it starts
 * ("sc_execthread after ...") makes one getppid() and exits.
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static char self[PATH_MAX];

static void *rename_self(void *unused)
{
	prctl(PR_SET_NAME, "sc_renamed", 0, 0, 0);
	return NULL;
}

static void *exec_self(void *unused)
{
	char *argv[] = { self, "after", "from a thread", NULL };
	char *envp[] = { NULL };

	execve(self, argv, envp);
	_exit(3);
}

int main(int argc, char **argv)
{
	pthread_t t;
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "after")) {
		syscall(SYS_getppid);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	if (pthread_create(&t, NULL, rename_self, NULL) || pthread_join(t, NULL))
		return 1;
	if (pthread_create(&t, NULL, exec_self, NULL))
		return 1;
	pthread_join(t, NULL);	/* the exec ends this image first */
	return 2;
}
