/*
 * Send chunks: the memory a connection's send queue is made of.
 *
 * Two pools per worker, small and large chunks, each one anonymous mapping
 * split in two halves of the configured send-pool size. A chunk is taken
 * from the free list first; otherwise the next never-used chunk is taken in
 * order, so unused pool pages stay untouched: fresh chunks are taken only
 * when the free list is empty, and then every touched chunk is in use, so
 * the next fresh one is number `used`.
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
	size_t half = w->engine->cfg.send_pool_bytes / 2;
	int ret = pool_init(w, &w->pools[0], RG_SMALL_CHUNK_BYTES, half);

	return ret ? ret : pool_init(w, &w->pools[1], RG_LARGE_CHUNK_BYTES, half);
}

void rg_internal_chunks_free(rg_worker *w)
{
	for (int i = 0; i < 2; i++) {
		struct rg_chunk_pool *p = &w->pools[i];

		if (p->base)
			munmap(p->base, (size_t)p->count * p->chunk_bytes);
		p->base = NULL;
	}
}

static uint32_t pool_take(struct rg_chunk_pool *p, uint32_t large_bit, rg_worker *w)
{
	uint32_t i = p->free;

	if (i != RG_NONE) {
		p->free = rg_chunk_at(w, i | large_bit)->next;
	} else if (p->used < p->count) {
		i = p->used;
	} else {
		return RG_NONE;
	}
	p->used++;
	return i | large_bit;
}

/*
 * A chunk with room for `want` bytes if a small one has it, else a large
 * one; a small request falls back to a large chunk when the small pool is
 * dry. Returns RG_NONE when no chunk is left.
 */
uint32_t rg_internal_chunk_alloc(rg_worker *w, uint32_t want)
{
	uint32_t i = RG_NONE;
	struct rg_chunk *ch;

	if (want <= RG_SMALL_CHUNK_BYTES - RG_CHUNK_HEADER)
		i = pool_take(&w->pools[0], 0, w);
	if (i == RG_NONE)
		i = pool_take(&w->pools[1], RG_CHUNK_LARGE_BIT, w);
	if (i == RG_NONE)
		return RG_NONE;
	ch = rg_chunk_at(w, i);
	ch->next = RG_NONE;
	ch->start = ch->end = ch->inflight = 0;
	return i;
}

void rg_internal_chunk_release(rg_worker *w, uint32_t index)
{
	struct rg_chunk_pool *p = &w->pools[(index & RG_CHUNK_LARGE_BIT) ? 1 : 0];

	rg_chunk_at(w, index)->next = p->free;
	p->free = index & ~RG_CHUNK_LARGE_BIT;
	p->used--;
}
