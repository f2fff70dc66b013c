/* SPDX-License-Identifier: MIT */
/*
 * Structure-aware fuzzing of btf_helpers.c's archive reader (btfgen_lookup). Each case is a
 * valid archive (ustar names, ustar prefix, GNU longname 'L'/'K', pax 'path'/'size', global
 * pax; plain tar, gzip, multi-member gzip) built from a seeded PRNG, then damaged where the
 * reader makes decisions: one header field (name, mode, size in octal or base-256, typeflag,
 * magic, checksum, prefix; the checksum usually recomputed so that the header is accepted),
 * the records of a pax header (lengths, keys, values), a GNU longname's length or body, the
 * gzip framing after a member, or the archive's end. Built with ASan and UBSan (gcc and
 * clang, test/native/fuzz.test.ts) any memory error or undefined behaviour stops the run.
 *
 *   fuzz_archive [--seed S] [--count N] [--fork] [--dump DIR] [--bomb]
 *
 * Checks on every case: an error leaves no file behind; a success leaves exactly one 0600
 * regular file under the temporary directory, no larger than the archive's decompressed size.
 * --fork runs each case in a child and counts the cases that crash (signal or sanitizer exit
 * status) instead of stopping: this is how the run is measured with a fix reverted.
 * --bomb checks the inflate cap on a generated gzip bomb (a 1.1 GiB member of zeros).
 * Prints per-class counters (how many cases reached each damaged structure) and
 * "fuzz_archive: N cases, K failed".
 */
#define _POSIX_C_SOURCE 200809L

#include "test_util.h"
#include "btf_helpers_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[4096];
static uint64_t rng_state;

/* splitmix64: small, seeded, the same sequence on every platform */
static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(rnd64() % n) : 0;
}

/* ---- the valid archive ---------------------------------------------------------------- */

enum region { R_HEADER, R_PAX, R_LONGNAME };

/* Where each structure of the archive starts, so that mutations can aim at them. */
struct site {
	enum region kind;
	size_t off, len;
};

#define MAX_SITES 64
static struct site sites[MAX_SITES];
static int nsites;

static void add_site(enum region kind, size_t off, size_t len)
{
	if (nsites < MAX_SITES)
		sites[nsites++] = (struct site){ kind, off, len };
}

static void header(struct buf *b, const char *name, const char *prefix, char type,
		   uint64_t size)
{
	unsigned char h[512];

	ustar_header(h, name, prefix, type, size);
	add_site(R_HEADER, b->len, 512);
	buf_add(b, h, 512);
}

/* A pax body of records "<len> <key>=<value>\n" (len counting itself). */
static void pax_record(struct buf *body, const char *key, const char *value)
{
	char rec[1400], num[24];
	size_t rest = strlen(key) + strlen(value) + 3, len = rest + 1;

	while ((size_t)snprintf(num, sizeof(num), "%zu", len) + rest != len)
		len = (size_t)snprintf(num, sizeof(num), "%zu", len) + rest;
	snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
	buf_add(body, rec, strlen(rec));
}

static void pax_header(struct buf *b, const struct buf *body, char type)
{
	header(b, "PaxHeaders/x", NULL, type, body->len);
	add_site(R_PAX, b->len, body->len);
	buf_add(b, body->p, body->len);
	buf_pad(b);
}

static const char *const releases[] = { "6.1.0-test", "6.1.0-other", "6.1.0-test-x" };
static const char *const distros[] = { "debian/12/x86_64", "debian/12/aarch64", "debian/11/x86_64" };

