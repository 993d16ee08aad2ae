/*
 * The kernel's floor for a WebSocket server: one thread, plain epoll, no
 * io_uring, a flat slot table indexed by descriptor and nothing allocated per
 * connection unless a request spans reads or a socket refuses our writes.
 * It upgrades, echoes every data frame, answers pings and closes, and can
 * ping every connection on a heartbeat spread the way a gateway's is.
 * ringload run against it shows the client's own ceiling; its CPU time under
 * --ping-interval shows what the kernel charges per ping on a set of
 * sockets, to set beside RingGate's figures.
 *
 * Usage: floor_server PORT [--ping-interval SECONDS] [--stats-file PATH]
 * Listens on 127.0.0.1:PORT. SECONDS may be fractional; 0 (the default)
 * sends no pings. On SIGTERM or SIGINT it prints one JSON line of counters
 * and exits 0; with --stats-file it also rewrites PATH with that line every
 * second, through PATH.tmp and a rename so a reader never sees half of it.
 * "messages" counts data frames with FIN set, "bytes" their payload bytes
 * (every data frame's), "open" connections accepted and not yet closed.
 * Build: cc -O2 -Wall -Wextra -o floor_server floor_server.c -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { READ_MAX = 16384, OUT_MAX = 65536, REQ_MAX = 2048, PAYLOAD_MAX = 65536, TICK_MS = 10 };
enum { FREE, HTTP, WS, CLOSING };
enum { OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

/* Per descriptor. Only a frame's header can straddle reads (spilled into hdr);
 * its payload streams through, so remain and moff are all that carry over. */
struct slot {
	uint8_t state, hlen, op, ping_due, moff;
	uint8_t mask[4], hdr[14];
	uint16_t reqlen;
	uint32_t remain;	/* payload bytes of the current frame still to come */
	uint32_t out_off, out_len;
	char *req;		/* only while a request spans reads */
	uint8_t *out;		/* only while the socket will not take our writes */
};

static struct {
	unsigned long long accepted, upgraded, closed, messages, bytes, pings_sent, pongs_received,
		overflow_closes, emfile;
} st;

static struct slot *slots;
static int ep, nslots, top;	/* top: one past the highest descriptor accepted */
static long ws_open;		/* connections in state WS: the heartbeat's population */
static uint8_t rbuf[READ_MAX], obuf[READ_MAX + 64];	/* an echo is never longer than its frame */
static size_t olen;

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void watch(int op, int fd, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.fd = fd };

	epoll_ctl(ep, op, fd, &e);
}

static void set_state(struct slot *s, int state)
{
	ws_open += (state == WS) - (s->state == WS);
	s->state = (uint8_t)state;
}

static void drop(int fd)
{
	struct slot *s = &slots[fd];

	set_state(s, FREE);
	free(s->req);
	free(s->out);
	memset(s, 0, sizeof(*s));
	close(fd);	/* also takes it out of the epoll set */
	st.closed++;
}

/* Write now; what the socket will not take waits in s->out and reading stops
 * until it drains, so a peer that does not read costs at most OUT_MAX. */
static int send_out(int fd, const void *buf, size_t n)
{
	struct slot *s = &slots[fd];
	const uint8_t *p = buf;
	ssize_t w = 0;

	if (!n)
		return 0;
	if (!s->out_len && (w = send(fd, p, n, MSG_NOSIGNAL)) == (ssize_t)n)
		return 0;
	if (w < 0 && errno != EAGAIN)
		goto fail;
	w = w < 0 ? 0 : w;
	p += w;
	n -= (size_t)w;
	if (s->out_len + n > OUT_MAX && ++st.overflow_closes)
		goto fail;
	if (!s->out && !(s->out = malloc(OUT_MAX)))
		goto fail;
	if (s->out_off + s->out_len + n > OUT_MAX) {
		memmove(s->out, s->out + s->out_off, s->out_len);
		s->out_off = 0;
	}
	memcpy(s->out + s->out_off + s->out_len, p, n);
	if (!s->out_len)
		watch(EPOLL_CTL_MOD, fd, EPOLLOUT);
	s->out_len += (uint32_t)n;
	return 0;
fail:
	drop(fd);
	return -1;
}

