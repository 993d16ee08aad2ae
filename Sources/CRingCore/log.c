/*
 * The core's log lines. There are few: start-up notes, kernel fallbacks and
 * rate-limited counts of refusals and failures, never one per connection or
 * message. Each carries a level, and the embedder decides where it goes and
 * which levels it keeps: ringgate hands them to swift-log through a plain
 * function pointer, so --log-level filters them like its own lines and the
 * core links no logging library and knows nothing of Swift. Without a sink
 * (the core's tests, ringload) a line goes to stderr as
 * "ringcore: LEVEL: text", with info lines unmarked as ringgate writes them.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

static _Atomic(rg_log_fn) sink;

void rg_log_set_sink(rg_log_fn fn)
{
	atomic_store_explicit(&sink, fn, memory_order_release);
}

static const char *level_name(enum rg_log_level level)
{
	switch (level) {
	case RG_LOG_DEBUG: return "debug";
	case RG_LOG_INFO: return "info";
	case RG_LOG_NOTICE: return "notice";
	case RG_LOG_WARNING: return "warning";
	case RG_LOG_ERROR: return "error";
	case RG_LOG_CRITICAL: return "critical";
	}
	return "error";
}

void rg_internal_log(enum rg_log_level level, const char *fmt, ...)
{
	rg_log_fn fn = atomic_load_explicit(&sink, memory_order_acquire);
	char line[512];	/* longer lines are cut; none of ours comes near */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (fn) {
		fn(level, line);
		return;
	}
	/* One write per line, so lines from different workers never interleave. */
	char out[600];
	int n = level == RG_LOG_INFO ? snprintf(out, sizeof(out), "ringcore: %s\n", line)
				     : snprintf(out, sizeof(out), "ringcore: %s: %s\n", level_name(level), line);

	if (n > 0)
		(void)!write(STDERR_FILENO, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

void rg_internal_bug(rg_worker *w, atomic_bool *logged, const char *file, int line, const char *what)
{
	if (w)
		rg_stat_add(&w->stats.unexpected, 1);
	if (!atomic_exchange_explicit(logged, true, memory_order_relaxed))
		rg_internal_log(RG_LOG_ERROR, "worker %u: bad state in the core at %s:%d (%s): a bug; recovered by closing "
				"that connection or dropping the completion; further ones here are only counted "
				"(ringgate_unexpected_completions_total)", w ? w->index : 0, file, line, what);
#ifdef RG_ABORT_ON_BUG
	abort();
#endif
}