static void member(struct buf *b, int target)
{
	char name[400], data[1500];
	size_t n = rnd(4) ? rnd(1400) : 0, i;
	int style = rnd(5), pad = rnd(4) == 0;
	char type = "0000000\0" "7" "25"[rnd(11)];

	if (target) {
		snprintf(name, sizeof(name), "./btfhub-archive/debian/12/x86_64/6.1.0-test.btf");
		type = '0';
	} else {
		const char *distro = distros[rnd(3)], *rel = releases[rnd(3)];

		snprintf(name, sizeof(name), "./btfhub-archive/%s/%s%s.btf", distro, rel, pad ? "-long-release-name-that-needs-a-ustar-prefix-or-a-longname-record-xxxx" : "");
	}
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + (i * 7 + n) % 26);
	if (style == 0 && strlen(name) > 100) {
		/* ustar prefix + name */
		char *slash = strrchr(name, '/');

		*slash = '\0';
		header(b, slash + 1, name, type, n);
	} else if (style == 1 || (style == 0 && strlen(name) > 100)) {
		/* GNU longname (sometimes a long link name first) */
		if (rnd(4) == 0) {
			header(b, "././@LongLink", NULL, 'K', 9);
			add_site(R_LONGNAME, b->len, 9);
			buf_add(b, "linkname", 9);
			buf_pad(b);
		}
		header(b, "././@LongLink", NULL, 'L', strlen(name) + 1);
		add_site(R_LONGNAME, b->len, strlen(name) + 1);
		buf_add(b, name, strlen(name) + 1);
		buf_pad(b);
		header(b, name, NULL, type, n);
	} else if (style == 2 || style == 3) {
		/* pax path (and sometimes size, mtime, a global header first) */
		struct buf body = { 0 };
		char sz[24];

		if (rnd(5) == 0) {
			pax_record(&body, "comment", "global");
			pax_header(b, &body, 'g');
			body.len = 0;
		}
		if (rnd(2))
			pax_record(&body, "mtime", "1700000000.5");
		pax_record(&body, "path", name);
		if (style == 3) {
			snprintf(sz, sizeof(sz), "%zu", n);
			pax_record(&body, "size", sz);
		}
		pax_header(b, &body, 'x');
		free(body.p);
		header(b, "placeholder-name", NULL, type, n);
	} else {
		header(b, name, NULL, type, n);
	}
	if (type == '0' || type == '7' || type == '\0') {
		buf_add(b, data, n);
		buf_pad(b);
	} else {
		/* links and directories carry no data: size 0 */
		unsigned char *h = b->p + b->len - 512;

		snprintf((char *)h + 124, 12, "%011o", 0);
		tar_checksum(h);
	}
}

static void valid_tar(struct buf *t)
{
	int n = 1 + rnd(5), target = rnd(n + 1), i;

	nsites = 0;
	for (i = 0; i < n; i++)
		member(t, i == target);
	if (rnd(8))
		buf_add(t, NULL, 1024);
}

/* ---- mutations ------------------------------------------------------------------------ */

enum klass {
	K_NAME, K_MODE, K_SIZE_OCTAL, K_SIZE_B256, K_TYPEFLAG, K_MAGIC, K_CHECKSUM, K_PREFIX,
	K_PAX_LEN_SHORT, K_PAX_LEN, K_PAX_KEY, K_PAX_VALUE, K_PAX_SIZE, K_PAX_BODY,
	K_LONGNAME_LEN, K_LONGNAME_BODY, K_GZIP_TAIL, K_TRUNCATE, K_BYTES, K_NCLASS
};
static const char *const klass_name[] = {
	"header name", "header mode", "header size (octal)", "header size (base-256)",
	"header typeflag", "header magic", "header checksum", "header prefix",
	"pax length <= digits+space", "pax length", "pax key", "pax value", "pax size value",
	"pax body bytes", "GNU longname length", "GNU longname body", "gzip framing",
	"truncation", "byte flips"
};
static unsigned long klass_count[K_NCLASS];

static struct site *pick(enum region kind)
{
	int idx[MAX_SITES], n = 0, i;

	for (i = 0; i < nsites; i++)
		if (sites[i].kind == kind)
			idx[n++] = i;
	return n ? &sites[idx[rnd((unsigned)n)]] : NULL;
}

static void random_bytes(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)rnd(256);
}

