/* SPDX-License-Identifier: MIT */
/*
 * Runs the shared lookup cases (test/runtime/lookup-cases.tsv, also run by the TypeScript
 * runtime's tests) against btf_helpers.c's internal functions. Usage: lookup_test CASES.tsv
 * Prints one line per failure and a closing "N passed, M failed"; exits 1 on any failure.
 *
 * `match` and `archive` cases build real archives in memory (ustar, GNU longname and pax
 * names; plain and gzip) and run the streaming lookup into a private temporary directory,
 * checking the extracted bytes, the 0600 mode and that nothing else is left behind.
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
#include <unistd.h>

static int passed, failed;
static char tmpdir[4096];

#define MAX_FIELDS 16
#define MAX_ITEMS 64

static void failure(int line, const char *fmt, const char *a, const char *b)
{
	fprintf(stdout, "FAIL line %d: ", line);
	fprintf(stdout, fmt, a ? a : "", b ? b : "");
	fputc('\n', stdout);
	failed++;
}

/* ---- small helpers ----------------------------------------------------------------- */

static size_t split(char *s, char sep, char **out, size_t max)
{
	size_t n = 0;

	if (!*s)
		return 0;
	for (;;) {
		char *p = strchr(s, sep);

		if (n == max)
			return n;
		out[n++] = s;
		if (!p)
			return n;
		*p = '\0';
		s = p + 1;
	}
}

static size_t unescape(const char *in, char *out)
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == '\\' && in[1]) {
			in++;
			out[n++] = *in == 'n' ? '\n' : *in == 'r' ? '\r' : *in == 't' ? '\t' : *in;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
	return n;
}

/* A table list ("a|b") as ID_LIKE text ("a b"). */
static void set_id_like(struct btfgen_host *h, const char *list)
{
	size_t i;

	snprintf(h->id_like, sizeof(h->id_like), "%s", list);
	for (i = 0; h->id_like[i]; i++)
		if (h->id_like[i] == '|')
			h->id_like[i] = ' ';
}

static void set_host(struct btfgen_host *h, char **f)
{
	h->id_like[0] = '\0';
	snprintf(h->id, sizeof(h->id), "%s", f[0]);
	snprintf(h->version_id, sizeof(h->version_id), "%s", f[1]);
	snprintf(h->machine, sizeof(h->machine), "%s", f[2]);
	snprintf(h->release, sizeof(h->release), "%s", f[3]);
}

/* ---- a tiny tar writer (the cases' archives) --------------------------------------- */

enum name_style { NAME_USTAR, NAME_GNU, NAME_PAX };

static void raw_header(struct buf *b, const char *name, const char *prefix, char type,
		       uint64_t size)
{
	unsigned char h[512];

	ustar_header(h, name, prefix, type, size);
	buf_add(b, h, 512);
}

static void tar_member(struct buf *b, const char *name, char type, const void *data,
		       size_t n, enum name_style style)
{
	size_t nl = strlen(name);
	char prefix[156];

	if (style == NAME_USTAR && nl > 100) {
		/* prefix/name split at a '/', else a GNU longname record */
		const char *slash = name + nl;

		while (slash > name && (*slash != '/' || (size_t)(name + nl - slash - 1) > 100))
			slash--;
		if (slash > name && (size_t)(slash - name) <= 155 && slash[1]) {
			memcpy(prefix, name, (size_t)(slash - name));
			prefix[slash - name] = '\0';
			raw_header(b, slash + 1, prefix, type, n);
			goto data;
		}
		style = NAME_GNU;
	}
	if (style == NAME_GNU && nl > 0) {
		raw_header(b, "././@LongLink", NULL, 'L', nl + 1);
		buf_add(b, name, nl + 1);
		buf_pad(b);
	} else if (style == NAME_PAX) {
		char rec[1200];
		size_t len = nl + 7, d;

		/* "<len> path=<name>\n" where len counts its own digits */
		for (d = 1; d < 6; d++) {
			size_t digits = snprintf(rec, sizeof(rec), "%zu", len + d);

			if (digits == d)
				break;
		}
		len += d;
		snprintf(rec, sizeof(rec), "%zu path=%s\n", len, name);
		raw_header(b, "PaxHeaders/x", NULL, 'x', strlen(rec));
		buf_add(b, rec, strlen(rec));
		buf_pad(b);
	}
	raw_header(b, name, NULL, type, n);
data:
	buf_add(b, data, n);
	buf_pad(b);
}

