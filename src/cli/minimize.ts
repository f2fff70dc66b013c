// Placeholder until the 'minimize' command lands; replaced by its owner.
import type { Command } from 'commander';
import { BtfgenError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('minimize')
    .description('(minimize: not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BtfgenError('minimize is not implemented yet');
    });
}