static void octal_field(unsigned char *f, size_t n)
{
	static const char *const pick_from[] = {
		"77777777777", "00000000000", "00000001000", "1000000001", "7777777777 ",
		"  12", "12x", "-1", "8", "", "0000000001\xff", "1000000000000"
	};
	const char *s = pick_from[rnd(sizeof(pick_from) / sizeof(pick_from[0]))];
	size_t i;

	memset(f, rnd(2) ? 0 : ' ', n);
	if (rnd(3) == 0) { /* random octal digits, no terminator */
		for (i = 0; i < n; i++)
			f[i] = (unsigned char)('0' + rnd(8));
		return;
	}
	memcpy(f, s, strlen(s) < n ? strlen(s) : n);
}

static void mutate_header(unsigned char *h, enum klass *k)
{
	static const char types[] = "0\0" "1" "2" "3" "4" "5" "6" "7" "L" "K" "x" "g" "S" "V" "D";
	int keep_sum = rnd(5) != 0;

	switch (rnd(8)) {
	case 0:
		*k = K_NAME;
		if (rnd(2))
			memset(h, rnd(2) ? 'a' : '/', 100); /* no NUL */
		else
		{
			unsigned at = rnd(100); /* (one rnd() per statement: the same case everywhere) */

			random_bytes(h + at, 1 + rnd(8));
		}
		break;
	case 1:
		*k = K_MODE;
		octal_field(h + 100, 8);
		break;
	case 2: {
		/* octal size: small, odd, larger than the archive, at the field's limits */
		static const uint64_t sizes[] = { 0, 1, 511, 512, 513, 1400, 65536, 1u << 20,
						  077777777777ULL, 128ULL << 20 };
		*k = K_SIZE_OCTAL;
		if (rnd(3) == 0)
			octal_field(h + 124, 12);
		else
			snprintf((char *)h + 124, 12, "%011llo",
				 (unsigned long long)sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))]);
		break;
	}
	case 3: {
		/* GNU base-256: 0x80 then big-endian; also 0xff (negative) and huge values */
		static const uint64_t sizes[] = { 0, 5, 512, 1ULL << 33, (1ULL << 53) - 1, 1ULL << 53,
						  1ULL << 60, UINT64_MAX };
		uint64_t v = sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))];
		int i;

		*k = K_SIZE_B256;
		h[124] = rnd(6) ? 0x80 : (unsigned char)(0x80 | rnd(128));
		for (i = 135; i > 124; i--, v >>= 8)
			h[i] = (unsigned char)(v & 0xff);
		if (rnd(4) == 0)
			random_bytes(h + 125, 11);
		break;
	}
	case 4:
		*k = K_TYPEFLAG;
		h[156] = rnd(4) ? (unsigned char)types[rnd(sizeof(types) - 1)] : (unsigned char)rnd(256);
		break;
	case 5:
		*k = K_MAGIC;
		if (rnd(2))
			memcpy(h + 257, rnd(2) ? "ustar  \0" : "\0\0\0\0\0\0\0\0", 8);
		else
			random_bytes(h + 257, 8);
		break;
	case 6:
		*k = K_CHECKSUM;
		keep_sum = 1;
		if (rnd(2))
			octal_field(h + 148, 8);
		else
			random_bytes(h + 148, 8);
		break;
	default:
		*k = K_PREFIX;
		if (rnd(2))
			memset(h + 345, rnd(2) ? 'p' : '/', 155); /* no NUL */
		else
			memcpy(h + 345, "../..", 6);
		break;
	}
	if (keep_sum && *k != K_CHECKSUM)
		tar_checksum(h);
}

