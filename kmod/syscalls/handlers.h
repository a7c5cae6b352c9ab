/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The argument kinds of handlers-table.h, each in two halves:
 *  - capture, run by the probe in the traced task: copies the user memory a
 *    kind needs into the event, without sleeping (copies run with page
 *    faults disabled and fail instead of faulting pages in);
 *  - render, run by the writer thread: prints one argument as text in the
 *    grammar of docs/record-format.md.
 */
#ifndef MY_SYSDIG_HANDLERS_H
#define MY_SYSDIG_HANDLERS_H

#include <linux/uaccess.h>
#include <linux/fcntl.h>
#include <linux/time64.h>
#include <linux/time32.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/un.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/capability.h>
#include <uapi/linux/sched.h>
#include <uapi/linux/io_uring.h>
#include <uapi/linux/openat2.h>
#include "my_sysdig.h"
#include "symbols.h"

/* Kinds whose value is a capture of user memory, and how much at most. */
static inline u32 sc_kind_struct_size(u8 kind, bool compat)
{
	switch (kind) {
	case SK_TIMESPEC:
	case SK_TIMESPEC_INOUT:
		return compat ? sizeof(struct old_timespec32) :
				sizeof(struct __kernel_timespec);
	case SK_SOCKADDR:
	case SK_SOCKADDR_OUT:
		return sizeof(struct sockaddr_storage);
	case SK_FDPAIR:
		return 2 * sizeof(int);
	case SK_ID_OUT:
		return sizeof(u32);
	case SK_RLIMIT:
	case SK_RLIMIT_OUT:
		return compat ? 2 * sizeof(u32) : sizeof(struct rlimit);
	case SK_CLONE_ARGS:
		return CLONE_ARGS_SIZE_VER0;
	case SK_OPEN_HOW:
		return sizeof(struct open_how);
	case SK_CAP_HEADER:
		return sizeof(struct __user_cap_header_struct);
	case SK_CAP_DATA:
		return 2 * sizeof(struct __user_cap_data_struct);
	case SK_URING_PARAMS:
		return 6 * sizeof(u32);
	default:
		return 0;
	}
}

static inline bool sc_kind_captures(u8 kind)
{
	switch (kind) {
	case SK_STR:
	case SK_STR_OUT:
	case SK_STR_ENTRY:
	case SK_ARGV:
	case SK_BUF_IN:
	case SK_BUF_RET:
		return true;
	default:
		return sc_kind_struct_size(kind, false) > 0;
	}
}

/* Captured at syscall entry, because the call itself replaces the memory. */
static inline bool sc_kind_at_entry(u8 kind)
{
	return kind == SK_STR_ENTRY || kind == SK_ARGV ||
	       kind == SK_TIMESPEC_INOUT;
}

/* Shown as `data=` after `res=` rather than in place. */
static inline bool sc_kind_is_data(u8 kind)
{
	return kind == SK_BUF_IN || kind == SK_BUF_RET;
}

/* Largest capture a kind can add to an event, header included. */
static inline u32 sc_kind_capture_max(u8 kind, u32 snaplen)
{
	u32 size = sc_kind_struct_size(kind, false);

	/* strings need room for the byte that tells a cut from a fit */
	return sc_capture_size(size ? size : snaplen + 1);
}

static inline int sc_copy_in(void *dst, unsigned long uptr, u32 n)
{
	return sc_copy_user(dst, uptr, n) ? -EFAULT : n;
}

/*
 * The int a user pointer points to (accept's *addrlen), or 0 when it
 * cannot be read. Out of line: an address-taken local in the capture
 * loop put a stack-protector check on every capturing exit.
 */
static noinline int sc_read_user_int(unsigned long uptr)
{
	int v;

	return uptr && !sc_copy_user(&v, uptr, sizeof(v)) ? v : 0;
}

/*
 * Exit-time capture of argument @i into @cap. Returns the bytes kept, or
 * -1 when there is nothing to show (a NULL pointer, a fault, a failed
 * call's output). A string may keep 0 bytes: the empty path of
 * newfstatat(fd, "", AT_EMPTY_PATH), shown as "", as strace does, and a
 * string or buffer cut before its first byte (snaplen=0).
 */
