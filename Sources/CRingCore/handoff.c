/*
 * Passing descriptors between processes over a Unix stream socket
 * (SCM_RIGHTS), for a restart that takes over the listeners of the running
 * gateway. The kernel duplicates each descriptor into the receiver, so the
 * sockets and the connections queued on them survive the switch.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define RG_HANDOFF_MAX_FDS 4096

int rg_fds_send(int sock, const int *fds, uint32_t count, const void *msg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t space = CMSG_SPACE(count * sizeof(int));
	char *control;
	ssize_t sent;

	if (len == 0 || count > RG_HANDOFF_MAX_FDS)
		return -EINVAL;
	control = calloc(1, space ? space : 1);
	if (!control)
		return -ENOMEM;
	if (count) {
		struct cmsghdr *cm;

		mh.msg_control = control;
		mh.msg_controllen = space;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(count * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, count * sizeof(int));
	}
	do {
		sent = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (sent < 0 && errno == EINTR);
	free(control);
	return sent < 0 ? -errno : (int)sent;
}

int rg_fds_recv(int sock, int *fds, uint32_t max, uint32_t *count, void *msg, size_t len)
{
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t space = CMSG_SPACE(RG_HANDOFF_MAX_FDS * sizeof(int));
	char *control = calloc(1, space);
	ssize_t got;

	*count = 0;
	if (!control)
		return -ENOMEM;
	mh.msg_control = control;
	mh.msg_controllen = space;
	do {
		got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		free(control);
		return -errno;
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		uint32_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (uint32_t)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (uint32_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*count < max)
				fds[(*count)++] = fd;
			else
				close(fd);	/* more than asked for: never leak one */
		}
	}
	free(control);
	if (mh.msg_flags & MSG_CTRUNC)
		return -EMSGSIZE;
	return (int)got;
}
