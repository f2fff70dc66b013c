/* SPDX-License-Identifier: MIT */
/*
 * What the C helper's test programs share: a growable byte buffer, the tar header and its
 * checksum, gzip framing and a directory's entry count (their tests check that nothing is left behind).
 * Include it first: it defines ZLIB_CONST before <zlib.h>.
 */
#ifndef BTFGEN_TEST_UTIL_H
#define BTFGEN_TEST_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST
#include <zlib.h>

struct buf {
	unsigned char *p;
	size_t len, cap;
};

/* Appends n bytes of d (zeros when d is NULL). */
static inline void buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (!n)
		return;
	if (d)
		memcpy(b->p + b->len, d, n);
	else
		memset(b->p + b->len, 0, n);
	b->len += n;
}

/* Zeros up to the next 512-byte tar block. */
static inline void buf_pad(struct buf *b)
{
	if (b->len % 512)
		buf_add(b, NULL, 512 - b->len % 512);
}

/* The ustar header checksum (chksum field: six octal digits, NUL, space). */
static inline void tar_checksum(unsigned char *h)
{
	unsigned sum = 0;
	int i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/*
 * A ustar header block for a member: mode 0644, owner and mtime 0, `size` in the 11 octal
 * digits the field holds (its low 33 bits: a caller may want the field wrong), checksummed.
 */
static inline void ustar_header(unsigned char h[512], const char *name, const char *prefix, char type,
				uint64_t size)
{
	memset(h, 0, 512);
	strncpy((char *)h, name, 100);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)(size & 077777777777ULL));
	memcpy(h + 136, "00000000000", 12);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	if (prefix)
		strncpy((char *)h + 345, prefix, 155);
	tar_checksum(h);
}

/* Appends one gzip member holding p[0..n) deflated at `level`. */
static inline void gzip_append(const unsigned char *p, size_t n, int level, struct buf *out)
{
	z_stream zs;
	size_t bound;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	bound = deflateBound(&zs, n) + 64;
	buf_add(out, NULL, bound);
	out->len -= bound;
	zs.next_in = p;
	zs.avail_in = (uInt)n;
	zs.next_out = out->p + out->len;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	out->len += bound - zs.avail_out;
	deflateEnd(&zs);
}

/* Entries of directory `dir` (. and .. not counted), -1 when it cannot be read. */
static inline int dir_entry_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * Makes a private directory `$TMPDIR/<name>-XXXXXX` (/tmp without TMPDIR) into `dir`, as the
 * helper itself honours TMPDIR: a test run that gives each run its own TMPDIR removes whatever
 * a crashed test program leaves there. 0 on success.
 */
static inline int make_tmpdir(char *dir, size_t size, const char *name)
{
	const char *t = getenv("TMPDIR");

	if ((size_t)snprintf(dir, size, "%s/%s-XXXXXX", t && *t ? t : "/tmp", name) >= size)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

#endif