static __always_inline int sc_capture_exit_arg(struct sc_capture *cap,
					       u8 kind, int i, const u64 *args,
					       s64 ret, u32 snaplen,
					       bool compat)
{
	unsigned long uptr = args[i];
	u32 size = sc_kind_struct_size(kind, compat);
	u64 want;
	int n, len;

	*cap = (struct sc_capture) { .arg = i };
	if (!uptr)
		return -1;

	switch (kind) {
	case SK_STR_OUT:
		if (ret < 0)
			return -1;
		fallthrough;
	case SK_STR:
		n = sc_capture_string(cap->data, uptr, snaplen, &cap->flags);
		break;
	case SK_BUF_IN:
	case SK_BUF_RET:
		want = kind == SK_BUF_RET ? (ret > 0 ? ret : 0) : args[i + 1];
		if (!want)
			return -1;
		n = min_t(u64, want, snaplen);
		if (want > snaplen)
			cap->flags |= SC_CAPF_CUT;
		n = sc_copy_in(cap->data, uptr, n);
		break;
	case SK_SOCKADDR:
		len = args[i + 1];
		if (len <= 0)
			return -1;
		n = sc_copy_in(cap->data, uptr, min_t(u32, len, size));
		break;
	case SK_SOCKADDR_OUT:
		if (ret < 0)
			return -1;
		len = sc_read_user_int(args[i + 1]);
		if (len <= 0)
			return -1;
		n = sc_copy_in(cap->data, uptr, min_t(u32, len, size));
		break;
	case SK_FDPAIR:
	case SK_ID_OUT:
	case SK_RLIMIT_OUT:
	case SK_URING_PARAMS:
		if (ret < 0)
			return -1;
		fallthrough;
	default:
		if (!size)
			return -1;
		n = sc_copy_in(cap->data, uptr, size);
	}
	if (n < 0)
		return -1;
	cap->len = n;
	return n;
}

/* --- rendering --- */

/* Bytes that stand for themselves inside a quoted string (render.c). */
extern const u8 sc_plain_byte[256];

#define SC_BYTES(b) (0x0101010101010101ULL * (b))

/* Nonzero when one of the word's bytes is 0. */
static __always_inline u64 sc_zero_byte(u64 v)
{
	return (v - SC_BYTES(1)) & ~v & SC_BYTES(0x80);
}

/*
 * Whether all eight bytes of @w stand for themselves, as sc_plain_byte
 * has it: 0x20-0x7e but '"' and '\\'. Each test is exact for whether some
 * byte matches (a borrow only crosses from a byte that does).
 */
static __always_inline bool sc_plain_word(u64 w)
{
	return !((w & SC_BYTES(0x80)) |
		 ((w - SC_BYTES(0x20)) & ~w & SC_BYTES(0x80)) |
		 sc_zero_byte(w ^ SC_BYTES(0x7f)) |
		 sc_zero_byte(w ^ SC_BYTES('"')) |
		 sc_zero_byte(w ^ SC_BYTES('\\')));
}

static inline void sc_out_quoted(struct sc_out *o, const char *s, u32 len,
				 bool cut)
{
	static const char hex[] = "0123456789abcdef";
	char *p = o->buf + o->len;
	char *end = o->buf + o->size - 8;	/* room for `"...` and NUL */
	u32 i = 0;

	*p++ = '"';
	while (i < len && p < end - 4) {
		u32 stop = min(len, i + 8);
		u64 w;

		/*
		 * Captured bytes are mostly text: eight plain ones are tested
		 * and copied as one word (about 3 instructions a byte against
		 * 10). A word that is not plain goes byte by byte.
		 */
		if (i + 8 <= len && p + 8 <= end - 4) {
			memcpy(&w, s + i, 8);
			if (sc_plain_word(w)) {
				memcpy(p, &w, 8);
				p += 8;
				i += 8;
				continue;
			}
		}
		for (; i < stop && p < end - 4; i++) {
			unsigned char c = s[i];

			if (likely(sc_plain_byte[c])) {
				*p++ = c;
				continue;
			}
			*p++ = '\\';
			switch (c) {
			case '"':
			case '\\':
				*p++ = c;
				break;
			case '\n':
				*p++ = 'n';
				break;
			case '\r':
				*p++ = 'r';
				break;
			case '\t':
				*p++ = 't';
				break;
			default:
				*p++ = 'x';
				*p++ = hex[c >> 4];
				*p++ = hex[c & 15];
			}
		}
	}
	*p++ = '"';
	if (cut || i < len) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p = '\0';
	o->len = p - o->buf;
}

