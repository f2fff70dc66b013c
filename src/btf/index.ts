// The format layer: bytes in, bytes out, no I/O.
export * from './kinds.js';
export { Btf, parseBtf, isRawBtf } from './btf.js';
export type { BtfHeader, ParseBtfOptions } from './btf.js';
export { StringTable, StringSetBuilder } from './strings.js';
export { BtfBuilder } from './builder.js';
export type { HeaderLen, BtfBuilderOptions } from './builder.js';
