/* /proc/net/tcp and /proc/net/tcp6: the fallback when NETLINK_SOCK_DIAG is
 * refused, and the only source below a --root directory.
 *
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0100007F:1F90 00000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 4242 ...
 *
 * Addresses are printed as 32-bit words with %08X, each word being the
 * network-order bytes read as a number in the kernel's byte order; ports
 * are in host order.  For LISTEN rows rx_queue is the accept-queue length;
 * the limit is not shown.  The file can be large (one row per socket), so
 * it is read in chunks and never held whole. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facts/sockets.h"
#include "util/fileio.h"

#define STATE_SYN_RECV 0x03
#define STATE_LISTEN 0x0a

#define CHUNK_SIZE (64 * 1024)
/* The most of a table read: about 150 bytes a socket, so 7 million of them
 * (a copied tree's file may be any size, a sparse one endless in effect) */
#define PROCTABLE_MAX ((uint64_t)1 << 30)

struct tok {
	const char *s;
	size_t len;
};

static size_t tokenize(const char *p, const char *e, struct tok *tok, size_t max)
{
	size_t n = 0;

	while (n < max) {
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e)
			break;
		tok[n].s = p;
		while (p < e && *p != ' ' && *p != '\t')
			p++;
		tok[n].len = (size_t)(p - tok[n].s);
		n++;
	}
	return n;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly len hex digits at s. */