static inline void sc_render_pointer(struct sc_out *o, u64 v)
{
	if (v)
		sc_out_hex(o, v);
	else
		sc_out_lit(o, "NULL");
}

/*
 * Appends a name of @len bytes, a word or two at a time (the last copy
 * overlapping the one before), reading nothing past its end: memcpy's
 * string instructions cost one per byte under QEMU's -icount, and strlen
 * another.
 */
static __always_inline void sc_out_name(struct sc_out *o, const char *s,
					u32 len)
{
	char *d = o->buf + o->len;
	u32 i;

	if (len >= 8) {
		for (i = 0; i + 8 < len; i += 8)
			put_unaligned(get_unaligned((const u64 *)(s + i)),
				      (u64 *)(d + i));
		put_unaligned(get_unaligned((const u64 *)(s + len - 8)),
			      (u64 *)(d + len - 8));
	} else if (len >= 4) {
		put_unaligned(get_unaligned((const u32 *)s), (u32 *)d);
		put_unaligned(get_unaligned((const u32 *)(s + len - 4)),
			      (u32 *)(d + len - 4));
	} else {
		for (i = 0; i < len; i++)
			d[i] = s[i];
	}
	o->len += len;
}

/* A flag word as NAME|NAME|0xrest; see struct sc_sym for the matching. */
static inline void sc_render_flags(struct sc_out *o,
				   const struct sc_symtab *t, u64 v)
{
	u64 used = 0;
	bool first = true;
	unsigned int i;

	if (!v) {
		if (t->zero)
			sc_out_name(o, t->zero, t->zero_len);
		else
			sc_out_lit(o, "0");
		return;
	}
	for (i = 0; i < t->count; i++) {
		const struct sc_sym *s = &t->syms[i];

		if (!s->mask || (s->mask & used) || (v & s->mask) != s->value)
			continue;
		if (!first)
			sc_out_lit(o, "|");
		sc_out_name(o, s->name, s->len);
		used |= s->mask;
		first = false;
	}
	if (v & ~used) {
		if (!first)
			sc_out_lit(o, "|");
		sc_out_hex(o, v & ~used);
	}
}

static inline void sc_render_enum(struct sc_out *o, const struct sc_symtab *t,
				  s64 v)
{
	unsigned int i;

	if (!v && t->zero) {
		sc_out_name(o, t->zero, t->zero_len);
		return;
	}
	for (i = 0; i < t->count; i++) {
		if (t->syms[i].value == (u64)v) {
			sc_out_name(o, t->syms[i].name, t->syms[i].len);
			return;
		}
	}
	sc_out_s64(o, v);
}

static inline void sc_render_clone_flags(struct sc_out *o, u64 v)
{
	u64 sig = v & CSIGNAL;

	if (v & ~CSIGNAL)
		sc_render_flags(o, &sym_clone, v & ~CSIGNAL);
	if (!sig && (v & ~CSIGNAL))
		return;
	if (v & ~CSIGNAL)
		sc_out_printf(o, "|");
	sc_render_enum(o, &sym_signal, sig);
}

static inline void sc_render_argv(struct sc_out *o, const struct sc_capture *cap)
{
	const char *p = cap->data, *end = cap->data + cap->len;
	struct sc_argv_item item;
	bool first = true;

	sc_out_printf(o, "[");
	while (p + sizeof(item) <= end) {
		memcpy(&item, p, sizeof(item));
		p += sizeof(item);
		if (p + item.len > end)
			break;
		sc_out_printf(o, first ? "" : ", ");
		sc_out_quoted(o, p, item.len, item.flags & SC_CAPF_CUT);
		p += item.len;
		first = false;
	}
	if (cap->flags & SC_CAPF_CUT)
		sc_out_printf(o, first ? "..." : ", ...");
	sc_out_printf(o, "]");
}

