/*
 * Shared frames: one encoded message sent to many connections by reference.
 *
 * A fan-out encodes its WebSocket frame once into an rg_shared; each
 * recipient's send queue gets a 32-byte reference chunk pointing at it
 * instead of a copy, and the frame is freed when the last queue that holds
 * it has sent it (or was dropped). The count is atomic: every worker thread
 * of a gateway may queue the same frame.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

struct rg_shared {
	atomic_uint refs;
	uint32_t len;
	uint8_t bytes[];
};

/* What a reference chunk holds after its header. */
struct rg_ref {
	struct rg_shared *frame;
};
_Static_assert(RG_CHUNK_HEADER + sizeof(struct rg_ref) <= RG_REF_CHUNK_BYTES, "a reference fits its chunk");

rg_shared *rg_shared_create(uint32_t len)
{
	rg_shared *s = malloc(sizeof(*s) + len);

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->len = len;
	return s;
}

uint8_t *rg_shared_bytes(rg_shared *s) { return s->bytes; }
uint32_t rg_shared_length(const rg_shared *s) { return s->len; }

uint32_t rg_shared_refs(const rg_shared *s) { return atomic_load_explicit(&s->refs, memory_order_acquire); }

void rg_shared_retain(rg_shared *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

void rg_shared_release(rg_shared *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		free(s);
}

static struct rg_ref *ref_of(rg_worker *w, uint32_t index)
{
	return (struct rg_ref *)rg_chunk_data(rg_chunk_at(w, index));
}

uint8_t *rg_internal_chunk_bytes(rg_worker *w, uint32_t index)
{
	return rg_chunk_is_ref(index) ? ref_of(w, index)->frame->bytes : rg_chunk_data(rg_chunk_at(w, index));
}

void rg_internal_ref_chunk_drop(rg_worker *w, uint32_t index)
{
	struct rg_ref *ref = ref_of(w, index);

	if (ref->frame)
		rg_shared_release(ref->frame);
	ref->frame = NULL;
}

int rg_conn_send_shared(rg_worker *w, uint32_t slot, uint32_t gen, rg_shared *s)
{
	struct rg_conn *c;
	uint32_t fresh;

	c = rg_internal_live(w, slot, gen);
	if (!c)
		return -ESTALE;
	if (c->state != RG_CONN_OPEN)
		return -EPIPE;
	if (c->queued && (uint64_t)c->queued + s->len > w->engine->cfg.send_queue_limit) {
		rg_stat_add(&w->stats.send_rejected, 1);
		return -ENOBUFS;
	}
	/* TLS encrypts per connection, so its records cannot share bytes; without a
	 * reference chunk left, a copy still goes out. */
	fresh = (c->flags & RG_CF_TLS) ? RG_NONE : rg_internal_ref_chunk_alloc(w);
	if (fresh == RG_NONE)
		return rg_conn_send(w, slot, gen, s->bytes, s->len);
	rg_shared_retain(s);
	ref_of(w, fresh)->frame = s;
	rg_chunk_at(w, fresh)->end = s->len;
	rg_internal_queue_chunk(w, slot, fresh, s->len);
	return 0;
}