static int parse_hex(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 16)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int d = hexdigit(s[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static int parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "HEXADDR:PORT" with 8 (IPv4) or 32 (IPv6) address digits. */
static int parse_endpoint(const struct tok *t, int family, struct sock_ep *ep)
{
	size_t alen = family == AF_INET ? 8 : 32;
	uint64_t v;

	if (t->len != alen + 5 || t->s[alen] != ':')
		return -EINVAL;
	memset(ep, 0, sizeof(*ep));
	ep->family = (uint8_t)family;
	for (size_t w = 0; w < alen / 8; w++) {
		uint32_t word;

		if (parse_hex(t->s + w * 8, 8, &v) < 0)
			return -EINVAL;
		word = (uint32_t)v;
		memcpy(ep->addr + w * 4, &word, 4);
	}
	if (parse_hex(t->s + alen + 1, 4, &v) < 0)
		return -EINVAL;
	ep->port = (uint16_t)v;
	return 0;
}

int proctcp_parse_line(const char *line, size_t len, int family, struct proctcp_row *row)
{
	struct tok tok[10];
	const char *colon;
	uint64_t v;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (tokenize(line, line + len, tok, 10) < 10)
		return -EINVAL;
	/* "sl": a decimal slot number and a colon */
	if (tok[0].len < 2 || tok[0].s[tok[0].len - 1] != ':' ||
	    parse_dec(tok[0].s, tok[0].len - 1, UINT64_MAX, &v) < 0)
		return -EINVAL;
	if (parse_endpoint(&tok[1], family, &row->ep) < 0)
		return -EINVAL;
	if (parse_endpoint(&tok[2], family, &row->remote) < 0)
		return -EINVAL;
	if (tok[3].len > 2 || parse_hex(tok[3].s, tok[3].len, &v) < 0)
		return -EINVAL;
	row->state = (unsigned)v;
	/* tx_queue:rx_queue */
	colon = memchr(tok[4].s, ':', tok[4].len);
	if (!colon || colon == tok[4].s || (size_t)(colon - tok[4].s) > 8)
		return -EINVAL;
	if (parse_hex(tok[4].s, (size_t)(colon - tok[4].s), &v) < 0)
		return -EINVAL;
	{
		size_t rl = tok[4].len - (size_t)(colon - tok[4].s) - 1;

		if (rl > 8 || parse_hex(colon + 1, rl, &v) < 0)
			return -EINVAL;
	}
	row->rx_queue = (uint32_t)v;
	if (parse_dec(tok[7].s, tok[7].len, UINT32_MAX, &v) < 0)
		return -EINVAL;
	row->uid = (uint32_t)v;
	if (parse_dec(tok[9].s, tok[9].len, UINT64_MAX, &v) < 0)
		return -EINVAL;
	row->inode = v;
	return 0;
}

static bool is_header(const char *line, size_t len)
{
	struct tok tok[1];

	return tokenize(line, line + len, tok, 1) == 1 && tok[0].len == 2 &&
	       memcmp(tok[0].s, "sl", 2) == 0;
}

static bool is_blank(const char *line, size_t len)
{
	struct tok tok[1];

	return tokenize(line, line + len, tok, 1) == 0;
}

void proctable_bad_line(struct proctcp_stats *st, unsigned long lineno)
{
	if (st->bad++ == 0)
		st->first_bad_line = lineno;
}

struct tcp_ctx {
	int family;
	struct socktab *t;
};

static int use_line(const char *line, size_t len, unsigned long lineno, void *data,
		    struct proctcp_stats *st)
{
	struct tcp_ctx *c = data;
	struct socktab *t = c->t;
	struct proctcp_row row;
	int r;

	if (proctcp_parse_line(line, len, c->family, &row) < 0) {
		proctable_bad_line(st, lineno);
		return 0;
	}
	if (row.state == STATE_LISTEN) {
		struct listener l;

		memset(&l, 0, sizeof(l));
		l.ep = row.ep;
		l.queue = row.rx_queue;
		l.v6only = -1;
		l.uid = row.uid;
		l.inode = row.inode;
		r = socktab_add_listener(t, &l);
	} else {
		bool request = row.state == STATE_SYN_RECV && row.inode == 0;

		r = socktab_count(t, row.state, request ? &row.ep : NULL);
		if (r == -EINVAL) {
			proctable_bad_line(st, lineno);
			return 0;
		}
	}
	if (r < 0)
		return r;
	st->rows++;
	return 0;
}

/* The header and blank lines skipped, the others to fn. */
static int one_line(const char *line, size_t len, unsigned long lineno, proctable_line_fn fn,
		    void *data, struct proctcp_stats *st)
{
	if (lineno == 1 && is_header(line, len))
		return 0;
	if (is_blank(line, len))
		return 0;
	return fn(line, len, lineno, data, st);
}

int proctable_read_fd(int fd, proctable_line_fn fn, void *data, struct proctcp_stats *st)
{
	char *buf;
	size_t have = 0;
	uint64_t total = 0;
	unsigned long lineno = 0;
	bool overlong = false, eof = false;
	struct stat sb;
	int r = 0;

	/* /proc's tables are regular files; a FIFO reads as empty or blocks,
	 * a device (a copied tree's /dev/zero) never ends */
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return S_ISDIR(sb.st_mode) ? -EISDIR : -FILEIO_ENOTREG;
	buf = malloc(CHUNK_SIZE);
	if (!buf)
		return -ENOMEM;
	while (!eof && r == 0) {
		ssize_t k = read(fd, buf + have, CHUNK_SIZE - have);
		char *p, *nl;

		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (k == 0)
			eof = true;
		total += (uint64_t)k;
		if (total > PROCTABLE_MAX) {
			r = -EFBIG;
			break;
		}
		have += (size_t)k;
		p = buf;
		while (r == 0 && (nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
			lineno++;
			if (overlong)
				overlong = false;       /* the tail of a line already counted */
			else
				r = one_line(p, (size_t)(nl - p), lineno, fn, data, st);
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (r)
			break;
		if (eof && have) {
			/* last line without a newline */
			lineno++;
			if (!overlong)
				r = one_line(buf, have, lineno, fn, data, st);
		} else if (have == CHUNK_SIZE) {
			/* no newline in a whole chunk: not a /proc/net line */
			if (!overlong)
				proctable_bad_line(st, lineno + 1);
			overlong = true;
			have = 0;
		}
	}
	free(buf);
	return r;
}

int proctcp_read_fd(int fd, int family, struct socktab *t, struct proctcp_stats *st)
{
	struct tcp_ctx c = { .family = family, .t = t };

	return proctable_read_fd(fd, use_line, &c, st);
}
