// Kept in sync with package.json by test/version.test.ts; also part of the pack cache key.
export const VERSION = '0.1.0';
