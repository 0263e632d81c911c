import type { Command } from 'commander';
import { pipeline } from 'node:stream/promises';
import { EXIT, LifelineError } from '../../errors.js';
import type { Run } from '../main.js';
import { repository } from '../repo.js';

export function registerCat(program: Command, run: Run): void {
  program
    .command('cat <backup> [object]')
    .description('write one object of a backup to stdout, decrypted and decompressed (default: the dump or base tar), for stock tools: lifeline cat latest | pg_restore -l')
    .action(
      run(async (ctx, _flags, [ref, name]) => {
        const [{ resolveBackup }, { decompressor }, { compressionOfName }] = await Promise.all([
          import('../../engine/verify/resolve-backup.js'),
          import('../../engine/compress/codec.js'),
          import('../../engine/compress/spec.js'),
        ]);
        const repo = await repository(ctx);
        const manifest = await resolveBackup(repo, ref);
        const object = name ? manifest.objects.find((o) => o.name === name) : manifest.objects[0];
        if (!object) {
          throw new LifelineError('USAGE', `Backup ${manifest.id} has no object ${name}`, { hint: `Its objects: ${manifest.objects.map((o) => o.name).join(', ')}.` });
        }
        if (process.stdout.isTTY) {
          throw new LifelineError('USAGE', `${object.name} is binary: redirect or pipe stdout`, { hint: `e.g. lifeline cat ${manifest.id} ${object.name} > file` });
        }
        const { stream, done } = decompressor(compressionOfName(object.name)).create(ctx.signal);
        const source = await repo.getBackupObject(manifest.id, object.name, { signal: ctx.signal, encrypted: manifest.encryption !== undefined });
        try {
          await Promise.all([pipeline(source, stream, process.stdout, { signal: ctx.signal }), done]);
        } catch (error) {
          // A reader that stopped early (| head) is not a failure.
          if ((error as NodeJS.ErrnoException).code === 'EPIPE') return EXIT.ok;
          throw error;
        }
        return EXIT.ok;
      }),
    );
}
