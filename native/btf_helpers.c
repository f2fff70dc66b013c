/* SPDX-License-Identifier: MIT */
/*
 * btf_helpers.c - pick the host's minimized BTF out of a btfgen archive for libbpf's
 * bpf_object_open_opts.btf_custom_path. C99 + POSIX; depends on libbpf's header and zlib.
 *
 * The lookup rules are those of btfgen's TypeScript runtime (src/runtime/lookup.ts and
 * select.ts): the host's ID, then ID_LIKE, then the release rule; one table of cases
 * (test/runtime/lookup-cases.tsv) tests both. The archive is never
 * decompressed whole: inflate output (64 KiB at a time) goes through a small streaming
 * ustar/pax/GNU reader, and only the matching member is written, straight to the temp file.
 */
#define _POSIX_C_SOURCE 200809L

#include "btf_helpers.h"
#include "btf_helpers_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>
#define ZLIB_CONST /* next_in is const */
#include <zlib.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Defined by `ld -r -b binary min_core_btfs.tar.gz`; weak so that a program links (and
 * runs on kernels with BTF) without an archive. Their addresses are NULL then. */
extern const char _binary_min_core_btfs_tar_gz_start[] __attribute__((weak));
extern const char _binary_min_core_btfs_tar_gz_end[] __attribute__((weak));

#define KERNEL_BTF_PATH "/sys/kernel/btf/vmlinux"
#define OS_RELEASE_MAX (64 * 1024)
#define INFLATE_CHUNK (64 * 1024)
#define META_MAX (1024 * 1024)	/* largest GNU longname / pax record we accept */
/* Caps against bombs (kernel BTF is < 100 MB, a minimized member a few KB; the TypeScript
 * runtime has the same member cap): the member written may be at most MEMBER_MAX bytes, and
 * one archive may inflate to at most INFLATE_MAX bytes. Both fail with EINVAL. */
#define MEMBER_MAX (128ULL * 1024 * 1024)
#define INFLATE_MAX (1024ULL * 1024 * 1024)
/* Largest tar size either runtime accepts (2^53 - 1, JavaScript's Number.MAX_SAFE_INTEGER). */
#define SIZE_MAX_SAFE ((1ULL << 53) - 1)
#define NEAREST_LIMIT 5
#define MSG_MAX 2048
#define TOKEN_DIGITS_MAX 15	/* numeric release tokens compared by distance (as in TS) */

/* ------------------------------------------------------------------------------------ */
/* Host identity                                                                         */

static void set_field(char *dst, const char *src, size_t n)
{
	if (n >= BTFGEN_FIELD_MAX)
		n = BTFGEN_FIELD_MAX - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void btfgen_parse_os_release(const char *text, size_t len, struct btfgen_host *host)
{
	size_t pos = 0;

	set_field(host->id, "linux", 5);
	host->id_like[0] = '\0';
	host->version_id[0] = '\0';
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *val;
		size_t vn;
		char *dst;

		pos += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (n >= 3 && !strncmp(line, "ID=", 3)) {
			val = line + 3;
			vn = n - 3;
			dst = host->id;
		} else if (n >= 8 && !strncmp(line, "ID_LIKE=", 8)) {
			val = line + 8;
			vn = n - 8;
			dst = host->id_like;
		} else if (n >= 11 && !strncmp(line, "VERSION_ID=", 11)) {
			val = line + 11;
			vn = n - 11;
			dst = host->version_id;
		} else {
			continue;
		}
		/* One pair of matching surrounding quotes is stripped. */
		if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
			val++;
			vn -= 2;
		}
		if (dst == host->id && vn == 0)
			set_field(dst, "linux", 5); /* ID= (empty) keeps the default */
		else
			set_field(dst, val, vn);
	}
}

static int read_small_file(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return 0;
}

/* A non-empty environment variable, or NULL. */
static const char *env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int btfgen_detect_host(struct btfgen_host *host)
{
	const char *paths[] = { "/etc/os-release", "/usr/lib/os-release" };
	const char *machine = env_set("BTFGEN_MACHINE"), *release = env_set("BTFGEN_RELEASE");
	struct utsname u;
	char *buf;
	size_t len = 0, i;
	int have = 0;

	/* Test hooks (another host on this one): an os-release file, uname -m and -r. */
	if (env_set("BTFGEN_OS_RELEASE"))
		paths[0] = paths[1] = env_set("BTFGEN_OS_RELEASE");
	buf = malloc(OS_RELEASE_MAX);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && !have; i++)
		have = read_small_file(paths[i], buf, OS_RELEASE_MAX, &len) == 0;
	/* Neither file readable: os-release(5) defaults (ID=linux, no VERSION_ID). */
	btfgen_parse_os_release(buf, have ? len : 0, host);
	free(buf);
	if (uname(&u))
		return -errno;
	if (!machine)
		machine = u.machine;
	if (!release)
		release = u.release;
	set_field(host->machine, machine, strlen(machine));
	set_field(host->release, release, strlen(release));
	return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Lookup rules                                                                          */

static const char *arch_alias(const char *machine)
{
	if (!strcmp(machine, "aarch64"))
		return "arm64";
	if (!strcmp(machine, "arm64"))
		return "aarch64";
	return NULL;
}

