import crypto from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';

/**
 * A small transaction-mode pooler for tests, PgBouncer-style: each client gets `poolSize` server
 * connections (logged in by the pooler with the password it was given) and every transaction goes
 * to the next one in turn. Clients are not authenticated. It speaks just enough of the wire
 * protocol: startup, SCRAM/md5/cleartext login upstream, and message framing; a transaction ends
 * at a ReadyForQuery whose status is idle.
 */
export interface TxPooler {
  port: number;
  url(user: string, database: string): string;
  close(): Promise<void>;
}

export async function startTxPooler(options: { upstreamHost: string; upstreamPort: number; password: (user: string) => string; poolSize?: number; mode?: 'transaction' | 'session' }): Promise<TxPooler> {
  const poolSize = options.poolSize ?? 2;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    serve(client).catch(() => client.destroy());
  });

  async function serve(client: net.Socket): Promise<void> {
    const reader = new Reader(client);
    let startup: Buffer;
    for (;;) {
      const len = (await reader.take(4)).readInt32BE(0);
      const body = await reader.take(len - 4);
      const code = body.readInt32BE(0);
      if (code === 80877103 || code === 80877104) {
        client.write('N'); // no TLS, no GSS encryption
        continue;
      }
      if (code === 80877102) return void client.destroy(); // cancel request: not supported
      startup = body;
      break;
    }
    const params = parseStartup(startup);
    const user = params.user;
    const database = params.database ?? user;
    const upstreams: Upstream[] = [];
    for (let i = 0; i < (options.mode === 'session' ? 1 : poolSize); i++) {
      upstreams.push(await openUpstream(options.upstreamHost, options.upstreamPort, user, database, options.password(user)));
    }
    const closeAll = () => {
      for (const u of upstreams) u.socket.destroy();
      client.destroy();
    };
    client.on('close', closeAll);
    client.on('error', closeAll);
    // Login as the client sees it: AuthenticationOk, the first server's parameters, a made-up key.
    const out: Buffer[] = [message('R', int32(0))];
    for (const s of upstreams[0].parameterStatus) out.push(s);
    out.push(message('K', Buffer.concat([int32(999_999), int32(12345)])), message('Z', Buffer.from('I')));
    client.write(Buffer.concat(out));

    let current = 0;
    let pending = 0;
    upstreams.forEach((u, index) => {
      u.socket.on('close', closeAll);
      u.reader.onMessage = (type, raw) => {
        client.write(raw);
        if (type === 'Z' && index === current) {
          pending = Math.max(0, pending - 1);
          if (pending === 0 && raw[5] === 0x49 /* I */) current = (current + 1) % upstreams.length;
        }
      };
      u.reader.pump();
    });
    reader.onMessage = (type, raw) => {
      if (type === 'X') return closeAll();
      if (type === 'Q' || type === 'S') pending++;
      upstreams[current].socket.write(raw);
    };
    reader.pump();
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (user, database) => `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(options.password(user))}@127.0.0.1:${port}/${database}?sslmode=disable`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Upstream {
  socket: net.Socket;
  reader: Reader;
  parameterStatus: Buffer[];
}

async function openUpstream(host: string, port: number, user: string, database: string, password: string): Promise<Upstream> {
  const socket = net.connect(port, host);
  await once(socket, 'connect');
  const reader = new Reader(socket);
  const body = Buffer.concat([int32(196608), cstr('user'), cstr(user), cstr('database'), cstr(database), cstr('application_name'), cstr('tx-pooler'), Buffer.from([0])]);
  socket.write(Buffer.concat([int32(body.length + 4), body]));
  const parameterStatus: Buffer[] = [];
  let scram: { nonce: string; bare: string; serverFirst?: string } | undefined;
  for (;;) {
    const { type, payload, raw } = await reader.next();
    if (type === 'E') throw new Error(`upstream login failed: ${payload.toString('utf8')}`);
    if (type === 'S') parameterStatus.push(raw);
    if (type === 'Z') break;
    if (type !== 'R') continue;
    const code = payload.readInt32BE(0);
    if (code === 3) socket.write(message('p', cstr(password)));
    if (code === 5) {
      const inner = crypto.createHash('md5').update(password + user).digest('hex');
      socket.write(message('p', cstr('md5' + crypto.createHash('md5').update(inner).update(payload.subarray(4, 8)).digest('hex'))));
    }
    if (code === 10) {
      const nonce = crypto.randomBytes(18).toString('base64');
      const bare = `n=*,r=${nonce}`;
      scram = { nonce, bare };
      const first = Buffer.from(`n,,${bare}`);
      socket.write(message('p', Buffer.concat([cstr('SCRAM-SHA-256'), int32(first.length), first])));
    }
    if (code === 11 && scram) {
      const serverFirst = payload.subarray(4).toString('utf8');
      const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      const salted = crypto.pbkdf2Sync(password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
      const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = crypto.createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${attrs.r}`;
      const signature = crypto.createHmac('sha256', storedKey).update(`${scram.bare},${serverFirst},${withoutProof}`).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
      socket.write(message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)));
    }
  }
  return { socket, reader, parameterStatus };
}

/** Frames a byte stream into messages; either awaited one by one or pushed to onMessage. */
class Reader {
  private buffer = Buffer.alloc(0);
  private waiter?: () => void;
  onMessage?: (type: string, raw: Buffer) => void;
  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (this.onMessage) this.pump();
      else this.waiter?.();
    });
    socket.on('error', () => undefined);
  }
  async take(n: number): Promise<Buffer> {
    while (this.buffer.length < n) {
      await new Promise<void>((resolve, reject) => {
        this.waiter = resolve;
        this.socket.once('close', () => reject(new Error('closed')));
      });
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }
  async next(): Promise<{ type: string; payload: Buffer; raw: Buffer }> {
    const header = await this.take(5);
    const payload = await this.take(header.readInt32BE(1) - 4);
    return { type: String.fromCharCode(header[0]), payload, raw: Buffer.concat([header, payload]) };
  }
  pump(): void {
    while (this.onMessage && this.buffer.length >= 5) {
      const len = this.buffer.readInt32BE(1);
      if (this.buffer.length < len + 1) return;
      const raw = this.buffer.subarray(0, len + 1);
      this.buffer = this.buffer.subarray(len + 1);
      this.onMessage(String.fromCharCode(raw[0]), raw);
    }
  }
}

function parseStartup(body: Buffer): Record<string, string> {
  const parts = body.subarray(4).toString('utf8').split('\0');
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) params[parts[i]] = parts[i + 1];
  return params;
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(s + '\0');
const message = (type: string, payload: Buffer) => Buffer.concat([Buffer.from(type), int32(payload.length + 4), payload]);
