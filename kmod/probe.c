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
 * RCU-sched, so each probe disables preemption itself around both.
 */
#include <linux/module.h>
#include <linux/tracepoint.h>
#include <linux/compat.h>
#include <linux/string.h>
#include <asm/syscall.h>
#include "my_sysdig.h"
#include "syscalls/handlers.h"

static struct tracepoint *tp_sys_enter;
static struct tracepoint *tp_sys_exit;

static bool selected(bool compat, long nr)
{
	const struct sc_filter *f = rcu_dereference_sched(sc_active_filter);

	return f && sc_task_selected(f, current) &&
	       sc_syscall_selected(f, compat, nr);
}

/* Bytes to reserve: the event plus the largest capture of each argument. */
static u32 event_max_len(const struct sc_desc *desc, u32 entry_caplen,
			 u32 snaplen)
{
	u32 len = sizeof(struct sc_event) + entry_caplen;
	int i;

	for (i = 0; desc && i < desc->nargs; i++)
		if (sc_kind_captures(desc->kinds[i]) &&
		    !sc_kind_at_entry(desc->kinds[i]))
			len += sc_kind_capture_max(desc->kinds[i], snaplen);
	return ALIGN(len, 8);
}

static void fill_header(struct sc_event *ev, long nr, bool compat,
			const u64 *args)
{
	ev->type = SC_EV_SYSCALL;
	ev->flags = compat ? SC_EVF_COMPAT : 0;
	ev->nr = nr;
	ev->ncap = 0;
	ev->pid = current->tgid;
	ev->tid = current->pid;
	memcpy(ev->args, args, sizeof(ev->args));
	memcpy(ev->comm, current->comm, TASK_COMM_LEN);
}

static u32 capture_exit_args(struct sc_event *ev, const struct sc_desc *desc,
			     u32 snaplen, bool compat)
{
	struct sc_capture *cap = (void *)((char *)(ev + 1));
	u32 used = 0;
	int i;

	/* entry captures were copied first; skip past them */
	for (i = 0; i < ev->ncap; i++) {
		used += sc_capture_size(cap->len);
		cap = sc_next_capture(cap);
	}
	for (i = 0; desc && i < desc->nargs; i++) {
		u8 kind = desc->kinds[i];

		if (!sc_kind_captures(kind) || sc_kind_at_entry(kind))
			continue;
		if (!sc_capture_exit_arg(cap, kind, i, ev->args, ev->ret,
					 snaplen, compat) &&
		    !(cap->flags & SC_CAPF_CUT))
			continue;
		used += sc_capture_size(cap->len);
		ev->ncap++;
		cap = sc_next_capture(cap);
	}
	return used;
}

static void record_no_return(struct pt_regs *regs, long nr, bool compat)
{
	unsigned long args[SC_MAX_ARGS];
	struct sc_ring *r = sc_ring_of(smp_processor_id());
	u32 len = event_max_len(NULL, 0, 0);
	struct sc_event *ev;
	u64 now = ktime_get_ns();

	ev = sc_ring_reserve(r, len);
	if (!ev)
		return;
	syscall_get_arguments(current, regs, args);
	fill_header(ev, nr, compat, (u64 *)args);
	ev->flags |= SC_EVF_NO_RETURN;
	ev->enter_ns = now;
	ev->exit_ns = now;
	ev->ret = 0;
	ev->len = len;
	sc_ring_commit(r, len);
}

static void probe_sys_enter(void *data, struct pt_regs *regs, long id)
{
	bool compat = in_compat_syscall();

	preempt_disable_notrace();
	if (!selected(compat, id)) {
		/*
		 * An exec can make a task match (its comm changes): keep what
		 * the exit will need, argv above all, which the exec replaces.
		 */
		if (unlikely(sc_is_exec(compat, id)))
			sc_on_enter(regs, id, compat, sc_desc_of(compat, id),
				    ktime_get_ns());
		goto out;
	}
	if (unlikely(sc_never_returns(compat, id)))
		record_no_return(regs, id, compat);
	else
		sc_on_enter(regs, id, compat, sc_desc_of(compat, id),
			    ktime_get_ns());
out:
	preempt_enable_notrace();
}

