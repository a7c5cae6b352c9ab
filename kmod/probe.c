// SPDX-License-Identifier: GPL-2.0
/*
 * The capture path: probes on the raw sys_enter/sys_exit tracepoints.
 *
 * Order of work, cheapest first: is the task selected, is the syscall
 * selected; only then read the clock, reserve ring space, copy values and
 * user memory, commit. Nothing here sleeps, allocates or takes a lock.
 *
 * Until 6.13 these probes run with preemption disabled; from 6.13 syscall
 * tracepoints call them preemptible (so that they may fault). The per-CPU
 * ring has exactly one producer per CPU only while the task cannot be moved
 * or preempted between reserve and commit, and the filter is read under
 * RCU-sched, so on those kernels each probe disables preemption itself
 * around both (probe_begin/probe_end).
 */
#include <linux/module.h>
#include <linux/version.h>
#include <linux/tracepoint.h>
#include <linux/compat.h>
#include <linux/string.h>
#include <asm/syscall.h>
#include "my_sysdig.h"
#include "syscalls/handlers.h"

/* syscall_get_arguments() fills the event's u64 args in place */
static_assert(sizeof(unsigned long) == sizeof(u64));

struct linux_binprm;

static struct tracepoint *tp_sys_enter;
static struct tracepoint *tp_sys_exit;

/*
 * The steps of a recorded call are inline, in one slow-path function per
 * probe: the call overhead of the dozen small helpers they used to be was
 * measured (bench/profile_probe.py) at a third of the probe path. Only
 * what most calls never do (captures, a call that never returns) is out of
 * line.
 */
static __always_inline void fill_header(struct sc_event *ev, long nr,
					bool compat, u8 nargs)
{
	ev->type = SC_EV_SYSCALL;
	ev->flags = compat ? SC_EVF_COMPAT : 0;
	ev->nr = nr;
	ev->nargs = nargs;
	ev->ncap = 0;
	ev->ids = get_unaligned((const u64 *)&current->pid);
	memcpy(ev->comm, current->comm, TASK_COMM_LEN);
}

static_assert(offsetof(struct sc_event, pid) ==
	      offsetof(struct sc_event, tid) + sizeof(pid_t));
static_assert(offsetof(struct task_struct, tgid) ==
	      offsetof(struct task_struct, pid) + sizeof(pid_t));

/*
 * A native call's first @n argument values (at least), without the ABI
 * check and the copy of all six in syscall_get_arguments(): getppid
 * copies none. The event has room for six.
 */
static __always_inline void get_native_args(struct pt_regs *regs, u64 *args,
					    u8 n)
{
#if defined(CONFIG_X86_64)
	if (!n)
		return;
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	if (n <= 3)
		return;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
#elif defined(CONFIG_ARM64)
	if (!n)
		return;
	args[0] = regs->orig_x0;
	args[1] = regs->regs[1];
	args[2] = regs->regs[2];
	if (n <= 3)
		return;
	args[3] = regs->regs[3];
	args[4] = regs->regs[4];
	args[5] = regs->regs[5];
#else
	syscall_get_arguments(current, regs, (unsigned long *)args);
#endif
}

/*
 * Exit-time copies of user memory, written after @cap; returns their bytes.
 * @caps (sc_nr_info's exit_caps) names the arguments to copy, so the loop
 * visits no other: it tested every argument's kind, 60 instructions of an
 * nginx call's 140 here. Out of line: getppid and the like never get here.
 */
static noinline u32 capture_exit_args(struct sc_event *ev,
				      struct sc_capture *cap,
				      const struct sc_desc *desc, u8 caps,
				      u32 snaplen, bool compat)
{
	u32 used = 0;
	int i;

	for (; caps; caps &= caps - 1) {
		u8 kind;

		i = __ffs(caps);
		kind = desc->kinds[i];
		if (sc_capture_exit_arg(cap, kind, i, ev->args, ev->ret,
					snaplen, compat) < 0)
			continue;
		used += sc_capture_size(cap->len);
		ev->ncap++;
		cap = sc_next_capture(cap);
	}
	return used;
}

