// Scripted raw TCP server for byte-exact protocol tests.
//
//   const srv = await startRawServer(async c => {
//       c.write('220 test ESMTP\r\n');
//       assert.equal(await c.readLine(), 'EHLO [127.0.0.1]');
//       c.write('250-test\r\n250 STARTTLS\r\n');
//       ...
//       c.end();
//   });
//   ... client connects to 127.0.0.1:srv.port ...
//   await srv.sessions[0].finished;
//   srv.sessions[0].received.toString()   // every byte the client sent (decrypted after TLS)
//   srv.received                          // all sessions' lines, e.g. ['EHLO x', 'QUIT']
//   await srv.close();
//
// The script is called once per connection with:
//   socket       the current socket (the TLS socket after startTls())
//   readLine()   next line without its CRLF (LF alone also ends a line); null at EOF
//   readUntil(m) bytes up to and including the marker m (e.g. '\r\n.\r\n'), as a Buffer;
//                null if the connection ends first
//   write(buf)   send bytes/string as is
//   startTls(o)  upgrade to TLS as the server (committed localhost certificate); resolves
//                once the handshake is done. `o` is merged into the TLSSocket options.
//   end()        half-close after pending writes; destroy() drops the connection
//   index        0-based connection number
// A script that throws has its error stored in session.error and its socket destroyed.
// close() waits for the scripts: a script should return once readLine() gives null.

import net from 'node:net';
import tls from 'node:tls';
import { CERTS } from './smtp.mjs';

class Session {
    constructor(socket, index) {
        this.index = index;
        this.socket = socket;
        /** Everything the client sent, in order (plaintext after a TLS upgrade). */
        this.received = Buffer.alloc(0);
        this.error = null;
        this._buffer = Buffer.alloc(0);
        this._ended = false;
        this._waiter = null;
        this._attach(socket);
    }

    _attach(socket) {
        socket.on('data', chunk => {
            this.received = Buffer.concat([this.received, chunk]);
            this._buffer = Buffer.concat([this._buffer, chunk]);
            this._wake();
        });
        socket.on('end', () => {
            this._ended = true;
            this._wake();
        });
        socket.on('close', () => {
            this._ended = true;
            this._wake();
        });
        // reset by peer etc.: treated as EOF; the test sees it through readLine() === null
        socket.on('error', () => {});
    }

    _wake() {
        const waiter = this._waiter;
        this._waiter = null;
        if (waiter) {
            waiter();
        }
    }

    async _take(find) {
        for (;;) {
            const end = find(this._buffer);
            if (end >= 0) {
                const out = this._buffer.subarray(0, end);
                this._buffer = this._buffer.subarray(end);
                return out;
            }
            if (this._ended) {
                return null;
            }
            await new Promise(resolve => {
                this._waiter = resolve;
            });
        }
    }

    async readLine() {
        const line = await this._take(buf => {
            const i = buf.indexOf(0x0a);
            return i < 0 ? -1 : i + 1;
        });
        return line === null ? null : line.toString('utf8').replace(/\r?\n$/, '');
    }

    async readUntil(marker) {
        const m = Buffer.from(marker);
        return this._take(buf => {
            const i = buf.indexOf(m);
            return i < 0 ? -1 : i + m.length;
        });
    }

    write(data) {
        return new Promise((resolve, reject) => this.socket.write(data, err => (err ? reject(err) : resolve())));
    }

    async startTls(options = {}) {
        const raw = this.socket;
        raw.removeAllListeners('data');
        raw.removeAllListeners('end');
        raw.removeAllListeners('close');
        const secure = new tls.TLSSocket(raw, {
            isServer: true,
            key: CERTS.serverKey,
            cert: CERTS.serverCert,
            ...options
        });
        this.socket = secure;
        this._attach(secure);
        await new Promise((resolve, reject) => {
            secure.once('secure', resolve);
            secure.once('error', reject);
        });
    }

    end() {
        this.socket.end();
    }

    destroy() {
        this.socket.destroy();
    }
}

/**
 * Starts a scripted server on 127.0.0.1 (random port).
 * @param {(conn: Session) => Promise<void>} script run once per accepted connection
 * @returns {Promise<{port: number, server: net.Server, sessions: Session[], received: string[], close(): Promise<void>}>}
 *   each session also has `finished` (resolves when its script returned or threw)
 */
export async function startRawServer(script) {
    const sessions = [];
    const server = net.createServer(socket => {
        const session = new Session(socket, sessions.length);
        sessions.push(session);
        session.finished = (async () => {
            try {
                await script(session);
            } catch (err) {
                session.error = err;
                session.destroy();
            }
        })();
    });

    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
        });
    });

    let closing = null;
    return {
        port: server.address().port,
        server,
        sessions,
        /** Every line the clients sent, all sessions in order, without line endings. */
        get received() {
            return sessions.flatMap(s => {
                const lines = s.received.toString('utf8').split(/\r?\n/);
                if (lines.at(-1) === '') {
                    lines.pop();
                }
                return lines;
            });
        },
        /** Stops listening, drops every open connection and waits for the scripts. */
        close() {
            closing ||= (async () => {
                const closed = new Promise(resolve => server.close(resolve));
                for (const s of sessions) {
                    s.destroy();
                }
                await Promise.all(sessions.map(s => s.finished));
                await closed;
            })();
            return closing;
        }
    };
}
