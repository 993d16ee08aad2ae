/*
 * Kernel ABI values newer than the uapi headers Debian 12 ships (6.1) and
 * liburing 2.3. The values are part of the stable io_uring ABI; each names
 * the kernel version that introduced it, so a feature check can say what is
 * missing.
 */
#ifndef RG_URING_COMPAT_H
#define RG_URING_COMPAT_H

#include <liburing.h>

#ifndef IORING_TIMEOUT_MULTISHOT
#define IORING_TIMEOUT_MULTISHOT (1U << 6)	/* 6.4 */
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)		/* 6.12, IOU_PBUF_RING_INC */
#endif
#define RG_IOU_PBUF_RING_INC 2			/* 6.12 */
#define RG_IORING_OP_BIND 56			/* 6.11 */
#define RG_SOCKET_URING_OP_SETSOCKOPT 3		/* 6.7, an IORING_OP_URING_CMD on a socket */

#endif
