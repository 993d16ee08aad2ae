/*
 * The kernel's floor for an idle loopback connection pair: N pairs of plain
 * blocking sockets with nothing armed on them, no io_uring, no buffers, no
 * user-space state beyond the descriptors. Each pair first trades a
 * request and an answer the size of a WebSocket upgrade, as RingGate's
 * connections have. idle.sh sets RingGate's kernel bytes per pair beside
 * this figure.
 *
 * Usage: socket_floor N PORT SETTLE_SECONDS
 * Prints one JSON object: {"pairs": N, "kernel_bytes_per_pair": B,
 * "kernel_slab_bytes_per_pair": S}: the MemAvailable drop, and the growth of
 * slab objects in use, which freed objects being reused cannot hide.
 * The client side runs in a child process, so each process holds N
 * descriptors and N may reach the open-file limit of one process.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static long long mem_available(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/* Bytes of slab objects in use over every cache (active objects x object size; root only). */
static long long slab_in_use(void)
{
	char line[512], name[64];
	long long total = 0, active, objects, size;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &objects, &size) == 4)
			total += active * size;
	fclose(f);
	return total;
}

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

enum { REQUEST_BYTES = 220, ANSWER_BYTES = 129 };

static int full(ssize_t got, int want)
{
	return got == want;
}

static int connect_all(int n, int port, int ready_fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char request[REQUEST_BYTES], answer[ANSWER_BYTES];

	memset(request, 'q', sizeof(request));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    !full(write(fd, request, sizeof(request)), REQUEST_BYTES) ||
		    !full(recv(fd, answer, sizeof(answer), MSG_WAITALL), ANSWER_BYTES)) {
			perror("socket_floor: connect");
			return 1;
		}
	}
	if (write(ready_fd, "r", 1) != 1)
		return 1;
	pause();	/* until the parent has measured and ends us */
	return 0;
}

int main(int argc, char **argv)
{
	int n, port, settle, listener, ready[2], one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	long long before, after, slab_before, slab_after;
	pid_t child;
	char byte, request[REQUEST_BYTES], answer[ANSWER_BYTES];

	if (argc != 4 || (n = atoi(argv[1])) <= 0 || (port = atoi(argv[2])) <= 0 || (settle = atoi(argv[3])) < 0) {
		fprintf(stderr, "usage: socket_floor N PORT SETTLE_SECONDS\n");
		return 2;
	}
	raise_nofile();
	listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(listener, 65535) != 0 ||
	    pipe(ready) != 0) {
		perror("socket_floor: listen");
		return 1;
	}
	sleep(1);
	before = mem_available();
	slab_before = slab_in_use();
	child = fork();
	if (child == 0)
		return connect_all(n, port, ready[1]);
	memset(answer, 'a', sizeof(answer));
	for (int i = 0; i < n; i++) {
		int fd = accept(listener, NULL, NULL);

		if (fd < 0 || !full(recv(fd, request, sizeof(request), MSG_WAITALL), REQUEST_BYTES) ||
		    !full(write(fd, answer, sizeof(answer)), ANSWER_BYTES)) {
			perror("socket_floor: accept");
			kill(child, SIGKILL);
			return 1;
		}
	}
	if (read(ready[0], &byte, 1) != 1) {
		kill(child, SIGKILL);
		return 1;
	}
	sleep((unsigned)settle);
	after = mem_available();
	slab_after = slab_in_use();
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	printf("{\"pairs\": %d, \"kernel_bytes_per_pair\": %.0f, \"kernel_slab_bytes_per_pair\": %.0f}\n", n,
	       (double)(before - after) / n, (double)(slab_after - slab_before) / n);
	return 0;
}
