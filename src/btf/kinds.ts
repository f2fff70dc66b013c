// BTF kinds, CO-RE relocation kinds and format constants (include/uapi/linux/btf.h, bpf.h).

export const BTF_MAGIC = 0xeb9f;

export const enum Kind {
  UNKN = 0,
  INT = 1,
  PTR = 2,
  ARRAY = 3,
  STRUCT = 4,
  UNION = 5,
  ENUM = 6,
  FWD = 7,
  TYPEDEF = 8,
  VOLATILE = 9,
  CONST = 10,
  RESTRICT = 11,
  FUNC = 12,
  FUNC_PROTO = 13,
  VAR = 14,
  DATASEC = 15,
  FLOAT = 16,
  DECL_TAG = 17,
  TYPE_TAG = 18,
  ENUM64 = 19,
}

/** Highest kind this codec knows natively; higher kinds need a layout section. */
export const KIND_MAX = 19;

/** Upper-case names as printed by `bpftool btf dump` (btf_kind_str in bpftool's btf.c). */
export const KIND_NAMES: readonly string[] = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE',
  'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG',
  'ENUM64',
];

/** Lower-case names as libbpf's btf_kind_str() returns them (used in bpftool error messages). */
export const KIND_STR: readonly string[] = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile',
  'const', 'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag',
  'enum64',
];

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? 'UNKNOWN';
}
export function kindStr(kind: number): string {
  return KIND_STR[kind] ?? 'unknown';
}

/** INT encoding bits. */
export const INT_SIGNED = 1;
export const INT_CHAR = 2;
export const INT_BOOL = 4;

/** FUNC linkage (vlen of a FUNC record) and VAR linkage. */
export const enum Linkage {
  STATIC = 0,
  GLOBAL = 1,
  EXTERN = 2,
}

export const enum ReloKind {
  FIELD_BYTE_OFFSET = 0,
  FIELD_BYTE_SIZE = 1,
  FIELD_EXISTS = 2,
  FIELD_SIGNED = 3,
  FIELD_LSHIFT_U64 = 4,
  FIELD_RSHIFT_U64 = 5,
  TYPE_ID_LOCAL = 6,
  TYPE_ID_TARGET = 7,
  TYPE_EXISTS = 8,
  TYPE_SIZE = 9,
  ENUMVAL_EXISTS = 10,
  ENUMVAL_VALUE = 11,
  TYPE_MATCHES = 12,
}

/** core_relo_kind_str() in relo_core.c. */
export const RELO_KIND_STR: readonly string[] = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
  'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
];

export function reloKindStr(kind: number): string {
  return RELO_KIND_STR[kind] ?? 'unknown';
}

export function isFieldReloKind(k: number): boolean {
  return k >= ReloKind.FIELD_BYTE_OFFSET && k <= ReloKind.FIELD_RSHIFT_U64;
}
export function isTypeReloKind(k: number): boolean {
  return (
    k === ReloKind.TYPE_ID_LOCAL ||
    k === ReloKind.TYPE_ID_TARGET ||
    k === ReloKind.TYPE_EXISTS ||
    k === ReloKind.TYPE_SIZE ||
    k === ReloKind.TYPE_MATCHES
  );
}
export function isEnumvalReloKind(k: number): boolean {
  return k === ReloKind.ENUMVAL_EXISTS || k === ReloKind.ENUMVAL_VALUE;
}

/** Fixed bytes after the 12-byte head, and bytes per vlen element, for kinds 0..19 (btf_type_size). */
export const KIND_INFO_SIZE: readonly number[] = [
  0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0,
];
export const KIND_ELEM_SIZE: readonly number[] = [
  0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12,
];

/** Negative errno values used to mirror libbpf results and bpftool exit codes. */
export const EINVAL = 22;
export const E2BIG = 7;
export const ENOENT = 2;
export const EOPNOTSUPP = 95;
export const ENODATA = 61;
export const EUCLEAN = 117;
