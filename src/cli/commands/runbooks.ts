import fs from 'node:fs';
import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import type { Run } from '../main.js';
import { dirs } from './run.js';
import { findRunbook, runbookFiles } from '../../runbook/files.js';
import { table } from '../format.js';
import { writeOutFile } from '../out-file.js';

export function registerRunbooks(program: Command, run: Run): void {
  const runbooks = program.command('runbooks').description('the runbooks lifeline can run: list, validate, JSON Schema');

  runbooks
    .command('list')
    .description('runbooks from your runbook folder (config runbookDir) and the shipped ones')
    .action(
      run(async (ctx) => {
        const [{ createBuiltinRegistry }, loader] = await Promise.all([import('../../runbook/builtins.js'), import('../../runbook/loader.js')]);
        const registry = createBuiltinRegistry();
        const rows = runbookFiles(dirs(ctx)).map((entry) => {
          const result = loader.checkRunbookText({ text: fs.readFileSync(entry.file, 'utf8'), file: entry.file, registry });
          return result.ok
            ? { id: result.loaded.runbook.id, title: result.loaded.runbook.title, kind: result.loaded.runbook.kind, file: entry.file, source: entry.source, valid: true, problems: [] }
            : { id: entry.name, title: null, kind: null, file: entry.file, source: entry.source, valid: false, problems: result.problems };
        });
        ctx.out.result({ runbooks: rows });
        if (!rows.length) ctx.out.line('no runbooks found');
        else ctx.out.line(table([['ID', 'KIND', 'SOURCE', 'TITLE'], ...rows.map((r) => [r.id, r.kind ?? '-', r.source, r.valid ? r.title! : `INVALID: ${r.problems[0].message}`])]));
        return EXIT.ok;
      }),
    );

  runbooks
    .command('validate')
    .description('check runbook files: schema, known actions and checks, template references')
    .argument('<file...>', 'YAML runbook files')
    .action(
      run(async (ctx, _options, files) => {
        const [{ createBuiltinRegistry }, loader, { formatProblem }] = await Promise.all([
          import('../../runbook/builtins.js'),
          import('../../runbook/loader.js'),
          import('../../runbook/problems.js'),
        ]);
        const registry = createBuiltinRegistry();
        const results = files.map((file) => {
          const absolute = findRunbook(file, dirs(ctx));
          const result = loader.checkRunbookText({ text: loader.readRunbookText(absolute), file: absolute, registry });
          return { file: absolute, valid: result.ok, problems: result.ok ? [] : result.problems };
        });
        ctx.out.result({ runbooks: results });
        for (const result of results) {
          if (result.valid) ctx.out.line(`${result.file}: valid`);
          else for (const problem of result.problems) ctx.out.note(formatProblem(problem));
        }
        return results.every((result) => result.valid) ? EXIT.ok : EXIT.usage;
      }),
    );

  runbooks
    .command('schema')
    .description('print the JSON Schema of runbooks for editors (yaml-language-server, VS Code)')
    .option('--out <file>', 'write it to a file instead of stdout')
    .action(
      run<{ out?: string }>(async (ctx, options) => {
        const { runbookJsonSchema } = await import('../../runbook/schema.js');
        const text = `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
        if (options.out) {
          writeOutFile(options.out, text);
          ctx.out.note(`wrote ${options.out}`);
        } else process.stdout.write(text);
        return EXIT.ok;
      }),
    );
}