static void probe_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	bool compat = in_compat_syscall();
	struct sc_entry_state st;
	const struct sc_desc *desc;
	unsigned long args[SC_MAX_ARGS];
	struct sc_ring *r;
	struct sc_event *ev;
	u32 snaplen, len;
	long nr;

	preempt_disable_notrace();
	/*
	 * The entry's number wins: rt_sigreturn and execve have replaced the
	 * registers by now.
	 */
	nr = syscall_get_nr(current, regs);
	if (!selected(compat, nr)) {
		/* an exec of a task that still does not match: forget its entry */
		if (unlikely(sc_is_exec(compat, nr) || sc_is_exec(!compat, nr)) &&
		    sc_take_entry(current->pid, &st))
			sc_release_entry(&st);
		goto out;
	}
	if (sc_take_entry(current->pid, &st)) {
		/* execve may have switched the task to the other ABI */
		nr = st.nr;
		compat = st.compat;
	} else if (ret == 0 && sc_is_fork(compat, nr)) {
		goto out;	/* a new child's first return: its parent has the call */
	}
	/*
	 * A 32-bit result is 32 bits: arm64 sign-extends it, x86 does not.
	 * Keep errors negative and everything else (addresses) unsigned.
	 */
	if (compat && ((s32)ret >= 0 || (s32)ret < -MAX_ERRNO))
		ret = (u32)ret;
	else if (compat)
		ret = (s32)ret;
	desc = sc_desc_of(compat, nr);
	if (desc && !st.has_args && sc_desc_needs_entry(desc))
		desc = NULL;	/* its registers were replaced: show no args */
	snaplen = READ_ONCE(sc_snaplen);
	len = event_max_len(desc, st.caplen, snaplen);

	r = sc_ring_of(smp_processor_id());
	ev = sc_ring_reserve(r, len);
	if (!ev)
		goto release;
	if (st.has_args) {
		fill_header(ev, nr, compat, st.args);
	} else {
		syscall_get_arguments(current, regs, args);
		fill_header(ev, nr, compat, (u64 *)args);
	}
	if (!desc && sc_desc_of(compat, nr))
		ev->flags |= SC_EVF_NO_ARGS;
	ev->ret = ret;
	ev->enter_ns = st.enter_ns;
	if (!st.enter_ns)
		ev->flags |= SC_EVF_NO_ENTRY;
	if (st.caplen) {
		memcpy(ev + 1, st.captures, st.caplen);
		ev->ncap = st.ncap;
	}
	len = sizeof(*ev) + capture_exit_args(ev, desc, snaplen, compat);
	ev->exit_ns = ktime_get_ns();
	if (!st.enter_ns)
		ev->enter_ns = ev->exit_ns;
	ev->len = ALIGN(len, 8);
	sc_ring_commit(r, ev->len);
release:
	sc_release_entry(&st);
out:
	preempt_enable_notrace();
}

static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		tp_sys_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		tp_sys_exit = tp;
}

int sc_probes_register(void)
{
	int err;

	for_each_kernel_tracepoint(find_tracepoint, NULL);
	if (!tp_sys_enter || !tp_sys_exit) {
		pr_err(MY_SYSDIG ": raw syscall tracepoints not found (CONFIG_HAVE_SYSCALL_TRACEPOINTS?)\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(tp_sys_exit, probe_sys_exit, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(tp_sys_enter, probe_sys_enter, NULL);
	if (err) {
		tracepoint_probe_unregister(tp_sys_exit, probe_sys_exit, NULL);
		tracepoint_synchronize_unregister();
	}
	return err;
}

/* Returns once no probe is running any more on any CPU. */
void sc_probes_unregister(void)
{
	tracepoint_probe_unregister(tp_sys_enter, probe_sys_enter, NULL);
	tracepoint_probe_unregister(tp_sys_exit, probe_sys_exit, NULL);
	tracepoint_synchronize_unregister();
}