/* Rewrites a pax body (same length, so the header stays right) with damaged records. */
static void mutate_pax(unsigned char *p, size_t n, enum klass *k)
{
	char rec[64];
	size_t m, at = rnd(2) ? 0 : rnd((unsigned)n);

	switch (rnd(6)) {
	case 0: /* a length that counts no more than its digits and the space */
		*k = K_PAX_LEN_SHORT;
		m = (size_t)snprintf(rec, sizeof(rec), "%u aaaa", rnd(3));
		break;
	case 1: /* a length past the body, zero, huge, without its space */
		*k = K_PAX_LEN;
		m = (size_t)snprintf(rec, sizeof(rec), "%s", (const char *const[]){
			"9999 path=x\n", "0 path=x\n", "99999999999999999999 a=b\n", "12path=abcde\n",
			"3 =\n", "5 a=\n", "6  =x\n" }[rnd(7)]);
		break;
	case 2:
		*k = K_PAX_KEY;
		m = (size_t)snprintf(rec, sizeof(rec), "%s", (const char *const[]){
			"11 pathx=ab\n", "10 Path=ab\n", "9 path=a\n", "9 size=1\n", "8 size=\n",
			"11 pat\nh=ab\n" }[rnd(6)]);
		break;
	case 3: {
		static const struct { const char *s; size_t n; } v[] = {
			{ "9 path=\0\n", 9 }, { "12 path=/etc\n", 13 }, { "14 path=../..\n", 14 },
			{ "9 path=\n\n", 9 }, { "11 path=a\0b\n", 11 } };
		unsigned j = rnd(sizeof(v) / sizeof(v[0]));

		*k = K_PAX_VALUE;
		m = v[j].n;
		memcpy(rec, v[j].s, m);
		break;
	}
	case 4: { /* pax size: huge, 2^53 - 1, 2^53, non-digits, NUL inside */
		static const char *const v[] = { "9007199254740991", "9007199254740992",
						 "18446744073709551616", "12x", ("1\0" "99"), "0", "513",
						 "99999999999999999999999999" };
		const char *s = v[rnd(sizeof(v) / sizeof(v[0]))];
		size_t sl = strlen(s) + (s[0] == '1' && s[1] == '\0' ? 3 : 0);
		size_t rest = 7 + sl, len = rest + 2;

		*k = K_PAX_SIZE;
		if (len >= 100)
			len++;
		snprintf(rec, sizeof(rec), "%zu size=", len);
		m = strlen(rec);
		memcpy(rec + m, s, sl);
		m += sl;
		rec[m++] = '\n';
		break;
	}
	default:
		*k = K_PAX_BODY;
		at = rnd((unsigned)n);
		random_bytes(p + at, 1 + rnd(4));
		return;
	}
	if (at + m > n)
		at = n > m ? n - m : 0;
	memcpy(p + at, rec, m < n ? m : n);
	/* Often the damaged record is the last one: what follows is no record at all (and holds
	 * no '=' or '\n' that a scan running past the record could stop at). */
	if (at + m < n && rnd(3))
		memset(p + at + m, rnd(2) ? 'a' : ' ', n - at - m);
}

static void mutate_longname(struct buf *t, struct site *s, enum klass *k)
{
	unsigned char *h = t->p + s->off - 512;

	if (rnd(2)) {
		static const uint64_t sizes[] = { 0, 1, 100, 511, 513, 1024 * 1024,
						  1024 * 1024 + 1, 077777777777ULL };

		*k = K_LONGNAME_LEN;
		snprintf((char *)h + 124, 12, "%011llo",
			 (unsigned long long)sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))]);
		tar_checksum(h);
	} else {
		*k = K_LONGNAME_BODY;
		memset(t->p + s->off, rnd(2) ? 'n' : '/', s->len); /* no NUL */
	}
}

