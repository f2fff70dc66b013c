// Placeholder until the 'dump' command lands; replaced by its owner.
import type { Command } from 'commander';
import { BtfgenError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('dump')
    .description('(dump: not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BtfgenError('dump is not implemented yet');
    });
}
