/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared by the capture, transport and rendering parts. */
#ifndef MY_SYSDIG_H
#define MY_SYSDIG_H

#include <linux/types.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include "event.h"

#define MY_SYSDIG "my_sysdig"
#define SC_MAX_NAMES 64
#define SC_MAX_SNAPLEN 4096
#define SC_MIN_MAX_SIZE (64 * 1024)

/* --- filter.c: module parameters that select what is recorded --- */
struct sc_filter {
	pid_t pid;			/* 0: any */
	pid_t exclude_pid;		/* 0: none */
	unsigned int nnames;
	char names[SC_MAX_NAMES][TASK_COMM_LEN];	/* zero padded */
	bool by_syscall;		/* only the syscalls below */
	unsigned long *native_nrs;	/* bitmap over native numbers */
	unsigned long *compat_nrs;	/* bitmap over compat numbers */
	struct rcu_head rcu;
};

extern struct sc_filter __rcu *sc_active_filter;
extern unsigned int sc_snaplen;
extern unsigned int sc_flush_ms;
extern unsigned long sc_max_size;
extern unsigned int sc_ring_kb;
extern char *sc_path;
extern bool sc_format_binary;

bool sc_task_selected(const struct sc_filter *f, struct task_struct *t);
bool sc_syscall_selected(const struct sc_filter *f, bool compat, long nr);
void sc_filter_free_all(void);
int sc_filter_publish(void);

/* --- syscalls/table.c: names and argument descriptions --- */
enum sc_arg_kind {
	SK_NONE = 0,
	SK_INT,		/* int, decimal */
	SK_UINT,	/* unsigned int, decimal */
	SK_LONG,	/* long, decimal */
	SK_ULONG,	/* size_t and friends, decimal */
	SK_HEX,		/* flag words, hex */
	SK_PTR,		/* user pointer: hex or NULL */
	SK_OCT,		/* file mode */
	SK_FD,		/* int file descriptor */
	SK_DIRFD,	/* like SK_FD, AT_FDCWD by name */
	SK_STR,		/* NUL-terminated user string, read at exit */
	SK_STR_OUT,	/* string the kernel wrote, read at exit on success */
	SK_STR_ENTRY,	/* string read at entry (the call replaces memory) */
	SK_ARGV,	/* NULL-terminated array of strings, read at entry */
	SK_BUF_IN,	/* bytes the caller passed, length in arg len_arg */
	SK_BUF_RET,	/* bytes the kernel wrote, length = result */
	SK_TIMESPEC,	/* struct __kernel_timespec in */
	SK_TIMESPEC_INOUT, /* the same, updated by the call: read at entry */
	SK_FLAGS,	/* flag word, named by the arg's symbol table */
	SK_ENUM,	/* one value, named by the arg's symbol table */
	SK_CLONE_FLAGS,	/* clone(): CLONE_* bits and the exit signal */
	SK_UID,		/* uid_t/gid_t: -1 means "unchanged" */
	SK_SOCKADDR,	/* struct sockaddr in, length in the next argument */
	SK_SOCKADDR_OUT, /* struct sockaddr out, length at *next argument */
	SK_FDPAIR,	/* int[2] out (pipe, socketpair) */
	SK_ID_OUT,	/* one uid/gid out (getresuid) */
	SK_RLIMIT,	/* struct rlimit in */
	SK_RLIMIT_OUT,	/* struct rlimit out */
	SK_CLONE_ARGS,	/* struct clone_args in */
	SK_OPEN_HOW,	/* struct open_how in */
	SK_CAP_HEADER,	/* struct __user_cap_header_struct in */
	SK_CAP_DATA,	/* struct __user_cap_data_struct[2] in */
	SK_URING_PARAMS, /* struct io_uring_params, filled by the call */
};

struct sc_symtab;

struct sc_desc {
	u8 nargs;
	bool decoded;
	u8 kinds[SC_MAX_ARGS];
	const char *names[SC_MAX_ARGS];
	const struct sc_symtab *syms[SC_MAX_ARGS];
};

const char *sc_name(bool compat, long nr);
long sc_nr_by_name(bool compat, const char *name);
unsigned int sc_table_size(bool compat);
const struct sc_desc *sc_desc_of(bool compat, long nr);

/*
 * Inline, from numbers looked up at init: the probes ask on every syscall,
 * the exec check even for tasks the filter does not select.
 */
extern long sc_exit_nrs[2][2];
extern long sc_fork_nrs[2][4];
extern long sc_exec_nrs[2][2];

