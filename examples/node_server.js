#!/usr/bin/env node
// A Node.js HTTP server that restarts without dropping a request under relive:
//
//     relive --socket 8080 --graceful -- node examples/node_server.js
//
// It takes the listening socket relive hands over (fd 3, systemd's LISTEN_FDS protocol),
// says READY=1 on NOTIFY_SOCKET once it serves, and on SIGTERM stops accepting, lets the
// requests in flight finish and exits. Run on its own it binds 127.0.0.1:8080 itself.
// No packages needed.
'use strict';
const http = require('http');
const { execFileSync } = require('child_process');

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

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  if (server.draining) res.setHeader('Connection', 'close');  // reconnect to the next server
  res.end(`hello from pid ${process.pid}\n`);
});

function stop() {
  server.draining = true;
  // close() stops accepting (closes our fd of the shared socket, no shutdown(2)) and
  // calls back once the connections in flight are done.
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const onListening = () => {
  notify('READY=1');
  console.error(`node_server[${process.pid}]: serving`);
};
if (inherited) server.listen({ fd: 3 }, onListening);
else server.listen(8080, '127.0.0.1', onListening);