/* Length of VERSION_ID's major part ("8.6" -> 1), or 0 when there is no ".". */
static size_t major_len(const char *v)
{
	const char *dot = strchr(v, '.');

	return dot && dot > v ? (size_t)(dot - v) : 0;
}

struct candidates {
	char (*keys)[BTFGEN_KEY_MAX];
	const char **rules;
	int n;
};

static void add_candidate(struct candidates *c, const char *id, size_t id_len, const char *vid,
			  size_t vid_len, const char *machine, const char *release,
			  const char *rule)
{
	int i;

	snprintf(c->keys[c->n], BTFGEN_KEY_MAX, "%.*s/%.*s/%s/%s.btf", (int)id_len, id,
		 (int)vid_len, vid, machine, release);
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->keys[i], c->keys[c->n]))
			return;
	if (c->rules)
		c->rules[c->n] = rule;
	c->n++;
}

/* The four key rules for one ID; `id_like` gives them all the rule name "id-like". */
static void add_id_candidates(struct candidates *c, const struct btfgen_host *h,
			      const char *id, size_t id_len, int id_like)
{
	const char *alias = arch_alias(h->machine);
	size_t vlen = strlen(h->version_id), mlen = major_len(h->version_id);

	add_candidate(c, id, id_len, h->version_id, vlen, h->machine, h->release,
		      id_like ? "id-like" : "exact");
	if (alias)
		add_candidate(c, id, id_len, h->version_id, vlen, alias, h->release,
			      id_like ? "id-like" : "arch-alias");
	if (mlen) {
		add_candidate(c, id, id_len, h->version_id, mlen, h->machine, h->release,
			      id_like ? "id-like" : "major-version");
		if (alias)
			add_candidate(c, id, id_len, h->version_id, mlen, alias, h->release,
				      id_like ? "id-like" : "arch-alias+major-version");
	}
}

int btfgen_candidate_keys(const struct btfgen_host *h,
			  char keys[BTFGEN_MAX_CANDIDATES][BTFGEN_KEY_MAX],
			  const char *rules[BTFGEN_MAX_CANDIDATES])
{
	struct candidates c = { keys, rules, 0 };
	const char *ids[1 + BTFGEN_ID_LIKE_MAX], *p = h->id_like;
	size_t lens[1 + BTFGEN_ID_LIKE_MAX];
	int nids = 1, i;

	ids[0] = h->id;
	lens[0] = strlen(h->id);
	add_id_candidates(&c, h, h->id, lens[0], 0);
	/* ID_LIKE: space (or tab) separated, in its order; repeats are skipped. */
	while (*p && nids < 1 + BTFGEN_ID_LIKE_MAX) {
		size_t l = strcspn(p, " \t");

		for (i = 0; i < nids && l; i++)
			if (lens[i] == l && !memcmp(ids[i], p, l))
				break;
		if (l && i == nids) {
			ids[nids] = p;
			lens[nids++] = l;
			add_id_candidates(&c, h, p, l, 1);
		}
		p += l;
		p += strspn(p, " \t");
	}
	return c.n;
}

int btfgen_member_key(const char *name, char *key, size_t key_size)
{
	const char *comp[5];
	size_t clen[5], total = 0;
	int nc = 0, i, first = 0;
	const char *p = name;

	if (*p == '/')
		return 0; /* absolute */
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);

		if (l == 2 && p[0] == '.' && p[1] == '.')
			return 0; /* hostile */
		if (l == 1 && p[0] == '.') {
			/* "." components are dropped */
		} else if (l == 0 && nc == 0) {
			/* leading empty components (".//x") are dropped */
		} else {
			if (nc == 5)
				return 0;
			comp[nc] = p;
			clen[nc] = l;
			nc++;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	if (nc > 0 && clen[0] == 14 && !memcmp(comp[0], "btfhub-archive", 14))
		first = 1;
	if (nc - first != 4)
		return 0;
	/* <ID>/<VERSION_ID (may be empty)>/<arch>/<release>.btf */
	if (!clen[first] || !clen[first + 2] || clen[first + 3] <= 4 ||
	    memcmp(comp[first + 3] + clen[first + 3] - 4, ".btf", 4))
		return 0;
	for (i = first; i < nc; i++)
		total += clen[i] + 1;
	if (total > key_size)
		return 0;
	total = 0;
	for (i = first; i < nc; i++) {
		memcpy(key + total, comp[i], clen[i]);
		total += clen[i];
		key[total++] = i + 1 < nc ? '/' : '\0';
	}
	return 1;
}

/* Splits a normalized key in place-free fashion: pointers/lengths of its 4 components. */
static void key_parts(const char *key, const char *part[4], size_t len[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		const char *slash = i < 3 ? strchr(key, '/') : NULL;

		part[i] = key;
		len[i] = slash ? (size_t)(slash - key) : strlen(key);
		key += len[i] + (slash ? 1 : 0);
	}
	len[3] -= 4; /* ".btf" */
}

