/*
 * user_data layout: op (8 bits) | generation (24 bits) | slot (32 bits).
 *
 * A completion carries everything needed to route it, so handling one needs
 * no lookup; the generation lets a completion for an earlier occupant of a
 * reused slot be recognised.
 */
#ifndef RG_UDATA_H
#define RG_UDATA_H

#include <stdint.h>

enum rg_op {
	RG_OP_ACCEPT = 1,	/* slot = listener index */
	RG_OP_RECV,
	RG_OP_POLL,
	RG_OP_SEND,
	RG_OP_SHUTDOWN,
	RG_OP_CANCEL,
	RG_OP_CLOSE,
	RG_OP_TICK,
	RG_OP_MAIL,
	RG_OP_CONNECT,		/* the connect itself; in a chain its CQE comes only on failure */
	RG_OP_CONNECT_SOCKET,	/* chain: the socket; CQE only on failure (the slot then holds no file) */
	RG_OP_CONNECT_SETUP,	/* chain: a setsockopt or the bind; CQE only on failure */
	RG_OP_CONNECT_SEND,	/* chain: the first bytes; its CQE always comes and ends the chain */
	RG_OP_PEER,		/* user_data below the op byte is the query's address */
};

#define RG_GEN_MASK 0xffffffu

static inline uint64_t rg_udata(enum rg_op op, uint32_t slot, uint32_t gen)
{
	return ((uint64_t)op << 56) | ((uint64_t)(gen & RG_GEN_MASK) << 32) | slot;
}

static inline enum rg_op rg_udata_op(uint64_t ud) { return (enum rg_op)(ud >> 56); }
static inline uint32_t rg_udata_slot(uint64_t ud) { return (uint32_t)ud; }
static inline uint32_t rg_udata_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & RG_GEN_MASK; }

#endif
