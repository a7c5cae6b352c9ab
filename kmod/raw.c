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
 * follow it in memory) and at ring @r's bytes from @from to @to, and
 * seals @ch. Returns the chunk's bytes.
 */
u32 sc_raw_chunk(struct sc_raw_chunk *ch, u32 pad, struct kvec *vec,
		 const struct sc_ring *r, u64 from, u64 to)
{
	u32 len = to - from;

	ch->magic = SC_RAW_CHUNK_MAGIC;
	ch->crc = 0;
	ch->header_len = sizeof(*ch) + pad;
	ch->data_len = len;
	ch->stream_pos = from;
	vec[0] = (struct kvec) { ch, sizeof(*ch) + pad };
	sc_ring_span(vec + 1, r, from, to);
	ch->crc = sc_crc(vec, 3);
	return sizeof(*ch) + pad + len;
}

void sc_raw_file_header(struct sc_out *o)
{
	sc_file_header(o, SC_RAW_MAGIC, SC_RAW_VERSION);
}