int btfgen_release_candidate(const struct btfgen_host *h, const char *key)
{
	const char *part[4], *alias = arch_alias(h->machine);
	size_t len[4];

	key_parts(key, part, len);
	return ((len[2] == strlen(h->machine) && !memcmp(part[2], h->machine, len[2])) ||
		(alias && len[2] == strlen(alias) && !memcmp(part[2], alias, len[2]))) &&
	       len[3] == strlen(h->release) && !memcmp(part[3], h->release, len[3]);
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t token_len(const char *s, size_t n)
{
	size_t i = 1;
	int d = is_digit(s[0]);

	while (i < n && is_digit(s[i]) == d)
		i++;
	return i;
}

/* Release similarity: number of equal leading tokens (digit runs and non-digit runs), then
 * the numeric distance of the first differing tokens when both are numbers. */
static void release_similarity(const char *a, size_t na, const char *b, size_t nb,
			       size_t *common, unsigned long long *dist)
{
	*common = 0;
	*dist = ULLONG_MAX;
	while (na && nb) {
		size_t la = token_len(a, na), lb = token_len(b, nb);

		if (la == lb && !memcmp(a, b, la)) {
			(*common)++;
			a += la, na -= la;
			b += lb, nb -= lb;
			continue;
		}
		if (is_digit(a[0]) && is_digit(b[0]) && la <= TOKEN_DIGITS_MAX &&
		    lb <= TOKEN_DIGITS_MAX) {
			unsigned long long x = 0, y = 0;
			size_t i;

			for (i = 0; i < la; i++)
				x = x * 10 + (unsigned)(a[i] - '0');
			for (i = 0; i < lb; i++)
				y = y * 10 + (unsigned)(b[i] - '0');
			*dist = x > y ? x - y : y - x;
		}
		return;
	}
}

struct near_score {
	size_t idx;
	int id_match, vid_score;
	size_t common;
	unsigned long long dist;
};

/* > 0 when a ranks before b. */
static int near_better(const struct near_score *a, const struct near_score *b,
		       const char *const *keys)
{
	if (a->id_match != b->id_match)
		return a->id_match > b->id_match;
	if (a->vid_score != b->vid_score)
		return a->vid_score > b->vid_score;
	if (a->common != b->common)
		return a->common > b->common;
	if (a->dist != b->dist)
		return a->dist < b->dist;
	return strcmp(keys[a->idx], keys[b->idx]) < 0;
}

size_t btfgen_nearest(const struct btfgen_host *h, const char *const *keys, size_t n_keys,
		      size_t limit, size_t *out)
{
	const char *alias = arch_alias(h->machine);
	struct near_score best[16], cur;
	size_t nbest = 0, i, j, hv_major = major_len(h->version_id);
	int pass, any_same_arch = 0;

	if (limit > 16)
		limit = 16;
	if (!hv_major)
		hv_major = strlen(h->version_id);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && any_same_arch)
			break; /* pool = same arch when the archive has any, else all */
		for (i = 0; i < n_keys; i++) {
			const char *part[4];
			size_t len[4], kv_major;
			int same_arch;

			key_parts(keys[i], part, len);
			same_arch = (len[2] == strlen(h->machine) &&
				     !memcmp(part[2], h->machine, len[2])) ||
				    (alias && len[2] == strlen(alias) &&
				     !memcmp(part[2], alias, len[2]));
			if (pass == 0 && !same_arch)
				continue;
			if (pass == 0)
				any_same_arch = 1;
			cur.idx = i;
			cur.id_match = len[0] == strlen(h->id) && !memcmp(part[0], h->id, len[0]);
			kv_major = 0;
			for (j = 0; j < len[1]; j++)
				if (part[1][j] == '.')
					break;
			kv_major = j > 0 && j < len[1] ? j : len[1];
			if (len[1] == strlen(h->version_id) &&
			    !memcmp(part[1], h->version_id, len[1]))
				cur.vid_score = 2;
			else if (kv_major == hv_major && !memcmp(part[1], h->version_id, hv_major))
				cur.vid_score = 1;
			else
				cur.vid_score = 0;
			release_similarity(h->release, strlen(h->release), part[3], len[3],
					   &cur.common, &cur.dist);
			/* Insert into the sorted top-`limit` list. */
			for (j = nbest; j > 0 && near_better(&cur, &best[j - 1], keys); j--)
				if (j < limit)
					best[j] = best[j - 1];
			if (j < limit) {
				best[j] = cur;
				if (nbest < limit)
					nbest++;
			}
		}
	}
	for (i = 0; i < nbest; i++)
		out[i] = best[i].idx;
	return nbest;
}

/* ------------------------------------------------------------------------------------ */
/* Streaming tar reader + member extraction                                              */

enum tar_state { T_HEADER, T_DATA, T_META, T_PAD, T_END };

struct lookup {
	/* what we look for: ranks 0..ncand-1 are the candidate keys, then the release rule */
	const struct btfgen_host *host;
	char cand[BTFGEN_MAX_CANDIDATES][BTFGEN_KEY_MAX];
	const char *rules[BTFGEN_MAX_CANDIDATES];
	int ncand;
	const char *tmpdir;
	/* output file (created on the first match, rewritten on a better one) */
	int fd;
	char *path;
	uint64_t written;	/* bytes in the file */
	int best;		/* rank of the member in the file; ncand + 1 = none yet */
	char best_key[BTFGEN_KEY_MAX];
	int cur_rank;		/* rank of the entry being written, -1 when not writing */
	char cur_key[BTFGEN_KEY_MAX];
	/* the release rule: its members (indices into seen[]), all identical so far? */
	size_t *rel;
	size_t nrel, caprel;
	int rel_differ;
	int comparing;		/* the entry is a further release member, compared with the file */
	int cmp_same;
	uint64_t cmp_pos;
	/* every kernel key seen, for the "nearest kernels" message */
	char **seen;
	size_t nseen, capseen;
	/* tar state */
	enum tar_state state;
	unsigned char hdr[512];
	size_t hdr_fill;
	uint64_t remain, pad;
	uint64_t fed;
	char meta_type;
	char *meta;
	size_t meta_len;
	char *next_name;	/* from GNU 'L' or pax 'path' */
	int have_pax_size;
	uint64_t pax_size;
	int done;		/* exact key extracted, or end-of-archive marker seen */
	char *msg;
	size_t msg_size;
};

