/* sockdiag-dump FILE
 *
 * Ask NETLINK_SOCK_DIAG what netknobs asks (src/facts/sockdiag.c): the TCP
 * listeners of IPv4 then IPv6 with their memory counters (skmeminfo), then
 * the request sockets (SYN_RECV) of IPv4 then IPv6, and write the answers
 * to FILE exactly as the kernel sent them, batch after batch, each dump
 * ending with its NLMSG_DONE.  Captures the fixture that test-sockdiag
 * replays (tests/fixtures/sockdiag/README). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

static char buf[64 * 1024];

static int dump(FILE *out, int family, uint32_t states, uint8_t ext)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	unsigned int portid, seq = (unsigned int)time(NULL);
	int r = -1;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = states;
	req->idiag_ext = ext;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		int cb;

		if (n <= 0 || fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			goto out;
		cb = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
		if (cb <= MNL_CB_STOP) {
			r = cb == MNL_CB_STOP ? 0 : -1;
			break;
		}
	}
out:
	if (r < 0)
		perror("sockdiag-dump");
	if (nl)
		mnl_socket_close(nl);
	return r;
}

int main(int argc, char **argv)
{
	static const int families[] = { AF_INET, AF_INET6 };
	FILE *out;
	int r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: sockdiag-dump FILE\n");
		return 2;
	}
	out = fopen(argv[1], "wb");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 0; i < 2 && r == 0; i++)
		r = dump(out, families[i], 1u << 10, 1u << (INET_DIAG_SKMEMINFO - 1));
	for (int i = 0; i < 2 && r == 0; i++)
		r = dump(out, families[i], 1u << 3, 0);
	if (fclose(out) != 0)
		r = -1;
	return r == 0 ? 0 : 1;
}
