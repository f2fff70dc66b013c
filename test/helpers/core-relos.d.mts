// Types for core-relos.mjs (a small, independent .BTF.ext CO-RE record reader).
export declare const RELO_KIND_NAMES: readonly string[];
export interface CoreRelo {
  section: string;
  insnOff: number;
  typeId: number;
  typeName: string;
  typeKind: string;
  access: string;
  kind: number;
  kindName: string;
}
export interface CoreRelosResult {
  hasBtf: boolean;
  hasBtfExt: boolean;
  elfLittleEndian: boolean;
  elf64: boolean;
  relos: CoreRelo[];
}
export declare function elfSections(buf: Uint8Array): {
  is64: boolean;
  littleEndian: boolean;
  sections: Map<string, { type: number; data: Uint8Array }>;
};
export declare function readCoreRelos(buf: Uint8Array): CoreRelosResult;
