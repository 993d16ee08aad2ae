/*
 * Provided-buffer ring: the worker's receive buffers.
 *
 * liburing 2.3 has no io_uring_setup_buf_ring, so the ring is mapped here and
 * registered with io_uring_register_buf_ring. The kernel picks a buffer only
 * when data arrives, so an idle connection holds none.
 *
 * With IOU_PBUF_RING_INC (6.12) the kernel consumes a buffer incrementally: a
 * 1-byte message takes one byte, not a whole buffer, and IORING_CQE_F_BUF_MORE
 * says the kernel will put more data in the same buffer. The worker tracks
 * how far each buffer is consumed to find where a completion's data starts.
 *
 * Buffers go back to the ring after the batch handler returns (the handler
 * may read and rewrite them in place until then).
 */
#include <numa.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

static void *alloc_on_node(rg_worker *w, size_t bytes)
{
	void *p;

	if (numa_available() >= 0)
		return numa_alloc_onnode(bytes, w->node);
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void free_on_node(void *p, size_t bytes)
{
	if (!p)
		return;
	if (numa_available() >= 0)
		numa_free(p, bytes);
	else
		munmap(p, bytes);
}

static int register_ring(rg_worker *w, bool incremental)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)w->bufs.ring;
	reg.ring_entries = w->bufs.count;
	reg.bgid = RG_BGID;
	/*
	 * liburing 2.3 ignores its `flags` argument and its 6.1 uapi header names the
	 * field `pad`: the kernel reads the ring flags from there (`flags` since 6.4).
	 */
	reg.pad = incremental ? RG_IOU_PBUF_RING_INC : 0;
	return io_uring_register_buf_ring(&w->ring, &reg, 0);
}

/*
 * The default shape when none is configured (0). With incremental consumption
 * a few large buffers: a receive takes only what arrived, so one 64 KiB buffer
 * serves many small messages in turn, and a message of up to 64 KiB usually
 * lands whole in one buffer instead of being reassembled from pieces (4 KiB
 * echoes cost a third less CPU). Without it every receive takes a whole
 * buffer, so many small ones. Either way 4 MiB per worker, given back when
 * the worker is quiet.
 */
static void default_shape(const rg_config *c, bool incremental, uint32_t *size, uint32_t *count)
{
	*size = c->buf_size ? c->buf_size : incremental ? 65536 : 4096;
	*count = c->buf_count ? c->buf_count : incremental ? 64 : 1024;
}

/* Maps the ring for `count` entries; -ENOMEM when it cannot. */
static int map_ring(struct rg_bufring *b, uint32_t count)
{
	if (b->ring)
		munmap(b->ring, b->ring_bytes);
	b->count = count;
	b->mask = count - 1;
	b->ring_bytes = (size_t)count * sizeof(struct io_uring_buf);
	b->ring = mmap(NULL, b->ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->ring == MAP_FAILED) {
		b->ring = NULL;
		return -ENOMEM;
	}
	return 0;
}