static void drain(int fd)
{
	struct slot *s = &slots[fd];
	ssize_t w = send(fd, s->out + s->out_off, s->out_len, MSG_NOSIGNAL);

	if (w < 0) {
		if (errno != EAGAIN)
			drop(fd);
		return;
	}
	s->out_off += (uint32_t)w;
	s->out_len -= (uint32_t)w;
	if (s->out_len)
		return;
	free(s->out);	/* a blocked socket is rare; hold no 64 KiB for it once it is past */
	s->out = NULL;
	s->out_off = 0;
	if (s->state == CLOSING)
		shutdown(fd, SHUT_WR);
	watch(EPOLL_CTL_MOD, fd, EPOLLIN);
}

/* Our last word is queued: send FIN once it is out and wait for the peer's, so
 * the peer reads all of it rather than a reset from unread input. */
static void finish(int fd)
{
	set_state(&slots[fd], CLOSING);
	if (!slots[fd].out_len)
		shutdown(fd, SHUT_WR);
}

static const char *find_key(const char *req, size_t n, size_t *klen)
{
	const char *p = req, *end = req + n, *eol, *q;

	for (; p < end && (eol = memchr(p, '\n', (size_t)(end - p))); p = eol + 1) {
		if (eol - p <= 18 || strncasecmp(p, "Sec-WebSocket-Key:", 18))
			continue;
		for (p += 18; p < eol && (*p == ' ' || *p == '\t'); p++)
			;
		for (q = eol; q > p && (q[-1] == '\r' || q[-1] == ' ' || q[-1] == '\t'); q--)
			;
		*klen = (size_t)(q - p);
		return *klen && *klen <= 64 ? p : NULL;
	}
	return NULL;
}

/* n is the request's length through its blank line, 0 for one too long. */
static int upgrade(int fd, const char *req, size_t n)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	unsigned char joined[64 + sizeof(guid)], sha[SHA_DIGEST_LENGTH], accept_b64[32];
	char answer[160];
	size_t klen;
	const char *key = find_key(req, n, &klen);
	int len;

	if (!key) {
		if (send_out(fd, bad, sizeof(bad) - 1) == 0)
			finish(fd);
		return -1;
	}
	memcpy(joined, key, klen);
	memcpy(joined + klen, guid, sizeof(guid) - 1);
	SHA1(joined, klen + sizeof(guid) - 1, sha);
	EVP_EncodeBlock(accept_b64, sha, sizeof(sha));
	len = snprintf(answer, sizeof(answer), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept_b64);
	if (send_out(fd, answer, (size_t)len))
		return -1;
	set_state(&slots[fd], WS);
	st.upgraded++;
	return 0;
}

#define EXT_LEN(b1) (((b1) & 127) == 126 ? 2 : ((b1) & 127) == 127 ? 8 : 0)
/* The mask is counted only when set, so an unmasked frame is refused at once
 * instead of waiting for 4 bytes that may never come. */
#define HDR_LEN(b1) ((size_t)(2 + ((b1) & 0x80 ? 4 : 0) + EXT_LEN(b1)))

/* A whole header is in s->hdr: check it and put the echo's header in obuf. */
static int start_frame(struct slot *s)
{
	uint8_t *h = s->hdr, *o = obuf + olen;
	int op = h[0] & 15, ext = EXT_LEN(h[1]), at;
	uint64_t len = ext ? 0 : h[1] & 127;

	for (at = 2; at < 2 + ext; at++)
		len = len << 8 | h[at];
	if (!(h[1] & 0x80) || (op > 2 && op < 8) || op > 10 || (op >= 8 && (len > 125 || !(h[0] & 0x80))))
		return 1002;
	if (len > PAYLOAD_MAX)
		return 1009;
	memcpy(s->mask, h + at, 4);
	s->op = (uint8_t)op;
	s->remain = (uint32_t)len;
	s->moff = 0;
	if (op == OP_PONG) {
		st.pongs_received++;
		return 0;
	}
	ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
	o[0] = (uint8_t)((h[0] & 0x80) | (op == OP_PING ? OP_PONG : op));
	o[1] = (uint8_t)(ext == 0 ? len : ext == 2 ? 126 : 127);
	for (int k = 0; k < ext; k++)
		o[2 + k] = (uint8_t)(len >> 8 * (ext - 1 - k));
	olen += 2 + (size_t)ext;
	if (op < 8) {
		st.messages += h[0] >> 7;	/* a message ends with its FIN frame */
		st.bytes += len;
	}
	return 0;
}

