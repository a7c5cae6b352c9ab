// SPDX-License-Identifier: GPL-2.0
/*
 * The record file: the writer's bytes appended to it, through the page
 * cache or past it.
 *
 * A buffered append costs about 4.5 guest instructions per byte on ext4:
 * the copy into the page cache, the zeroing of every new page (Debian sets
 * init_on_alloc), delayed allocation per page, then writeback. For nginx
 * that is 2 % of its throughput in binary and 6.5 % in text
 * (docs/overhead-notes.md). With O_DIRECT the block layer takes the
 * writer's own pages instead, which leaves one copy into them.
 *
 * Direct I/O moves whole file-system blocks, so appends gather in a stage
 * whose start is block aligned in the file. While records flow, a drain's
 * bytes wait there for one nap, and the next drain writes both drains'
 * whole blocks in one direct write (each costs ext4 a journaled size
 * update; half as many gained 0.7 % of nginx's throughput in binary). The
 * partial last block, the tail, waits for the write that completes it;
 * when no write comes within another nap, or the flow stops, it is
 * appended through the page cache, so a reader sees every record within
 * three naps, and within one once the flow stops. The next write completes
 * that block through the cache too, and writes the blocks after it
 * directly. When a direct write fails (disk full, an I/O error),
 * the file falls back to buffered appends for good, starting with what
 * the stage still holds.
 *
 * A direct write waits for the device: ext4 makes every extending one
 * wait (IOMAP_DIO_FORCE_WAIT), whatever the caller asks. A writer that
 * waited let a burst fill the rings where a buffered append would not
 * (a 20000-call burst on one x86_64 7.3 vCPU, test VMs on a busy host,
 * dropped records in 2 boots of 3). So a kworker does the direct writes,
 * one at a time, while the writer goes on filling the stage after the
 * bytes in flight; the stage holds four appends for that. The writer takes
 * the write's outcome in at its next drain, and waits for it only to
 * touch the file itself (a tail through the cache, a truncation), when
 * the stage is full, or when it goes idle or stops.
 *
 * format=raw copies nothing it need not: the ring bytes between the direct
 * blocks' boundaries are mapped into the write where they lie (ring
 * pages in the write's bio_vecs), and only a chunk's header and the
 * partial blocks at its ends go through the stage. The writer keeps those
 * ring bytes until the write has completed (sc_recfile_maps_busy()). The
 * direct block is then the device's logical block (512 bytes, not the file
 * system's 4 KiB), which keeps the copied ends and the headers' padding
 * small; ext4 and XFS take such writes, zeroing the rest of a new block.
 */
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/cred.h>
#include <linux/uio.h>
#include <linux/bvec.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/workqueue.h>
#include <linux/completion.h>
#include <linux/version.h>
#include <linux/blkdev.h>
#include "my_sysdig.h"

/*
 * A binary block or the text buffer (1 MiB each) is one append. The stage
 * takes what comes while a write is in flight: four appends, and the tail
 * before them (a 2 MiB stage filled behind 100 ms writes and made a burst
 * drop 18 % of its records).
 */
#define STAGE_SIZE (4 * 1024 * 1024 + PAGE_SIZE)
#define STAGE_PAGES (STAGE_SIZE / PAGE_SIZE)

static struct file *appender;	/* O_APPEND, through the page cache */
static struct file *direct;	/* O_DIRECT | O_APPEND on it, or NULL */
static char *stage;		/* vmalloc'd, so page aligned */
static struct bio_vec *stage_pages;
static unsigned int blk;	/* direct writes' unit: the file system's block, or (raw) the device's */
static size_t stage_off;	/* where the held bytes start in the stage */
static loff_t stage_pos;	/* their offset in the file, block aligned */
static size_t staged;		/* bytes held */
static size_t stage_in_file;	/* of those, already appended through the cache */
static bool tail_waited;	/* the tail was held at the last drain's end */
static size_t stage_lost;	/* bytes of this append the fallback lost */
/* of the held bytes, those of earlier appends: all of them between appends */
static size_t held_before;

static void dio_fn(struct work_struct *work);