static inline bool sc_never_returns(bool compat, long nr)
{
	return nr == sc_exit_nrs[compat][0] || nr == sc_exit_nrs[compat][1];
}

static inline bool sc_is_fork(bool compat, long nr)
{
	const long *f = sc_fork_nrs[compat];

	return nr == f[0] || nr == f[1] || nr == f[2] || nr == f[3];
}

static inline bool sc_is_exec(bool compat, long nr)
{
	return nr == sc_exec_nrs[compat][0] || nr == sc_exec_nrs[compat][1];
}
int sc_table_init(void);
const char *sc_arch_name(void);
const char *sc_compat_abi_name(void);

/* --- inflight.c: what a thread's entry left for its exit --- */
int sc_inflight_init(void);
void sc_inflight_exit(void);
void sc_on_enter(struct pt_regs *regs, long nr, bool compat,
		 const struct sc_desc *desc, u64 now);
struct sc_entry_state {
	u64 enter_ns;
	long nr;
	bool compat;
	const char *captures;	/* sc_capture records copied at entry */
	u32 caplen;
	u32 ncap;
	bool has_args;
	u64 args[SC_MAX_ARGS];
	void *slot;
};
bool sc_desc_needs_entry(const struct sc_desc *desc);
bool sc_take_entry(pid_t tid, struct sc_entry_state *st);
void sc_release_entry(struct sc_entry_state *st);
int sc_capture_string(char *dst, unsigned long uptr, u32 max, u8 *flags);
int sc_capture_argv(char *dst, unsigned long uptr, u32 max, u32 snaplen,
		    bool compat, u8 *flags);

/* --- ring.c: per-CPU single-producer single-consumer byte rings --- */
struct sc_ring {
	char *buf;
	u32 size;		/* power of two */
	u32 mask;
	u64 head;		/* written by the producer (this CPU) */
	u64 resv;		/* producer-private: start of the reserved event */
	u64 dropped;		/* producer: events that did not fit */
	u64 tail ____cacheline_aligned;	/* written by the consumer */
	u64 cursor;		/* consumer-private read position */
	u64 dropped_seen;	/* consumer: drops already reported */
};

int sc_rings_init(unsigned int bytes_per_cpu);
void sc_rings_exit(void);
struct sc_ring *sc_ring_of(int cpu);
void *sc_ring_reserve(struct sc_ring *r, u32 len);
void sc_ring_commit(struct sc_ring *r, u32 len);
struct sc_event *sc_ring_peek(struct sc_ring *r, u64 limit_head);
void sc_ring_consume(struct sc_ring *r, struct sc_event *ev);
void sc_ring_release(struct sc_ring *r);

/* --- probe.c --- */
int sc_probes_register(void);
void sc_probes_unregister(void);

/* --- render.c: one text line per event --- */
struct sc_out {
	char *buf;
	size_t len;
	size_t size;
};
void sc_render_event(struct sc_out *o, const struct sc_event *ev,
		     s64 real_offset);
size_t sc_render_bound(void);
void sc_render_header(struct sc_out *o);
void sc_render_tables(struct sc_out *o);

/* --- binary.c: the binary format's encoder (binfmt.h) --- */
int sc_bin_init(void);
void sc_bin_exit(void);
bool sc_bin_has_room(u32 ev_len);
void sc_bin_add_event(const struct sc_event *ev, s64 real_offset);
void sc_bin_add_drop(u16 reason, u32 cpu, u64 count, s64 ts);
u32 sc_bin_block_size(void);
u32 sc_bin_block_syscalls(void);
u32 sc_bin_discard(void);
void sc_bin_emit_block(struct sc_out *o);
void sc_bin_file_header(struct sc_out *o);
void sc_out_printf(struct sc_out *o, const char *fmt, ...) __printf(2, 3);
void sc_out_str(struct sc_out *o, const char *s);
void sc_out_u64(struct sc_out *o, u64 v);
void sc_out_s64(struct sc_out *o, s64 v);
void sc_out_hex(struct sc_out *o, u64 v);

/* --- writer.c: the kernel thread that drains rings to the file --- */
int sc_writer_start(void);
void sc_writer_stop(void);

/* --- stats.c --- */
struct sc_stats {
	atomic64_t written;
	atomic64_t dropped_ring;
	atomic64_t dropped_cap;
	atomic64_t dropped_write;	/* lost to write errors (disk full) */
	atomic64_t bytes;
	atomic64_t write_errors;
	atomic64_t entry_missed;	/* no free in-flight slot */
};
extern struct sc_stats sc_stats;
int sc_stats_init(void);
void sc_stats_exit(void);

#endif
