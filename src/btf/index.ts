// The format layer: bytes in, bytes out, no I/O.
export * from './kinds.js';
export { Btf, parseBtf, isRawBtf } from './btf.js';
export type { BtfHeader, ParseBtfOptions } from './btf.js';
export { StringTable, StringSetBuilder } from './strings.js';
export { BtfBuilder } from './builder.js';
export type { HeaderLen, BtfBuilderOptions } from './builder.js';
export { parseElf, isElf, SHT_PROGBITS, SHT_NOBITS, SHF_COMPRESSED } from './elf.js';
export type { ElfFile, ElfSection } from './elf.js';
export { parseBtfExt } from './ext.js';
export type { BtfExt, CoreRelo, FuncInfo, LineInfo, ExtInfo, ExtInfoSection } from './ext.js';
export { loadBtf, MissingSectionError } from './object.js';
export type { LoadedBtf, LoadBtfOptions } from './object.js';
export { dumpBtf, dumpBtfBytes, dumpBtfChunks } from './dump.js';
export type { DumpOptions } from './dump.js';