static void unmask(struct slot *s, uint8_t *dst, const uint8_t *src, size_t n)
{
	uint8_t m[8];
	uint64_t mm, w;
	size_t i = 0;

	for (int k = 0; k < 8; k++)
		m[k] = s->mask[(s->moff + k) & 3];
	memcpy(&mm, m, 8);
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= mm;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ m[i & 7];
	s->moff = (uint8_t)((s->moff + n) & 3);
}

/* Client frames in, echoes out, all of one read's answer in one send. */
static void on_frames(int fd, uint8_t *p, size_t n)
{
	struct slot *s = &slots[fd];
	int code = 0;

	olen = 0;
	while (n) {
		if (!s->remain) {
			size_t need = s->hlen < 2 ? 2 : HDR_LEN(s->hdr[1]);

			while (s->hlen < need && n) {
				s->hdr[s->hlen++] = *p++;
				n--;
				if (s->hlen == 2)
					need = HDR_LEN(s->hdr[1]);
			}
			if (s->hlen < need)
				break;
			s->hlen = 0;
			if ((code = start_frame(s)))
				break;
		} else {
			size_t take = n < s->remain ? n : s->remain;

			if (s->op != OP_PONG) {
				unmask(s, obuf + olen, p, take);
				olen += take;
			}
			p += take;
			n -= take;
			s->remain -= (uint32_t)take;
		}
		if (s->remain)
			continue;
		if (s->op == OP_CLOSE) {	/* echoed with its status code; now we close */
			code = -1;
			break;
		}
		if (s->ping_due) {	/* the heartbeat came mid-echo; it goes after */
			obuf[olen++] = 0x89;
			obuf[olen++] = 0;
			s->ping_due = 0;
			st.pings_sent++;
		}
	}
	if (code > 0) {
		uint8_t c[4] = { 0x88, 2, (uint8_t)(code >> 8), (uint8_t)code };

		memcpy(obuf + olen, c, 4);
		olen += 4;
	}
	if (send_out(fd, obuf, olen) == 0 && code)
		finish(fd);
}

static void on_http(int fd, uint8_t *p, size_t n)
{
	struct slot *s = &slots[fd];
	char *req = (char *)p, *end;
	size_t have = n, old = 0, used;

	if (s->req || !memmem(p, n, "\r\n\r\n", 4)) {
		/* A request split over reads is rare: only then does it get a buffer. */
		if (!s->req && !(s->req = malloc(REQ_MAX))) {
			drop(fd);
			return;
		}
		old = s->reqlen;
		used = n < REQ_MAX - old ? n : REQ_MAX - old;
		memcpy(s->req + old, p, used);
		s->reqlen += (uint16_t)used;
		req = s->req;
		have = s->reqlen;
	}
	end = memmem(req, have, "\r\n\r\n", 4);
	if (!end && have < REQ_MAX)
		return;
	used = end ? (size_t)(end + 4 - req) : 0;
	if (upgrade(fd, req, used))
		return;
	free(s->req);
	s->req = NULL;
	s->reqlen = 0;
	used -= old;	/* what of this read the request took; frames may follow it */
	if (used < n)
		on_frames(fd, p + used, n - used);
}

static void on_read(int fd)
{
	ssize_t n = read(fd, rbuf, sizeof(rbuf));

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			drop(fd);
		return;
	}
	if (slots[fd].state == HTTP)
		on_http(fd, rbuf, (size_t)n);
	else if (slots[fd].state == WS)
		on_frames(fd, rbuf, (size_t)n);
	/* CLOSING: our close is out; discard until the peer's FIN. */
}

static long long paused_until;	/* accepts stopped for want of descriptors */

static void on_accept(int lfd)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered, the listener would wake us at once forever. */
				if (!st.emfile++)
					fprintf(stderr, "floor_server: out of descriptors at %llu open; "
						"pausing accepts 100 ms at a time\n", st.accepted - st.closed);
				watch(EPOLL_CTL_DEL, lfd, 0);
				paused_until = now_ms() + 100;
			}
			return;
		}
		if (fd >= nslots) {	/* the table is the limit's size; only if it was raised under us */
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		watch(EPOLL_CTL_ADD, fd, EPOLLIN);
		slots[fd].state = HTTP;
		top = fd >= top ? fd + 1 : top;
		st.accepted++;
	}
}

/* Each tick pings its share of the open connections, walking the table round
 * robin, so every connection gets one ping per interval, evenly spread. */
