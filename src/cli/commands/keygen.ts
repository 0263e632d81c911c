import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, LifelineError, errnoCode } from '../../errors.js';
import type { Run } from '../main.js';

interface KeygenFlags {
  out?: string;
}

export function registerKeygen(program: Command, run: Run): void {
  program
    .command('keygen')
    .description('print a new 256-bit repository encryption key (64 hex characters); --out writes it to a new file (mode 0600)')
    .option('--out <file>', 'write the key to this file instead (refuses to overwrite)')
    .action(
      run<KeygenFlags>(async (ctx, flags) => {
        const { generateKey, parseKey } = await import('../../storage/crypto/keys.js');
        const hex = generateKey();
        const { fingerprint } = parseKey(hex, 'keygen');
        if (!flags.out) {
          ctx.out.result({ key: hex, fingerprint });
          ctx.out.line(hex);
          ctx.out.note(`key fingerprint ${fingerprint}: keep the key safe and apart from the repository; without it encrypted backups cannot be restored`);
          return EXIT.ok;
        }
        const file = path.resolve(flags.out);
        try {
          fs.writeFileSync(file, `${hex}\n`, { mode: 0o600, flag: 'wx' });
        } catch (error) {
          const code = errnoCode(error);
          throw new LifelineError('USAGE', code === 'EEXIST' ? `${file} exists: lifeline never overwrites a key file` : `Cannot write ${file}: ${code ?? (error as Error).message}`, {
            hint: code === 'EEXIST' ? 'Pick a new file name (an old key must stay available while backups encrypted with it are kept).' : undefined,
          });
        }
        fs.chmodSync(file, 0o600);
        ctx.out.result({ file, fingerprint });
        ctx.out.line(`wrote a new key (fingerprint ${fingerprint}) to ${file}`);
        ctx.out.note(`use it with: lifeline config set encryptionKeyFile ${file}   (keep a copy apart from the repository)`);
        return EXIT.ok;
      }),
    );
}
