/* no-openat2 [-e ENOSYS|EPERM] CMD ARGS...
 *
 * Run CMD with a seccomp filter that makes openat2() fail, as on kernels
 * before 5.6 (ENOSYS, the default) or under a container runtime's filter
 * that does not know the call (EPERM).  Everything else is allowed.  Exits
 * 77 (skip) on an architecture it does not know. */
#include "seccomp.h"

/* openat2 has the same number on every architecture */
#ifndef __NR_openat2
#define __NR_openat2 437
#endif

int main(int argc, char **argv)
{
	int err = ENOSYS, first = 1;

	if (argc > 2 && !strcmp(argv[1], "-e")) {
		if (!strcmp(argv[2], "EPERM"))
			err = EPERM;
		else if (strcmp(argv[2], "ENOSYS") != 0) {
			fprintf(stderr, "no-openat2: -e ENOSYS or EPERM\n");
			return 2;
		}
		first = 3;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: no-openat2 [-e ENOSYS|EPERM] CMD ARGS...\n");
		return 2;
	}
#if NK_AUDIT_ARCH == 0
	fprintf(stderr, "no-openat2: unsupported architecture\n");
	return 77;
#else
	struct sock_filter filter[] = {
		NK_SECCOMP_OPENING,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return helper_seccomp_exec("no-openat2", filter, sizeof(filter) / sizeof(filter[0]), argv + first);
#endif
}
