#!/usr/bin/env node
// Print the CO-RE relocation records of BPF objects, in file order:
//   node scripts/dump-core-relos.mjs OBJ...
// One line per record: <section> insn=<off> [<type id>] <KIND> '<type name>' <KIND_NAME> "<access>"
import { readFileSync } from 'node:fs';
import { readCoreRelos } from '../test/helpers/core-relos.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: dump-core-relos.mjs OBJ...');
  process.exit(2);
}
for (const f of files) {
  const r = readCoreRelos(readFileSync(f));
  console.log(`${f}: .BTF ${r.hasBtf ? 'yes' : 'no'}, .BTF.ext ${r.hasBtfExt ? 'yes' : 'no'}, ` +
    `${r.elfLittleEndian ? 'LE' : 'BE'}, ${r.relos.length} CO-RE relocation(s)`);
  for (const x of r.relos) {
    console.log(`  ${x.section} insn=${x.insnOff / 8} [${x.typeId}] ${x.typeKind} '${x.typeName}' ${x.kindName} "${x.access}"`);
  }
}
