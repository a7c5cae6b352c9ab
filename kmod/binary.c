// SPDX-License-Identifier: GPL-2.0
/*
 * Encoder of the binary format (binfmt.h), run by the writer thread on the
 * same ring events that text mode renders: one capture path, two
 * renderings. Records gather into a block (heads here, variable parts
 * there) until the writer ends its drain or a buffer fills.
 */
#include <linux/vmalloc.h>
#include <linux/string.h>
#include <linux/uio.h>
#include "my_sysdig.h"
#include "binfmt.h"

/* a whole block must fit in the writer's 1 MiB output buffer */
#define BLOCK_HEADS 4096
#define BLOCK_VAR (512 * 1024)
#define THREAD_SLOTS 1024

static struct sc_bin_head *heads;
static char *var;
static u32 nheads, nsyscalls;
static u32 var_len;

/* tid -> what the reader was last told about it, so comm goes out once */
static struct {
	pid_t tid;
	pid_t pid;
	u64 comm[TASK_COMM_LEN / 8];
} threads[THREAD_SLOTS];

int sc_bin_init(void)
{
	heads = vmalloc(BLOCK_HEADS * sizeof(*heads));
	var = vmalloc(BLOCK_VAR);
	if (!heads || !var) {
		sc_bin_exit();
		return -ENOMEM;
	}
	return 0;
}

void sc_bin_exit(void)
{
	vfree(heads);
	vfree(var);
	heads = NULL;
	var = NULL;
}

/* The block's bytes in the file, were it written now. */
static __always_inline u32 block_bytes(void)
{
	return sizeof(struct sc_bin_block_header) + nheads * sizeof(*heads) +
	       var_len;
}

/* Whether one more event of @ev_len bytes surely fits in this block's buffers. */
static __always_inline bool fits(u32 ev_len)
{
	/* a thread record may come with it; varints take at most 10 bytes */
	return nheads + 2 <= BLOCK_HEADS &&
	       var_len + ev_len + SC_MAX_ARGS * 10 + TASK_COMM_LEN <= BLOCK_VAR;
}

bool sc_bin_has_room(u32 ev_len)
{
	return fits(ev_len);
}

static struct sc_bin_head *new_head(u8 type)
{
	struct sc_bin_head *h = &heads[nheads++];

	memset(h, 0, sizeof(*h));
	h->type = type;
	return h;
}

/*
 * Zigzag LEB128. Works on locals: through the globals, every byte stored
 * (a char store may alias them) made the compiler reload and store
 * var_len, which cost more than the encoding itself.
 */
static __always_inline void put_varint(s64 s)
{
	u64 v = ((u64)s << 1) ^ (u64)(s >> 63);	/* zigzag: small negatives stay short */
	u8 *p = (u8 *)var + var_len;
	u8 *start = p;

	while (v >= 0x80) {
		*p++ = (v & 0x7f) | 0x80;
		v >>= 7;
	}
	*p++ = v;
	var_len += p - start;
}

/* The head's 32-bit result, or the flag that sends it to the var part. */
static void set_res(struct sc_bin_head *h, s64 res)
{
	if (res == (s32)res) {
		h->res = res;
	} else {
		h->flags |= SC_BINF_RES_WIDE;
		put_varint(res);
	}
}

static __always_inline void note_thread(const struct sc_event *ev, s64 ts)
{
	unsigned int slot = (u32)ev->tid % THREAD_SLOTS;
	struct sc_bin_head *h;
	size_t n;

	if (threads[slot].tid == ev->tid && threads[slot].pid == ev->pid &&
	    threads[slot].comm[0] == sc_comm_word(ev->comm, 0) &&
	    threads[slot].comm[1] == sc_comm_word(ev->comm, 1))
		return;
	threads[slot].tid = ev->tid;
	threads[slot].pid = ev->pid;
	memcpy(threads[slot].comm, ev->comm, TASK_COMM_LEN);

	n = strnlen(ev->comm, TASK_COMM_LEN);
	h = new_head(SC_BIN_THREAD);
	h->ts = ts;
	h->tid = ev->tid;
	h->res = ev->pid;
	h->var_len = n;
	memcpy(var + var_len, ev->comm, n);
	var_len += n;
}

/*
 * Adds @ev to the block unless the block's buffers, or @room (the bytes
 * the whole block may take), have no room left for it: then it returns
 * false having added nothing, and the caller writes the block out first.
 */