static void tar_end(struct buf *b)
{
	buf_add(b, NULL, 1024);
}

/* ---- running a lookup --------------------------------------------------------------- */

static char last_msg[4096];

/* Runs the lookup; returns the errno (0 ok) and, on success, the file's bytes in *content
 * and the rule in *rule. The failure message is left in last_msg. */
static int run_lookup(int line, const struct btfgen_host *h, const struct buf *archive,
		      struct buf *content, char *key, size_t key_size, const char **rule)
{
	char *path = NULL, *msg = last_msg;
	struct stat st;
	FILE *f;
	int err;

	err = btfgen_lookup(h, archive->p, archive->len, tmpdir, &path, key, key_size, rule, msg,
			    sizeof(last_msg));
	if (err) {
		if (path || dir_entry_count(tmpdir) != 0)
			failure(line, "lookup failed (%s) but left a file behind%s", msg, NULL);
		return -err;
	}
	if (stat(path, &st) || (st.st_mode & 0777) != 0600 || !S_ISREG(st.st_mode))
		failure(line, "extracted file %s is not a 0600 regular file%s", path, NULL);
	if (strncmp(path, tmpdir, strlen(tmpdir)))
		failure(line, "extracted file %s is not under the temporary directory%s", path, NULL);
	if (dir_entry_count(tmpdir) != 1)
		failure(line, "more than one file written for %s%s", path, NULL);
	f = fopen(path, "rb");
	if (f) {
		unsigned char tmp[4096];
		size_t r;

		while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0)
			buf_add(content, tmp, r);
		fclose(f);
	}
	unlink(path);
	free(path);
	return 0;
}

/* A `match` member, "[T:]NAME[=CONTENT]", split in place. */
struct member {
	char type;
	const char *name, *content;
};

static void parse_member(char *item, struct member *m)
{
	char *eq;

	m->type = '0';
	if (item[0] && item[1] == ':') {
		m->type = item[0];
		item += 2;
	}
	m->name = item;
	eq = strchr(item, '=');
	if (eq)
		*eq = '\0';
	m->content = eq ? eq + 1 : item;
}

/* Does the message end with "differ, not guessing between K1, K2, ..." for the list? */
static int lists_candidates(const char *msg, const char *list)
{
	char want[8192];
	size_t pos, i, wl, ml = strlen(msg);

	pos = (size_t)snprintf(want, sizeof(want), "differ, not guessing between ");
	for (i = 0; list[i] && pos + 2 < sizeof(want); i++) {
		if (list[i] == '|') {
			want[pos++] = ',';
			want[pos++] = ' ';
		} else {
			want[pos++] = list[i];
		}
	}
	want[pos] = '\0';
	wl = strlen(want);
	return ml >= wl && !strcmp(msg + ml - wl, want);
}