static noinline void record_no_return(struct pt_regs *regs, long nr,
				      bool compat)
{
	struct sc_ring *r = this_cpu_ptr(sc_rings);
	u8 nargs = sc_nr_info(compat, nr).nargs;
	u32 len = sizeof(struct sc_event) + nargs * sizeof(u64);
	struct sc_event *ev;
	u64 now = sc_clock();

	ev = sc_ring_reserve(r, SC_EVENT_ROOM);
	if (!ev)
		return;
	fill_header(ev, nr, compat, nargs);
	syscall_get_arguments(current, regs, (unsigned long *)ev->args);
	ev->flags |= SC_EVF_NO_RETURN;
	ev->enter_ns = now;
	ev->exit_ns = now;
	ev->ret = 0;
	ev->len = len;
	sc_ring_commit(r, len);
	sc_writer_notify();
}

/*
 * Claims @s, the current thread's slot, for an entry and leaves in it the
 * call's number, ABI and argument count; false (counted) when another
 * thread holds it. Both entry paths use it: the general one below and the
 * fast one, which must not carry the general one's calls.
 */
static __always_inline bool slot_enter(struct sc_slot *s, long nr, bool compat,
				       u8 nargs)
{
	if (unlikely(!sc_slot_claim(s, current->pid))) {
		atomic64_inc(&sc_stats.entry_missed);
		return false;
	}
	s->nr = nr;
	s->compat = compat;
	s->nargs = nargs;
	return true;
}

/* Leaves in the thread's slot what its exit will need. */
static __always_inline void enter(struct pt_regs *regs, long nr, bool compat,
				  struct sc_nr_info info)
{
	struct sc_slot *s = sc_slot_of(current->pid);

	if (!slot_enter(s, nr, compat, info.nargs))
		return;
	s->exit_path = compat || (info.flags & (SC_NR_ENTRY_CAPTURE |
						SC_NR_EXIT_CAPTURE)) ?
		       SC_EXIT_SLOW : SC_EXIT_PLAIN;
	if (unlikely(info.flags & SC_NR_ENTRY_CAPTURE))
		sc_entry_capture(s, regs, sc_desc_of(compat, nr), compat);
	s->enter_ns = sc_clock();
}

static noinline void enter_slow(const struct sc_filter *f,
				struct pt_regs *regs, long id,
				bool task_selected)
{
	bool compat = in_compat_syscall();
	struct sc_nr_info info = sc_nr_info(compat, id);

	if (!task_selected || !sc_syscall_selected(f, compat, id)) {
		/*
		 * An exec can make a task match (its comm changes): keep what
		 * the exit will need, argv above all, which the exec replaces.
		 */
		if (info.flags & SC_NR_EXEC)
			enter(regs, id, compat, info);
		return;
	}
	if (unlikely(info.flags & SC_NR_NO_RETURN))
		record_no_return(regs, id, compat);
	else
		enter(regs, id, compat, info);
}

/*
 * The fast paths below take their clock as a compile-time argument: each
 * probe is built twice (SC_PROBES), one build per clock, and
 * sc_probes_register() registers the pair that matches
 * sc_clock_is_counter. With the counter, the fast paths call nothing, so
 * they need no callee-saved registers: their pushes and pops were about 16
 * of a recorded getppid's instructions.
 */

/*
 * The probes themselves only decide whether there is anything to do: most
 * syscalls on a busy machine belong to tasks the filter does not select,
 * and that answer costs a few dozen instructions when nothing else (ABI,
 * flags, registers for the slow path) is worked out before it. A selected
 * task's plain native call (no syscall filter, nothing to copy at entry)
 * then only claims its slot and reads the clock; everything else is
 * enter_slow()'s.
 */