static int fail(struct lookup *c, int err, const char *fmt, const char *arg)
{
	if (c->msg && c->msg_size)
		snprintf(c->msg, c->msg_size, fmt, arg ? arg : "");
	return err;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Octal (NUL/space terminated, leading spaces allowed) or GNU base-256. -1 if invalid. */
static int parse_number(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1; /* negative or >64-bit */
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	if (i < n && f[i] != ' ' && f[i] != '\0')
		return -1;
	*out = v;
	return 0;
}

static int checksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned long usum = 0;
	long ssum = 0;
	int i;

	if (parse_number(h + 148, 8, &want))
		return 0;
	for (i = 0; i < 512; i++) {
		unsigned char b = (i >= 148 && i < 156) ? ' ' : h[i];

		usum += b;
		ssum += (signed char)b;
	}
	return want == usum || (long)want == ssum;
}

static int remember_key(struct lookup *c, const char *key)
{
	if (c->nseen == c->capseen) {
		size_t cap = c->capseen ? c->capseen * 2 : 64;
		char **n = realloc(c->seen, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->seen = n;
		c->capseen = cap;
	}
	c->seen[c->nseen] = strdup(key);
	if (!c->seen[c->nseen])
		return -ENOMEM;
	c->nseen++;
	return 0;
}

static int open_output(struct lookup *c)
{
	c->written = 0;
	if (c->fd >= 0) {
		/* A better-ranked member replaces the one already written. */
		if (ftruncate(c->fd, 0) || lseek(c->fd, 0, SEEK_SET) < 0)
			return fail(c, -EIO, "cannot rewrite %s", c->path);
		return 0;
	}
	{
		size_t n = strlen(c->tmpdir) + sizeof("/btfgen-XXXXXX.btf");

		c->path = malloc(n);
		if (!c->path)
			return -ENOMEM;
		snprintf(c->path, n, "%s/btfgen-XXXXXX", c->tmpdir);
		/* mkstemp: O_CREAT|O_EXCL, mode 0600 */
		c->fd = mkstemp(c->path);
		if (c->fd < 0) {
			int e = errno;

			snprintf(c->msg, c->msg_size, "cannot create a temporary file in %s: %s",
				 c->tmpdir, strerror(e));
			free(c->path);
			c->path = NULL;
			return -EIO;
		}
		fchmod(c->fd, S_IRUSR | S_IWUSR);
	}
	return 0;
}

static void end_entry(struct lookup *c)
{
	if (c->comparing) {
		if (!c->cmp_same)
			c->rel_differ = 1;
		c->comparing = 0;
	} else if (c->cur_rank >= 0) {
		c->best = c->cur_rank;
		memcpy(c->best_key, c->cur_key, sizeof(c->best_key));
		if (c->best == 0)
			c->done = 1; /* the exact key: nothing can beat it */
	}
	c->cur_rank = -1;
	c->state = c->pad ? T_PAD : T_HEADER;
}

static int parse_pax(struct lookup *c)
{
	size_t pos = 0;

	while (pos < c->meta_len) {
		/* "<len> <key>=<value>\n", len counting the whole record */
		size_t len = 0, i = pos;
		const char *rec, *eq, *end;

		while (i < c->meta_len && is_digit(c->meta[i]) && len < META_MAX)
			len = len * 10 + (size_t)(c->meta[i++] - '0');
		if (i >= c->meta_len || c->meta[i] != ' ' || len == 0 || len > c->meta_len - pos)
			return 0; /* malformed: ignore the rest */
		rec = c->meta + i + 1;
		end = c->meta + pos + len - 1; /* the '\n' */
		if (end < rec) {
			/* len counts no more than its digits and the space ("2 a..."): no
			 * key=value fits; skipped, as a record without '=' is. */
			pos += len;
			continue;
		}
		eq = memchr(rec, '=', (size_t)(end - rec));
		if (eq && *end == '\n') {
			size_t kl = (size_t)(eq - rec), vl = (size_t)(end - eq - 1);

			if (kl == 4 && !memcmp(rec, "path", 4)) {
				char *v = malloc(vl + 1);

				if (v) {
					memcpy(v, eq + 1, vl);
					v[vl] = '\0';
					free(c->next_name);
					c->next_name = v;
				}
			} else if (kl == 4 && !memcmp(rec, "size", 4)) {
				/* Decimal digits (the value read as a C string, up to a NUL);
				 * anything else is ignored. Above 2^53 - 1 the archive is invalid. */
				uint64_t s = 0;
				size_t k;

				vl = strnlen(eq + 1, vl);
				for (k = 1; k <= vl && is_digit(eq[k]); k++)
					;
				if (k == vl + 1 && vl) {
					for (k = 1; k <= vl; k++) {
						s = s * 10 + (uint64_t)(eq[k] - '0');
						if (s > SIZE_MAX_SAFE)
							return fail(c, -EINVAL, "corrupt tar: pax size "
								    "above 2^53 - 1%s", NULL);
					}
					c->pax_size = s;
					c->have_pax_size = 1;
				}
			}
		}
		pos += len;
	}
	return 0;
}

static int end_meta(struct lookup *c)
{
	int err = 0;

	if (c->meta_type == 'L') {
		size_t n = strnlen(c->meta, c->meta_len);
		char *v = malloc(n + 1);

		if (v) {
			memcpy(v, c->meta, n);
			v[n] = '\0';
			free(c->next_name);
			c->next_name = v;
		}
	} else if (c->meta_type == 'x') {
		err = parse_pax(c);
	} /* 'K' (long link name) and 'g' (global pax) do not name a file */
	free(c->meta);
	c->meta = NULL;
	c->meta_len = 0;
	c->state = c->pad ? T_PAD : T_HEADER;
	return err;
}

static int remember_release(struct lookup *c)
{
	if (c->nrel == c->caprel) {
		size_t cap = c->caprel ? c->caprel * 2 : 8;
		size_t *n = realloc(c->rel, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->rel = n;
		c->caprel = cap;
	}
	c->rel[c->nrel++] = c->nseen - 1;
	return 0;
}

/* A kernel member: written out when it ranks better than the file's (a candidate key, or
 * the first release-rule member), compared with the file when it is a further release-rule
 * member, skipped otherwise. */
static int choose_member(struct lookup *c, const char *key, uint64_t size)
{
	int r = remember_key(c, key), rank, release = c->ncand;

	if (r)
		return r;
	for (rank = 0; rank < c->ncand; rank++)
		if (!strcmp(key, c->cand[rank]))
			break;
	if (rank == c->ncand) {
		/* Not a candidate key: the release rule, while nothing better was found. */
		if (c->best < release || !btfgen_release_candidate(c->host, key))
			return 0;
		r = remember_release(c);
		if (r)
			return r;
		if (c->best == release) {
			c->comparing = 1;
			c->cmp_same = size == c->written;
			c->cmp_pos = 0;
			return 0;
		}
	} else if (rank >= c->best) {
		return 0;
	}
	if (size > MEMBER_MAX)
		return fail(c, -EINVAL, "member %s is larger than 128 MiB, the limit for one kernel's BTF",
			    key);
	r = open_output(c);
	if (r)
		return r;
	c->cur_rank = rank;
	memcpy(c->cur_key, key, sizeof(c->cur_key));
	return 0;
}

/* Do these bytes equal the file's at cmp_pos? (The release rule's byte-identical test.) */
static int compare_output(struct lookup *c, const unsigned char *buf, size_t n)
{
	unsigned char mine[4096];

	while (n && c->cmp_same) {
		size_t k = n < sizeof(mine) ? n : sizeof(mine);
		ssize_t r = pread(c->fd, mine, k, (off_t)c->cmp_pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(c, -EIO, "cannot read back %s", c->path);
		if ((size_t)r != k || memcmp(mine, buf, k))
			c->cmp_same = 0;
		buf += k, n -= k;
		c->cmp_pos += k;
	}
	return 0;
}

static int on_header(struct lookup *c)
{
	const unsigned char *h = c->hdr;
	char name[257], key[BTFGEN_KEY_MAX];
	const char *member;
	uint64_t size;
	char type = (char)h[156];
	int i, zero = 1;

	for (i = 0; i < 512 && zero; i++)
		zero = h[i] == 0;
	if (zero) {
		c->state = T_END; /* end-of-archive marker */
		c->done = 1;
		return 0;
	}
	if (!checksum_ok(h) || parse_number(h + 124, 12, &size))
		return fail(c, -EINVAL, "not a tar archive, or a corrupt one (bad header)%s", NULL);
	if (c->have_pax_size)
		size = c->pax_size;
	if (size > SIZE_MAX_SAFE)
		return fail(c, -EINVAL, "corrupt tar: member size above 2^53 - 1%s", NULL);
	c->remain = size;
	c->pad = (512 - size % 512) % 512;

	if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
		if (size > META_MAX)
			return fail(c, -EINVAL, "corrupt tar: oversized name record%s", NULL);
		c->meta_type = type;
		c->meta = malloc(size ? (size_t)size : 1);
		if (!c->meta)
			return -ENOMEM;
		c->meta_len = 0;
		c->have_pax_size = 0;
		if (size)
			c->state = T_META;
		else
			return end_meta(c);
		return 0;
	}

	if (c->next_name) {
		member = c->next_name;
	} else {
		size_t pl = 0, nl = strnlen((const char *)h, 100);

		if (!memcmp(h + 257, "ustar\0", 6) && h[345]) {
			pl = strnlen((const char *)h + 345, 155);
			memcpy(name, h + 345, pl);
			name[pl++] = '/';
		}
		memcpy(name + pl, h, nl);
		name[pl + nl] = '\0';
		member = name;
	}
	c->cur_rank = -1;
	/* Regular files only: links, devices, directories, fifos, sparse files are ignored. */
	if ((type == '0' || type == '\0' || type == '7') &&
	    btfgen_member_key(member, key, sizeof(key))) {
		int r = choose_member(c, key, size);

		if (r)
			return r;
	}
	free(c->next_name);
	c->next_name = NULL;
	c->have_pax_size = 0;
	if (size)
		c->state = T_DATA;
	else
		end_entry(c);
	return 0;
}

/* Feeds decompressed tar bytes. Returns 0 or a negative errno; stops at c->done. */
static int tar_feed(struct lookup *c, const unsigned char *buf, size_t len)
{
	c->fed += len;
	while (len && !c->done) {
		size_t n;
		int err;

		switch (c->state) {
		case T_HEADER:
			n = 512 - c->hdr_fill;
			if (n > len)
				n = len;
			memcpy(c->hdr + c->hdr_fill, buf, n);
			c->hdr_fill += n;
			buf += n, len -= n;
			if (c->hdr_fill == 512) {
				c->hdr_fill = 0;
				err = on_header(c);
				if (err)
					return err;
			}
			break;
		case T_DATA:
			n = c->remain < len ? (size_t)c->remain : len;
			if (c->cur_rank >= 0) {
				err = write_all(c->fd, buf, n);
				if (err)
					return fail(c, -EIO, "cannot write %s", c->path);
				c->written += n;
			} else if (c->comparing) {
				err = compare_output(c, buf, n);
				if (err)
					return err;
			}
			buf += n, len -= n;
			c->remain -= n;
			if (!c->remain)
				end_entry(c);
			break;
		case T_META:
			n = c->remain < len ? (size_t)c->remain : len;
			memcpy(c->meta + c->meta_len, buf, n);
			c->meta_len += n;
			buf += n, len -= n;
			c->remain -= n;
			if (!c->remain) {
				err = end_meta(c);
				if (err)
					return err;
			}
			break;
		case T_PAD:
			n = c->pad < len ? (size_t)c->pad : len;
			buf += n, len -= n;
			c->pad -= n;
			if (!c->pad)
				c->state = T_HEADER;
			break;
		case T_END:
			return 0;
		}
	}
	return 0;
}

/* Inflates one gzip member from p (inflateInit2 with 16 + MAX_WBITS: gzip only) and throws
 * the output away. Returns the bytes it took, or 0 when p does not start with a complete
 * valid member. *budget counts down the bytes the archive may still inflate to. */
static size_t gzip_member_len(const unsigned char *p, size_t n, unsigned char *scratch,
			      uint64_t *budget, int *over)
{
	z_stream zs;
	size_t used = 0;
	int ret = Z_BUF_ERROR;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return 0;
	zs.next_in = p;
	do {
		if (zs.avail_in == 0) {
			if (used == n)
				break; /* the input ends inside the member */
			zs.avail_in = n - used > (1u << 30) ? (1u << 30) : (uInt)(n - used);
			used += zs.avail_in;
		}
		zs.next_out = scratch;
		zs.avail_out = INFLATE_CHUNK;
		ret = inflate(&zs, Z_NO_FLUSH);
		if (INFLATE_CHUNK - zs.avail_out > *budget) {
			*over = 1;
			break;
		}
		*budget -= INFLATE_CHUNK - zs.avail_out;
	} while (ret == Z_OK);
	used -= zs.avail_in;
	inflateEnd(&zs);
	return ret == Z_STREAM_END && !*over ? used : 0;
}

/*
 * The gzip rule both runtimes follow (RFC 1952 section 2.2: a gzip file is a series of
 * members): after a member's trailer either nothing remains, or what remains is one or more
 * complete valid members, decoded and concatenated. Anything else (a lone 0x1f, "1f 8b" and
 * junk, zero padding, a truncated member) is "trailing garbage after gzip data", EINVAL. It
 * is checked when the first member ends, before that round's output is used. The whole gzip
 * data is always inflated, also past the exact member, so this holds wherever the damage lies.
 */
static int gunzip_feed(struct lookup *c, const unsigned char *data, size_t len)
{
	unsigned char *out = malloc(INFLATE_CHUNK);
	uint64_t budget = INFLATE_MAX;
	int err = 0, ret, tail_checked = 0;
	z_stream zs;

	if (!out)
		return -ENOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		free(out);
		return -ENOMEM;
	}
	zs.next_in = data;
	for (;;) {
		size_t produced;

		if (zs.avail_in == 0 && len) {
			zs.avail_in = len > (1u << 30) ? (1u << 30) : (uInt)len;
			len -= zs.avail_in;
		}
		zs.next_out = out;
		zs.avail_out = INFLATE_CHUNK;
		ret = inflate(&zs, Z_NO_FLUSH);
		produced = INFLATE_CHUNK - zs.avail_out;
		/* A round that fails is not used, not even its output before the error (as in
		 * node's zlib, so that both runtimes agree on damaged archives). */
		if (ret == Z_MEM_ERROR) {
			err = -ENOMEM;
			break;
		}
		if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) {
			err = fail(c, -EINVAL, "corrupt gzip data%s", NULL);
			break;
		}
		if (produced > budget) {
			err = fail(c, -EINVAL, "archive inflates to more than 1 GiB%s", NULL);
			break;
		}
		budget -= produced;
		if (ret == Z_STREAM_END && !tail_checked && (zs.avail_in || len)) {
			/* Every remaining byte must belong to a complete valid member. */
			const unsigned char *p = zs.next_in;
			size_t rest = zs.avail_in + len, m;
			uint64_t tail_budget = budget;
			unsigned char *scratch = malloc(INFLATE_CHUNK);
			int over = 0;

			if (!scratch) {
				err = -ENOMEM;
				break;
			}
			while (rest) {
				m = gzip_member_len(p, rest, scratch, &tail_budget, &over);
				if (!m)
					break;
				p += m;
				rest -= m;
			}
			free(scratch);
			if (over) {
				err = fail(c, -EINVAL, "archive inflates to more than 1 GiB%s", NULL);
				break;
			}
			if (rest) {
				err = fail(c, -EINVAL, "trailing garbage after gzip data%s", NULL);
				break;
			}
			tail_checked = 1;
		}
		/* After the exact member or the end-of-archive marker the tar data is not needed, but
		 * the gzip data is still inflated (and bounded) to its end, so that damage after the
		 * member decides alike wherever it lies (src/runtime/archive.ts does the same). */
		if (produced && !c->done) {
			err = tar_feed(c, out, produced);
			if (err)
				break;
		}
		if (ret == Z_STREAM_END) {
			if (zs.avail_in == 0 && len == 0)
				break;
			inflateReset(&zs); /* the next gzip member (checked above) */
			continue;
		}
		if (ret == Z_OK)
			continue;
		/* Z_BUF_ERROR: no progress possible, the input ended inside the stream */
		err = fail(c, -EINVAL, "truncated gzip data%s", NULL);
		break;
	}
	inflateEnd(&zs);
	free(out);
	return err;
}