/* The direct write in flight: the first dio_len held bytes, by a kworker. */
static DECLARE_WORK(dio_work, dio_fn);
static DECLARE_COMPLETION(dio_done);
static struct iov_iter dio_iter;
static size_t dio_len;
static ssize_t dio_result;
static loff_t dio_end;		/* where in the file it ended */
static bool dio_queued;		/* queued, its outcome not taken in yet */

/*
 * format=raw: the pieces of the next direct write, stage bytes and mapped
 * ring bytes in file order, then of the write in flight.
 */
static struct bio_vec *map_bv;
static unsigned int map_bv_max, map_nbv;
static size_t map_staged;	/* held bytes already in map_bv */
static size_t mapped;		/* ring bytes in map_bv, pending or in flight */
static size_t dio_mapped;	/* of dio_len, the mapped ring bytes */
static unsigned int dio_nbv;

/*
 * vfs_iter_write() under the file system's freeze protection. Its callers
 * took that before 6.7; since then it takes it itself, and taking it twice
 * can deadlock: a freeze that starts in between blocks the second taker,
 * and waits for the first.
 */
static ssize_t iter_write(struct file *file, struct iov_iter *it, loff_t *pos)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
	ssize_t w;

	file_start_write(file);
	w = vfs_iter_write(file, it, pos, 0);
	file_end_write(file);
	return w;
#else
	return vfs_iter_write(file, it, pos, 0);
#endif
}

/* Appends @it to the file through the page cache; returns the bytes taken. */
static size_t append_buffered(struct iov_iter *it)
{
	size_t done = 0;

	while (iov_iter_count(it)) {
		loff_t pos = 0;	/* O_APPEND: the kernel appends at i_size */
		ssize_t w = iter_write(appender, it, &pos);

		if (w <= 0) {
			atomic64_inc(&sc_stats.write_errors);
			break;
		}
		done += w;
	}
	return done;
}

/* Appends the stage's bytes the file does not have yet, through the cache. */
static void append_tail(void)
{
	struct kvec vec = {
		stage + stage_off + stage_in_file, staged - stage_in_file
	};
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_SOURCE, &vec, 1, vec.iov_len);
	stage_in_file += append_buffered(&it);
}

static void direct_off(int err, size_t new_bytes)
{
	pr_warn(MY_SYSDIG ": direct write to the record file failed (error %d): appending through the page cache from now on\n",
		err);
	atomic64_inc(&sc_stats.write_errors);
	append_tail();
	/* lost from the stage's end: this append's bytes, then earlier ones */
	stage_lost = min(staged - stage_in_file, new_bytes);
	if (staged - stage_in_file > new_bytes)
		pr_warn(MY_SYSDIG ": %zu bytes of records counted written before the failure were lost with it\n",
			staged - stage_in_file - new_bytes);
	fput(direct);
	direct = NULL;
}

/* Restarts the stage at the block where the file ends, @size bytes in. */
static void restart_at(loff_t size)
{
	stage_pos = round_down(size, blk);
	stage_off = 0;
	staged = size - stage_pos;
	stage_in_file = staged;
	held_before = staged;
	tail_waited = false;
	if (staged) {
		loff_t pos = stage_pos;

		if (kernel_read(appender, stage, staged, &pos) != staged)
			direct_off(-EIO, 0);
	}
}

/* Moves the stage's start @len bytes on: they are in the file. */
static void stage_advance(size_t len)
{
	staged -= len;
	held_before -= min(held_before, len);
	stage_in_file -= min(stage_in_file, len);
	stage_off += len;
	stage_pos += len;
}

static void dio_write(void)
{
	loff_t pos = 0;	/* O_APPEND: where ext4 sees the file's end */

	dio_result = iter_write(direct, &dio_iter, &pos);
	dio_end = pos;
}

static void dio_fn(struct work_struct *work)
{
	dio_write();
	complete(&dio_done);
}

/*
 * A mapped write that failed: what it did not write goes through the
 * cache, from the same pieces (the ring bytes are still kept for it).
 */