static __always_inline void enter_selected(const struct sc_filter *f,
					   struct pt_regs *regs, long id,
					   bool task_selected, bool counter)
{
	struct sc_nr_info info = sc_nr_info(false, id);
	struct sc_slot *s;

	if (unlikely(!task_selected || f->by_syscall || in_compat_syscall() ||
		     (info.flags & (SC_NR_NO_RETURN | SC_NR_ENTRY_CAPTURE |
				    SC_NR_EXEC)))) {
		enter_slow(f, regs, id, task_selected);
		return;
	}
	s = sc_slot_of(current->pid);
	if (!slot_enter(s, id, false, info.nargs))
		return;
	s->exit_path = info.flags & SC_NR_EXIT_CAPTURE;
	s->enter_ns = sc_clock_read(counter);
}

/*
 * Before 6.13 the tracepoint calls its probes with preemption disabled
 * (__DO_TRACE), so the probes need not do it again for their per-CPU
 * work; from 6.13 syscall tracepoints call them preemptible.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define probe_begin() preempt_disable_notrace()
#define probe_end() preempt_enable_notrace()
#else
#define probe_begin() do { } while (0)
#define probe_end() do { } while (0)
#endif

/*
 * Whether an unselected task's call is an exec the probes must still see.
 * At entry, any exec: it may make the task match, and only the entry can
 * copy the argv it replaces. At exit, only one that failed, to free what
 * its entry kept; a successful one has been probe_sched_exec()'s, so the
 * exit's number is read only for failed calls.
 */
static __always_inline bool unselected_exec(struct pt_regs *regs, long arg,
					    bool at_exit)
{
	if (!at_exit)
		return sc_nr_maybe_exec(arg);
	return arg < 0 &&
	       (sc_nr_any_flags(syscall_get_nr(current, regs)) & SC_NR_EXEC);
}

/*
 * What both probes do first: the filter, inline; the selected path (or a
 * possible exec of an unselected task) out of line, so that a miss stays
 * a few dozen instructions. @arg is the syscall number at entry and the
 * result at exit (see unselected_exec()).
 */
static __always_inline void probe_filter(struct pt_regs *regs, long arg,
					 bool at_exit,
					 void (*selected)(const struct sc_filter *,
							  struct pt_regs *, long,
							  bool))
{
	const struct sc_filter *f;
	bool task_selected;

	probe_begin();
	/*
	 * The filter is never NULL here: main.c publishes it before it
	 * registers the probes and withdraws it only once they are gone.
	 */
	if (static_branch_likely(&sc_one_name_key)) {
		f = NULL;	/* loaded only for a call that goes on */
		task_selected = sc_comm_same(current->comm, sc_one_name);
	} else {
		f = rcu_dereference_sched(sc_active_filter);
		task_selected = sc_task_selected(f, current);
	}
	if (task_selected || unlikely(unselected_exec(regs, arg, at_exit)))
		selected(f ?: rcu_dereference_sched(sc_active_filter), regs,
			 arg, task_selected);
	probe_end();
}

