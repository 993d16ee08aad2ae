/*
 * Send chunks: the memory a connection's send queue is made of.
 *
 * One pool per size class, each one anonymous mapping holding a third of
 * the configured send-pool size. A chunk is taken from the free list first;
 * otherwise the next never-used chunk is taken in order, so unused pool pages
 * stay untouched: fresh chunks are taken only when the free list is empty,
 * and then every touched chunk is in use, so the next fresh one is number
 * `used`. When a pool has nothing in use at a tick, its touched pages go
 * back to the kernel (rg_internal_chunks_trim): a burst of sends does not
 * leave an idle gateway holding its peak memory.
 */
#include <numa.h>
#include <sys/mman.h>

#include "internal.h"

static int pool_init(rg_worker *w, struct rg_chunk_pool *p, uint32_t chunk_bytes, size_t bytes)
{
	p->chunk_bytes = chunk_bytes;
	p->count = (uint32_t)(bytes / chunk_bytes);
	p->free = RG_NONE;
	p->used = 0;
	p->touched = 0;
	p->base = mmap(NULL, (size_t)p->count * chunk_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		return -ENOMEM;
	}
	if (numa_available() >= 0)
		numa_tonode_memory(p->base, (size_t)p->count * chunk_bytes, w->node);
	return 0;
}

int rg_internal_chunks_init(rg_worker *w)
{
	size_t share = w->engine->cfg.send_pool_bytes / RG_CHUNK_CLASSES;

	for (int i = 0; i < RG_CHUNK_CLASSES; i++) {
		int ret = pool_init(w, &w->pools[i], rg_chunk_class_bytes[i], share);

		if (ret)
			return ret;
	}
	/* Reference chunks: one per shared frame queued on a connection; as many as a
	 * pool share holds of the smallest class, each 32 bytes, touched only when used. */
	return pool_init(w, &w->pools[RG_REF_CLASS], RG_REF_CHUNK_BYTES,
			 share / rg_chunk_class_bytes[0] * RG_REF_CHUNK_BYTES * 4);
}

void rg_internal_chunks_free(rg_worker *w)
{
	for (uint32_t i = 0; i <= RG_REF_CLASS; i++) {
		struct rg_chunk_pool *p = &w->pools[i];

		if (p->base)
			munmap(p->base, (size_t)p->count * p->chunk_bytes);
		p->base = NULL;
	}
}

static uint32_t pool_take(rg_worker *w, uint32_t class)
{
	struct rg_chunk_pool *p = &w->pools[class];
	uint32_t tag = class << RG_CHUNK_CLASS_SHIFT;
	uint32_t i = p->free;

	if (i != RG_NONE) {
		p->free = rg_chunk_at(w, i | tag)->next;
	} else if (p->used < p->count) {
		i = p->used;
		if (p->touched < i + 1)
			p->touched = i + 1;
	} else {
		return RG_NONE;
	}
	p->used++;
	return i | tag;
}

/*
 * The smallest chunk with room for `want` bytes (the largest for bigger
 * requests), falling back to larger classes when a pool is dry. Returns
 * RG_NONE when no chunk is left.
 */
uint32_t rg_internal_chunk_alloc(rg_worker *w, uint32_t want)
{
	uint32_t i = RG_NONE;
	struct rg_chunk *ch;

	for (uint32_t class = 0; class < RG_CHUNK_CLASSES && i == RG_NONE; class++) {
		if (want <= rg_chunk_class_bytes[class] - RG_CHUNK_HEADER || class == RG_CHUNK_CLASSES - 1)
			i = pool_take(w, class);
	}
	if (i == RG_NONE)
		return RG_NONE;
	ch = rg_chunk_at(w, i);
	ch->next = RG_NONE;
	ch->start = ch->end = ch->inflight = 0;
	ch->first_record = RG_NONE;
	return i;
}

/* A reference chunk of its own: for rg_conn_send_shared. */
uint32_t rg_internal_ref_chunk_alloc(rg_worker *w)
{
	uint32_t i = pool_take(w, RG_REF_CLASS);

	if (i != RG_NONE) {
		struct rg_chunk *ch = rg_chunk_at(w, i);

		ch->next = RG_NONE;
		ch->start = ch->end = ch->inflight = 0;
		ch->first_record = 0;	/* its one record, the shared frame, starts at 0 */
	}
	return i;
}

void rg_internal_chunk_release(rg_worker *w, uint32_t index)
{
	struct rg_chunk_pool *p = &w->pools[index >> RG_CHUNK_CLASS_SHIFT];

	if (rg_chunk_is_ref(index))
		rg_internal_ref_chunk_drop(w, index);

	rg_chunk_at(w, index)->next = p->free;
	p->free = index & RG_CHUNK_INDEX_MASK;
	p->used--;
}

void rg_internal_chunks_trim(rg_worker *w)
{
	for (uint32_t i = 0; i <= RG_REF_CLASS; i++) {
		struct rg_chunk_pool *p = &w->pools[i];

		if (p->used || !p->touched)
			continue;
		madvise(p->base, (size_t)p->touched * p->chunk_bytes, MADV_DONTNEED);
		p->free = RG_NONE;
		p->touched = 0;
	}
}
