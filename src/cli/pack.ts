// Placeholder until the 'pack' command lands; replaced by its owner.
import type { Command } from 'commander';
import { BtfgenError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('pack')
    .description('(pack: not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BtfgenError('pack is not implemented yet');
    });
}