static __always_inline void record_exit(struct pt_regs *regs, long nr,
					bool compat, long ret)
{
	struct sc_slot *s = sc_slot_find(current->pid);
	const struct sc_entry_buf *eb = NULL;
	struct sc_nr_info info;
	struct sc_ring *r;
	struct sc_event *ev;
	u32 caplen = 0, snaplen = 0, len;
	u64 enter_ns = 0;
	bool no_args;
	u8 nargs;

	if (s) {
		/*
		 * The entry's number wins: rt_sigreturn and execve have
		 * replaced the registers by now, and execve may have switched
		 * the task to the other ABI.
		 */
		nr = s->nr;
		compat = s->compat;
		enter_ns = s->enter_ns;
		if (unlikely(s->entry_buf >= 0)) {
			eb = &sc_entry_bufs[s->entry_buf];
			caplen = eb->len;
		}
	}
	info = sc_nr_info(compat, nr);
	if (!s && ret == 0 && (info.flags & SC_NR_FORK))
		return;		/* a new child's first return: its parent has the call */
	/*
	 * A 32-bit result is 32 bits: arm64 sign-extends it, x86 does not.
	 * Keep errors negative and everything else (addresses) unsigned.
	 */
	if (unlikely(compat)) {
		if ((s32)ret >= 0 || (s32)ret < -MAX_ERRNO)
			ret = (u32)ret;
		else
			ret = (s32)ret;
	}
	/* arguments that only the entry could copy, and it could not: show none */
	no_args = (info.flags & SC_NR_ENTRY_CAPTURE) && !eb;
	nargs = no_args ? 0 : info.nargs;
	len = SC_EVENT_ROOM + caplen;
	if (unlikely(info.flags & SC_NR_EXIT_CAPTURE) && !no_args) {
		snaplen = READ_ONCE(sc_snaplen);
		len += info.exit_fixed +
		       info.exit_snaps * sc_capture_size(snaplen + 1);
	}
	r = this_cpu_ptr(sc_rings);
	ev = sc_ring_reserve(r, ALIGN(len, 8));
	if (unlikely(!ev))
		goto release;
	fill_header(ev, nr, compat, nargs);
	if (eb)
		memcpy(ev->args, eb->args, sizeof(eb->args));
	else
		syscall_get_arguments(current, regs, (unsigned long *)ev->args);
	if (unlikely(no_args))
		ev->flags |= SC_EVF_NO_ARGS;
	ev->ret = ret;
	len = sizeof(*ev) + nargs * sizeof(u64);
	if (unlikely(caplen)) {
		memcpy(sc_first_capture(ev), eb->data, caplen);
		ev->ncap = eb->ncap;
		len += caplen;
	}
	if (unlikely(info.flags & SC_NR_EXIT_CAPTURE) && !no_args)
		len += capture_exit_args(ev, (void *)((char *)sc_first_capture(ev) + caplen),
					 sc_desc_of(compat, nr), info.exit_caps,
					 snaplen, compat);
	ev->exit_ns = sc_clock();
	if (enter_ns) {
		ev->enter_ns = enter_ns;
	} else {
		ev->enter_ns = ev->exit_ns;
		ev->flags |= SC_EVF_NO_ENTRY;
	}
	ev->len = ALIGN(len, 8);
	sc_ring_commit(r, ev->len);
	sc_writer_notify();
release:
	if (s)
		sc_slot_release(s);
}

static noinline void exit_slow(const struct sc_filter *f,
			       struct pt_regs *regs, long ret,
			       bool task_selected)
{
	bool compat = in_compat_syscall();
	long nr = syscall_get_nr(current, regs);
	struct sc_slot *s;

	if (task_selected && sc_syscall_selected(f, compat, nr)) {
		record_exit(regs, nr, compat, ret);
		return;
	}
	/* an exec of a task that still does not match: forget its entry */
	s = sc_slot_find(current->pid);
	if (s)
		sc_slot_release(s);
}

/*
 * The exit of a plain call (native, no user memory to copy, see the
 * entry's checks): the event is the head and the argument values. Returns
 * false, having done nothing, when the ring must wrap or is past half
 * full (the writer may need waking, the event may not fit): exit_slow()'s
 * job.
 */
static __always_inline bool record_plain(struct sc_slot *s,
					 struct pt_regs *regs, long ret,
					 bool counter)
{
	struct sc_ring *r = this_cpu_ptr(sc_rings);
	struct sc_event *ev;
	u32 len;

	ev = sc_ring_reserve_quiet(r, SC_EVENT_ROOM);
	if (unlikely(!ev))
		return false;
	fill_header(ev, s->nr, false, s->nargs);
	get_native_args(regs, ev->args, s->nargs);
	ev->ret = ret;
	ev->enter_ns = s->enter_ns;
	ev->exit_ns = sc_clock_read(counter);
	len = sizeof(*ev) + s->nargs * sizeof(u64);
	ev->len = len;
	sc_ring_commit(r, len);
	smp_store_release(&s->tid, 0);	/* a plain entry has no entry buffer */
	return true;
}