static void heartbeat(uint64_t ticks, double interval)
{
	static const uint8_t ping[2] = { 0x89, 0x00 };
	static double credit;
	static int cursor;

	credit += (double)ws_open * (double)ticks * TICK_MS / 1000.0 / interval;
	if (credit > ws_open)
		credit = (double)ws_open;	/* a late tick pings no one twice */
	for (int walked = 0; credit >= 1 && walked < top; walked++) {
		struct slot *s;

		cursor = cursor + 1 < top ? cursor + 1 : 0;
		s = &slots[cursor];
		if (s->state != WS)
			continue;
		credit -= 1;
		if (s->remain)
			s->ping_due = 1;	/* mid-echo: a ping now would split the frame */
		else if (send_out(cursor, ping, sizeof(ping)) == 0)
			st.pings_sent++;
	}
}

static int stats_json(char *b, size_t n)
{
	return snprintf(b, n, "{\"accepted\": %llu, \"upgraded\": %llu, \"open\": %llu, \"messages\": %llu, "
			"\"bytes\": %llu, \"pings_sent\": %llu, \"pongs_received\": %llu, \"closed\": %llu, "
			"\"overflow_closes\": %llu, \"emfile\": %llu}\n", st.accepted, st.upgraded,
			st.accepted - st.closed, st.messages, st.bytes, st.pings_sent, st.pongs_received,
			st.closed, st.overflow_closes, st.emfile);
}

static void write_stats(const char *path)
{
	char tmp[4096], b[512];
	int len = stats_json(b, sizeof(b)), fd;
	ssize_t w;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return;	/* out of descriptors too: the next second will do */
	w = write(fd, b, (size_t)len);
	close(fd);
	if (w == len)
		rename(tmp, path);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0, lfd, sfd, tfd = -1, one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event evs[256];
	struct rlimit r;
	sigset_t sigs;
	const char *stats = NULL;
	double interval = 0;
	long long last_stats = 0;
	char b[512];

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--ping-interval") && i + 1 < argc)
			interval = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--stats-file") && i + 1 < argc)
			stats = argv[++i];
		else
			port = 0;
	}
	if (port <= 0 || port > 65535 || interval < 0) {
		fprintf(stderr, "usage: floor_server PORT [--ping-interval SECONDS] [--stats-file PATH]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
		getrlimit(RLIMIT_NOFILE, &r);
	}
	nslots = r.rlim_cur > (1 << 24) ? 1 << 24 : (int)r.rlim_cur;
	slots = calloc((size_t)nslots, sizeof(*slots));
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);	/* they arrive as reads on sfd, between events */
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));	/* not REUSEPORT: a busy port must fail */
	if (!slots || sfd < 0 || ep < 0 || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 4096) != 0) {
		fprintf(stderr, "floor_server: listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	watch(EPOLL_CTL_ADD, lfd, EPOLLIN);
	watch(EPOLL_CTL_ADD, sfd, EPOLLIN);
	if (interval > 0 || stats) {
		/* With no heartbeat, wake only once a second, for the stats file. */
		long ns = interval > 0 ? TICK_MS * 1000000L : 0;
		struct itimerspec t = { { ns ? 0 : 1, ns }, { ns ? 0 : 1, ns } };

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		timerfd_settime(tfd, 0, &t, NULL);
		watch(EPOLL_CTL_ADD, tfd, EPOLLIN);
	}
	for (;;) {
		long long left = paused_until ? paused_until - now_ms() : -1;
		int n = epoll_wait(ep, evs, 256, left < 0 && paused_until ? 0 : (int)left);

		if (n < 0 && errno != EINTR)
			break;
		if (paused_until && now_ms() >= paused_until) {
			paused_until = 0;
			watch(EPOLL_CTL_ADD, lfd, EPOLLIN);
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t ticks;

			if (fd == lfd) {
				on_accept(lfd);
			} else if (fd == sfd) {
				goto out;
			} else if (fd == tfd) {
				if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
					continue;
				if (interval > 0)
					heartbeat(ticks, interval);
				if (stats && now_ms() - last_stats >= 1000) {
					last_stats = now_ms();
					write_stats(stats);
				}
			} else if (slots[fd].state == FREE) {
				continue;	/* a stale event for a connection this batch closed */
			} else if (slots[fd].out_len) {
				drain(fd);
			} else {
				on_read(fd);
			}
		}
	}
out:
	stats_json(b, sizeof(b));
	fputs(b, stdout);
	fflush(stdout);
	if (stats)
		write_stats(stats);
	return 0;
}