static void mapped_failed(ssize_t w)
{
	struct iov_iter it;
	size_t left;

	iov_iter_bvec(&it, ITER_SOURCE, map_bv, dio_nbv, dio_len);
	iov_iter_advance(&it, w > 0 ? w : 0);
	left = iov_iter_count(&it) - append_buffered(&it);
	if (left)
		pr_warn(MY_SYSDIG ": %zu bytes of records counted written were lost with a failed direct write\n",
			left);
	stage_advance(dio_len - dio_mapped);
	mapped = 0;
}

/*
 * Takes in the outcome of the direct write: the stage moves past the
 * blocks written, or the file falls back to buffered appends. Returns 0 or
 * the error that made it fall back.
 */
static int dio_finish(void)
{
	ssize_t w = dio_result;
	size_t len = dio_len;

	dio_len = 0;
	if (w != len) {
		if (dio_mapped)
			mapped_failed(w);
		/* the blocks it wrote are in the file: keep what is past them */
		else if (w > 0)
			stage_in_file = max_t(size_t, stage_in_file, w);
		dio_mapped = 0;
		direct_off(w < 0 ? w : -EIO, staged - held_before);
		return w < 0 ? w : -EIO;
	}
	stage_advance(len - dio_mapped);
	mapped -= dio_mapped;
	dio_mapped = 0;
	/*
	 * A reader's truncation before the write took the inode's lock put
	 * its blocks at the new end: the bytes held after them continue
	 * them there (only the file's first line is cut).
	 */
	stage_pos = dio_end;
	return 0;
}

/*
 * Takes in a queued direct write's outcome, waiting for it when @wait.
 * Returns -EINPROGRESS while it is still in flight (and !@wait), 0 or the
 * error that made the file fall back to buffered appends.
 */
static int dio_settle(bool wait)
{
	if (!dio_queued)
		return 0;
	if (wait)
		wait_for_completion(&dio_done);
	else if (!completion_done(&dio_done))
		return -EINPROGRESS;
	dio_queued = false;
	return dio_finish();
}

/*
 * Whether the file is written directly with no write in flight, once a
 * finished one is taken in (waiting for it when @wait); a failed one
 * leaves the file buffered.
 */
static bool direct_settled(bool wait)
{
	if (!direct || dio_settle(wait) == -EINPROGRESS)
		return false;
	return direct;	/* NULL once the write taken in failed */
}

/*
 * The block the file ends in, when its start went through the cache, is
 * completed through the cache too, so that direct writes start on a block.
 * Returns false when the file fell back to buffered appends.
 */
static bool complete_block(void)
{
	struct kvec vec = {
		stage + stage_off + stage_in_file, blk - stage_in_file
	};
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_SOURCE, &vec, 1, vec.iov_len);
	if (append_buffered(&it) != vec.iov_len) {
		direct_off(-ENOSPC, staged - held_before);
		return false;
	}
	stage_advance(blk);
	return true;
}

/*
 * Starts the direct write of dio_iter (dio_len bytes), by the kworker
 * unless @wait. Returns 0 or, when it waited, the error that made the file
 * fall back to buffered appends.
 */
static int start_write(bool wait)
{
	if (wait) {
		dio_write();
		return dio_finish();
	}
	reinit_completion(&dio_done);
	dio_queued = true;
	queue_work(system_unbound_wq, &dio_work);
	return 0;
}

/*
 * Writes the first @len held bytes (whole blocks) to the file, by the
 * kworker unless @wait; the tail stays where it is, the next append goes
 * on after it. Call with no write in flight. Returns 0 or the error that
 * made the file fall back to buffered appends, with the stage appended.
 *
 * The direct file is opened O_APPEND, so a write lands where the file
 * ends when ext4 takes the inode's lock: a reader's truncation just
 * before it cannot leave a hole (a positional write at stage_pos did, in
 * 1 boot of 6 of a script truncating 40 times while records flowed). The
 * end must be block aligned for that: the block the file ends in, when
 * its start went through the cache, is completed through the cache too.
 */