static void case_match(int line, char **f, size_t nf)
{
	static const char *style_names[] = { "ustar", "gnu", "pax" };
	struct btfgen_host h;
	struct member m[MAX_ITEMS];
	const struct member *want = NULL;
	char *items[MAX_ITEMS], members[8192], key[BTFGEN_KEY_MAX];
	size_t n, i;
	int style, gz;

	if (nf != 8) {
		failure(line, "match needs 8 fields%s%s", NULL, NULL);
		return;
	}
	set_host(&h, f);
	set_id_like(&h, f[4]);
	snprintf(members, sizeof(members), "%s", f[5]);
	n = split(members, '|', items, MAX_ITEMS);
	for (i = 0; i < n; i++) {
		parse_member(items[i], &m[i]);
		if (!strcmp(m[i].name, f[6]))
			want = &m[i];
	}
	if (strcmp(f[6], "-") && strcmp(f[6], "?") && !want) {
		failure(line, "the expected member %s is not in the archive%s", f[6], NULL);
		return;
	}
	for (style = NAME_USTAR; style <= NAME_PAX; style++) {
		for (gz = 0; gz < 2; gz++) {
			struct buf tar = { 0 }, arch = { 0 }, content = { 0 };
			const char *rule = NULL;
			int err;

			for (i = 0; i < n; i++)
				tar_member(&tar, m[i].name, m[i].type, m[i].content,
					   strlen(m[i].content), (enum name_style)style);
			tar_end(&tar);
			if (gz)
				gzip_append(tar.p, tar.len, 6, &arch);
			else
				arch = tar, tar.p = NULL;
			err = run_lookup(line, &h, &arch, &content, key, sizeof(key), &rule);
			if (!want) {
				int ambiguous = !strcmp(f[6], "?");

				if (err != ENOENT)
					failure(line, "expected no match (ENOENT), got errno %s (%s)",
						err ? strerror(err) : "0 (a match)", style_names[style]);
				else if (ambiguous != (strstr(last_msg, "not guessing") != NULL))
					failure(line, "wrong kind of ENOENT: %s (%s)", last_msg,
						style_names[style]);
				else if (ambiguous && !lists_candidates(last_msg, f[7]))
					failure(line, "the message does not list the candidates: %s%s",
						last_msg, NULL);
				else
					passed++;
			} else {
				char want_key[BTFGEN_KEY_MAX];

				btfgen_member_key(want->name, want_key, sizeof(want_key));
				if (err) {
					failure(line, "expected a match, got %s (%s)", strerror(err),
						style_names[style]);
				} else if (content.len != strlen(want->content) ||
					   (content.len && memcmp(content.p, want->content, content.len))) {
					failure(line, "extracted the wrong member (wanted %s, %s)",
						want->name, style_names[style]);
				} else if (strcmp(key, want_key)) {
					failure(line, "matched key %s, wanted %s", key, want_key);
				} else if (!rule || strcmp(rule, f[7])) {
					failure(line, "matched by rule %s, wanted %s", rule, f[7]);
				} else {
					passed++;
				}
			}
			free(tar.p);
			free(arch.p);
			free(content.p);
		}
	}
}

/* The `archive` variants: host debian/12/x86_64/6.1.0-test. */
#define TARGET "./btfhub-archive/debian/12/x86_64/6.1.0-test.btf"
#define TARGET_DATA "BTF for 6.1.0-test"

static void add_others(struct buf *t)
{
	unsigned char data[4096];
	char name[128];
	int i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 4096; j++)
			data[j] = (unsigned char)((j * 31 + i) & 0xff);
		snprintf(name, sizeof(name), "./btfhub-archive/debian/12/x86_64/6.1.0-other%d.btf", i);
		tar_member(t, name, '0', data, sizeof(data), NAME_USTAR);
	}
}

/* ---- issue 13 (reliability): the archive rules both readers follow (docs/reliability.md) */

static void pax_raw(struct buf *b, const char *body)
{
	raw_header(b, "PaxHeaders/x", NULL, 'x', strlen(body));
	buf_add(b, body, strlen(body));
	buf_pad(b);
}

/* One pax record "<len> <key>=<value>\n", len counting itself. */
static void pax_field(struct buf *b, const char *key, const char *value)
{
	char rec[256];
	size_t rest = strlen(key) + strlen(value) + 3, len = rest + 1;

	while ((size_t)snprintf(rec, sizeof(rec), "%zu", len) + rest != len)
		len = (size_t)snprintf(rec, sizeof(rec), "%zu", len) + rest;
	snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
	pax_raw(b, rec);
}

static void target_member(struct buf *t)
{
	tar_member(t, TARGET, '0', TARGET_DATA, strlen(TARGET_DATA), NAME_USTAR);
}