/* One case: a valid archive, one structural damage, maybe gzip (one or two members). */
static void make_case(struct buf *a, enum klass *k)
{
	struct buf t = { 0 };
	struct site *s;
	int gz = rnd(2), what = rnd(16);

	valid_tar(&t);
	*k = K_BYTES;
	if (what < 7 && (s = pick(R_HEADER))) {
		mutate_header(t.p + s->off, k);
	} else if (what < 11 && (s = pick(R_PAX))) {
		mutate_pax(t.p + s->off, s->len, k);
	} else if (what < 13 && (s = pick(R_LONGNAME))) {
		mutate_longname(&t, s, k);
	} else if (what == 13) {
		*k = K_TRUNCATE;
		t.len = rnd((unsigned)t.len + 1);
	} else if (what == 14 && t.len) {
		size_t i, n = 1 + rnd(4);

		for (i = 0; i < n; i++) {
			size_t at = rnd((unsigned)t.len);

			t.p[at] = (unsigned char)rnd(256);
		}
	} else {
		*k = K_GZIP_TAIL;
		gz = 1;
	}
	if (!gz) {
		*a = t;
		return;
	}
	if (*k == K_GZIP_TAIL) {
		/* a second member, then maybe one kind of trailing bytes */
		size_t cut = rnd((unsigned)t.len + 1);
		static const unsigned char tails[][8] = { { 0x1f }, { 0x1f, 0x8b }, { 0x1f, 0x8b, 8 },
							  { 0 }, { 'j', 'u', 'n', 'k' } };
		int tail = rnd(7);

		gzip_append(t.p, cut, 1 + (int)rnd(9), a);
		gzip_append(t.p + cut, t.len - cut, 1 + (int)rnd(9), a);
		if (tail == 3) { /* zero padding */
			buf_add(a, NULL, 1 + rnd(64));
		} else if (tail < 5) {
			buf_add(a, tails[tail], tail == 4 ? 4 : (size_t)tail + 1);
		} else if (tail == 5) { /* a truncated third member */
			gzip_append((const unsigned char *)"abc", 3, 1 + (int)rnd(9), a);
			a->len -= 1 + rnd(8);
		}
	} else {
		gzip_append(t.p, t.len, 1 + (int)rnd(9), a);
	}
	free(t.p);
}

/* ---- running one case ----------------------------------------------------------------- */

/* Returns 0 when the reader kept its promises on this archive. */
static int run_case(unsigned long i, const struct buf *a, int *outcome)
{
	struct btfgen_host h = { .id = "debian", .version_id = "12", .machine = "x86_64",
				 .release = "6.1.0-test" };
	char *path = NULL, key[BTFGEN_KEY_MAX], msg[2048];
	struct stat st;
	int err;

	err = btfgen_lookup(&h, a->p, a->len, tmpdir, &path, key, sizeof(key), NULL, msg,
			    sizeof(msg));
	*outcome = err;
	if (err) {
		if (path || dir_entry_count(tmpdir) != 0) {
			printf("case %lu: failed (%s) but left a file behind\n", i, msg);
			return 1;
		}
		if (!msg[0]) {
			printf("case %lu: error %d without a message\n", i, err);
			return 1;
		}
		return 0;
	}
	if (stat(path, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 0777) != 0600 ||
	    dir_entry_count(tmpdir) != 1 || strncmp(path, tmpdir, strlen(tmpdir))) {
		printf("case %lu: the extracted file %s is not one 0600 file in %s\n", i, path, tmpdir);
		unlink(path);
		free(path);
		return 1;
	}
	unlink(path);
	free(path);
	return 0;
}

static void dump(const char *dir, unsigned long i, const struct buf *a)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/case-%06lu.bin", dir, i);
	f = fopen(p, "wb");
	if (f) {
		fwrite(a->p, 1, a->len, f);
		fclose(f);
	}
}

/* A gzip member of 1.1 GiB of zeros in a tar member that is not the host's: the inflate cap
 * (1 GiB) must stop the reader with EINVAL, before it has inflated the whole. */
