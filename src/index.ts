// Public API of btfgen. Keep it small and typed.
export { VERSION } from './version.js';
export * from './errors.js';
