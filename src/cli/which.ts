// btfgen which: which BTF would this host (or a given one) get from an archive? Extracts it and
// prints the matched key and, last, the extracted file's path (for shell loaders).
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { LookupError, UsageError } from '../errors.js';
import {
  detectHost,
  ensureCoreBtf,
  extractCoreBtf,
  KERNEL_BTF_PATH,
  splitIdLike,
  type ArchiveSource,
  type CoreBtf,
  type HostIdentity,
} from '../runtime/index.js';

interface WhichOptions {
  archive: string;
  id?: string;
  /** os-release ID_LIKE: a space- or comma-separated list ('' for none). */
  idLike?: string;
  versionId?: string;
  machine?: string;
  release?: string;
  extractTo?: string;
  force?: boolean;
}

export async function runWhich(opts: WhichOptions, out: (line: string) => void): Promise<CoreBtf> {
  if (!opts.archive) throw new UsageError('which: --archive FILE is required');
  const archive: ArchiveSource = opts.archive === '-' ? process.stdin : opts.archive;
  const overrides = {
    id: opts.id,
    idLike: opts.idLike === undefined ? undefined : splitIdLike(opts.idLike.replaceAll(',', ' ')),
    versionId: opts.versionId,
    machine: opts.machine,
    release: opts.release,
  };
  const askingAboutAnotherHost = Object.values(overrides).some((v) => v !== undefined);
  let result: CoreBtf;
  if (askingAboutAnotherHost) {
    // A question about a (possibly) different host: BTF_FILE_PATH and this kernel's own BTF
    // do not apply.
    const host: HostIdentity = await detectHost(overrides);
    result = await extractCoreBtf(archive, host, { extractTo: opts.extractTo });
  } else {
    // A loader on a kernel with BTF never opens its archive, but `which` is asked about this
    // archive: a name that is not there is an error even when the answer would not need it.
    if (opts.archive !== '-') {
      const st = statSync(opts.archive, { throwIfNoEntry: false });
      if (!st) throw new LookupError(`which: archive ${opts.archive} not found (make it with \`btfgen pack\`)`);
      if (!st.isFile()) throw new LookupError(`which: archive ${opts.archive} is not a file (an archive made by \`btfgen pack\`)`);
    }
    result = await ensureCoreBtf(archive, { force: opts.force ? true : undefined, extractTo: opts.extractTo });
  }
  switch (result.source) {
    case 'env':
      out(`BTF_FILE_PATH is set: the loader uses it, the archive is not read`);
      out(result.path!);
      break;
    case 'kernel':
      out(
        `the kernel has its own BTF (${KERNEL_BTF_PATH}): nothing to extract ` +
          `(--force or BTFGEN_FORCE_ARCHIVE=1 to use the archive anyway)`,
      );
      break;
    case 'archive':
      out(`${result.key} (${result.rule})`);
      out(result.path!);
      break;
  }
  return result;
}

export function register(program: Command): void {
  program
    .command('which')
    .description(
      'show which BTF of an archive this host (or the host given by the options) gets; extract it and ' +
        'print the matched key and, last, the path of the extracted file',
    )
    .requiredOption('--archive <file>', 'archive made by btfgen pack (tar.gz or tar; - for stdin)')
    .option('--id <id>', 'os-release ID of the host (default: this host)')
    .option('--id-like <list>', "os-release ID_LIKE of the host, e.g. 'rhel centos fedora' ('' for none; default: this host)")
    .option('--version-id <v>', 'os-release VERSION_ID of the host (default: this host)')
    .option('--machine <m>', 'uname -m of the host, e.g. x86_64, aarch64 (default: this host)')
    .option('--release <r>', 'uname -r of the host (default: this host)')
    .option('--extract-to <path>', 'write the BTF here instead of a fresh file under $TMPDIR')
    .option('-f, --force', 'use the archive even when this kernel has BTF (like BTFGEN_FORCE_ARCHIVE=1)')
    .addHelpText(
      'after',
      '\nWithout host options, which does what a loader does: BTF_FILE_PATH if set, else nothing when\n' +
        'the kernel has its own BTF (--force to use the archive anyway), else the archive. With any\n' +
        'host option it answers for that host from the archive alone. The key is followed by the rule\n' +
        'that found it: exact, arch-alias, major-version, arch-alias+major-version, id-like (an ID of\n' +
        'ID_LIKE) or release (this arch and release under another ID, all such BTFs identical). Exits\n' +
        'non-zero when the archive has nothing for the host, naming the keys tried and the nearest kernels.\n' +
        '\nExamples:\n' +
        '  btfgen which --archive min_core_btfs.tar.gz\n' +
        '  btfgen which --archive min_core_btfs.tar.gz --id ubuntu --version-id 20.04 \\\n' +
        '      --machine x86_64 --release 5.4.0-40-generic --extract-to /tmp/5.4.btf\n' +
        "  btfgen which --archive a.tar.gz --id rocky --id-like 'rhel centos fedora' --version-id 8.6 \\\n" +
        '      --machine x86_64 --release 4.18.0-372.9.1.el8.x86_64\n' +
        '  BTF=$(btfgen which --archive a.tar.gz --force | tail -n 1)\n',
    )
    .action(async (opts: WhichOptions) => {
      await runWhich(opts, (line) => process.stdout.write(`${line}\n`));
    });
}
