/* deny-netlink CMD ARGS...
 *
 * Run CMD with a seccomp filter that makes socket(AF_NETLINK, ...) fail
 * with EACCES, as in a sandbox that forbids netlink.  Everything else is
 * allowed.  Exits 77 (skip) on an architecture it does not know. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
#define NK_AUDIT_ARCH 0         /* i386 and arm may go through socketcall() */
#endif

/* the low 32 bits of a 64-bit syscall argument */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ARG_LO(n) (offsetof(struct seccomp_data, args[n]) + 4)
#else
#define ARG_LO(n) offsetof(struct seccomp_data, args[n])
#endif

#ifdef __x86_64__
#define X32_BIT 0x40000000u
#else
#define X32_BIT 0u
#endif

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
	{
		struct sock_filter filter[] = {
			/* a foreign calling convention could bypass the
			 * check: refuse to run it */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NK_AUDIT_ARCH, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT ? X32_BIT : 0xffffffffu, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			/* the domain */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
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
	execvp(argv[1], argv + 1);
	fprintf(stderr, "deny-netlink: %s: %s\n", argv[1], strerror(errno));
	return 127;
#endif
}
