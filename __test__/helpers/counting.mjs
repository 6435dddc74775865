// Scripted SMTP server (net) that counts its concurrent sessions, the way a server with a
// per-client connection limit does (Postfix's smtpd_client_connection_count_limit), and can
// answer QUIT slowly.
//
//   const srv = await startCountingServer({ quitDelay: 300 });
//   ... pool: true, host '127.0.0.1', port srv.port, ignoreTLS: true ...
//   srv.maxOpen        most sessions open at once
//   srv.perConnection  messages accepted per connection, in accept order
//   await srv.close();
//
// Options:
//   quitDelay       ms before the 221 reply to QUIT (default 0)
//   greetingDelay   ms before the 220 greeting (default 0)
//   dataDelay       ms before the reply to the final dot (default 0)
//   limit           sessions allowed at once; one more is answered "421 too many connections"
//                   and closed, as Postfix does (default 0: no limit)
//
// A session counts from accept until the server ends it: when it sends 221, or when the
// client's FIN or a reset arrives first. PIPELINING is offered; replies are written with
// TCP_NODELAY so the client's timing is not Nagle's.

import net from 'node:net';

export async function startCountingServer({ quitDelay = 0, greetingDelay = 0, dataDelay = 0, limit = 0 } = {}) {
  let open = 0;
  let maxOpen = 0;
  const perConnection = [];
  const sockets = new Set();
  const stats = { refused: 0, mails: 0, quits: 0 };
  const server = net.createServer((sock) => {
    const id = perConnection.length;
    perConnection.push(0);
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    let counted = true;
    open++;
    maxOpen = Math.max(maxOpen, open);
    const release = () => {
      if (counted) {
        counted = false;
        open--;
      }
    };
    sock.on('end', release);
    sock.on('close', () => {
      release();
      sockets.delete(sock);
    });
    if (limit && open > limit) {
      stats.refused++;
      release();
      sock.end('421 4.7.0 count.test Error: too many connections from 127.0.0.1\r\n');
      return;
    }
    const later = (ms, fn) => (ms ? setTimeout(fn, ms) : fn());
    later(greetingDelay, () => !sock.destroyed && sock.write('220 count.test ESMTP\r\n'));
    let buf = '';
    let inData = false;
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const i = buf.indexOf('\r\n.\r\n');
          if (i < 0) return;
          buf = buf.slice(i + 5);
          inData = false;
          later(dataDelay, () => {
            perConnection[id]++;
            if (!sock.destroyed) sock.write('250 2.0.0 Ok: queued\r\n');
          });
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') sock.write('250-count.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (cmd === 'MAIL') {
          stats.mails++;
          sock.write('250 2.1.0 Ok\r\n');
        } else if (cmd === 'HELO' || cmd === 'RCPT' || cmd === 'RSET' || cmd === 'NOOP') sock.write('250 Ok\r\n');
        else if (cmd === 'DATA') {
          inData = true;
          sock.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (cmd === 'QUIT') {
          stats.quits++;
          later(quitDelay, () => {
            release();
            if (!sock.destroyed) sock.end('221 2.0.0 Bye\r\n');
          });
        } else sock.write('502 5.5.2 Error: command not recognized\r\n');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    perConnection,
    stats,
    get open() {
      return open;
    },
    get maxOpen() {
      return maxOpen;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
