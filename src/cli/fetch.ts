// Placeholder until the 'fetch' command lands; replaced by its owner.
import type { Command } from 'commander';
import { BtfgenError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('fetch')
    .description('(fetch: not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BtfgenError('fetch is not implemented yet');
    });
}