static void lookup_free(struct lookup *c)
{
	size_t i;

	for (i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(c->seen);
	free(c->rel);
	free(c->meta);
	free(c->next_name);
}

static void no_match_message(struct lookup *c, const struct btfgen_host *h)
{
	size_t near[NEAREST_LIMIT], n, i, pos;
	int k;

	pos = (size_t)snprintf(c->msg, c->msg_size, "no BTF for this host in the archive: tried ");
	for (k = 0; k < c->ncand && pos < c->msg_size; k++)
		pos += (size_t)snprintf(c->msg + pos, c->msg_size - pos, "%s%s", k ? ", " : "",
					c->cand[k]);
	if (pos >= c->msg_size)
		return;
	if (!c->nseen) {
		snprintf(c->msg + pos, c->msg_size - pos, "; the archive holds no kernels");
		return;
	}
	if (c->best == c->ncand) {
		/* The release rule's members differ: list them, never guess. */
		pos += (size_t)snprintf(c->msg + pos, c->msg_size - pos,
					"; the %zu kernels with release %s differ, not guessing between ",
					c->nrel, h->release);
		for (i = 0; i < c->nrel && pos < c->msg_size; i++)
			pos += (size_t)snprintf(c->msg + pos, c->msg_size - pos, "%s%s",
						i ? ", " : "", c->seen[c->rel[i]]);
		return;
	}
	n = btfgen_nearest(h, (const char *const *)c->seen, c->nseen, NEAREST_LIMIT, near);
	pos += (size_t)snprintf(c->msg + pos, c->msg_size - pos,
				"; nearest kernels in the archive (%zu in all): ", c->nseen);
	for (i = 0; i < n && pos < c->msg_size; i++)
		pos += (size_t)snprintf(c->msg + pos, c->msg_size - pos, "%s%s", i ? ", " : "",
					c->seen[near[i]]);
}

int btfgen_lookup(const struct btfgen_host *host, const unsigned char *data, size_t len,
		  const char *tmpdir, char **out_path, char *matched_key, size_t key_size,
		  const char **matched_rule, char *msg, size_t msg_size)
{
	struct lookup c;
	char dummy[1];
	int err;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.cur_rank = -1;
	c.tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
	c.msg = msg && msg_size ? msg : dummy;
	c.msg_size = msg && msg_size ? msg_size : sizeof(dummy);
	c.msg[0] = '\0';
	c.host = host;
	c.ncand = btfgen_candidate_keys(host, c.cand, c.rules);
	c.best = c.ncand + 1;
	*out_path = NULL;

	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		err = gunzip_feed(&c, data, len);
	else
		err = tar_feed(&c, data, len);
	if (!err && !c.done && (c.fed == 0 || c.state != T_HEADER || c.hdr_fill != 0))
		err = fail(&c, -EINVAL, "%s",
			   c.fed == 0 ? "empty archive"
			   : c.fed < 512 ? "not a tar archive (shorter than one tar block)"
			   : "truncated tar archive");
	if (!err && (c.best > c.ncand || (c.best == c.ncand && c.rel_differ))) {
		no_match_message(&c, host);
		err = -ENOENT;
	}
	if (!err && c.fd >= 0) {
		int r = close(c.fd);

		c.fd = -1;
		if (r)
			err = fail(&c, -EIO, "cannot write %s", c.path);
	}
	if (err) {
		if (c.fd >= 0)
			close(c.fd);
		if (c.path) {
			unlink(c.path);
			free(c.path);
		}
		lookup_free(&c);
		return err;
	}
	if (matched_key && key_size) {
		strncpy(matched_key, c.best_key, key_size - 1);
		matched_key[key_size - 1] = '\0';
	}
	if (matched_rule)
		*matched_rule = c.best < c.ncand ? c.rules[c.best] : "release";
	*out_path = c.path;
	lookup_free(&c);
	return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Public API                                                                            */

/* Paths handed out, so that cleanup deletes only our temp files and frees only our strings.
 * A tiny spin lock keeps this safe across threads without linking pthread. */
struct owned_path {
	char *path;
	int temp;
	struct owned_path *next;
};

static struct owned_path *owned;
static volatile int owned_lock;

static void lock_owned(void)
{
	while (__sync_lock_test_and_set(&owned_lock, 1))
		;
}

static void unlock_owned(void)
{
	__sync_lock_release(&owned_lock);
}

static int remember_path(char *path, int temp)
{
	struct owned_path *o = malloc(sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->path = path;
	o->temp = temp;
	lock_owned();
	o->next = owned;
	owned = o;
	unlock_owned();
	return 0;
}

/* Returns 1 when the path was ours (and is now deleted if temporary, and freed). */
static int release_path(const char *path)
{
	struct owned_path **pp, *o = NULL;

	if (!path)
		return 0;
	lock_owned();
	for (pp = &owned; *pp; pp = &(*pp)->next) {
		if ((*pp)->path == path) {
			o = *pp;
			*pp = o->next;
			break;
		}
	}
	unlock_owned();
	if (!o)
		return 0;
	if (o->temp)
		unlink(o->path);
	free(o->path);
	free(o);
	return 1;
}

static int force_archive(void)
{
	const char *v = getenv("BTFGEN_FORCE_ARCHIVE");

	return v && *v && strcmp(v, "0") != 0;
}

/* The common path of every entry point. data == NULL: no archive available. */
static int ensure_btf(const char **path, const unsigned char *data, size_t len,
		      int archive_linked)
{
	const char *env = getenv("BTF_FILE_PATH");
	struct btfgen_host host;
	char msg[MSG_MAX], key[BTFGEN_KEY_MAX], *out = NULL;
	const char *tmpdir;
	int err;

	*path = NULL;
	if (env && *env) {
		char *dup;

		if (access(env, R_OK)) {
			fprintf(stderr, "btf_helpers: BTF_FILE_PATH=%s: %s\n", env, strerror(errno));
			return -ENOENT;
		}
		dup = strdup(env);
		if (!dup)
			return -ENOMEM;
		if (remember_path(dup, 0)) {
			free(dup);
			return -ENOMEM;
		}
		*path = dup;
		return 0;
	}
	if (!force_archive() && access(KERNEL_BTF_PATH, R_OK) == 0)
		return 0; /* the kernel has its own BTF: libbpf's default */
	if (!data) {
		if (archive_linked) {
			fprintf(stderr, "btf_helpers: the kernel has no BTF (%s) and no BTF archive "
					"is linked into this program\n", KERNEL_BTF_PATH);
			return -EOPNOTSUPP;
		}
		fprintf(stderr, "btf_helpers: no archive bytes given\n");
		return -EINVAL;
	}
	err = btfgen_detect_host(&host);
	if (err) {
		fprintf(stderr, "btf_helpers: cannot identify this host: %s\n", strerror(-err));
		return err;
	}
	tmpdir = getenv("TMPDIR");
	err = btfgen_lookup(&host, data, len, tmpdir, &out, key, sizeof(key), NULL, msg,
			    sizeof(msg));
	if (err) {
		fprintf(stderr, "btf_helpers: %s\n", msg[0] ? msg : strerror(-err));
		return err;
	}
	if (remember_path(out, 1)) {
		unlink(out);
		free(out);
		return -ENOMEM;
	}
	*path = out;
	return 0;
}

int ensure_core_btf_with_tar_binary(const char **path, const char *tar_bin, int tar_len)
{
	if (!path || tar_len < 0)
		return -EINVAL;
	return ensure_btf(path, (const unsigned char *)tar_bin, tar_bin ? (size_t)tar_len : 0, 0);
}

int ensure_core_btf_with_linked_tar(const char **path)
{
	const char *start = _binary_min_core_btfs_tar_gz_start;
	const char *end = _binary_min_core_btfs_tar_gz_end;

	if (!path)
		return -EINVAL;
	if (!start || !end || end < start)
		return ensure_btf(path, NULL, 0, 1);
	return ensure_btf(path, (const unsigned char *)start, (size_t)(end - start), 1);
}

void clean_core_btf_rs(const char *path)
{
	release_path(path);
}

int ensure_core_btf(struct bpf_object_open_opts *opts)
{
	const char *path = NULL;
	int err;

	if (!opts)
		return -EINVAL;
	err = ensure_core_btf_with_linked_tar(&path);
	if (!err && path)
		opts->btf_custom_path = path;
	return err;
}

int ensure_core_btf_tar(struct bpf_object_open_opts *opts, const char *tar_gz, int len)
{
	const char *path = NULL;
	int err;

	if (!opts)
		return -EINVAL;
	err = ensure_core_btf_with_tar_binary(&path, tar_gz, len);
	if (!err && path)
		opts->btf_custom_path = path;
	return err;
}

void cleanup_core_btf(struct bpf_object_open_opts *opts)
{
	if (opts && release_path(opts->btf_custom_path))
		opts->btf_custom_path = NULL;
}
