// SPDX-License-Identifier: GPL-2.0
/*
 * Turns one ring event into one text line, in the grammar written down in
 * docs/record-format.md. Runs in the writer thread only.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include "my_sysdig.h"
#include "syscalls/handlers.h"
#include "syscalls/symbols.h"
#include <generated/utsrelease.h>

void sc_out_printf(struct sc_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	o->len += vscnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
}

/*
 * The writer renders every field of every record: measured under load,
 * vsnprintf's format parsing was most of its cost, so the common pieces
 * (literal text, decimal and hex numbers) are written directly. Callers
 * keep o->size - o->len above sc_render_bound() for a whole record.
 */
void sc_out_str(struct sc_out *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void sc_out_u64(struct sc_out *o, u64 v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		o->buf[o->len++] = tmp[--n];
}

void sc_out_s64(struct sc_out *o, s64 v)
{
	if (v < 0) {
		o->buf[o->len++] = '-';
		sc_out_u64(o, -(u64)v);
	} else {
		sc_out_u64(o, v);
	}
}

void sc_out_hex(struct sc_out *o, u64 v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	o->buf[o->len++] = '0';
	o->buf[o->len++] = 'x';
	while (n)
		o->buf[o->len++] = tmp[--n];
}

/*
 * The most one line can take: fixed fields, six numbers, and every captured
 * byte escaped as \xHH (4 characters), for the largest event a probe makes.
 */
size_t sc_render_bound(void)
{
	return 1024 + 4 * (SC_MAX_ARGS * (SC_MAX_SNAPLEN + 8) + 2048);
}

/*
 * The lines that open every record file (and open it again after it was
 * truncated): what machine wrote it, and the value of every symbol the
 * records may show, so a reader can turn O_WRONLY|O_CREAT back into the
 * number this kernel uses.
 */
static bool sc_symtab_has(const struct sc_symtab *tab, const char *name)
{
	unsigned int i;

	for (i = 0; i < tab->count; i++)
		if (!strcmp(tab->syms[i].name, name))
			return true;
	return false;
}

void sc_render_header(struct sc_out *o)
{
	unsigned int t, i;

	sc_out_printf(o, "# mysysdig record v1 arch=%s compat=%s release=%s snaplen=%u\n",
		      sc_arch_name(), sc_compat_abi_name(), UTS_RELEASE,
		      READ_ONCE(sc_snaplen));
	for (t = 0; t < sc_nr_symtabs; t++) {
		const struct sc_symtab *tab = sc_all_symtabs[t];

		sc_out_printf(o, "#sym %s", tab->name);
		/* the zero's name, unless an entry (O_RDONLY's field) has it */
		if (tab->zero && !sc_symtab_has(tab, tab->zero))
			sc_out_printf(o, " %s=0x0", tab->zero);
		for (i = 0; i < tab->count; i++)
			sc_out_printf(o, " %s=0x%llx", tab->syms[i].name,
				      tab->syms[i].value);
		sc_out_printf(o, "\n");
	}
}

static const char *const kind_names[] = {
	[SK_INT] = "INT", [SK_UINT] = "UINT", [SK_LONG] = "LONG",
	[SK_ULONG] = "ULONG", [SK_HEX] = "HEX", [SK_PTR] = "PTR",
	[SK_OCT] = "OCT", [SK_FD] = "FD", [SK_DIRFD] = "DIRFD",
	[SK_STR] = "STR", [SK_STR_OUT] = "STR_OUT",
	[SK_STR_ENTRY] = "STR_ENTRY", [SK_ARGV] = "ARGV",
	[SK_BUF_IN] = "BUF_IN", [SK_BUF_RET] = "BUF_RET",
	[SK_TIMESPEC] = "TIMESPEC", [SK_TIMESPEC_INOUT] = "TIMESPEC_INOUT",
	[SK_FLAGS] = "FLAGS", [SK_ENUM] = "ENUM",
	[SK_CLONE_FLAGS] = "CLONE_FLAGS", [SK_UID] = "UID",
	[SK_SOCKADDR] = "SOCKADDR", [SK_SOCKADDR_OUT] = "SOCKADDR_OUT",
	[SK_FDPAIR] = "FDPAIR", [SK_ID_OUT] = "ID_OUT",
	[SK_RLIMIT] = "RLIMIT", [SK_RLIMIT_OUT] = "RLIMIT_OUT",
	[SK_CLONE_ARGS] = "CLONE_ARGS", [SK_OPEN_HOW] = "OPEN_HOW",
	[SK_CAP_HEADER] = "CAP_HEADER", [SK_CAP_DATA] = "CAP_DATA",
	[SK_URING_PARAMS] = "URING_PARAMS",
};

/*
 * Binary files carry numbers only, so their header also says what the
 * numbers mean: how each symbol table names a value (entries in matching
 * order, with masks, and the name of 0), every syscall name, and the
 * argument kinds of every decoded syscall (see docs/record-format.md).
 */
void sc_render_tables(struct sc_out *o)
{
	int compat, i;
	unsigned int nr, t;

	for (t = 0; t < sc_nr_symtabs; t++) {
		const struct sc_symtab *tab = sc_all_symtabs[t];

		sc_out_printf(o, "#render %s %s", tab->name, tab->zero ?: "-");
		for (i = 0; i < tab->count; i++)
			sc_out_printf(o, " %s=0x%llx/0x%llx", tab->syms[i].name,
				      tab->syms[i].value, tab->syms[i].mask);
		sc_out_printf(o, "\n");
	}

	for (compat = 0; compat <= IS_ENABLED(CONFIG_COMPAT); compat++) {
		sc_out_printf(o, "#names %d", compat ? 32 : 64);
		for (nr = 0; nr < sc_table_size(compat); nr++)
			if (sc_name(compat, nr))
				sc_out_printf(o, " %u=%s", nr, sc_name(compat, nr));
		sc_out_printf(o, "\n");
	}
	for (compat = 0; compat <= IS_ENABLED(CONFIG_COMPAT); compat++) {
		for (nr = 0; nr < sc_table_size(compat); nr++) {
			const struct sc_desc *d = sc_desc_of(compat, nr);

			if (!d)
				continue;
			sc_out_printf(o, "#desc %d %u", compat ? 32 : 64, nr);
			for (i = 0; i < d->nargs; i++)
				sc_out_printf(o, " %s:%s%s%s", d->names[i],
					      kind_names[d->kinds[i]],
					      d->syms[i] ? ":" : "",
					      d->syms[i] ? d->syms[i]->name : "");
			sc_out_printf(o, "\n");
		}
	}
}

static const struct sc_capture *capture_of(const struct sc_event *ev, int arg)
{
	const struct sc_capture *cap = sc_first_capture(ev);
	u32 i;

	for (i = 0; i < ev->ncap; i++, cap = sc_next_capture(cap))
		if (cap->arg == arg)
			return cap;
	return NULL;
}

static void render_comm(struct sc_out *o, const char *comm)
{
	sc_out_quoted(o, comm, strnlen(comm, TASK_COMM_LEN), false);
}

void sc_render_event(struct sc_out *o, const struct sc_event *ev,
		     s64 real_offset)
{
	bool compat = ev->flags & SC_EVF_COMPAT;
	const struct sc_desc *desc = ev->flags & SC_EVF_NO_ARGS ? NULL :
				     sc_desc_of(compat, ev->nr);
	const char *name = sc_name(compat, ev->nr);
	int i, data_arg = -1;

	sc_out_str(o, "pid=");
	sc_out_s64(o, ev->pid);
	sc_out_str(o, ", ");
	sc_out_str(o, name ?: "unknown");
	for (i = 0; desc && i < desc->nargs; i++) {
		if (sc_kind_is_data(desc->kinds[i])) {
			data_arg = i;
			continue;
		}
		sc_out_str(o, ", ");
		sc_out_str(o, desc->names[i]);
		sc_out_str(o, "=");
		sc_render_arg(o, desc->kinds[i], ev->args[i],
			      capture_of(ev, i), desc->syms[i], compat);
	}
	if (!(ev->flags & SC_EVF_NO_RETURN)) {
		sc_out_str(o, ", res=");
		sc_out_s64(o, ev->ret);
	}
	if (data_arg >= 0 && capture_of(ev, data_arg)) {
		sc_out_str(o, ", data=");
		sc_render_arg(o, desc->kinds[data_arg], ev->args[data_arg],
			      capture_of(ev, data_arg), NULL, compat);
	}
	sc_out_str(o, ", tid=");
	sc_out_s64(o, ev->tid);
	sc_out_str(o, ", comm=");
	render_comm(o, ev->comm);
	sc_out_str(o, compat ? ", abi=32, nr=" : ", abi=64, nr=");
	sc_out_u64(o, ev->nr);
	sc_out_str(o, ", ts=");
	sc_out_s64(o, (s64)ev->enter_ns + real_offset);
	if (!(ev->flags & (SC_EVF_NO_ENTRY | SC_EVF_NO_RETURN))) {
		sc_out_str(o, ", lat=");
		sc_out_u64(o, ev->exit_ns - ev->enter_ns);
	}
	sc_out_str(o, "\n");
}
