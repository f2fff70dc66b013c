// One pass over an archive that picks the host's member by the lookup rules of lookup.ts (the
// host's ID, then ID_LIKE, then the release rule) and streams it into a file. Mirrors
// btfgen_lookup() in native/btf_helpers.c. Nothing is buffered whole: the release rule's
// "byte-identical" check reads the first such member back from the output file.
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir as osTmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { MEMBER_MAX, tarBytes, type ArchiveSource, type OutputTarget } from './archive.js';
import { AmbiguousBtfError, CorruptArchiveError, NoMatchingBtfError } from './errors.js';
import {
  candidateKeys,
  isReleaseCandidate,
  memberKey,
  nearestKernels,
  type HostIdentity,
  type MatchRule,
} from './lookup.js';
import { TarReader } from './tar.js';

export interface FoundMember {
  /** The file holding the member. */
  path: string;
  /** The member's key, `<ID>/<VERSION_ID>/<arch>/<release>.btf`. */
  key: string;
  /** The rule that found it. */
  rule: MatchRule;
}

/** 16 hex digits. WebCrypto's global (no node:crypto import: it is only paid for when used). */
function randomName(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The output: a fresh 0600 file, created on the first useful member and rewritten when a
 * better one comes. With `extractTo` it is a temporary file next to it, renamed over it at
 * the end, so that a failed lookup never leaves a truncated or partial file there.
 */
class Output {
  private fh: FileHandle | undefined;
  private tmp: string | undefined;
  size = 0;

  constructor(private readonly target: OutputTarget) {}

  async begin(): Promise<void> {
    this.size = 0;
    if (this.fh) {
      await this.fh.truncate(0);
      return;
    }
    const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fsConstants;
    const to = this.target.extractTo;
    const dir = to !== undefined ? dirname(to) : (this.target.tmpdir ?? osTmpdir());
    for (let attempt = 0; ; attempt++) {
      const name = to !== undefined ? `.${basename(to)}.btfgen-${randomName()}` : `btfgen-${randomName()}.btf`;
      const path = join(dir, name);
      try {
        this.fh = await open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        this.tmp = path;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 16) throw err;
      }
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await this.fh!.write(bytes, offset, bytes.length - offset, this.size);
      offset += bytesWritten;
      this.size += bytesWritten;
    }
  }

  /** Are these the bytes at `position` of what was written? */
  async holds(bytes: Uint8Array, position: number): Promise<boolean> {
    if (position + bytes.length > this.size) return false;
    const mine = new Uint8Array(bytes.length);
    let got = 0;
    while (got < mine.length) {
      const { bytesRead } = await this.fh!.read(mine, got, mine.length - got, position + got);
      if (bytesRead === 0) return false;
      got += bytesRead;
    }
    return Buffer.compare(mine, bytes) === 0;
  }

  /** Closes the file and, for `extractTo`, moves it into place. Returns the final path. */
  async finish(): Promise<string> {
    const fh = this.fh!;
    this.fh = undefined;
    await fh.close();
    const to = this.target.extractTo;
    if (to === undefined) return this.tmp!;
    await rename(this.tmp!, to);
    this.tmp = undefined;
    return to;
  }

  async discard(): Promise<void> {
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    if (this.tmp !== undefined) await unlink(this.tmp).catch(() => {});
    this.tmp = undefined;
  }
}

/**
 * Streams the archive once and writes the host's member (see lookup.ts for the order) to a
 * fresh 0600 file. Stops at the exact key; a better-ranked member found later replaces a
 * worse one; the first of equal members wins. Only regular files count: links, devices,
 * directories, absolute names and names with `..` are ignored, never written.
 *
 * Throws NoMatchingBtfError (keys tried, nearest kernels), AmbiguousBtfError (the release
 * rule's members differ; a NoMatchingBtfError) or CorruptArchiveError; on any error nothing
 * is left behind.
 */
export async function extractHostBtf(
  source: ArchiveSource,
  host: HostIdentity,
  target: OutputTarget = {},
): Promise<FoundMember> {
  const candidates = candidateKeys(host);
  const keys = candidates.map((c) => c.key);
  // Ranks: a candidate key's index; then the release rule; then nothing found.
  const RELEASE = keys.length;
  const NONE = RELEASE + 1;
  const out = new Output(target);
  const reader = new TarReader();
  const seen: string[] = [];
  const releaseKeys: string[] = [];
  let releaseIdentical = true;
  let best = NONE;
  let bestKey = '';
  // The entry being read: written (rank >= 0), compared with the release member (compare),
  // or skipped.
  let current = -1;
  let currentKey = '';
  let compare: { position: number; same: boolean } | undefined;
  let done = false;
  try {
    read: for await (const chunk of tarBytes(source)) {
      for (const ev of reader.push(chunk)) {
        if (ev.kind === 'entry') {
          const key = ev.entry.type === 'file' ? memberKey(ev.entry.name) : undefined;
          if (key === undefined) continue;
          if (ev.entry.size > MEMBER_MAX) {
            throw new CorruptArchiveError(`BTF member ${ev.entry.name} expands beyond ${MEMBER_MAX >> 20} MiB: not a kernel BTF`);
          }
          seen.push(key);
          const rank = keys.indexOf(key);
          if (rank >= 0 ? rank < best : best >= RELEASE && isReleaseCandidate(host, key)) {
            if (rank < 0) releaseKeys.push(key);
            if (rank < 0 && best === RELEASE) {
              compare = { position: 0, same: ev.entry.size === out.size };
            } else {
              await out.begin();
              current = rank >= 0 ? rank : RELEASE;
              currentKey = key;
            }
          }
        } else if (ev.kind === 'data') {
          if (current >= 0) await out.write(ev.bytes);
          else if (compare?.same) {
            compare.same = await out.holds(ev.bytes, compare.position);
            compare.position += ev.bytes.length;
          }
        } else if (ev.kind === 'entry-end') {
          if (compare) {
            if (!compare.same) releaseIdentical = false;
            compare = undefined;
          } else if (current >= 0) {
            best = current;
            bestKey = currentKey;
            current = -1;
            if (best === 0) {
              done = true; // the exact key: nothing can beat it
              break read;
            }
          }
        } else {
          done = true; // end-of-archive marker
          break read;
        }
      }
    }
    if (!done) reader.finish();
    if (best === NONE) throw new NoMatchingBtfError(host, keys, nearestKernels(host, seen), seen.length);
    if (best === RELEASE && !releaseIdentical) throw new AmbiguousBtfError(host, keys, releaseKeys, seen.length);
    const path = await out.finish();
    return { path, key: bestKey, rule: best === RELEASE ? 'release' : candidates[best]!.rule };
  } catch (err) {
    await out.discard();
    throw err;
  }
}

/** A member and its key: what extractHostBtf returns, without the rule. */
export interface ExtractedMember {
  /** The file written (a fresh 0600 file, or OutputTarget.extractTo). */
  path: string;
  /** The member's key, `<ID>/<VERSION_ID>/<arch>/<release>.btf`. */
  key: string;
}

/** extractHostBtf under its earlier name, for callers that do not need the rule. */
export async function extractMember(source: ArchiveSource, host: HostIdentity, target: OutputTarget = {}): Promise<ExtractedMember> {
  const { path, key } = await extractHostBtf(source, host, target);
  return { path, key };
}
