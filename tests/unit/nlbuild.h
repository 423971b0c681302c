/* Netlink messages built in memory for the sock_diag parsers' unit tests
 * (test-sockdiag, test-udp): a buffer of messages, as one recv() of a
 * dump returns them. */
#ifndef NK_TEST_NLBUILD_H
#define NK_TEST_NLBUILD_H

#include <arpa/inet.h>
#include <stdint.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

static char buf[16384];
static size_t used;

/* A new message of type at the end of buf (NLM_F_MULTI, as in a dump). */
static struct nlmsghdr *msg_begin(uint16_t type)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + used);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_MULTI;
	return nlh;
}

static void msg_end(struct nlmsghdr *nlh)
{
	used += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* The inet_diag_msg of a socket on addr:port (family AF_INET or AF_INET6). */
static struct inet_diag_msg *diag_msg(struct nlmsghdr *nlh, int family, const char *addr,
				      unsigned port, unsigned state, unsigned inode)
{
	struct inet_diag_msg *m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));

	m->idiag_family = (uint8_t)family;
	m->idiag_state = (uint8_t)state;
	inet_pton(family, addr, m->id.idiag_src);
	m->id.idiag_sport = htons((uint16_t)port);
	m->idiag_inode = inode;
	return m;
}

#endif