static int bomb(void)
{
	struct btfgen_host h = { .id = "debian", .version_id = "12", .machine = "x86_64",
				 .release = "6.1.0-test" };
	struct buf t = { 0 }, a = { 0 };
	uint64_t size = 1100ULL * 1024 * 1024, left;
	unsigned char zero[65536];
	char *path = NULL, msg[2048];
	z_stream zs;
	int err;

	memset(zero, 0, sizeof(zero));
	header(&t, "./btfhub-archive/debian/12/x86_64/6.1.0-other.btf", NULL, '0', size);
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_RLE) != Z_OK)
		abort();
	buf_add(&a, NULL, 8 * 1024 * 1024);
	a.len = 0;
	zs.next_out = a.p;
	zs.avail_out = (uInt)a.cap;
	zs.next_in = t.p;
	zs.avail_in = 512;
	deflate(&zs, Z_NO_FLUSH);
	for (left = size + 1024; left;) {
		size_t n = left < sizeof(zero) ? (size_t)left : sizeof(zero);

		zs.next_in = zero;
		zs.avail_in = (uInt)n;
		if (deflate(&zs, left == n ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR || !zs.avail_out)
			abort();
		left -= n;
	}
	a.len = a.cap - zs.avail_out;
	deflateEnd(&zs);
	err = btfgen_lookup(&h, a.p, a.len, tmpdir, &path, NULL, 0, NULL, msg, sizeof(msg));
	printf("bomb: %zu-byte gzip of %llu bytes: %s (%s)\n", a.len,
	       (unsigned long long)size + 1024, err ? strerror(-err) : "accepted", msg);
	free(t.p);
	free(a.p);
	if (!err) {
		unlink(path);
		free(path);
	}
	return err == -EINVAL && strstr(msg, "1 GiB") && dir_entry_count(tmpdir) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long count = 1000, i, failed = 0, crashed = 0, first_crash = 0;
	unsigned long outcomes[3] = { 0 };
	unsigned long long seed = 1;
	const char *dump_dir = NULL;
	int use_fork = 0, do_bomb = 0, a, k;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seed") && a + 1 < argc)
			seed = strtoull(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--count") && a + 1 < argc)
			count = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--fork"))
			use_fork = 1;
		else if (!strcmp(argv[a], "--bomb"))
			do_bomb = 1;
		else if (!strcmp(argv[a], "--dump") && a + 1 < argc)
			dump_dir = argv[++a];
		else {
			fprintf(stderr, "usage: %s [--seed S] [--count N] [--fork] [--dump DIR] [--bomb]\n",
				argv[0]);
			return 2;
		}
	}
	if (make_tmpdir(tmpdir, sizeof(tmpdir), "btfgen-fuzz")) {
		perror("mkdtemp");
		return 2;
	}
	if (do_bomb) {
		int r = bomb();

		rmdir(tmpdir);
		return r;
	}
	for (i = 0; i < count; i++) {
		struct buf arc = { 0 };
		enum klass kl;
		int outcome = 0;

		rng_state = seed * 0x100000001b3ULL + i; /* case i does not depend on the others */
		make_case(&arc, &kl);
		klass_count[kl]++;
		if (dump_dir)
			dump(dump_dir, i, &arc);
		if (use_fork) {
			pid_t pid;
			int status;

			fflush(stdout);
			pid = fork();
			if (pid == 0)
				_exit(run_case(i, &arc, &outcome) ? 1 : 0);
			if (pid < 0 || waitpid(pid, &status, 0) < 0) {
				perror("fork");
				return 2;
			}
			if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 1)) {
				if (!crashed++)
					first_crash = i;
				printf("case %lu (%s): crashed (%s %d)\n", i, klass_name[kl],
				       WIFSIGNALED(status) ? "signal" : "exit status",
				       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
				/* a crashed child may have left its temp file */
				{
					DIR *d = opendir(tmpdir);
					struct dirent *e;
					char p[4096];

					while (d && (e = readdir(d)))
						if (e->d_name[0] != '.') {
							snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
							unlink(p);
						}
					if (d)
						closedir(d);
				}
			} else if (WEXITSTATUS(status)) {
				failed++;
			}
		} else {
			if (run_case(i, &arc, &outcome))
				failed++;
			outcomes[outcome == 0 ? 0 : outcome == -EINVAL ? 1 : 2]++;
		}
		free(arc.p);
	}
	rmdir(tmpdir);
	for (k = 0; k < K_NCLASS; k++)
		printf("class %-28s %lu\n", klass_name[k], klass_count[k]);
	if (!use_fork)
		printf("outcomes: ok %lu, EINVAL %lu, other %lu\n", outcomes[0], outcomes[1], outcomes[2]);
	if (use_fork)
		printf("crashed: %lu of %lu (first: case %lu)\n", crashed, count, first_crash);
	printf("fuzz_archive: %lu cases, %lu failed\n", count, failed + crashed);
	return failed || crashed ? 1 : 0;
}
