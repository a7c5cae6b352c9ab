// SPDX-License-Identifier: GPL-2.0
/*
 * The raw format's chunks (binfmt.h): one CPU's ring bytes behind a
 * header, written as they are. The writer takes the bytes and fills the
 * header's drain fields; this seals it.
 */
#include <linux/uio.h>
#include "my_sysdig.h"
#include "binfmt.h"

/*
 * Points @vec (three pieces) at @ch with @pad zero bytes after it (they
 * follow it in memory) and at ring @r's bytes from stream position @from
 * to @to, which wrap at the buffer's end at most once, and seals @ch.
 * Returns the chunk's bytes.
 */
u32 sc_raw_chunk(struct sc_raw_chunk *ch, u32 pad, struct kvec *vec,
		 const struct sc_ring *r, u64 from, u64 to)
{
	u32 off = from & r->mask;
	u32 len = to - from;
	u32 first = min(len, r->size - off);

	ch->magic = SC_RAW_CHUNK_MAGIC;
	ch->crc = 0;
	ch->header_len = sizeof(*ch) + pad;
	ch->data_len = len;
	ch->stream_pos = from;
	vec[0] = (struct kvec) { ch, sizeof(*ch) + pad };
	vec[1] = (struct kvec) { r->buf + off, first };
	vec[2] = (struct kvec) { r->buf, len - first };
	ch->crc = sc_crc(vec, 3);
	return sizeof(*ch) + pad + len;
}

void sc_raw_file_header(struct sc_out *o)
{
	sc_file_header(o, SC_RAW_MAGIC, SC_RAW_VERSION);
}
