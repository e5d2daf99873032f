/**
 * The physical floor of an extra HTTP hop: a TCP proxy that copies bytes both ways between a
 * client and 127.0.0.1:PORT without parsing anything. Prints `listening PORT` on stderr.
 *
 *   node bench/tcp-relay.ts PORT
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

const target = Number(process.argv[2]);
if (!Number.isInteger(target) || target <= 0) {
  process.stderr.write('usage: tcp-relay PORT\n');
  process.exit(2);
}
const sockets = new Set<Socket>();
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect({ port: target, host: '127.0.0.1', noDelay: true });
  for (const socket of [client, upstream]) {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  }
  client.pipe(upstream).pipe(client);
  client.once('error', () => upstream.destroy());
  upstream.once('error', () => client.destroy());
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => process.stderr.write(`listening ${(server.address() as AddressInfo).port}\n`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    for (const socket of sockets) socket.destroy();
    server.close(() => process.exit(0));
  });
}
