'use strict';
// A "library" that sends nothing: each sendMail promise resolves a little later with a small
// info object. Run through the same client as the real libraries, it measures the harness's own
// floor: what 10,000 promises in flight cost a node process before any mail work.
//   node bench/client.mjs bench/floor/null-transport.js 2 10000 <port>
exports.createTransport = () => {
  const queue = [];
  let scheduled = false;
  const drain = () => {
    for (const [m, resolve] of queue.splice(0, 500)) {
      resolve({ accepted: [m.to], rejected: [], response: '250 ok', envelope: { from: m.from, to: [m.to] }, messageId: '<null@floor>' });
    }
    if (queue.length) setImmediate(drain);
    else scheduled = false;
  };
  return {
    sendMail(m) {
      return new Promise((resolve) => {
        queue.push([m, resolve]);
        if (!scheduled) {
          scheduled = true;
          setImmediate(drain);
        }
      });
    },
    close() {},
  };
};
