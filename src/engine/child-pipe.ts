import type { ResultPromise } from 'execa';
import { chunkCollector } from '../young-garbage.js';

/**
 * Pipes a producer's stdout into a consumer's stdin through Node, as a shell pipe would, with
 * the one thing `.pipe()` does not do: a consumer that ends early (it failed, or a signal
 * cancelled it) takes the producer with it. Left alone, the producer's stdout stays paused with
 * nobody reading: the producer blocks forever, or, once it is gone too, Node's event loop runs
 * dry and the command ends with exit code 0 having finished nothing.
 *
 * `end: false` keeps the consumer's stdin open after the producer ends (the caller writes more).
 * `stoppedProducer()` tells whether the producer was killed here, so the caller reports the
 * consumer's failure, which is the cause, rather than the kill.
 */
export function pipeChild(producer: ResultPromise, consumer: ResultPromise, options: { end?: boolean } = {}): { stoppedProducer: () => boolean } {
  let stopped = false;
  const output = producer.stdout!;
  const input = consumer.stdin!;
  input.on('error', () => undefined);
  output.pipe(input, { end: options.end ?? true });
  // Every byte passes through Node here (a whole database, for pitr --into).
  const collect = chunkCollector();
  output.on('data', (chunk: Buffer) => collect(chunk.length));
  const release = () => {
    output.unpipe(input);
    output.resume();
    if (producer.exitCode === null && producer.signalCode === null) stopped = producer.kill();
  };
  consumer.then(release, release);
  return { stoppedProducer: () => stopped };
}