static inline void sc_render_timespec(struct sc_out *o,
				      const struct sc_capture *cap, bool compat)
{
	struct __kernel_timespec ts;
	struct old_timespec32 ts32;

	if (compat) {
		memcpy(&ts32, cap->data, sizeof(ts32));
		ts.tv_sec = ts32.tv_sec;
		ts.tv_nsec = ts32.tv_nsec;
	} else {
		memcpy(&ts, cap->data, sizeof(ts));
	}
	sc_out_printf(o, "{tv_sec=%lld, tv_nsec=%lld}", (long long)ts.tv_sec,
		      (long long)ts.tv_nsec);
}

static inline void sc_render_sockaddr(struct sc_out *o,
				      const struct sc_capture *cap)
{
	struct sockaddr_storage ss = {};
	const struct sockaddr_in *in4 = (void *)&ss;
	const struct sockaddr_in6 *in6 = (void *)&ss;
	const struct sockaddr_un *un = (void *)&ss;
	u32 len = min_t(u32, cap->len, sizeof(ss));
	u32 plen;

	memcpy(&ss, cap->data, len);
	sc_out_printf(o, "{family=");
	sc_render_enum(o, &sym_af, ss.ss_family);
	if (ss.ss_family == AF_INET && len >= sizeof(*in4)) {
		sc_out_printf(o, ", addr=\"%pI4\", port=%u", &in4->sin_addr,
			      ntohs(in4->sin_port));
	} else if (ss.ss_family == AF_INET6 && len >= sizeof(*in6)) {
		sc_out_printf(o, ", addr=\"%pI6c\", port=%u", &in6->sin6_addr,
			      ntohs(in6->sin6_port));
	} else if (ss.ss_family == AF_UNIX && len > sizeof(un->sun_family)) {
		plen = len - sizeof(un->sun_family);
		/* an abstract name starts with NUL and is not NUL-terminated */
		if (un->sun_path[0])
			plen = strnlen(un->sun_path, plen);
		sc_out_printf(o, ", path=");
		sc_out_quoted(o, un->sun_path, plen, false);
	}
	sc_out_printf(o, "}");
}

static inline void sc_render_rlim(struct sc_out *o, u64 v)
{
	if (v == RLIM_INFINITY)
		sc_render_enum(o, &sym_rlim, v);
	else
		sc_out_printf(o, "%llu", v);
}

static inline void sc_render_struct(struct sc_out *o, u8 kind,
				    const struct sc_capture *cap, bool compat)
{
	union {
		int fds[2];
		u32 id;
		u32 rlim32[2];
		struct rlimit rlim;
		struct clone_args clone;
		struct open_how how;
		struct __user_cap_header_struct caph;
		struct __user_cap_data_struct capd[2];
		u32 uring[6];
	} u = {};

	memcpy(&u, cap->data, min_t(u32, cap->len, sizeof(u)));
	switch (kind) {
	case SK_FDPAIR:
		sc_out_printf(o, "[%d, %d]", u.fds[0], u.fds[1]);
		break;
	case SK_ID_OUT:
		sc_out_printf(o, "[%u]", u.id);
		break;
	case SK_RLIMIT:
	case SK_RLIMIT_OUT:
		sc_out_printf(o, "{rlim_cur=");
		sc_render_rlim(o, compat ? (u.rlim32[0] == U32_MAX ?
				RLIM_INFINITY : u.rlim32[0]) : u.rlim.rlim_cur);
		sc_out_printf(o, ", rlim_max=");
		sc_render_rlim(o, compat ? (u.rlim32[1] == U32_MAX ?
				RLIM_INFINITY : u.rlim32[1]) : u.rlim.rlim_max);
		sc_out_printf(o, "}");
		break;
	case SK_CLONE_ARGS:
		sc_out_printf(o, "{flags=");
		sc_render_flags(o, &sym_clone, u.clone.flags);
		sc_out_printf(o, ", exit_signal=");
		sc_render_enum(o, &sym_signal, u.clone.exit_signal);
		sc_out_printf(o, ", stack=0x%llx, stack_size=%llu}",
			      u.clone.stack, u.clone.stack_size);
		break;
	case SK_OPEN_HOW:
		sc_out_printf(o, "{flags=");
		sc_render_flags(o, &sym_open, u.how.flags);
		sc_out_printf(o, ", mode=0%llo, resolve=", u.how.mode);
		sc_render_flags(o, &sym_resolve, u.how.resolve);
		sc_out_printf(o, "}");
		break;
	case SK_CAP_HEADER:
		sc_out_printf(o, "{version=");
		sc_render_enum(o, &sym_capver, u.caph.version);
		sc_out_printf(o, ", pid=%d}", u.caph.pid);
		break;
	case SK_CAP_DATA:
		sc_out_printf(o,
			      "{effective=0x%llx, permitted=0x%llx, inheritable=0x%llx}",
			      u.capd[0].effective | (u64)u.capd[1].effective << 32,
			      u.capd[0].permitted | (u64)u.capd[1].permitted << 32,
			      u.capd[0].inheritable |
			      (u64)u.capd[1].inheritable << 32);
		break;
	case SK_URING_PARAMS:
		sc_out_printf(o, "{sq_entries=%u, cq_entries=%u, flags=",
			      u.uring[0], u.uring[1]);
		sc_render_flags(o, &sym_uring_setup, u.uring[2]);
		sc_out_printf(o, ", features=0x%x}", u.uring[5]);
		break;
	case SK_TIMESPEC:
	case SK_TIMESPEC_INOUT:
		sc_render_timespec(o, cap, compat);
		break;
	case SK_SOCKADDR:
	case SK_SOCKADDR_OUT:
		sc_render_sockaddr(o, cap);
		break;
	}
}