static int write_blocks(size_t len, bool wait)
{
	loff_t size = i_size_read(file_inode(appender));
	int err = 0;

	/* truncated since the drain began: what is held goes to the new end */
	if (size != stage_pos + stage_in_file) {
		append_tail();
		restart_at(i_size_read(file_inode(appender)));
		return direct ? 0 : -EIO;
	}
	if (stage_in_file) {
		if (!complete_block())
			return -ENOSPC;
		len -= blk;
		if (!len)
			goto done;
	}
	iov_iter_bvec(&dio_iter, ITER_SOURCE, stage_pages,
		      DIV_ROUND_UP(stage_off + len, PAGE_SIZE), stage_off + len);
	iov_iter_advance(&dio_iter, stage_off);
	dio_len = len;
	err = start_write(wait);
done:
	tail_waited = false;
	return err;
}

/* Adds @len vmalloc'd bytes at @p to the mapped write's pieces, a page each. */
static void map_pieces(const char *p, size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(p));

		map_bv[map_nbv++] = (struct bio_vec) {
			.bv_page = vmalloc_to_page(p),
			.bv_offset = offset_in_page(p),
			.bv_len = n,
		};
		p += n;
		len -= n;
	}
}

/* Adds the held bytes from map_staged up to @to to the mapped write's pieces. */
static void map_stage(size_t to)
{
	map_pieces(stage + stage_off + map_staged, to - map_staged);
	map_staged = to;
}

/*
 * format=raw: the pending pieces, and the held bytes after them up to their
 * last whole block, in one direct write (by the kworker unless @wait); the
 * partial block stays held. Call with no write in flight. Returns 0 or the
 * error that made the file fall back to buffered appends.
 */
static int write_mapped(bool wait)
{
	map_stage(map_staged + round_down(staged - map_staged, blk));
	dio_len = map_staged + mapped;
	dio_mapped = mapped;
	dio_nbv = map_nbv;
	map_nbv = 0;
	map_staged = 0;
	iov_iter_bvec(&dio_iter, ITER_SOURCE, map_bv, dio_nbv, dio_len);
	tail_waited = false;
	return start_write(wait);
}

/*
 * Moves the held bytes to the stage's start, once no write reads the
 * stage; false: the write in flight failed and the file fell back.
 */
static bool stage_rewind(void)
{
	if (dio_settle(true))
		return false;
	if (stage_off) {
		memmove(stage, stage + stage_off, staged);
		stage_off = 0;
	}
	return true;
}

/* Takes @it into the stage, writing whole blocks when it fills; false: fell back. */
static bool append_direct(struct iov_iter *it)
{
	while (iov_iter_count(it)) {
		size_t whole;

		/*
		 * The tail moves back to the start when what comes does not
		 * fit, once no write reads the stage.
		 */
		if (stage_off + staged + iov_iter_count(it) > STAGE_SIZE) {
			/* pending pieces point into the stage: write them first */
			if (mapped && !dio_queued && write_mapped(true))
				return false;
			if (!stage_rewind())
				return false;
		}
		staged += copy_from_iter(stage + stage_off + staged,
					 STAGE_SIZE - stage_off - staged, it);
		if (!iov_iter_count(it))
			break;
		whole = round_down(staged, blk);
		if (whole && write_blocks(whole, true))
			return false;
	}
	return true;
}

/*
 * Appends @n pieces of @bytes in all to the record file and returns how
 * many bytes of them it took: fewer when the disk is full or an I/O error
 * stopped it (counted).
 */
size_t sc_recfile_append(struct kvec *vec, int n, size_t bytes)
{
	struct iov_iter it;
	size_t done;

	iov_iter_kvec(&it, ITER_SOURCE, vec, n, bytes);
	if (!direct || !append_direct(&it))
		append_buffered(&it);
	done = bytes - iov_iter_count(&it);
	/* a fallback that could not append the stage lost some of them */
	done -= min(done, stage_lost);
	stage_lost = 0;
	held_before = staged;	/* the next append's bytes are past these */
	atomic64_add(done, &sc_stats.bytes);
	return done;
}

/*
 * format=text: room for at least @want bytes in the stage after the held
 * ones, for the writer to render into (its size in @room), or NULL when
 * the file is not written directly. Until sc_recfile_commit(), no other
 * call may touch the record file. Makes room as an append would: waits
 * for the write in flight, moves the held bytes to the stage's start, and
 * writes their whole blocks when that is not enough.
 */
