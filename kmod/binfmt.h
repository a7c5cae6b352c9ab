/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The binary record format (format=binary), documented for readers in
 * docs/record-format.md. A file is a header followed by blocks; a block is
 * an array of fixed-size record heads, which a reader can decode in bulk,
 * and an area holding each record's variable part in the same order.
 * All integers are in the writer's byte order, told by byte_order.
 */
#ifndef MY_SYSDIG_BINFMT_H
#define MY_SYSDIG_BINFMT_H

#include <linux/types.h>

#define SC_BIN_MAGIC "MYSDBIN1"
#define SC_BIN_BYTE_ORDER 0x01020304
#define SC_BIN_VERSION 2	/* 1: CRC-32 (zlib's) instead of CRC-32C */
#define SC_BIN_BLOCK_MAGIC 0x4b4c4253	/* "SBLK" read little-endian */

struct sc_bin_file_header {
	char magic[8];
	u32 byte_order;
	u32 version;
	u32 text_len;	/* header text that follows: see sc_render_bin_text */
	u32 reserved;
} __packed;

struct sc_bin_block_header {
	u32 magic;
	u32 count;	/* record heads that follow */
	u32 var_bytes;	/* then this many bytes of variable parts */
	u32 crc;	/* CRC-32C (crc.c) of the heads and the variable area */
} __packed;

enum sc_bin_type {
	SC_BIN_SYSCALL = 1,
	SC_BIN_THREAD = 2,	/* tid's pid (in res) and comm (var: comm bytes) */
	SC_BIN_DROP = 3,	/* res records lost; nr: 1 ring (tid: cpu), 2 cap */
};

/* Head flags beyond enum sc_event_flags (which use the low four bits). */
enum sc_bin_flags {
	SC_BINF_LAT_WIDE = 1 << 4,	/* latency >= 2^32 ns: a varint in var */
	SC_BINF_RES_WIDE = 1 << 5,	/* result outside s32: a varint in var */
};

/*
 * One record's fixed part, 28 bytes. A record's pid and comm are those of
 * the last thread record of its tid. Variable part of a syscall, in order:
 * the wide latency and result when flagged (zigzag LEB128 varints), `nargs`
 * argument values as zigzag varints, then `ncap` captures, each u8 arg,
 * u8 flags, u16 len, len bytes. Latency is unknown (and 0 here) when the
 * flags say NO_ENTRY or NO_RETURN.
 */
struct sc_bin_head {
	s64 ts;		/* wall-clock ns at entry */
	u32 lat;	/* ns from entry to exit */
	s32 res;
	u32 tid;
	u16 nr;
	u8 type;
	u8 flags;	/* enum sc_event_flags | enum sc_bin_flags */
	u16 var_len;
	u8 nargs;
	u8 ncap;
} __packed;

/*
 * The raw format (format=raw): the same file header (magic SC_RAW_MAGIC),
 * then chunks. A chunk holds one CPU's ring bytes exactly as the probes
 * wrote them (struct sc_event records and pads, kmod/event.h), taken at
 * one drain: no per-record work in the kernel beyond counting, so the
 * cheapest format to write. Its stamps are the probes' own (counter ticks
 * when flags say SC_RAWF_COUNTER); the header carries the conversion the
 * binary writer would have applied, and a reader merges the chunks of one
 * drain (same seq) by exit stamp, as the binary writer merges the rings.
 */
#define SC_RAW_MAGIC "MYSDRAW1"
#define SC_RAW_VERSION 2	/* 1: CRC-32, as binary's version 1 */
#define SC_RAW_CHUNK_MAGIC 0x57415253	/* "SRAW" read little-endian */

enum sc_raw_kind {
	SC_RAW_EVENTS = 1,	/* one CPU's events, and its ring's drops */
	SC_RAW_CAP = 2,		/* the size cap refused records: dropped is 1 */
};

enum sc_raw_flags {
	SC_RAWF_COUNTER = 1 << 0,	/* stamps are counter ticks, else ns */
};

struct sc_raw_chunk {
	u32 magic;
	u32 crc;		/* CRC-32C of this header, crc 0, and the data */
	u32 header_len;		/* from the chunk's start to its data */
	u32 data_len;		/* ring bytes: whole events and pads */
	u16 kind;
	u16 flags;
	u32 cpu;
	u32 part;		/* this drain's chunks are numbered 0 .. parts - 1 */
	u32 parts;
	u64 seq;		/* the drain's number since load */
	u64 stream_pos;		/* bytes this CPU's ring took before the data */
	u64 dropped;		/* records the ring dropped since the last chunk */
	/* a stamp s in ns: clock_ns + ((s - clock_stamp) * clock_mult >> 32) */
	u64 clock_stamp;
	u64 clock_ns;
	u64 clock_mult;
	s64 real_offset;	/* wall clock minus ktime_get_ns() at the drain */
} __packed;

#endif