/* A target header of `size` bytes (base-256 when b256) followed by TARGET_DATA only. */
static void target_sized(struct buf *t, uint64_t size, int b256)
{
	unsigned char *h;
	int i;

	raw_header(t, TARGET, NULL, '0', size);
	h = t->p + t->len - 512;
	if (b256) {
		h[124] = 0x80;
		for (i = 135; i > 124; i--, size >>= 8)
			h[i] = (unsigned char)(size & 0xff);
		tar_checksum(h);
	}
	buf_add(t, TARGET_DATA, strlen(TARGET_DATA));
	buf_pad(t);
}

/* Builds the issue-13 variants into *a (t is scratch); 0 when v is not one of them. */
static int issue13_variant(const char *v, struct buf *t, struct buf *a)
{
	struct buf g = { 0 };

	add_others(t);
	if (!strcmp(v, "pax-record-shorter-than-its-length")) {
		pax_raw(t, "2 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			   "aaaaaaaaaaaaaaa");
		target_member(t);
	} else if (!strcmp(v, "pax-size-2^53")) {
		pax_field(t, "size", "9007199254740992");
		target_member(t);
	} else if (!strcmp(v, "pax-size-2^53-1-beyond-end")) {
		pax_field(t, "size", "9007199254740991");
		target_member(t);
	} else if (!strcmp(v, "pax-size-2^64")) {
		pax_field(t, "size", "18446744073709551616");
		target_member(t);
	} else if (!strcmp(v, "base256-size-2^53")) {
		target_sized(t, 1ULL << 53, 1);
	} else if (!strcmp(v, "size-beyond-end")) {
		target_sized(t, 1024 * 1024, 0);
	} else if (!strcmp(v, "member-over-128MiB")) {
		uint64_t size = 128ULL * 1024 * 1024 + 1;

		raw_header(t, TARGET, NULL, '0', size);
		buf_add(t, NULL, (size_t)size);
		buf_pad(t);
	} else if (!strncmp(v, "gzip-then-", 10)) {
		target_member(t);
		tar_end(t);
		gzip_append(t->p, t->len, 6, a);
		if (!strcmp(v, "gzip-then-lone-1f")) {
			buf_add(a, "\x1f", 1);
		} else if (!strcmp(v, "gzip-then-1f8b-junk")) {
			buf_add(a, "\x1f\x8bjunk after a gzip magic", 25);
		} else if (!strcmp(v, "gzip-then-truncated-member")) {
			struct buf x = { 0 };

			buf_add(&x, NULL, 100);
			memset(x.p, 'x', 100);
			gzip_append(x.p, x.len, 6, &g);
			buf_add(a, g.p, g.len - 4);
			free(x.p);
		} else if (!strcmp(v, "gzip-then-empty-member")) {
			struct buf x = { 0 };

			gzip_append(x.p, x.len, 6, &g);
			buf_add(a, g.p, g.len);
		} else {
			return 0;
		}
		free(g.p);
		return 1;
	} else if (!strcmp(v, "gzip-three-members")) {
		struct buf t1 = { 0 }, t2 = { 0 }, t3 = { 0 };
		char name[128];
		unsigned char data[4096];
		int i, j;

		/* others 0-1, others 2-3, then the target and the end marker */
		for (i = 0; i < 4; i++) {
			for (j = 0; j < 4096; j++)
				data[j] = (unsigned char)((j * 31 + i) & 0xff);
			snprintf(name, sizeof(name), "./btfhub-archive/debian/12/x86_64/6.1.0-other%d.btf", i);
			tar_member(i < 2 ? &t1 : &t2, name, '0', data, sizeof(data), NAME_USTAR);
		}
		target_member(&t3);
		tar_end(&t3);
		gzip_append(t1.p, t1.len, 6, a);
		gzip_append(t2.p, t2.len, 6, a);
		gzip_append(t3.p, t3.len, 6, a);
		free(t1.p);
		free(t2.p);
		free(t3.p);
		return 1;
	} else {
		t->len = 0;
		return 0;
	}
	tar_end(t);
	gzip_append(t->p, t->len, 6, a);
	return 1;
}

static void case_archive(int line, char **f, size_t nf)
{
	struct btfgen_host h = { "debian", "", "12", "x86_64", "6.1.0-test" };
	struct buf t = { 0 }, a = { 0 }, content = { 0 };
	const char *v = f[0];
	char key[BTFGEN_KEY_MAX];
	int err, want;

	if (nf != 2) {
		failure(line, "archive needs 2 fields%s%s", NULL, NULL);
		return;
	}
	if (!strcmp(v, "empty")) {
		buf_add(&a, "", 0);
	} else if (!strcmp(v, "garbage")) {
		while (a.len < 1024)
			buf_add(&a, "not an archive\n", 15);
		a.len = 1024;
	} else if (!strcmp(v, "truncated-gzip")) {
		add_others(&t);
		tar_end(&t);
		gzip_append(t.p, t.len, 6, &a);
		a.len /= 2;
	} else if (!strcmp(v, "truncated-tar")) {
		add_others(&t);
		tar_end(&t);
		a = t, t.p = NULL;
		a.len = 512 + 1000;
	} else if (!strcmp(v, "bad-checksum")) {
		add_others(&t);
		tar_member(&t, TARGET, '0', TARGET_DATA, strlen(TARGET_DATA), NAME_USTAR);
		tar_end(&t);
		a = t, t.p = NULL;
		a.p[0] = 'X';
	} else if (!strcmp(v, "no-end-marker")) {
		add_others(&t);
		tar_member(&t, TARGET, '0', TARGET_DATA, strlen(TARGET_DATA), NAME_USTAR);
		a = t, t.p = NULL;
	} else if (!strcmp(v, "multi-member-gzip")) {
		struct buf t2 = { 0 };

		add_others(&t);
		gzip_append(t.p, t.len, 6, &a);
		tar_member(&t2, TARGET, '0', TARGET_DATA, strlen(TARGET_DATA), NAME_USTAR);
		tar_end(&t2);
		gzip_append(t2.p, t2.len, 6, &a);
		free(t2.p);
	} else if (!strcmp(v, "only-others")) {
		add_others(&t);
		tar_end(&t);
		gzip_append(t.p, t.len, 6, &a);
	} else if (!strcmp(v, "gzip-trailing-garbage") || !strcmp(v, "gzip-zero-padding")) {
		add_others(&t);
		tar_member(&t, TARGET, '0', TARGET_DATA, strlen(TARGET_DATA), NAME_USTAR);
		tar_end(&t);
		gzip_append(t.p, t.len, 6, &a);
		if (!strcmp(v, "gzip-trailing-garbage"))
			buf_add(&a, "trailing garbage", 16);
		else
			buf_add(&a, NULL, 100);
	} else if (!strcmp(v, "huge-name-record")) {
		raw_header(&a, "././@LongLink", NULL, 'L', 2 * 1024 * 1024);
		buf_add(&a, NULL, 4096);
	} else if (issue13_variant(v, &t, &a)) {
		/* built by issue13_variant */
	} else {
		failure(line, "unknown archive variant %s%s", v, NULL);
		return;
	}
	want = !strcmp(f[1], "ok") ? 0 : !strcmp(f[1], "EINVAL") ? EINVAL : ENOENT;
	err = run_lookup(line, &h, &a, &content, key, sizeof(key), NULL);
	if (err != want)
		failure(line, "archive %s: got %s", v, err ? strerror(err) : "success");
	else if (!err && (content.len != strlen(TARGET_DATA) ||
			  memcmp(content.p, TARGET_DATA, content.len)))
		failure(line, "archive %s: wrong bytes extracted%s", v, NULL);
	else
		passed++;
	free(t.p);
	free(a.p);
	free(content.p);
}

static void check_list(int line, const char *what, char **got, size_t ngot, const char *want)
{
	char copy[8192], *items[MAX_ITEMS], gotstr[8192] = "";
	size_t n, i, pos = 0;

	snprintf(copy, sizeof(copy), "%s", want);
	n = split(copy, '|', items, MAX_ITEMS);
	for (i = 0; i < ngot; i++)
		pos += (size_t)snprintf(gotstr + pos, sizeof(gotstr) - pos, "%s%s", i ? "|" : "",
					got[i]);
	if (n != ngot) {
		failure(line, "%s: got %s", what, gotstr);
		return;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(items[i], got[i])) {
			failure(line, "%s: got %s", what, gotstr);
			return;
		}
	}
	passed++;
}

