/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of btf_helpers.c: host identity, the lookup rules and the streaming
 * archive search, with the host passed in explicitly. Used by test/lookup_test.c, which runs
 * the shared table of cases (test/runtime/lookup-cases.tsv) that also drives the TypeScript
 * runtime's tests. Not part of the public API; names may change.
 */
#ifndef BTFGEN_BTF_HELPERS_INTERNAL_H
#define BTFGEN_BTF_HELPERS_INTERNAL_H

#include <stddef.h>

#define BTFGEN_FIELD_MAX 256  /* ID, ID_LIKE, VERSION_ID, machine, release (longer values truncate) */
#define BTFGEN_KEY_MAX 1100   /* "<ID>/<VERSION_ID>/<machine>/<release>.btf" + NUL */
#define BTFGEN_ID_LIKE_MAX 7  /* ID_LIKE entries used (as ID_LIKE_MAX in src/runtime/lookup.ts) */
#define BTFGEN_MAX_CANDIDATES (4 * (1 + BTFGEN_ID_LIKE_MAX))

struct btfgen_host {
	char id[BTFGEN_FIELD_MAX];
	char id_like[BTFGEN_FIELD_MAX];	/* os-release ID_LIKE as written: space-separated IDs */
	char version_id[BTFGEN_FIELD_MAX];
	char machine[BTFGEN_FIELD_MAX];
	char release[BTFGEN_FIELD_MAX];
};

/* Sets host->id / id_like / version_id from os-release text (defaults "linux", "", ""). */
void btfgen_parse_os_release(const char *text, size_t len, struct btfgen_host *host);

/* os-release (/etc, then /usr/lib) and uname(2). Returns 0 or a negative errno. For tests,
 * BTFGEN_OS_RELEASE names another os-release file and BTFGEN_MACHINE / BTFGEN_RELEASE
 * replace uname -m / -r (when set and non-empty). */
int btfgen_detect_host(struct btfgen_host *host);

/* The lookup keys in order: for the host's ID, then each ID of ID_LIKE (at most
 * BTFGEN_ID_LIKE_MAX, empty entries, repeats and the host's ID skipped): exact, arch alias,
 * major version, both; duplicates removed. rules[i] (when rules is not NULL) is the rule
 * name of keys[i]: "exact", "arch-alias", "major-version", "arch-alias+major-version", or
 * "id-like" for the keys of ID_LIKE. Returns how many were written (1..BTFGEN_MAX_CANDIDATES). */
int btfgen_candidate_keys(const struct btfgen_host *host,
			  char keys[BTFGEN_MAX_CANDIDATES][BTFGEN_KEY_MAX],
			  const char *rules[BTFGEN_MAX_CANDIDATES]);

/* The release rule's test: is `key` (normalized) a kernel of the host's arch (or its alias)
 * and release, under any ID/VERSION_ID? */
int btfgen_release_candidate(const struct btfgen_host *host, const char *key);

/* Normalizes a tar member name to a key: strips a leading "./" and "btfhub-archive/", and
 * requires exactly <ID>/<VERSION_ID>/<arch>/<release>.btf. Returns 1 and writes the key,
 * or 0 for names that are not kernels or are hostile (absolute, "..", too long). */
int btfgen_member_key(const char *name, char *key, size_t key_size);

/* Indices into keys[] of at most `limit` nearest kernels to the host, best first. Returns
 * how many were written to out[]. */
size_t btfgen_nearest(const struct btfgen_host *host, const char *const *keys, size_t n_keys,
		      size_t limit, size_t *out);

/* Searches the archive bytes (tar.gz or tar) for the host: the candidate keys in order, then
 * the release rule (members with the host's arch and release under any ID, used only when
 * they are all byte-identical). On success returns 0, sets *out_path to a malloc'ed path of
 * a fresh 0600 file under tmpdir holding the member, copies the matched key into
 * matched_key and sets *matched_rule (when not NULL) to the rule's name (see
 * btfgen_candidate_keys, or "release"). Otherwise returns a negative errno, leaves nothing
 * behind and writes the one-line reason into msg (for -ENOENT: the keys tried and the
 * nearest kernels, or the release rule's differing members). Prints nothing. */
int btfgen_lookup(const struct btfgen_host *host, const unsigned char *data, size_t len,
		  const char *tmpdir, char **out_path, char *matched_key, size_t key_size,
		  const char **matched_rule, char *msg, size_t msg_size);

#endif /* BTFGEN_BTF_HELPERS_INTERNAL_H */
