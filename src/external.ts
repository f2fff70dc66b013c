// import() of the external packages loaded on demand (execa, @napi-rs/lzma). The bundled CLI
// (scripts/bundle-cli.mjs) runs as a classic script compiled with node:vm, so that V8's code
// cache can be reused; node 20 gives such a script no import() without
// --experimental-vm-modules. Its launcher (bin/btfgen), a CommonJS module, hands its own
// import() in through `__btfgenImport`; everywhere else the plain import() runs.
type Importer = (specifier: string) => Promise<unknown>;

export function importExternal<T>(specifier: string): Promise<T> {
  const hook = (globalThis as { __btfgenImport?: Importer }).__btfgenImport;
  return (hook ? hook(specifier) : import(specifier)) as Promise<T>;
}