char *sc_recfile_room(size_t want, size_t *room)
{
	if (!direct || mapped)
		return NULL;
	if (stage_off + staged + want > STAGE_SIZE) {
		if (!stage_rewind())
			return NULL;
		if (staged + want > STAGE_SIZE &&
		    write_blocks(round_down(staged, blk), true))
			return NULL;
		if (!stage_rewind() || !direct || staged + want > STAGE_SIZE)
			return NULL;
	}
	*room = STAGE_SIZE - stage_off - staged;
	return stage + stage_off + staged;
}

/* The @len bytes rendered where sc_recfile_room() said are appended. */
void sc_recfile_commit(size_t len)
{
	staged += len;
	held_before = staged;
	atomic64_add(len, &sc_stats.bytes);
}

/* Bytes in the file and held back for it. */
loff_t sc_recfile_size(void)
{
	/* ext4 grows the file when the write in flight completes */
	if (dio_queued)
		return stage_pos + staged + mapped;
	return i_size_read(file_inode(appender)) + staged - stage_in_file +
	       mapped;
}

/*
 * format=raw: the direct block when ring bytes may be mapped into the next
 * write, else 0: direct writes with none in flight. A stage past its half
 * moves back to its start first, so that a drain's few copied bytes never
 * move it while pieces that point into it are pending.
 */
unsigned int sc_recfile_map_block(void)
{
	if (!map_bv || !direct_settled(false))
		return 0;
	if (!mapped && stage_off > STAGE_SIZE / 2) {
		memmove(stage, stage + stage_off, staged);
		stage_off = 0;
	}
	return blk;
}

/*
 * format=raw: appends @len bytes of the vmalloc'd ring at @p where they
 * lie: the direct write reads them there, so they must stay as they are
 * while sc_recfile_maps_busy(). @p, @len and the file's end before them
 * are multiples of sc_recfile_map_block(). Returns false, having done
 * nothing, when the write has no room for more pieces: the caller appends
 * the bytes instead.
 */
bool sc_recfile_map(const char *p, size_t len)
{
	/* and room kept for the held bytes that end the write */
	unsigned int need = DIV_ROUND_UP(staged - map_staged, PAGE_SIZE) +
			    DIV_ROUND_UP(len, PAGE_SIZE) + STAGE_PAGES + 3;

	if (!direct || map_nbv + need > map_bv_max)
		return false;
	/* the held bytes before the first piece end on a block */
	if (!map_nbv && stage_in_file && !complete_block())
		return false;
	map_stage(staged);
	atomic64_add(len, &sc_stats.bytes);
	atomic64_add(len, &sc_stats.bytes_in_place);
	map_pieces(p, len);
	mapped += len;
	return true;
}

/* Whether mapped ring bytes wait for their write, or are in flight. */
bool sc_recfile_maps_busy(void)
{
	return mapped;
}

/* Whether a write of mapped ring bytes is in flight. */
bool sc_recfile_maps_in_flight(void)
{
	return dio_queued && dio_mapped;
}

/* Waits for the write in flight and takes its outcome in. */
void sc_recfile_wait(void)
{
	dio_settle(true);
}

/*
 * At a drain's start: when the file is not as long as the stage expects,
 * its reader truncated it. What the stage held back belongs to the file as
 * it was (a block's end, or lines cut from their neighbours), so it goes.
 * While a direct write is in flight, the next drain looks.
 */
void sc_recfile_sync(void)
{
	loff_t size;

	/* pending mapped pieces go where the file ends, as a write in flight */
	if (!direct_settled(false) || mapped)
		return;
	size = i_size_read(file_inode(appender));
	if (size != stage_pos + stage_in_file)
		restart_at(size);
}

/*
 * At a drain's end: what was held since the last drain, or anything when
 * @now (the writer goes idle, or stops), is written: whole blocks directly,
 * and the tail through the cache when nothing completed it or @now. A
 * write still in flight from the last drain leaves the next one to the
 * next drain, unless @now. Mapped ring bytes wait for one more drain's
 * when @may_hold, so that one write carries two drains (each costs ext4 a
 * journaled size update), and are written at the next.
 */