static char cases_dir[4096] = ".";

/* ID_LIKE as parsed (text) against the table's list: the same IDs in the same order. */
static void id_like_list(int line, const char *id_like, const char *want)
{
	char copy[BTFGEN_FIELD_MAX], *got[MAX_ITEMS], *p;
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", id_like);
	for (p = copy; *p;) {
		size_t l = strcspn(p, " 	");

		if (l) {
			if (n == MAX_ITEMS)
				break;
			got[n++] = p;
		}
		p += l;
		if (*p)
			*p++ = '\0';
	}
	check_list(line, "ID_LIKE", got, n, want);
}

static void run_case(int line, char *text)
{
	char *f[MAX_FIELDS];
	size_t nf = split(text, '\t', f, MAX_FIELDS);
	const char *kind;

	if (nf == 0 || f[0][0] == '#')
		return;
	kind = f[0];
	if ((!strcmp(kind, "osrelease") || !strcmp(kind, "osfile")) && nf == 5) {
		static char buf[65536];
		struct btfgen_host h;
		size_t n;

		if (!strcmp(kind, "osfile")) {
			char path[8192 + 64];
			FILE *in;

			snprintf(path, sizeof(path), "%s/os-release/%s", cases_dir, f[1]);
			in = fopen(path, "rb");
			n = in ? fread(buf, 1, sizeof(buf), in) : 0;
			if (in)
				fclose(in);
			else
				failure(line, "cannot read %s%s", path, NULL);
		} else {
			n = unescape(f[1], buf);
		}
		btfgen_parse_os_release(buf, n, &h);
		if (strcmp(h.id, f[2]) || strcmp(h.version_id, f[3]))
			failure(line, "os-release parsed as ID=%s VERSION_ID=%s", h.id, h.version_id);
		else
			id_like_list(line, h.id_like, f[4]);
	} else if (!strcmp(kind, "keys") && nf == 7) {
		struct btfgen_host h;
		char keys[BTFGEN_MAX_CANDIDATES][BTFGEN_KEY_MAX], *got[BTFGEN_MAX_CANDIDATES];
		char labelled[BTFGEN_MAX_CANDIDATES][BTFGEN_KEY_MAX + 32];
		const char *rules[BTFGEN_MAX_CANDIDATES];
		int n, i;

		set_host(&h, f + 1);
		set_id_like(&h, f[5]);
		n = btfgen_candidate_keys(&h, keys, rules);
		for (i = 0; i < n; i++) {
			snprintf(labelled[i], sizeof(labelled[i]), "%.31s:%.1099s", rules[i],
				 keys[i]);
			got[i] = labelled[i];
		}
		check_list(line, "candidate keys", got, (size_t)n, f[6]);
	} else if (!strcmp(kind, "member") && nf == 3) {
		char key[BTFGEN_KEY_MAX];
		int ok = btfgen_member_key(f[1], key, sizeof(key));

		if (ok ? strcmp(key, f[2]) != 0 : strcmp(f[2], "-") != 0)
			failure(line, "member key: got %s%s", ok ? key : "-", NULL);
		else
			passed++;
	} else if (!strcmp(kind, "match")) {
		case_match(line, f + 1, nf - 1);
	} else if (!strcmp(kind, "nearest") && nf == 8) {
		struct btfgen_host h;
		char copy[8192], *keys[MAX_ITEMS], *got[MAX_ITEMS];
		size_t n, idx[16], k, i;

		set_host(&h, f + 1);
		snprintf(copy, sizeof(copy), "%s", f[5]);
		n = split(copy, '|', keys, MAX_ITEMS);
		k = btfgen_nearest(&h, (const char *const *)keys, n, (size_t)atoi(f[6]), idx);
		for (i = 0; i < k; i++)
			got[i] = keys[idx[i]];
		check_list(line, "nearest kernels", got, k, f[7]);
	} else if (!strcmp(kind, "archive")) {
		case_archive(line, f + 1, nf - 1);
	} else {
		failure(line, "unknown or malformed case: %s%s", kind, NULL);
	}
}

