#!/usr/bin/env node
// A Node.js HTTP server that restarts without dropping a request under relive:
//
//     relive --socket 8080 --graceful -- node examples/node_server.js
//
// It takes the listening socket relive hands over (fd 3, systemd's LISTEN_FDS protocol),
// says READY=1 on NOTIFY_SOCKET once it serves, and on SIGTERM drains (below) and exits.
// Run on its own it binds 127.0.0.1:8080 itself. No packages needed.
//
// Draining keep-alive connections without a failed request (docs/zero-downtime.md):
//   1. stop accepting: the next server, already listening on the same socket, takes
//      every new connection;
//   2. answer the next request on each open connection with `Connection: close`, so the
//      client reconnects — to the next server;
//   3. close a connection only once it has been idle for IDLE_GRACE_MS (a client that
//      sends nothing more must not hold the drain up); closing an idle connection at once
//      races with the request the client may be sending right then (a read error);
//   4. exit once no connection is left.
'use strict';
const http = require('http');
const net = require('net');
const { execFileSync } = require('child_process');

const IDLE_GRACE_MS = Number(process.env.IDLE_GRACE_MS || 1000);

const inherited = process.env.LISTEN_PID === String(process.pid) && Number(process.env.LISTEN_FDS) >= 1;
for (const name of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete process.env[name];

// sd_notify without native modules: Node has no unix datagram sockets, so hand the
// message to a tiny Python one-liner (or use the `sd-notify` npm package).
function notify(state) {
  const address = process.env.NOTIFY_SOCKET;
  if (!address) return false;
  try {
    execFileSync('python3', ['-c',
      'import os,socket,sys;a=os.environ["NOTIFY_SOCKET"];a="\\0"+a[1:] if a[0]=="@" else a;' +
      'socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM).sendto(sys.argv[1].encode(),a)', state]);
    return true;
  } catch (e) {
    return false;
  }
}

let draining = false;
// Every open connection, with whether a request is in flight on it and since when it idles.
const connections = new Map();  // socket -> {busy, idleSince}

const server = http.createServer((req, res) => {
  const conn = connections.get(req.socket);
  if (conn) conn.busy = true;
  res.on('finish', () => {
    if (conn) {
      conn.busy = false;
      conn.idleSince = Date.now();
    }
  });
  res.setHeader('Content-Type', 'text/plain');
  if (draining) res.setHeader('Connection', 'close');  // Node closes it after this answer
  res.end(`hello from pid ${process.pid}\n`);
});
server.on('connection', (socket) => {
  connections.set(socket, { busy: false, idleSince: Date.now() });
  socket.on('close', () => connections.delete(socket));
});

function stop() {
  if (draining) return;
  draining = true;
  const drainStarted = Date.now();
  // net.Server's close() stops accepting (closes our fd of the shared socket, never
  // shutdown(2)) and calls back once every connection is closed. http.Server's own
  // close() would also close idle keep-alive connections at once (Node >= 19): that is
  // the race of step 3, so it is not used.
  net.Server.prototype.close.call(server, () => process.exit(0));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [socket, conn] of connections) {
      if (!conn.busy && now - Math.max(conn.idleSince, drainStarted) >= IDLE_GRACE_MS) socket.destroy();
    }
  }, 50);
  sweep.unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const onListening = () => {
  notify('READY=1');
  console.error(`node_server[${process.pid}]: serving`);
};
if (inherited) server.listen({ fd: 3 }, onListening);
else server.listen(8080, '127.0.0.1', onListening);
