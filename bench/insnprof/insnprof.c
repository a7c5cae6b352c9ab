// SPDX-License-Identifier: GPL-2.0
/*
 * insnprof: a QEMU TCG plugin that counts the guest instructions executed
 * in kernel space, per translation block, for bench/profile_probe.py.
 *
 * Under -icount guest time is instruction count, so the benchmark's "ns per
 * call" only says how many instructions a probe costs, not where they go.
 * The guest has no PMU under TCG; this counts exactly instead of sampling.
 *
 *   qemu-system-x86_64 ... -plugin /path/libinsnprof.so,out=/tmp/prof.txt
 *
 * At exit it writes one line per kernel block executed: "vaddr insns count".
 * Each block is counted with an inline add (no helper call), so the
 * instrumented guest runs at nearly full TCG speed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_BLOCKS (1 << 20)

struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t count;
};

static struct block *blocks;
static size_t nblocks;
static const char *out_path = "insnprof.txt";
static uint64_t kernel_base = 0xffff800000000000ULL;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct block *b;

	if (vaddr < kernel_base || nblocks == MAX_BLOCKS)
		return;
	/* one entry per translation: a block retranslated is summed later */
	b = &blocks[nblocks++];
	b->vaddr = vaddr;
	b->insns = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->count, 1);
}

static void write_counts(qemu_plugin_id_t id, void *p)
{
	FILE *f = fopen(out_path, "w");
	size_t i;

	if (!f)
		return;
	for (i = 0; i < nblocks; i++)
		if (blocks[i].count)
			fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				blocks[i].vaddr, blocks[i].insns,
				blocks[i].count);
	fprintf(f, "# blocks %zu%s\n", nblocks,
		nblocks == MAX_BLOCKS ? " (table full: later blocks not counted)" : "");
	fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info, int argc,
					   char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out_path = strdup(argv[i] + 4);
		else if (!strncmp(argv[i], "kernel_base=", 12))
			kernel_base = strtoull(argv[i] + 12, NULL, 16);
	}
	blocks = calloc(MAX_BLOCKS, sizeof(*blocks));
	if (!blocks)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, write_counts, NULL);
	return 0;
}
