// Placeholder until the 'which' command lands; replaced by its owner.
import type { Command } from 'commander';
import { BtfgenError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('which')
    .description('(which: not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BtfgenError('which is not implemented yet');
    });
}
