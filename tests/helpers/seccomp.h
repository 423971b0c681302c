/* What the seccomp test helpers (deny-netlink, no-openat2) share: the
 * audit architecture of this build, the filter's opening (refuse a foreign
 * calling convention, load the system call number) and the install and
 * exec of the command under the filter. */
#ifndef NK_TEST_SECCOMP_H
#define NK_TEST_SECCOMP_H

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
#define NK_AUDIT_ARCH 0         /* i386 and arm may go through socketcall() */
#endif

/* the low 32 bits of a 64-bit system call argument */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NK_ARG_LO(n) (offsetof(struct seccomp_data, args[n]) + 4)
#else
#define NK_ARG_LO(n) offsetof(struct seccomp_data, args[n])
#endif

#ifdef __x86_64__
#define NK_X32_BIT 0x40000000u
#else
#define NK_X32_BIT 0u
#endif

/* The first statements of every filter: a foreign calling convention (or
 * x32's numbers) could bypass the check, so it is refused; then the
 * system call number is loaded. */
#define NK_SECCOMP_OPENING                                                                           \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),                      \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NK_AUDIT_ARCH, 1, 0),                                     \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),                                          \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),                        \
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NK_X32_BIT ? NK_X32_BIT : 0xffffffffu, 0, 1),             \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

/* Install the filter (n statements) and exec argv[0]; returns only on
 * failure, with the exit status to use (1, or 127 when the exec failed). */
static __attribute__((unused)) int helper_seccomp_exec(const char *me, struct sock_filter *filter, size_t n,
							char **argv)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("prctl(PR_SET_NO_NEW_PRIVS)");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("prctl(PR_SET_SECCOMP)");
		return 1;
	}
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s: %s\n", me, argv[0], strerror(errno));
	return 127;
}

#endif
