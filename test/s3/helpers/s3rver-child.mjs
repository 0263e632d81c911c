// A real S3-compatible HTTP server (s3rver) in its own process, so tests can SIGKILL it like a
// crashed server. Args: <port> <directory> [bucket...]. Prints "READY <port>" once listening.
import S3rver from 's3rver';

const [port, directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  directory,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
const { port: actual } = await server.run();
process.stdout.write(`READY ${actual}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
