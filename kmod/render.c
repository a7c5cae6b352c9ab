// SPDX-License-Identifier: GPL-2.0
/*
 * Turns one ring event into one text line, in the grammar written down in
 * docs/record-format.md. Runs in the writer thread only.
 */
#include <linux/kernel.h>
#include <linux/hash.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
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
/* printable ASCII but the quote and the backslash, which are escaped */
const u8 sc_plain_byte[256] = {
	[0x20 ... 0x7e] = 1,
	['"'] = 0,
	['\\'] = 0,
};

/*
 * Appends a cached piece of text a word at a time, rounding up to whole
 * words: the pieces are short, where the string instructions memcpy uses
 * cost more than a loop (under QEMU's -icount one instruction per byte).
 * The first two words are copied whatever @len: most pieces (", fd=",
 * a syscall's name) fit in them; the rest two at a time, a loop costing
 * 7 instructions per two words and 8 to set up. @src must be readable, and
 * the output have room, to 16 bytes or the next multiple of 16 past @len,
 * whichever is more; the extra bytes land past o->len and are overwritten.
 */
static __always_inline void out_cached(struct sc_out *o, const char *src,
				       u32 len)
{
	char *dst = o->buf + o->len;
	u32 i;

	put_unaligned(get_unaligned((const u64 *)src), (u64 *)dst);
	put_unaligned(get_unaligned((const u64 *)(src + 8)), (u64 *)(dst + 8));
	for (i = 16; i < len; i += 16) {
		put_unaligned(get_unaligned((const u64 *)(src + i)),
			      (u64 *)(dst + i));
		put_unaligned(get_unaligned((const u64 *)(src + i + 8)),
			      (u64 *)(dst + i + 8));
	}
	o->len += len;
}