/* --lookup: one line per archive file, "ok <key> <size>" or "error <errno name>", for the
 * differential test against the TypeScript reader (test/native/differential.test.ts).
 * --detect (argv[0..3] NULL): the host is this one as btfgen_detect_host() sees it (with
 * BTFGEN_OS_RELEASE, BTFGEN_MACHINE, BTFGEN_RELEASE), and lines are "ok <key> <rule> <size>"
 * or "error <errno name> <message>" (test/runtime/lookup-distros.test.ts). */
static int lookup_files(int argc, char **argv)
{
	struct btfgen_host h;
	int i, detect = argv[0] == NULL;

	if (detect) {
		int err = btfgen_detect_host(&h);

		if (err) {
			fprintf(stderr, "btfgen_detect_host: %s\n", strerror(-err));
			return 2;
		}
	} else {
		set_host(&h, argv);
	}
	if (make_tmpdir(tmpdir, sizeof(tmpdir), "btfgen-lookup-test")) {
		perror("mkdtemp");
		return 2;
	}
	for (i = 4; i < argc; i++) {
		struct buf a = { 0 }, content = { 0 };
		char key[BTFGEN_KEY_MAX], chunk[65536];
		const char *rule = NULL;
		FILE *f = fopen(argv[i], "rb");
		size_t r;
		int err;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(&a, chunk, r);
		fclose(f);
		err = run_lookup(0, &h, &a, &content, key, sizeof(key), &rule);
		if (err && detect)
			printf("error %s %s\n", err == ENOENT ? "ENOENT" : strerror(err), last_msg);
		else if (err)
			printf("error %s\n", err == ENOENT ? "ENOENT" : err == EINVAL ? "EINVAL" : strerror(err));
		else if (detect)
			printf("ok %s %s %zu\n", key, rule, content.len);
		else
			printf("ok %s %zu\n", key, content.len);
		free(a.p);
		free(content.p);
	}
	rmdir(tmpdir);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	FILE *in;
	char *text = NULL;
	size_t cap = 0;
	ssize_t len;
	int line = 0;

	if (argc >= 6 && !strcmp(argv[1], "--lookup"))
		return lookup_files(argc - 2, argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "--detect")) {
		char *none[4] = { NULL, NULL, NULL, NULL }, **args = calloc((size_t)argc + 4, sizeof(*args));
		int r;

		if (!args)
			return 2;
		memcpy(args, none, sizeof(none));
		memcpy(args + 4, argv + 2, (size_t)(argc - 2) * sizeof(*args));
		r = lookup_files(argc - 2 + 4, args);
		free(args);
		return r;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s lookup-cases.tsv\n"
				"       %s --lookup ID VERSION_ID MACHINE RELEASE ARCHIVE...\n"
				"       %s --detect ARCHIVE...\n",
			argv[0], argv[0], argv[0]);
		return 2;
	}
	{
		const char *slash = strrchr(argv[1], '/');

		if (slash)
			snprintf(cases_dir, sizeof(cases_dir), "%.*s", (int)(slash - argv[1]), argv[1]);
	}
	in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 2;
	}
	if (make_tmpdir(tmpdir, sizeof(tmpdir), "btfgen-lookup-test")) {
		perror("mkdtemp");
		return 2;
	}
	while ((len = getline(&text, &cap, in)) >= 0) {
		line++;
		if (len && text[len - 1] == '\n')
			text[--len] = '\0';
		run_case(line, text);
	}
	free(text);
	fclose(in);
	rmdir(tmpdir);
	printf("lookup_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
