/*
 * Send chunks: the memory a connection's send queue is made of.
 *
 * One pool per size class, each one anonymous mapping large enough to hold
 * the whole send-pool budget in its own size, so no class runs dry while
 * another has room: the budget (bytes in use over all data classes) is the
 * only limit. Mappings are never touched until used, so the extra address
 * space costs nothing. A chunk is taken from the free list first;
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

static int pool_init(rg_worker *w, struct rg_chunk_pool *p, uint32_t chunk_bytes, uint32_t count)
{
	p->chunk_bytes = chunk_bytes;
	p->count = count;
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

/*
 * The send-pool budget per worker when none is configured, and the reserve
 * kept for what has been read already.
 *
 * Reserve: bytes already received and not yet answered are at most the
 * worker's receive buffers (count * size, bufring.c); an answer is never longer
 * than what it answers (a server frame's header is shorter than the client's
 * masked one), and a record kept whole in one chunk may waste up to half of
 * it, so twice the receive buffers covers every answer to what was read once
 * the gateway stops reading (rg_worker_send_pressure). Capped at half the
 * budget so a small configured pool still has room to work in.
 *
 * Budget: the reserve, plus room for 1,024 connections to have two large
 * chunks queued each (bulk sends in flight at once), plus 512 bytes for every
 * connection the worker may hold (one small chunk each for a ping, a pong or
 * a short message queued at the same moment: a broadcast tick). Pages are
 * touched only when used and given back when the pool is idle, so a large
 * budget costs address space, not memory.
 */
static uint64_t default_budget(rg_worker *w, uint64_t ring_bytes)
{
	return 2 * ring_bytes + 1024ull * 2 * RG_LARGE_CHUNK_BYTES + (uint64_t)w->table_size * 512;
}

static uint64_t reserve_for(uint64_t budget, uint64_t ring_bytes)
{
	return 2 * ring_bytes < budget / 2 ? 2 * ring_bytes : budget / 2;
}

/* Four reference chunks per connection slot, at least 65,536: a fan-out to every connection fits. */
static uint32_t ref_count_for(rg_worker *w)
{
	uint64_t n = (uint64_t)w->table_size * 4;

	return (uint32_t)(n < 65536 ? 65536 : n > RG_CHUNK_INDEX_MASK ? RG_CHUNK_INDEX_MASK : n);
}

int rg_internal_chunks_init(rg_worker *w)
{
	const rg_config *cfg = &w->engine->cfg;
	uint64_t ring_bytes = (uint64_t)w->bufs.count * w->bufs.size;

	w->pool_budget = cfg->send_pool_bytes ? cfg->send_pool_bytes : default_budget(w, ring_bytes);
	w->pool_reserve = reserve_for(w->pool_budget, ring_bytes);
	w->pool_used = 0;
	rg_stat_set(&w->stats.send_pool_budget, w->pool_budget);
	for (int i = 0; i < RG_CHUNK_CLASSES; i++) {
		uint64_t count = w->pool_budget / rg_chunk_class_bytes[i];
		int ret = pool_init(w, &w->pools[i], rg_chunk_class_bytes[i],
				    (uint32_t)(count > RG_CHUNK_INDEX_MASK ? RG_CHUNK_INDEX_MASK : count));

		if (ret)
			return ret;
	}
	/* Reference chunks: one per shared frame queued on a connection, 32 bytes each. */
	w->ref_reserve = ref_count_for(w) / 8;
	return pool_init(w, &w->pools[RG_REF_CLASS], RG_REF_CHUNK_BYTES, ref_count_for(w));
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

	if (class != RG_REF_CLASS && w->pool_used + p->chunk_bytes > w->pool_budget)
		return RG_NONE;
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
	if (class != RG_REF_CLASS) {
		w->pool_used += p->chunk_bytes;
		rg_stat_set(&w->stats.send_pool_used, w->pool_used);
		if (w->pool_used > w->stats.send_pool_peak)
			rg_stat_set(&w->stats.send_pool_peak, w->pool_used);
	}
	return i | tag;
}

/*
 * The smallest chunk with room for `want` bytes (the largest for bigger
 * requests), falling back to larger classes when a class has none free.
 * Returns RG_NONE when the budget has no room for one.
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
	ch->sendvec = RG_NONE;
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
		ch->sendvec = RG_NONE;
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
	if (!rg_chunk_is_ref(index)) {
		w->pool_used -= p->chunk_bytes;
		rg_stat_set(&w->stats.send_pool_used, w->pool_used);
	}
}

int rg_worker_send_pressure(const rg_worker *w)
{
	const struct rg_chunk_pool *refs = &w->pools[RG_REF_CLASS];

	return w->pool_budget - w->pool_used < w->pool_reserve || refs->count - refs->used < w->ref_reserve;
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
