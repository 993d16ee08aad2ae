/*
 * Dropping the oldest queued records of a connection that does not keep up.
 *
 * A send queue is a run of records (what one send call queued), and a
 * chunk's `first_record` says where the first record beginning in it begins,
 * so the records can be walked from the head chunk on without the core
 * knowing what they are: the caller's `measure` reads a record's first bytes
 * and says how long it is and whether it may go (a whole WebSocket data
 * message may; a control frame, which the peer is owed, stays).
 *
 * Only records that have not started to leave are touched: bytes the kernel
 * has taken, or is taking (each chunk's `inflight` bytes from its start), belong to a
 * record that must go out whole, or the stream would be corrupt. A dropped
 * record is cut out where it lies: a cut at a chunk's front moves its
 * `start`, one at its back moves its `end`, chunks it covers are freed (a
 * reference chunk gives its frame's reference back), and only a cut in the
 * middle of a chunk moves that chunk's later bytes down, at most one chunk's
 * worth.
 *
 * TLS connections are refused: their queue holds encrypted records, which
 * cannot be cut without breaking the TLS stream.
 */
#include <string.h>

#include "internal.h"

/* A place in a connection's queue: a chunk, the chunk before it, an offset in it. */
struct place {
	uint32_t chunk;
	uint32_t prev;
	uint32_t offset;
};

/* The next chunk's first byte; chunk RG_NONE past the end of the queue. */
static void next_chunk(rg_worker *w, struct place *p)
{
	p->prev = p->chunk;
	p->chunk = rg_chunk_at(w, p->chunk)->next;
	p->offset = p->chunk == RG_NONE ? 0 : rg_chunk_at(w, p->chunk)->start;
}

/* Moves `p` forward by `len` bytes, across chunks. */
static void advance(rg_worker *w, struct place *p, uint64_t len)
{
	while (p->chunk != RG_NONE) {
		uint32_t left = rg_chunk_at(w, p->chunk)->end - p->offset;

		if (len < left) {
			p->offset += (uint32_t)len;
			return;
		}
		len -= left;
		next_chunk(w, p);
		if (!len)
			return;
	}
}

/* Copies up to `cap` bytes from `p` on into `out`; returns how many there were. */
static uint32_t peek(rg_worker *w, struct place p, uint8_t *out, uint32_t cap)
{
	uint32_t got = 0;

	while (p.chunk != RG_NONE && got < cap) {
		struct rg_chunk *ch = rg_chunk_at(w, p.chunk);
		uint32_t n = ch->end - p.offset;

		if (n > cap - got)
			n = cap - got;
		memcpy(out + got, rg_internal_chunk_bytes(w, p.chunk) + p.offset, n);
		got += n;
		next_chunk(w, &p);
	}
	return got;
}

/* Moves `p` to the first record that begins in its chunk or a later one. */
static void find_record(rg_worker *w, struct place *p)
{
	while (p->chunk != RG_NONE && rg_chunk_at(w, p->chunk)->first_record == RG_NONE)
		next_chunk(w, p);
	if (p->chunk != RG_NONE)
		p->offset = rg_chunk_at(w, p->chunk)->first_record;
}

/*
 * Cuts `len` bytes, one whole record that has not started, out of the queue
 * at `p`; leaves `p` at the byte that followed it.
 */
static bool cut(rg_worker *w, struct rg_conn *c, struct place *p, uint64_t len)
{
	while (len && p->chunk != RG_NONE) {
		struct rg_chunk *ch = rg_chunk_at(w, p->chunk);
		uint32_t take = ch->end - p->offset < len ? ch->end - p->offset : (uint32_t)len;
		bool sending = ch->inflight != 0;

		len -= take;
		c->queued -= take;
		if (p->offset + take < ch->end) {
			/* The record ends inside this chunk, so this is the last step. */
			if (p->offset == ch->start && !sending) {
				ch->start += take;		/* its front: nothing of it has left */
				ch->first_record = ch->start;	/* the cut ends where a record begins */
				p->offset = ch->start;
			} else {
				uint8_t *data;

				/* Its middle: never in a reference chunk, whose bytes other connections share. */
				if (RG_BUG(w, rg_chunk_is_ref(p->chunk)))
					return false;
				data = rg_chunk_data(ch);
				memmove(data + p->offset, data + p->offset + take, ch->end - p->offset - take);
				ch->end -= take;
			}
			return true;
		}
		ch->end = p->offset;	/* its back, up to the end */
		if (ch->first_record != RG_NONE && ch->first_record >= ch->end)
			ch->first_record = RG_NONE;
		if (ch->start == ch->end && !sending) {
			uint32_t gone = p->chunk, before = p->prev;

			next_chunk(w, p);
			rg_internal_unlink_chunk(w, c, before, gone);
			p->prev = before;
		} else {
			next_chunk(w, p);
		}
	}
	return !RG_BUG(w, len != 0);	/* `measure` named more bytes than the queue holds */
}

int64_t rg_conn_drop_oldest(rg_worker *w, uint32_t slot, uint32_t gen, uint32_t want,
			    rg_record_measure measure, uint32_t *records)
{
	struct rg_conn *c;
	struct place p;
	uint64_t freed = 0;

	*records = 0;
	c = rg_internal_live(w, slot, gen);
	if (!c)
		return -ESTALE;
	if (c->state != RG_CONN_OPEN)
		return -EPIPE;
	if (c->flags & RG_CF_TLS)
		return -EOPNOTSUPP;
	if (c->head == RG_NONE)
		return 0;
	p = (struct place){ .chunk = c->head, .prev = RG_NONE, .offset = 0 };
	find_record(w, &p);
	while (p.chunk != RG_NONE && freed < want) {
		uint8_t head[RG_RECORD_PEEK];
		uint32_t seen = peek(w, p, head, sizeof(head));
		int64_t size = seen ? measure(head, seen) : 0;
		/* Bytes below a chunk's start have left; the send in flight covers `inflight` more. */
		bool started = p.offset < rg_chunk_at(w, p.chunk)->start + rg_chunk_at(w, p.chunk)->inflight;

		if (size == 0) {
			/* Not a record the caller knows (an HTTP answer): it and the rest of its chunk stay. */
			next_chunk(w, &p);
			find_record(w, &p);
			continue;
		}
		if (size < 0 || started) {
			advance(w, &p, (uint64_t)(size < 0 ? -size : size));
			continue;
		}
		if (!cut(w, c, &p, (uint64_t)size)) {
			rg_internal_abort(w, slot, -EPROTO);
			return -EPROTO;
		}
		freed += (uint64_t)size;
		(*records)++;
	}
	return (int64_t)freed;
}