/*
 * The capture of a call whose only exit capture is a string (openat's and
 * newfstatat's path, six of nginx's thirteen calls a request):
 * capture_exit_args() without its loop, its dispatch on the kind and its
 * saved registers, about 60 instructions of its 80: with the kind a
 * constant, sc_capture_exit_arg() folds to its string case. Returns the
 * capture's bytes.
 */
static __always_inline u32 capture_one_path(struct sc_event *ev, u8 caps,
					    u32 snaplen)
{
	int n = sc_capture_exit_arg(sc_first_capture(ev), SK_STR, __ffs(caps),
				    ev->args, ev->ret, snaplen, false);

	if (n < 0)
		return 0;
	ev->ncap = 1;
	return sc_capture_size(n);
}

/*
 * The exit of a native call that copies user memory at exit only (read's
 * buffer, openat's path), after the fast entry: record_exit() without
 * what such a call never needs (the ABI, an entry buffer, the syscall
 * filter, a missing entry). About a quarter of nginx's calls; the general
 * exit cost them 200 instructions before their copies. Falls back to it
 * when the ring must wrap or is past half full, as record_plain() does.
 */
static noinline void exit_capture(const struct sc_filter *f,
				  struct pt_regs *regs, long ret,
				  struct sc_slot *s)
{
	struct sc_nr_info info = sc_nr_info(false, s->nr);
	u32 snaplen = READ_ONCE(sc_snaplen);
	struct sc_ring *r = this_cpu_ptr(sc_rings);
	struct sc_event *ev;
	u32 len;

	ev = sc_ring_reserve_quiet(r, ALIGN(SC_EVENT_ROOM + info.exit_fixed +
					    info.exit_snaps *
					    sc_capture_size(snaplen + 1), 8));
	if (unlikely(!ev)) {
		exit_slow(f, regs, ret, true);
		return;
	}
	fill_header(ev, s->nr, false, s->nargs);
	get_native_args(regs, ev->args, s->nargs);
	ev->ret = ret;
	len = sizeof(*ev) + s->nargs * sizeof(u64);
	if (info.flags & SC_NR_EXIT_ONE_PATH)
		len += capture_one_path(ev, info.exit_caps, snaplen);
	else
		len += capture_exit_args(ev, sc_first_capture(ev),
					 sc_desc_of(false, s->nr),
					 info.exit_caps, snaplen, false);
	ev->enter_ns = s->enter_ns;
	ev->exit_ns = sc_clock();
	ev->len = ALIGN(len, 8);
	sc_ring_commit(r, ev->len);
	smp_store_release(&s->tid, 0);	/* the fast entry keeps no entry buffer */
	sc_writer_notify();
}

static __always_inline void exit_selected(const struct sc_filter *f,
					  struct pt_regs *regs, long ret,
					  bool task_selected, bool counter)
{
	pid_t tid = current->pid;
	struct sc_slot *s = sc_slot_of(tid);

	/* sc_slot_find() without its NULL: this path has no use for one */
	if (likely(task_selected && READ_ONCE(s->tid) == tid &&
		   !f->by_syscall)) {
		if (likely(s->exit_path == SC_EXIT_PLAIN)) {
			if (record_plain(s, regs, ret, counter)) {
				sc_writer_notify();
				return;
			}
		} else if (s->exit_path == SC_EXIT_CAPTURE) {
			exit_capture(f, regs, ret, s);
			return;
		}
	}
	exit_slow(f, regs, ret, task_selected);
}