/*
 * The kinds shown as a number alone, most of a line's arguments: true when
 * @kind is one, rendered. Inline where lines are rendered, so that a number
 * does not pay sc_render_arg()'s frame (six saved registers). A 32-bit
 * caller's registers hold 32-bit values: longs are sign-extended.
 */
static __always_inline bool sc_render_number(struct sc_out *o, u8 kind,
					     u64 v, bool compat)
{
	switch (kind) {
	case SK_INT:
	case SK_FD:
		sc_out_s64(o, (int)v);
		return true;
	case SK_DIRFD:
		if ((int)v == AT_FDCWD)
			sc_out_lit(o, "AT_FDCWD");
		else
			sc_out_s64(o, (int)v);
		return true;
	case SK_UID:
		if ((int)v == -1)
			sc_out_lit(o, "-1");
		else
			sc_out_u64(o, (u32)v);
		return true;
	case SK_UINT:
		sc_out_u64(o, (u32)v);
		return true;
	case SK_LONG:
		sc_out_s64(o, compat ? (s64)(s32)v : (s64)v);
		return true;
	case SK_ULONG:
		sc_out_u64(o, v);
		return true;
	case SK_HEX:
		sc_out_hex(o, v);
		return true;
	case SK_OCT:
		sc_out_oct(o, v);
		return true;
	default:
		return false;
	}
}

/*
 * Prints argument value @v of @kind, using @cap when it was captured and
 * @sym for flag and enum kinds.
 */
static inline void sc_render_arg(struct sc_out *o, u8 kind, u64 v,
				 const struct sc_capture *cap,
				 const struct sc_symtab *sym, bool compat)
{
	if (sc_render_number(o, kind, v, compat))
		return;
	switch (kind) {
	case SK_FLAGS:
		sc_render_flags(o, sym, (u32)v);
		return;
	case SK_ENUM:
		sc_render_enum(o, sym, (s32)v);
		return;
	case SK_CLONE_FLAGS:
		sc_render_clone_flags(o, v);
		return;
	}
	/* the remaining kinds show user memory, or the pointer without it */
	if (!cap) {
		sc_render_pointer(o, v);
		return;
	}
	switch (kind) {
	case SK_STR:
	case SK_STR_OUT:
	case SK_STR_ENTRY:
	case SK_BUF_IN:
	case SK_BUF_RET:
		sc_out_quoted(o, cap->data, cap->len, cap->flags & SC_CAPF_CUT);
		break;
	case SK_ARGV:
		sc_render_argv(o, cap);
		break;
	default:
		sc_render_struct(o, kind, cap, compat);
	}
}

#endif
