import net from 'node:net';

export interface CutRelay {
  endpoint: string;
  /** Whether the relay has cut its connections. */
  readonly cut: boolean;
  close(): void;
}

/**
 * A TCP relay to the S3 server that dies, as the server would, once the response to the `nth` (or
 * a later) GET whose path matches `path` has passed `afterBytes`: every connection is dropped and
 * the port refuses new ones. Killing the server itself cannot promise a download is cut: on loopback the
 * kernel may already hold the rest of the object in the client's socket buffer (up to 32 MiB
 * here). Bytes the relay never sent are in no buffer.
 */
export async function startCutRelay(targetPort: number, options: { path: RegExp; nth: number; afterBytes: number }): Promise<CutRelay> {
  const sockets = new Set<net.Socket>();
  let gets = 0;
  let cut = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let watched: { sent: number } | undefined;
    client.on('data', (request: Buffer) => {
      const line = request.subarray(0, 1024).toString('latin1');
      if (line.startsWith('GET ') && options.path.test(line.split(' ')[1] ?? '') && ++gets >= options.nth) watched = { sent: 0 };
      upstream.write(request);
    });
    upstream.on('data', (response: Buffer) => {
      if (cut) return;
      if (!watched || watched.sent + response.length < options.afterBytes) {
        if (watched) watched.sent += response.length;
        client.write(response);
        return;
      }
      client.write(response.subarray(0, options.afterBytes - watched.sent), () => dropAll());
      cut = true;
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        (socket === client ? upstream : client).destroy();
      });
    }
  });
  const dropAll = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get cut() {
      return cut;
    },
    close: dropAll,
  };
}