/* The probes, for one clock. */
#define SC_PROBES(clk, counter)						\
static noinline void notrace enter_selected_##clk(				\
	const struct sc_filter *f, struct pt_regs *regs, long id,	\
	bool task_selected)						\
{									\
	enter_selected(f, regs, id, task_selected, counter);		\
}									\
static noinline void notrace exit_selected_##clk(				\
	const struct sc_filter *f, struct pt_regs *regs, long ret,	\
	bool task_selected)						\
{									\
	exit_selected(f, regs, ret, task_selected, counter);		\
}									\
static void notrace probe_sys_enter_##clk(void *data,			\
					  struct pt_regs *regs, long id) \
{									\
	probe_filter(regs, id, false, enter_selected_##clk);		\
}									\
static void notrace probe_sys_exit_##clk(void *data,			\
					 struct pt_regs *regs, long ret) \
{									\
	probe_filter(regs, ret, true, exit_selected_##clk);		\
}

SC_PROBES(counter, true)
SC_PROBES(ktime, false)

/*
 * A successful exec, in the task itself once it has its new comm and, if
 * a thread other than the leader exec'd, the leader's thread id
 * (de_thread() swaps them). The exit probe looks for the call's slot under
 * the new id, and only if the new image is one the filter selects (the
 * exit of an unselected task checks failed execs alone): so the slot
 * follows the thread to its new id, or goes free. The scheduler's
 * tracepoints call their probes with preemption disabled, on every kernel.
 */
static void notrace probe_sched_exec(void *data, struct task_struct *p,
				     pid_t old_pid, struct linux_binprm *bprm)
{
	const struct sc_filter *f = rcu_dereference_sched(sc_active_filter);
	struct sc_slot *s = sc_slot_find(old_pid);

	if (!s)
		return;
	if (!sc_task_selected(f, p))
		sc_slot_release(s);
	else if (p->pid != old_pid)
		sc_slot_move(s, p->pid);
}

/*
 * A thread's end frees the slot it may still hold: a call whose exit the
 * filter no longer selected (a PR_SET_NAME away from the filter's name, a
 * filter changed at run time), with its entry buffer.
 */
static void notrace probe_sched_exit(void *data, struct task_struct *p)
{
	struct sc_slot *s = sc_slot_find(p->pid);

	if (s)
		sc_slot_release(s);
}

static struct tracepoint *tp_sched_exec;
static struct tracepoint *tp_sched_exit;

static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		tp_sys_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		tp_sys_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exec"))
		tp_sched_exec = tp;
	else if (!strcmp(tp->name, "sched_process_exit"))
		tp_sched_exit = tp;
}

/*
 * The probes in the order they are registered, each before those that
 * depend on it: the slots' cleanup before the syscall probes claim any,
 * the exit before the entry (an exit without its entry is recorded
 * without a latency, an entry without its exit would hold its slot).
 */
static struct {
	struct tracepoint *tp;
	void *probe;
} hooks[4];

static void unregister_hooks(int n)
{
	while (n--)
		tracepoint_probe_unregister(hooks[n].tp, hooks[n].probe, NULL);
	tracepoint_synchronize_unregister();
}

int sc_probes_register(void)
{
	bool counter = static_key_enabled(&sc_clock_is_counter);
	int i, err;

	for_each_kernel_tracepoint(find_tracepoint, NULL);
	if (!tp_sys_enter || !tp_sys_exit) {
		pr_err(MY_SYSDIG ": raw syscall tracepoints not found (CONFIG_HAVE_SYSCALL_TRACEPOINTS?)\n");
		return -ENOENT;
	}
	if (!tp_sched_exec || !tp_sched_exit) {
		pr_err(MY_SYSDIG ": sched_process_exec/exit tracepoints not found\n");
		return -ENOENT;
	}
	hooks[0].tp = tp_sched_exit;
	hooks[0].probe = probe_sched_exit;
	hooks[1].tp = tp_sched_exec;
	hooks[1].probe = probe_sched_exec;
	hooks[2].tp = tp_sys_exit;
	hooks[2].probe = counter ? probe_sys_exit_counter : probe_sys_exit_ktime;
	hooks[3].tp = tp_sys_enter;
	hooks[3].probe = counter ? probe_sys_enter_counter :
				   probe_sys_enter_ktime;
	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		err = tracepoint_probe_register(hooks[i].tp, hooks[i].probe,
						NULL);
		if (err) {
			unregister_hooks(i);
			return err;
		}
	}
	return 0;
}

/* Returns once no probe is running any more on any CPU. */
void sc_probes_unregister(void)
{
	unregister_hooks(ARRAY_SIZE(hooks));
}
