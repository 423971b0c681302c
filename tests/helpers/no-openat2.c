/* no-openat2 [-e ENOSYS|EPERM] CMD ARGS...
 *
 * Run CMD with a seccomp filter that makes openat2() fail, as on kernels
 * before 5.6 (ENOSYS, the default) or under a container runtime's filter
 * that does not know the call (EPERM).  Everything else is allowed.  Exits
 * 77 (skip) on an architecture it does not know. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__ILP32__)
#define NK_AUDIT_ARCH 0
#elif defined(__x86_64__)
#define NK_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NK_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NK_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NK_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NK_AUDIT_ARCH AUDIT_ARCH_S390X
#else
#define NK_AUDIT_ARCH 0
#endif

/* openat2 has the same number on every architecture */
#ifndef __NR_openat2
#define __NR_openat2 437
#endif

#ifdef __x86_64__
#define X32_BIT 0x40000000u
#else
#define X32_BIT 0u
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
	{
		struct sock_filter filter[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NK_AUDIT_ARCH, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT ? X32_BIT : 0xffffffffu, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {
			.len = sizeof(filter) / sizeof(filter[0]),
			.filter = filter,
		};

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			perror("prctl(PR_SET_NO_NEW_PRIVS)");
			return 1;
		}
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
			perror("prctl(PR_SET_SECCOMP)");
			return 1;
		}
	}
	execvp(argv[first], argv + first);
	fprintf(stderr, "no-openat2: %s: %s\n", argv[first], strerror(errno));
	return 127;
#endif
}