bool sc_bin_add_event(const struct sc_event *ev, s64 real_offset, u64 room)
{
	const struct sc_capture *cap = sc_first_capture(ev);
	s64 ts = ev->enter_ns + real_offset;
	u8 nargs = ev->nargs;	/* the call's count, 0 when NO_ARGS */
	struct sc_bin_head *h;
	u32 start, i;

	if (unlikely(!fits(ev->len) || block_bytes() + ev->len > room))
		return false;
	note_thread(ev, ts);
	h = &heads[nheads++];
	/* every field, so that the head needs no memset */
	*h = (struct sc_bin_head) {
		.ts = ts,
		.tid = ev->tid,
		.nr = ev->nr,
		.type = SC_BIN_SYSCALL,
		.flags = ev->flags,
		.nargs = nargs,
		.ncap = ev->ncap,
	};

	start = var_len;
	if (!(ev->flags & (SC_EVF_NO_ENTRY | SC_EVF_NO_RETURN))) {
		u64 lat = ev->exit_ns - ev->enter_ns;

		if (lat > U32_MAX) {
			h->flags |= SC_BINF_LAT_WIDE;
			put_varint(lat);
		} else {
			h->lat = lat;
		}
	}
	set_res(h, ev->ret);
	for (i = 0; i < nargs; i++)
		put_varint(ev->args[i]);
	for (i = 0; i < ev->ncap; i++, cap = sc_next_capture(cap)) {
		var[var_len++] = cap->arg;
		var[var_len++] = cap->flags;
		memcpy(var + var_len, &cap->len, sizeof(cap->len));
		var_len += sizeof(cap->len);
		memcpy(var + var_len, cap->data, cap->len);
		var_len += cap->len;
	}
	h->var_len = var_len - start;
	nsyscalls++;
	return true;
}

void sc_bin_add_drop(u16 reason, u32 cpu, u64 count, s64 ts)
{
	struct sc_bin_head *h = new_head(SC_BIN_DROP);
	u32 start = var_len;

	h->ts = ts;
	h->nr = reason;
	h->tid = cpu;
	set_res(h, count);
	h->var_len = var_len - start;
}

u32 sc_bin_block_size(void)
{
	return nheads ? block_bytes() : 0;
}

/* Drops the block being built; returns how many syscall records it held. */
u32 sc_bin_discard(void)
{
	u32 n = nsyscalls;

	nheads = 0;
	nsyscalls = 0;
	var_len = 0;
	return n;
}

/*
 * The block built so far as the three pieces a write takes (header,
 * heads, variable parts): the file's write copies them once, where
 * appending them to the writer's buffer first cost a copy of every byte.
 * Returns the block's bytes, 0 when it is empty. The pieces stay valid
 * until sc_bin_discard() starts the next block.
 */
u32 sc_bin_block_vecs(struct kvec *vec)
{
	static struct sc_bin_block_header bh;
	size_t hbytes = nheads * sizeof(*heads);

	if (!nheads)
		return 0;
	vec[0] = (struct kvec) { &bh, sizeof(bh) };
	vec[1] = (struct kvec) { heads, hbytes };
	vec[2] = (struct kvec) { var, var_len };
	bh = (struct sc_bin_block_header) {
		.magic = SC_BIN_BLOCK_MAGIC,
		.count = nheads,
		.var_bytes = var_len,
		.crc = sc_crc(vec + 1, 2),
	};
	return block_bytes();
}

/*
 * The file header: the text header lines of the text format, and the two
 * tables a reader needs to turn the numbers back into what text mode shows:
 *   #names <abi> <nr>=<name> ...          one line per ABI
 *   #desc <abi> <nr> <field>:<KIND>[:<symtab>] ...   one line per decoded call
 */
/* The header of a binary or raw file: the text header and the tables. */
void sc_file_header(struct sc_out *o, const char *magic, u32 version)
{
	struct sc_bin_file_header fh = {
		.byte_order = SC_BIN_BYTE_ORDER,
		.version = version,
	};
	size_t at = o->len;

	memcpy(fh.magic, magic, sizeof(fh.magic));
	o->len += sizeof(fh);
	sc_render_header(o);
	sc_render_tables(o);
	fh.text_len = o->len - at - sizeof(fh);
	memcpy(o->buf + at, &fh, sizeof(fh));
}

void sc_bin_file_header(struct sc_out *o)
{
	sc_file_header(o, SC_BIN_MAGIC, SC_BIN_VERSION);
	memset(threads, 0, sizeof(threads));	/* a new file knows no thread */
}