void sc_recfile_drain_end(bool now, bool may_hold)
{
	size_t whole;

	if (mapped && !dio_queued) {
		if (!now && may_hold && !tail_waited) {
			tail_waited = true;
			return;
		}
		if (write_mapped(now) || !now)
			return;
	}
	if (!direct_settled(now) || staged == stage_in_file)
		return;
	/* a backlog goes at once: the stage must keep room for the next one */
	if (!now && !tail_waited && staged < STAGE_SIZE / 4) {
		tail_waited = true;
		return;
	}
	whole = round_down(staged, blk);
	if (whole) {
		if (write_blocks(whole, now))
			return;
		if (!now)
			return;
	}
	if (staged != stage_in_file)
		append_tail();
}

static int direct_open(void)
{
	struct super_block *sb = file_inode(appender)->i_sb;
	unsigned int i;

	/*
	 * Only a file system on a block device gains: tmpfs copies a direct
	 * write into its pages all the same, NFS makes it a synchronous RPC.
	 */
	if (!sb->s_bdev)
		return -EOPNOTSUPP;
	blk = sb->s_blocksize;
	if (sc_format == SC_FORMAT_RAW) {
		unsigned int ring_pages = sc_ring_of(0)->size / PAGE_SIZE;

		blk = bdev_logical_block_size(sb->s_bdev);
		map_bv_max = STAGE_PAGES + 3 + nr_cpu_ids * (ring_pages + 8);
		map_bv = kvmalloc_array(map_bv_max, sizeof(*map_bv), GFP_KERNEL);
		if (!map_bv)
			return -ENOMEM;
	}
	if (blk > PAGE_SIZE)
		return -EINVAL;
	direct = dentry_open(&appender->f_path,
			     O_WRONLY | O_APPEND | O_DIRECT | O_LARGEFILE,
			     current_cred());
	if (IS_ERR(direct)) {
		int err = PTR_ERR(direct);

		direct = NULL;
		return err;
	}
	stage = vmalloc(STAGE_SIZE);
	stage_pages = kvmalloc_array(STAGE_PAGES, sizeof(*stage_pages),
				     GFP_KERNEL);
	if (!stage || !stage_pages) {
		fput(direct);
		direct = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < STAGE_PAGES; i++)
		stage_pages[i] = (struct bio_vec) {
			.bv_page = vmalloc_to_page(stage + i * PAGE_SIZE),
			.bv_len = PAGE_SIZE,
		};
	restart_at(0);	/* the file was just truncated */
	return 0;
}

int sc_recfile_open(void)
{
	int err;

	/* readable too: sc_recfile_sync() reads back a truncated file's tail */
	appender = filp_open(sc_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
			     O_LARGEFILE, 0600);
	if (IS_ERR(appender)) {
		err = PTR_ERR(appender);
		pr_err(MY_SYSDIG ": cannot open record file %s: error %d%s\n",
		       sc_path, err,
		       err == -ENOENT ? " (does its directory exist?)" : "");
		return err;
	}
	err = sc_direct_io ? direct_open() : 0;
	if (err)
		pr_info(MY_SYSDIG ": record file written through the page cache: no direct I/O on it (error %d)\n",
			err);
	return 0;
}

/* Whether appends go past the page cache, for /proc/my_sysdig/stats. */
bool sc_recfile_direct(void)
{
	return READ_ONCE(direct);
}

/* Call after the writer's final drain, which left nothing held back. */
void sc_recfile_close(void)
{
	dio_settle(true);
	flush_work(&dio_work);	/* its function has returned: rmmod may free it */
	if (direct) {
		fput(direct);
		direct = NULL;
	}
	vfree(stage);
	kvfree(stage_pages);
	kvfree(map_bv);
	stage = NULL;
	stage_pages = NULL;
	map_bv = NULL;
	map_nbv = 0;
	mapped = 0;
	filp_close(appender, NULL);
}