void sc_out_str(struct sc_out *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static const char digit_pairs[200] =
	"00010203040506070809" "10111213141516171819" "20212223242526272829"
	"30313233343536373839" "40414243444546474849" "50515253545556575859"
	"60616263646566676869" "70717273747576777879" "80818283848586878889"
	"90919293949596979899";

static const u64 pow10_table[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/*
 * The number of decimal digits of @v, without a loop: log2 from the bit
 * length, times 1233/4096 (log10(2) rounded up), is log10 or one more.
 */
static __always_inline unsigned int decimal_digits(u64 v)
{
	unsigned int t = (fls64(v | 1) * 1233) >> 12;

	return t + 1 - ((v | 1) < pow10_table[t]);
}

/*
 * Digits of a 32-bit value by multiplication, not division (the method of
 * James Anderson's "jeaiii" itoa): @v times 2^57 / 10^k, rounded up, holds
 * the leading one or two digits above bit 57 and the rest as a binary
 * fraction below it, which gives two more digits each time it is
 * multiplied by 100. The rounding error stays below the last digit's step
 * for every 32-bit value and every digit count (checked exhaustively, see
 * docs/overhead-notes.md). A line has six to ten numbers; two digits per
 * division took about 60 instructions a number.
 */
#define FRAC_BITS	57
#define LEAD(p)		(((1ULL << FRAC_BITS) + (p) - 1) / (p))
static const u64 lead_mult[11] = {
	[1] = LEAD(1ULL), [2] = LEAD(1ULL),
	[3] = LEAD(100ULL), [4] = LEAD(100ULL),
	[5] = LEAD(10000ULL), [6] = LEAD(10000ULL),
	[7] = LEAD(1000000ULL), [8] = LEAD(1000000ULL),
	[9] = LEAD(100000000ULL), [10] = LEAD(100000000ULL),
};

/* Exactly @n digits (1..10) of @v (below 10^n) at @p, leading zeros kept. */
static __always_inline void put_digits32(char *p, u32 v, unsigned int n)
{
	u64 t = v * lead_mult[n];

	if (n & 1) {
		*p++ = '0' + (t >> FRAC_BITS);
	} else {
		memcpy(p, &digit_pairs[2 * (t >> FRAC_BITS)], 2);
		p += 2;
	}
	for (n = (n - 1) / 2; n; n--, p += 2) {
		t = (t & ((1ULL << FRAC_BITS) - 1)) * 100;
		memcpy(p, &digit_pairs[2 * (t >> FRAC_BITS)], 2);
	}
}

/*
 * Exactly @n digits of a @v beyond 32 bits ending at @end, two per
 * division: rare on a line (a latency over four seconds, a 64-bit size).
 */
static void put_digits64(char *end, u64 v, unsigned int n)
{
	for (; n >= 2; n -= 2) {
		u64 q = v / 100;

		end -= 2;
		memcpy(end, &digit_pairs[2 * (v - 100 * q)], 2);
		v = q;
	}
	if (n)
		*--end = '0' + v;
}

void sc_out_digits(struct sc_out *o, u64 v)
{
	unsigned int n = decimal_digits(v);

	if (likely(v <= U32_MAX))
		put_digits32(o->buf + o->len, v, n);
	else
		put_digits64(o->buf + o->len + n, v, n);
	o->len += n;
}

/*
 * A timestamp in nanoseconds is 19 digits, of which the first ten (the
 * second) rarely change from one record to the next: they are rendered
 * once per second and copied, and only the nine of the nanoseconds are
 * worked out per record.
 */
static struct {
	u64 sec;
	u32 len;
	char text[32];
} ts_cache = { .sec = U64_MAX };

/* The seconds of a timestamp, as cached text */
static __always_inline void out_seconds(struct sc_out *o, u64 sec)
{
	if (sec != ts_cache.sec) {
		struct sc_out tmp = { .buf = ts_cache.text, .size = sizeof(ts_cache.text) };

		sc_out_u64(&tmp, sec);
		ts_cache.len = tmp.len;
		ts_cache.sec = sec;
	}
	out_cached(o, ts_cache.text, ts_cache.len);
}

/* The nine digits of a timestamp's nanoseconds, @sec its seconds */
static __always_inline void out_nanoseconds(struct sc_out *o, s64 ts, u64 sec)
{
	put_digits32(o->buf + o->len, (u64)ts - sec * NSEC_PER_SEC, 9);
	o->len += 9;
}

static void sc_out_ts(struct sc_out *o, s64 ts)
{
	u64 sec;

	if (ts < NSEC_PER_SEC) {
		sc_out_s64(o, ts);
		return;
	}
	sec = (u64)ts / NSEC_PER_SEC;
	out_seconds(o, sec);
	out_nanoseconds(o, ts, sec);
}

/*
 * The eight hex digits of @v as a word that, stored, puts the first digit
 * first: each nibble spread to a byte, then turned to its digit in all
 * eight bytes at once. Pointers are on most lines, and a loop took about
 * 15 instructions a digit.
 */
static __always_inline u64 hex_word(u32 v)
{
	u64 x = v;

	x = (x | x << 16) & 0x0000ffff0000ffffULL;
	x = (x | x << 8) & 0x00ff00ff00ff00ffULL;
	x = (x | x << 4) & 0x0f0f0f0f0f0f0f0fULL;
	/* digits over 9 carry into bit 4 of their byte: they get 'a' - '9' - 1 more */
	x += 0x3030303030303030ULL +
	     (((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL) *
	     ('a' - '9' - 1);
	return (__force u64)cpu_to_be64(x);
}

/*
 * 0x and the digits of @v; writes up to 18 bytes, of which the unused land
 * past o->len.
 */
void sc_out_hex(struct sc_out *o, u64 v)
{
	unsigned int n = v ? DIV_ROUND_UP(fls64(v), 4) : 1;
	char *p = o->buf + o->len;

	v <<= 64 - 4 * n;	/* the first digit at the top */
	memcpy(p, "0x", 2);
	put_unaligned(hex_word(v >> 32), (u64 *)(p + 2));
	if (n > 8)
		put_unaligned(hex_word((u32)v), (u64 *)(p + 10));
	o->len += 2 + n;
}

/* 0 and the octal digits of @v, as C writes a file mode */
void sc_out_oct(struct sc_out *o, u64 v)
{
	unsigned int n = 1 + (v ? DIV_ROUND_UP(fls64(v), 3) : 1);
	char *p = o->buf + o->len + n;

	do {
		*--p = '0' + (v & 7);
		v >>= 3;
	} while (v);
	*--p = '0';
	o->len += n;
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

/*
 * A busy thread's records follow each other, so the part of a line that
 * only depends on the thread (", tid=T, comm=\"C\", abi=64, nr=") is kept
 * for the last thread rendered and copied while the next record is the
 * same thread, under the same comm and ABI. Only the writer thread renders;
 * the cache is its own.
 */
static struct {
	s32 tid;
	bool compat;
	u64 comm[2];
	u32 len;
	char text[64 + 4 * TASK_COMM_LEN];
} thread_cache = { .tid = -1 };

static __always_inline void render_thread(struct sc_out *o,
					  const struct sc_event *ev,
					  bool compat)
{
	u64 lo = sc_comm_word(ev->comm, 0);
	u64 hi = sc_comm_word(ev->comm, 1);
	size_t start = o->len;

	if (thread_cache.tid == ev->tid && thread_cache.compat == compat &&
	    thread_cache.comm[0] == lo && thread_cache.comm[1] == hi) {
		out_cached(o, thread_cache.text, thread_cache.len);
		return;
	}
	sc_out_lit(o, ", tid=");
	sc_out_s64(o, ev->tid);
	sc_out_lit(o, ", comm=");
	sc_out_quoted(o, ev->comm, strnlen(ev->comm, TASK_COMM_LEN), false);
	if (compat)
		sc_out_lit(o, ", abi=32, nr=");
	else
		sc_out_lit(o, ", abi=64, nr=");
	thread_cache.tid = ev->tid;
	thread_cache.compat = compat;
	thread_cache.comm[0] = lo;
	thread_cache.comm[1] = hi;
	thread_cache.len = o->len - start;
	memcpy(thread_cache.text, o->buf + start, thread_cache.len);
}

/*
 * A busy process makes the same calls with the same arguments again and
 * again: an nginx worker stats the same paths, sets the same socket option
 * on the same few connections and receives the same request, with the
 * same results, for every request. Rendering a line was the writer's
 * main cost in text, so it keeps the text of the lines it rendered, up to
 * the nanoseconds of their timestamp, in a table indexed by a hash of what
 * that text depends on (line_key()), and copies it when a call has the
 * same inputs to the byte. Only the writer thread renders; the table is
 * its own, allocated with the pieces.
 */
#define MEMO_BITS	10
#define MEMO_KEY_WORDS	28	/* 12 for the call, the rest for captures */
#define MEMO_TEXT	320	/* longest text kept */

struct text_memo {
	u32 tag;		/* nr + 1, flags, nargs, ncap; 0 while empty */
	u32 words;		/* of key[] */
	u32 len;		/* of text[] */
	u64 key[MEMO_KEY_WORDS];
	char text[MEMO_TEXT + 16];	/* out_cached() reads whole pairs of words */
};

static struct text_memo *memo;

/*
 * A syscall whose lines keep missing the memo (their results or arguments
 * vary: read's count, epoll_wait's events) stops paying for the key: after
 * MEMO_MISSES misses in a row its lines are rendered without the memo, but
 * for one in MEMO_RETRY of such lines, which tries it again. A line that
 * misses costs about a quarter more than one rendered without the memo
 * (nginx's lines, all made to miss: 1,657 instructions each against 1,314).
 */
#define MEMO_MISSES	16
#define MEMO_RETRY	64

static u8 memo_misses[2][SC_NR_INFO_SIZE];
static u32 memo_retry;

#ifndef __LITTLE_ENDIAN
#error "key_add_capture() clears a capture's last bytes as little-endian words"
#endif

/*
 * Text that is the same on every line of a syscall: its name, each
 * argument's ", name=", and its number with the ", ts=" after it. Built
 * once when the writer starts in text mode, each piece padded to whole
 * words for out_cached(); strlen() and memcpy() of these on every line
 * were a tenth of the render.
 */
struct sc_piece {
	u32 off;
	u32 len;
};

static char *piece_text;
static struct sc_piece (*name_pieces)[SC_NR_INFO_SIZE];
static struct sc_piece (*arg_pieces)[SC_NR_INFO_SIZE][SC_MAX_ARGS];
static struct sc_piece (*nr_pieces)[SC_NR_INFO_SIZE];

static u32 piece_add(u32 *used, const char *a, const char *b, const char *c)
{
	u32 len = strlen(a) + strlen(b) + strlen(c);

	/* the sizing pass has no text yet; the arena is zeroed, so pieces end padded */
	if (piece_text)
		snprintf(piece_text + *used, len + 1, "%s%s%s", a, b, c);
	*used += ALIGN(len + 1, 8);
	return len;
}

/* Two passes over the tables: the first sizes the text, the second fills it. */
static void pieces_build(u32 *used)
{
	int compat, i;
	unsigned int nr;

	*used = 0;
	for (compat = 0; compat <= IS_ENABLED(CONFIG_COMPAT); compat++) {
		for (nr = 0; nr < sc_table_size(compat) && nr < SC_NR_INFO_SIZE; nr++) {
			const struct sc_desc *d = sc_desc_of(compat, nr);
			struct sc_piece *np = &name_pieces[compat][nr];
			struct sc_piece *nrp = &nr_pieces[compat][nr];
			char number[12];

			if (!sc_name(compat, nr))
				continue;
			np->off = *used;
			np->len = piece_add(used, sc_name(compat, nr), "", "");
			snprintf(number, sizeof(number), "%u", nr);
			nrp->off = *used;
			nrp->len = piece_add(used, number, ", ts=", "");
			for (i = 0; d && i < d->nargs; i++) {
				struct sc_piece *ap = &arg_pieces[compat][nr][i];

				ap->off = *used;
				ap->len = piece_add(used, ", ", d->names[i], "=");
			}
		}
	}
}

int sc_render_init(void)
{
	u32 size;

	name_pieces = vzalloc(2 * sizeof(*name_pieces));
	arg_pieces = vzalloc(2 * sizeof(*arg_pieces));
	nr_pieces = vzalloc(2 * sizeof(*nr_pieces));
	memo = vzalloc(sizeof(*memo) << MEMO_BITS);
	memset(memo_misses, 0, sizeof(memo_misses));
	if (!name_pieces || !arg_pieces || !nr_pieces || !memo)
		goto fail;
	pieces_build(&size);
	piece_text = vzalloc(size + 64);
	if (!piece_text)
		goto fail;
	pieces_build(&size);
	return 0;
fail:
	sc_render_exit();
	return -ENOMEM;
}

void sc_render_exit(void)
{
	vfree(piece_text);
	vfree(name_pieces);
	vfree(arg_pieces);
	vfree(nr_pieces);
	vfree(memo);
	piece_text = NULL;
	name_pieces = NULL;
	arg_pieces = NULL;
	nr_pieces = NULL;
	memo = NULL;
}

/* "pid=P, ", the start of every line, for the last process rendered */
static struct {
	s32 pid;
	u32 len;
	char text[32];
} pid_cache = { .pid = -1 };

static __always_inline void render_pid(struct sc_out *o, s32 pid)
{
	size_t start = o->len;

	if (pid == pid_cache.pid) {
		out_cached(o, pid_cache.text, pid_cache.len);
		return;
	}
	sc_out_lit(o, "pid=");
	sc_out_s64(o, pid);
	sc_out_lit(o, ", ");
	pid_cache.pid = pid;
	pid_cache.len = o->len - start;
	memcpy(pid_cache.text, o->buf + start, pid_cache.len);
}

static __always_inline void out_piece(struct sc_out *o,
				      const struct sc_piece *pc)
{
	out_cached(o, piece_text + pc->off, pc->len);
}

/*
 * ", name=value" for each argument but the data one, which follows res;
 * returns the data argument's index, or -1.
 */
static __always_inline int render_args(struct sc_out *o,
				       const struct sc_event *ev,
				       const struct sc_desc *desc,
				       bool compat, bool pieces)
{
	int i, data_arg = -1;

	for (i = 0; i < desc->nargs; i++) {
		if (sc_kind_is_data(desc->kinds[i])) {
			data_arg = i;
			continue;
		}
		if (pieces) {
			out_piece(o, &arg_pieces[compat][ev->nr][i]);
		} else {
			sc_out_lit(o, ", ");
			sc_out_str(o, desc->names[i]);
			sc_out_lit(o, "=");
		}
		if (!sc_render_number(o, desc->kinds[i], ev->args[i], compat))
			sc_render_arg(o, desc->kinds[i], ev->args[i],
				      ev->ncap ? capture_of(ev, i) : NULL,
				      desc->syms[i], compat);
	}
	return data_arg;
}

/*
 * A key is built in memo_key, the writer's own (a stack array would be
 * cleared on every line by the kernel's stack initialisation), and hashed
 * on the way.
 */
static u64 memo_key[MEMO_KEY_WORDS];

struct memo_keyer {
	u64 *end;
	u64 hash;
};

static __always_inline void key_add(struct memo_keyer *k, u64 w)
{
	*k->end++ = w;
	k->hash = (k->hash ^ w) * GOLDEN_RATIO_64;
}

/*
 * A capture's head and bytes, the bytes past its length in the last word
 * cleared; false when they do not fit.
 */
static __always_inline bool key_add_capture(struct memo_keyer *k,
					    const struct sc_capture *cap)
{
	const u64 *data = (const u64 *)cap->data;
	u32 words = cap->len / 8, i;

	if (k->end - memo_key + words + 2 > MEMO_KEY_WORDS)
		return false;
	key_add(k, cap->arg | cap->flags << 8 | (u64)cap->len << 16);
	for (i = 0; i < words; i++)
		key_add(k, data[i]);
	if (cap->len & 7)
		key_add(k, data[i] & ((1ULL << 8 * (cap->len & 7)) - 1));
	return true;
}

/*
 * What a line's text up to its nanoseconds depends on: the syscall, the
 * event's flags and its numbers of arguments and captures (in the tag),
 * its thread, process and command name, the second of its timestamp, its
 * result, its argument values and its captures. A captured pointer is in
 * the key though the line shows the bytes instead: a few more misses, one
 * plain loop. False when the key does not fit.
 */
static __always_inline bool line_key(struct memo_keyer *k,
				     const struct sc_event *ev, u64 sec)
{
	const struct sc_capture *cap = sc_first_capture(ev);
	int i;

	key_add(k, ev->ids);
	key_add(k, sc_comm_word(ev->comm, 0));
	key_add(k, sc_comm_word(ev->comm, 1));
	key_add(k, sec);
	key_add(k, ev->ret);
	for (i = 0; i < ev->nargs; i++)
		key_add(k, ev->args[i]);
	for (i = 0; i < ev->ncap; i++, cap = sc_next_capture(cap))
		if (!key_add_capture(k, cap))
			return false;
	return true;
}

/*
 * The key's slot; its text is appended when it holds the same key. The key
 * is padded to whole pairs of words, compared a pair at a time.
 */
static __always_inline struct text_memo *memo_lookup(struct sc_out *o,
						     struct memo_keyer *k,
						     u32 tag, bool *hit)
{
	struct text_memo *slot = &memo[k->hash >> (64 - MEMO_BITS)];
	u32 i, n;
	u64 diff = 0;

	if ((k->end - memo_key) & 1)
		*k->end++ = 0;
	n = k->end - memo_key;
	*hit = false;
	if (slot->tag != tag || slot->words != n)
		return slot;
	for (i = 0; i < n; i += 2)
		diff |= (slot->key[i] ^ memo_key[i]) |
			(slot->key[i + 1] ^ memo_key[i + 1]);
	if (!diff) {
		out_cached(o, slot->text, slot->len);
		*hit = true;
	}
	return slot;
}

/* Keeps the text rendered since @start for the key in memo_key. */
static void memo_keep(struct text_memo *slot, const struct memo_keyer *k,
		      u32 tag, const struct sc_out *o, size_t start)
{
	u32 i, n = k->end - memo_key, len = o->len - start;

	if (len > MEMO_TEXT)
		return;
	slot->tag = tag;
	slot->words = n;
	slot->len = len;
	for (i = 0; i < n; i++)
		slot->key[i] = memo_key[i];
	for (i = 0; i < len; i += 8)
		put_unaligned(get_unaligned((const u64 *)(o->buf + start + i)),
			      (u64 *)(slot->text + i));
}

/*
 * "pid=P, name, arg=value, ..., res=R, data=D": the call, up to the
 * thread's part.
 */
static __always_inline void render_call(struct sc_out *o,
					const struct sc_event *ev,
					const struct sc_desc *desc,
					const char *name, bool compat,
					bool pieces)
{
	const struct sc_capture *cap;
	int data_arg = -1;

	render_pid(o, ev->pid);
	if (pieces && name)
		out_piece(o, &name_pieces[compat][ev->nr]);
	else
		sc_out_str(o, name ?: "unknown");
	if (desc)
		data_arg = render_args(o, ev, desc, compat, pieces);
	if (!(ev->flags & SC_EVF_NO_RETURN)) {
		sc_out_lit(o, ", res=");
		sc_out_s64(o, ev->ret);
	}
	cap = data_arg >= 0 ? capture_of(ev, data_arg) : NULL;
	if (cap) {
		sc_out_lit(o, ", data=");
		sc_render_arg(o, desc->kinds[data_arg], ev->args[data_arg], cap,
			      NULL, compat);
	}
}

/* ", tid=T, comm=\"C\", abi=64, nr=N, ts=" */
static __always_inline void render_thread_nr(struct sc_out *o,
					     const struct sc_event *ev,
					     const char *name, bool compat,
					     bool pieces)
{
	render_thread(o, ev, compat);
	if (pieces && name) {
		out_piece(o, &nr_pieces[compat][ev->nr]);
	} else {
		sc_out_u64(o, ev->nr);
		sc_out_lit(o, ", ts=");
	}
}

/* A line rendered up to its timestamp: the call, then ", tid=..., ts=" */
static __always_inline void render_line_start(struct sc_out *o,
					      const struct sc_event *ev,
					      bool compat, bool pieces)
{
	const struct sc_desc *desc = ev->flags & SC_EVF_NO_ARGS ? NULL :
				     sc_desc_of(compat, ev->nr);
	const char *name = sc_name(compat, ev->nr);

	render_call(o, ev, desc, name, compat, pieces);
	render_thread_nr(o, ev, name, compat, pieces);
}

/*
 * A line up to the nanoseconds of its timestamp, from the memo when the
 * same thread made the same call with the same inputs and result in the
 * same second, else rendered and kept (see text_memo). For a syscall
 * with pieces, which has a name. Returns whether the memo had the line.
 */
static bool render_memo(struct sc_out *o, const struct sc_event *ev,
			bool compat, u64 sec)
{
	u32 tag = (ev->nr + 1) | (u32)ev->flags << 16 | ev->nargs << 24 |
		  ev->ncap << 28;
	struct memo_keyer k = { memo_key, tag };
	struct text_memo *slot = NULL;
	size_t start = o->len;
	bool hit;

	if (line_key(&k, ev, sec)) {
		slot = memo_lookup(o, &k, tag, &hit);
		if (hit)
			return true;
	}
	render_line_start(o, ev, compat, true);
	out_seconds(o, sec);
	if (slot)
		memo_keep(slot, &k, tag, o, start);
	return false;
}

void sc_render_event(struct sc_out *o, const struct sc_event *ev,
		     s64 real_offset)
{
	bool compat = ev->flags & SC_EVF_COMPAT;
	bool pieces = piece_text && (u32)ev->nr < SC_NR_INFO_SIZE;
	s64 ts = (s64)ev->enter_ns + real_offset;
	u8 *misses = pieces ? &memo_misses[compat][ev->nr] : NULL;

	if (misses && name_pieces[compat][ev->nr].len && memo &&
	    ts >= NSEC_PER_SEC &&
	    (*misses < MEMO_MISSES || !(++memo_retry % MEMO_RETRY))) {
		u64 sec = (u64)ts / NSEC_PER_SEC;

		if (render_memo(o, ev, compat, sec))
			*misses = 0;
		else if (*misses < MEMO_MISSES)
			++*misses;
		out_nanoseconds(o, ts, sec);
	} else {
		render_line_start(o, ev, compat, pieces);
		sc_out_ts(o, ts);
	}
	if (!(ev->flags & (SC_EVF_NO_ENTRY | SC_EVF_NO_RETURN))) {
		sc_out_lit(o, ", lat=");
		sc_out_u64(o, ev->exit_ns - ev->enter_ns);
	}
	sc_out_lit(o, "\n");
}
