/* SPDX-License-Identifier: MIT */
/*
 * What the C helper's test programs share: a growable byte buffer, the tar header checksum,
 * gzip framing and a directory's entry count (their tests check that nothing is left behind).
 * Include it first: it defines ZLIB_CONST before <zlib.h>.
 */
#ifndef BTFGEN_TEST_UTIL_H
#define BTFGEN_TEST_UTIL_H

#include <dirent.h>
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

#endif
