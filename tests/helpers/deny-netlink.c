/* deny-netlink CMD ARGS...
 *
 * Run CMD with a seccomp filter that makes socket(AF_NETLINK, ...) fail
 * with EACCES, as in a sandbox that forbids netlink.  Everything else is
 * allowed.  Exits 77 (skip) on an architecture it does not know. */
#include <sys/socket.h>

#include "seccomp.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: deny-netlink CMD ARGS...\n");
		return 2;
	}
#if NK_AUDIT_ARCH == 0
	fprintf(stderr, "deny-netlink: unsupported architecture\n");
	return 77;
#else
	struct sock_filter filter[] = {
		NK_SECCOMP_OPENING,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* the domain */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NK_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return helper_seccomp_exec("deny-netlink", filter, sizeof(filter) / sizeof(filter[0]), argv + 1);
#endif
}
