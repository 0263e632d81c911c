import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { pipeChild } from '../../src/engine/child-pipe.js';

/*
 * A consumer that ends before its producer (pg_restore failing, or cancelled by Ctrl-C, while
 * pg_dump still writes) must take the producer with it: a plain .pipe() left pg_dump blocked on
 * a full pipe, or Node with nothing to wait for, and `pitr --into` exited 0 having done nothing.
 */
describe('pipeChild', () => {
  const endless = () => execa('sh', ['-c', 'exec cat /dev/zero'], { stdout: 'pipe', stderr: 'ignore', buffer: false, reject: false });

  it('a consumer that fails early stops the producer, and both settle', { timeout: 20_000 }, async () => {
    const producer = endless();
    const consumer = execa('sh', ['-c', 'head -c 100000 >/dev/null; exit 3'], { stdin: 'pipe', reject: false });
    const pipe = pipeChild(producer, consumer);
    const [produced, consumed] = await Promise.all([producer, consumer]);
    expect(consumed.exitCode).toBe(3);
    expect(produced.signal).toBe('SIGTERM');
    expect(pipe.stoppedProducer()).toBe(true);
  });

  it('a cancelled consumer stops the producer too', { timeout: 20_000 }, async () => {
    const controller = new AbortController();
    const producer = endless();
    const consumer = execa('sh', ['-c', 'exec cat >/dev/null'], { stdin: 'pipe', reject: false, cancelSignal: controller.signal });
    pipeChild(producer, consumer);
    setImmediate(() => controller.abort());
    const [produced, consumed] = await Promise.all([producer, consumer]);
    expect(consumed.isCanceled).toBe(true);
    expect(produced.signal).toBe('SIGTERM');
  });

  it('a producer that ends first ends the consumer\'s input, and is left alone', async () => {
    const producer = execa('sh', ['-c', 'printf "a\\nb\\nc\\n"'], { stdout: 'pipe', buffer: false, reject: false });
    const consumer = execa('wc', ['-l'], { stdin: 'pipe', reject: false });
    const pipe = pipeChild(producer, consumer);
    const [produced, consumed] = await Promise.all([producer, consumer]);
    expect(produced.exitCode).toBe(0);
    expect(String(consumed.stdout).trim()).toBe('3');
    expect(pipe.stoppedProducer()).toBe(false);
  });
});
