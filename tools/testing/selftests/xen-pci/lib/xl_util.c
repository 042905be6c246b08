// SPDX-License-Identifier: GPL-2.0
/*
 * Guests of the dom0 selftests, through xl: see xl_util.h. The ioreq_dom0*
 * programs call these from their fixtures and from main().
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioreq_util.h"
#include "xl_util.h"

struct guest shared_guest = { .domid = -1 };
char shared_error[512];
static pid_t main_pid;

/*
 * Run a command with its output collected in @out (stdout and stderr),
 * killing it after XL_TIMEOUT seconds. Returns its exit status, or -1.
 */
int run(const char *const argv[], char *out, size_t len)
{
	struct timespec start, now;
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (!pid) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		char sink[256];
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > XL_TIMEOUT) {
			kill(pid, SIGKILL);
			snprintf(out, len, "%s: timed out", argv[0]);
			break;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if (used + 1 < len)
			n = read(pipefd[0], out + used, len - used - 1);
		else
			n = read(pipefd[0], sink, sizeof(sink));
		if (n <= 0)
			break;
		if (used + 1 < len) {
			used += n;
			out[used] = '\0';
		}
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int xl(char *out, size_t len, const char *a1, const char *a2, const char *a3, const char *a4)
{
	const char *argv[6] = { "xl", a1, a2, a3, a4, NULL };

	return run(argv, out, len);
}

/*
 * The data line of domain @domid in "xl list" (Name ID Mem VCPUs State
 * Time): its fields counted from the end, as a dying domain's name may be
 * "(null)". Returns the number of fields, 0 if not listed, -1 on error.
 */
static int xl_list_fields(int domid, char fields[][32], int max)
{
	char out[8192], *line, *save = NULL;

	if (xl(out, sizeof(out), "list", NULL, NULL, NULL))
		return -1;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char tok[8][32];
		int n;

		n = sscanf(line, "%31s %31s %31s %31s %31s %31s %31s %31s",
			   tok[0], tok[1], tok[2], tok[3], tok[4], tok[5],
			   tok[6], tok[7]);
		if (n < 6 || n > max || atoi(tok[n - 5]) != domid ||
		    tok[n - 5][0] < '0' || tok[n - 5][0] > '9')
			continue;
		memcpy(fields, tok, sizeof(tok[0]) * n);
		return n;
	}
	return 0;
}

bool domain_listed(int domid)
{
	char f[8][32];

	return xl_list_fields(domid, f, 8) != 0;
}

/* Number of vCPUs of a domain, online or not. */
int domain_vcpus(int domid)
{
	char out[8192], id[16], *p;
	int n = 0;

	snprintf(id, sizeof(id), "%d", domid);
	if (xl(out, sizeof(out), "vcpu-list", id, NULL, NULL))
		return -1;
	/* a header line, then one line per vCPU */
	for (p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		n++;
	return n;
}

/*
 * Create a paused guest from xl configuration @cfg, named after @suffix;
 * @extra, if not NULL, is one more "key=value" for xl.
 */
int guest_create(struct guest *g, const char *cfg, const char *suffix,
		 const char *extra, char *err, size_t errlen)
{
	char out[4096], name_arg[96], *end = NULL;
	const char *argv[7] = { "xl", "create", "-p" };

	g->domid = -1;
	snprintf(g->name, sizeof(g->name), NAME_PREFIX "%d%s", getpid(),
		 suffix);
	snprintf(name_arg, sizeof(name_arg), "name=\"%s\"", g->name);
	argv[3] = cfg;
	argv[4] = name_arg;
	argv[5] = extra;
	if (run(argv, out, sizeof(out))) {
		snprintf(err, errlen, "xl create -p %.200s %s %.100s failed: %.400s",
			 cfg, name_arg, extra ?: "", out);
		return -1;
	}
	if (!xl(out, sizeof(out), "domid", g->name, NULL, NULL))
		g->domid = strtol(out, &end, 10);
	if (g->domid <= 0 || (*end && *end != '\n')) {
		snprintf(err, errlen, "xl domid %s: %.400s", g->name, out);
		xl(out, sizeof(out), "destroy", g->name, NULL, NULL);
		g->domid = -1;
		return -1;
	}
	return 0;
}

int guest_destroy(struct guest *g)
{
	char out[4096], id[16];
	int ret;

	if (g->domid <= 0)
		return 0;
	snprintf(id, sizeof(id), "%d", g->domid);
	ret = xl(out, sizeof(out), "destroy", id, NULL, NULL);
	if (ret)
		printf("# xl destroy %s: %s\n", id, out);
	g->domid = -1;
	return ret ? -1 : 0;
}

/* Wait up to GONE_TIMEOUT seconds for a destroyed domain to vanish. */
bool wait_domain_gone(int domid)
{
	int i;

	for (i = 0; i < GONE_TIMEOUT * 4; i++) {
		if (!domain_listed(domid))
			return true;
		usleep(250000);
	}
	return false;
}

/* Guests left behind by an earlier run that was killed. */
void destroy_stale_guests(void)
{
	char out[8192], junk[4096], *line, *save = NULL;

	if (xl(out, sizeof(out), "list", NULL, NULL, NULL))
		return;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];

		if (sscanf(line, "%63s", name) == 1 &&
		    !strncmp(name, NAME_PREFIX, strlen(NAME_PREFIX))) {
			printf("# destroying stale guest %s\n", name);
			xl(junk, sizeof(junk), "destroy", name, NULL, NULL);
		}
	}
}

/* Unpause guest @domid; xl's exit status, its output in @out. */
int guest_unpause(int domid, char *out, size_t len)
{
	char id[16];

	snprintf(id, sizeof(id), "%d", domid);
	return xl(out, len, "unpause", id, NULL, NULL);
}

static void destroy_shared_guest(void)
{
	if (getpid() == main_pid)
		guest_destroy(&shared_guest);
}

/* Why the tests that need a guest cannot run, or NULL. */
const char *no_guest_reason(void)
{
	if (access(DEV_PATH, F_OK))
		return "no " DEV_PATH " (dom0 with CONFIG_XEN_PCI_IOREQ only)";
	if (geteuid())
		return "needs root";
	if (!getenv(CFG_ENV))
		return CFG_ENV " not set: no guest configuration";
	return NULL;
}

/*
 * From main(), before the tests: destroy the guests an earlier run left
 * behind and, if @shared, create the shared guest, destroyed at exit (of
 * main()'s process, not of a test's).
 */
void guests_start(bool shared)
{
	char err[1024];

	main_pid = getpid();
	if (no_guest_reason())
		return;
	destroy_stale_guests();
	if (!shared)
		return;
	if (guest_create(&shared_guest, getenv(CFG_ENV), "", NULL, err,
			 sizeof(err)))
		snprintf(shared_error, sizeof(shared_error), "%.500s", err);
	else
		atexit(destroy_shared_guest);
}
