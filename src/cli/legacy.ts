// Placeholder until the legacy 'btfgen btfgen' command lands; replaced by its owner.
import type { Command } from 'commander';
import { BtfgenError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('btfgen')
    .description('(legacy pack: not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BtfgenError('btfgen btfgen is not implemented yet');
    });
}
