/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The argument kinds of handlers-table.h, each in two halves:
 *  - capture, run by the probe in the traced task: copies the user memory a
 *    kind needs into the event, without sleeping (the *_nofault copies fail
 *    instead of faulting pages in);
 *  - render, run by the writer thread: prints one argument as text in the
 *    grammar of docs/record-format.md.
 */
#ifndef MY_SYSDIG_HANDLERS_H
#define MY_SYSDIG_HANDLERS_H

#include <linux/uaccess.h>
#include <linux/fcntl.h>
#include <linux/time64.h>
#include <linux/time32.h>
#include "my_sysdig.h"

/* Kinds whose value is a capture of user memory. */
static inline bool sc_kind_captures(u8 kind)
{
	switch (kind) {
	case SK_STR:
	case SK_STR_OUT:
	case SK_STR_ENTRY:
	case SK_ARGV:
	case SK_BUF_IN:
	case SK_BUF_RET:
	case SK_TIMESPEC:
	case SK_TIMESPEC_INOUT:
		return true;
	default:
		return false;
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

/* A timespec as the caller's ABI lays it out. */
static inline u32 sc_timespec_size(bool compat)
{
	return compat ? sizeof(struct old_timespec32) :
			sizeof(struct __kernel_timespec);
}

/* Largest capture a kind can add to an event, header included. */
static inline u32 sc_kind_capture_max(u8 kind, u32 snaplen)
{
	if (kind == SK_TIMESPEC || kind == SK_TIMESPEC_INOUT)
		return sc_capture_size(sizeof(struct __kernel_timespec));
	/* strings need room for the byte that tells a cut from a fit */
	return sc_capture_size(snaplen + 1);
}

/*
 * Exit-time capture of argument @i into @cap. Returns the bytes kept
 * (0 with no capture written when there is nothing to show).
 */
static inline int sc_capture_exit_arg(struct sc_capture *cap, u8 kind, int i,
				      const u64 *args, s64 ret, u32 snaplen,
				      bool compat)
{
	unsigned long uptr = args[i];
	u64 want;
	int n;

	cap->arg = i;
	cap->flags = 0;
	cap->reserved = 0;
	if (!uptr)
		return 0;

	switch (kind) {
	case SK_STR_OUT:
		if (ret < 0)
			return 0;
		fallthrough;
	case SK_STR:
		n = sc_capture_string(cap->data, uptr, snaplen, &cap->flags);
		break;
	case SK_BUF_IN:
	case SK_BUF_RET:
		want = kind == SK_BUF_RET ? (ret > 0 ? ret : 0) : args[i + 1];
		if (!want)
			return 0;
		n = min_t(u64, want, snaplen);
		if (want > snaplen)
			cap->flags |= SC_CAPF_CUT;
		if (copy_from_user_nofault(cap->data, (void __user *)uptr, n))
			return 0;
		break;
	case SK_TIMESPEC:
		n = sc_timespec_size(compat);
		if (copy_from_user_nofault(cap->data, (void __user *)uptr, n))
			return 0;
		break;
	default:
		return 0;
	}
	if (n < 0)
		return 0;
	cap->len = n;
	return n;
}

/* --- rendering --- */

static inline void sc_out_quoted(struct sc_out *o, const char *s, u32 len,
				 bool cut)
{
	static const char hex[] = "0123456789abcdef";
	char *p = o->buf + o->len;
	char *end = o->buf + o->size - 8;	/* room for `"...` and NUL */
	u32 i;

	*p++ = '"';
	for (i = 0; i < len && p < end - 4; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '"':
		case '\\':
			*p++ = '\\';
			*p++ = c;
			break;
		case '\n':
			*p++ = '\\';
			*p++ = 'n';
			break;
		case '\r':
			*p++ = '\\';
			*p++ = 'r';
			break;
		case '\t':
			*p++ = '\\';
			*p++ = 't';
			break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				*p++ = c;
			} else {
				*p++ = '\\';
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
		sc_out_printf(o, "0x%llx", v);
	else
		sc_out_printf(o, "NULL");
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

/* Prints argument value @v of @kind, using @cap when it was captured. */
static inline void sc_render_timespec(struct sc_out *o, u64 v,
				      const struct sc_capture *cap, bool compat)
{
	struct __kernel_timespec ts;
	struct old_timespec32 ts32;

	if (cap && compat && cap->len == sizeof(ts32)) {
		memcpy(&ts32, cap->data, sizeof(ts32));
		ts.tv_sec = ts32.tv_sec;
		ts.tv_nsec = ts32.tv_nsec;
	} else if (cap && !compat && cap->len == sizeof(ts)) {
		memcpy(&ts, cap->data, sizeof(ts));
	} else {
		sc_render_pointer(o, v);
		return;
	}
	sc_out_printf(o, "{tv_sec=%lld, tv_nsec=%lld}", (long long)ts.tv_sec,
		      (long long)ts.tv_nsec);
}

/*
 * Prints argument value @v of @kind, using @cap when it was captured. A
 * 32-bit caller's registers hold 32-bit values: longs are sign-extended.
 */
static inline void sc_render_arg(struct sc_out *o, u8 kind, u64 v,
				 const struct sc_capture *cap, bool compat)
{

	switch (kind) {
	case SK_INT:
	case SK_FD:
		sc_out_printf(o, "%d", (int)v);
		break;
	case SK_DIRFD:
		if ((int)v == AT_FDCWD)
			sc_out_printf(o, "AT_FDCWD");
		else
			sc_out_printf(o, "%d", (int)v);
		break;
	case SK_UINT:
		sc_out_printf(o, "%u", (unsigned int)v);
		break;
	case SK_LONG:
		sc_out_printf(o, "%lld", compat ? (long long)(s32)v : (long long)v);
		break;
	case SK_ULONG:
		sc_out_printf(o, "%llu", v);
		break;
	case SK_HEX:
		sc_out_printf(o, "0x%llx", v);
		break;
	case SK_OCT:
		sc_out_printf(o, "0%llo", v);
		break;
	case SK_STR:
	case SK_STR_OUT:
	case SK_STR_ENTRY:
	case SK_BUF_IN:
	case SK_BUF_RET:
		if (cap)
			sc_out_quoted(o, cap->data, cap->len,
				      cap->flags & SC_CAPF_CUT);
		else
			sc_render_pointer(o, v);
		break;
	case SK_ARGV:
		if (cap)
			sc_render_argv(o, cap);
		else
			sc_render_pointer(o, v);
		break;
	case SK_TIMESPEC:
	case SK_TIMESPEC_INOUT:
		sc_render_timespec(o, v, cap, compat);
		break;
	default:
		sc_render_pointer(o, v);
	}
}

#endif
