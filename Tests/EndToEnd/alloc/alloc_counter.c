/*
 * Counts every heap allocation of the process it is preloaded into
 * (LD_PRELOAD), so a test can assert that a path allocates nothing per
 * message. The count is a 64-bit integer at offset 0 of the file named by
 * ALLOC_COUNTER_FILE, mapped shared, so the test reads it while the process
 * runs. Allocations go on to glibc's own functions (__libc_*), which never
 * call back here.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Atomic uint64_t early;
static _Atomic uint64_t *counter = &early;

__attribute__((constructor)) static void map_counter(void)
{
	const char *path = getenv("ALLOC_COUNTER_FILE");
	int fd;
	void *mapped;

	if (!path)
		return;
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 8) != 0)
		return;
	mapped = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mapped == MAP_FAILED)
		return;
	atomic_store((_Atomic uint64_t *)mapped, atomic_load(&early));
	counter = mapped;
}

static inline void count(void)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
	count();
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	count();
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	count();
	return __libc_realloc(p, size);
}

void *memalign(size_t alignment, size_t size)
{
	count();
	return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
	count();
	return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
	void *p;

	count();
	p = __libc_memalign(alignment, size);
	if (!p)
		return 12;	/* ENOMEM */
	*out = p;
	return 0;
}
