// SPDX-License-Identifier: GPL-2.0
/*
 * The CRC-32C (Castagnoli, as ext4, btrfs and iSCSI use) that guards
 * binary blocks and raw chunks. CRC-32C rather than zlib's CRC-32: both
 * CPUs compute it with an instruction of their own (x86's SSE4.2 crc32q,
 * arm64's crc32cx), eight bytes each, three streams at once in
 * crc32c-intel's crc_pcl. Under nginx in format=raw, the chunks' CRC-32
 * by crc32-pclmul's folding was 0.39 instructions per byte, a seventh of
 * the module's cost per record (docs/overhead-notes.md).
 *
 * Kernels whose lib/crc32 has an arch-optimized crc32c() (it says so with
 * CRC32C_OPTIMIZATION) are called directly. Older ones have the CPU's
 * version only behind the crypto API (crc32c-intel), when it is loaded;
 * else lib/crc32's __crc32c_le(), which arm64 implements with its CRC
 * instructions and x86 with a table.
 */
#include <linux/crc32.h>
#include <linux/uio.h>
#include <crypto/hash.h>
#include "my_sysdig.h"

#ifdef CRC32C_OPTIMIZATION
#define LIB_CRC32C(crc, p, len) crc32c(crc, p, len)
#else
#define LIB_CRC32C(crc, p, len) __crc32c_le(crc, p, len)
static struct crypto_shash *crc_tfm;
#endif

void sc_crc_init(void)
{
#ifndef CRC32C_OPTIMIZATION
	struct crypto_shash *tfm = crypto_alloc_shash("crc32c", 0, 0);

	if (!IS_ERR(tfm)) {
		crc_tfm = tfm;
		pr_info(MY_SYSDIG ": block CRC-32C by %s\n",
			crypto_shash_driver_name(tfm));
		return;
	}
#endif
	pr_info(MY_SYSDIG ": block CRC-32C by lib\n");
}

void sc_crc_exit(void)
{
#ifndef CRC32C_OPTIMIZATION
	if (crc_tfm)
		crypto_free_shash(crc_tfm);
	crc_tfm = NULL;
#endif
}

/* The CRC-32C of @n pieces back to back (seed ~0, result inverted). */
u32 sc_crc(const struct kvec *vec, int n)
{
	u32 crc = ~0U;
	int i;

#ifndef CRC32C_OPTIMIZATION
	if (crc_tfm) {
		SHASH_DESC_ON_STACK(desc, crc_tfm);
		__le32 out;
		int err;

		desc->tfm = crc_tfm;
		err = crypto_shash_init(desc);
		for (i = 0; i < n && !err; i++)
			err = crypto_shash_update(desc, vec[i].iov_base,
						  vec[i].iov_len);
		if (!err && !crypto_shash_final(desc, (u8 *)&out))
			return le32_to_cpu(out);
	}
#endif
	for (i = 0; i < n; i++)
		crc = LIB_CRC32C(crc, vec[i].iov_base, vec[i].iov_len);
	return ~crc;
}