int rg_internal_bufring_init(rg_worker *w, char *err, size_t err_len)
{
	struct rg_bufring *b = &w->bufs;
	const rg_config *c = &w->engine->cfg;
	uint32_t size, count;
	int ret = -EINVAL;

	if (c->incremental_buffers) {
		default_shape(c, true, &size, &count);
		if (map_ring(b, count))
			return snprintf(err, err_len, "cannot map the buffer ring"), -ENOMEM;
		ret = register_ring(w, true);
	}
	b->incremental = ret == 0;
	if (ret) {
		default_shape(c, false, &size, &count);
		if (map_ring(b, count))
			return snprintf(err, err_len, "cannot map the buffer ring"), -ENOMEM;
		ret = register_ring(w, false);
	}
	if (ret)
		return snprintf(err, err_len, "cannot register a provided-buffer ring (Linux 5.19+): %s",
				strerror(-ret)), ret;
	if (c->incremental_buffers && !b->incremental && w->index == 0)
		rg_internal_log(RG_LOG_NOTICE, "no incremental buffer consumption (IOU_PBUF_RING_INC, Linux 6.12): "
				"each receive takes a whole buffer");

	b->size = size;
	b->base = alloc_on_node(w, (size_t)b->count * b->size);
	b->offset = calloc(b->count, sizeof(uint32_t));
	b->recycle = calloc(b->count, sizeof(uint16_t));
	b->queued = calloc(b->count, 1);
	if (!b->base || !b->offset || !b->recycle || !b->queued)
		return snprintf(err, err_len, "cannot allocate %u receive buffers", b->count), -ENOMEM;

	io_uring_buf_ring_init(b->ring);
	for (uint32_t i = 0; i < b->count; i++)
		io_uring_buf_ring_add(b->ring, b->base + (size_t)i * b->size, b->size, (uint16_t)i, b->mask,
				      (int)i);
	io_uring_buf_ring_advance(b->ring, (int)b->count);
	return 0;
}

void rg_internal_bufring_free(rg_worker *w)
{
	struct rg_bufring *b = &w->bufs;

	if (b->ring)
		munmap(b->ring, b->ring_bytes);
	free_on_node(b->base, (size_t)b->count * b->size);
	free(b->offset);
	free(b->recycle);
	free(b->queued);
	memset(b, 0, sizeof(*b));
}

/*
 * Returns where a completion's `len` bytes start in buffer `bid` and, once
 * the kernel is done with the buffer (`more` false), queues it for recycling.
 * A buffer already queued is not queued twice: handing the kernel one buffer
 * twice would let two receives share it.
 */
uint8_t *rg_internal_buf_take(rg_worker *w, uint32_t bid, uint32_t len, bool more)
{
	struct rg_bufring *b = &w->bufs;
	uint8_t *data;

	if (RG_BUG(w, bid >= b->count || b->queued[bid]))
		return NULL;
	data = b->base + (size_t)bid * b->size;
	if (b->incremental) {
		data += b->offset[bid];
		b->offset[bid] += len;
	}
	if (!(b->incremental && more)) {
		b->offset[bid] = 0;
		b->queued[bid] = 1;
		b->recycle[b->recycle_count++] = (uint16_t)bid;
	}
	return data;
}

/*
 * After a tick with no receive, gives the buffers' pages back to the kernel:
 * an idle worker then holds no receive memory, and the first receive after
 * the quiet spell faults its pages back in. Called between batches: every
 * completion seen so far has been handled and its buffer recycled, and with
 * DEFER_TASKRUN the kernel copies socket data in only while this thread is
 * inside io_uring_enter.
 */
void rg_internal_bufring_trim(rg_worker *w)
{
	struct rg_bufring *b = &w->bufs;

	if (w->stats.recv_completions != w->recv_at_last_tick) {
		w->recv_at_last_tick = w->stats.recv_completions;
		w->bufs_trimmed = false;
		return;
	}
	/* Completions waiting in the overflow list may point into buffers. */
	if (w->bufs_trimmed || !b->base || io_uring_cq_has_overflow(&w->ring))
		return;
	madvise(b->base, (size_t)b->count * b->size, MADV_DONTNEED);
	w->bufs_trimmed = true;
}

/* Hands every buffer the last batch finished with back to the kernel. */
void rg_internal_buf_recycle(rg_worker *w)
{
	struct rg_bufring *b = &w->bufs;

	for (uint32_t i = 0; i < b->recycle_count; i++) {
		uint16_t bid = b->recycle[i];

		b->queued[bid] = 0;
		io_uring_buf_ring_add(b->ring, b->base + (size_t)bid * b->size, b->size, bid, b->mask, (int)i);
	}
	/* The store-release in advance pairs with the kernel's load of the tail. */
	io_uring_buf_ring_advance(b->ring, (int)b->recycle_count);
	b->recycle_count = 0;
}
