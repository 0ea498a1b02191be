// Stock clients across a server restart (run by TestStockClientsRestart):
// three npm socket.io-client sockets, one per transport (the default
// polling-then-WebSocket, polling only, WebSocket only), log in and keep
// {token, offset} in their auth. The Go test stops the server (SIGTERM),
// starts it again on the same port and data dir, and sends each user a
// direct message and one to ALL while they are away. Every client must
// reconnect by itself and get exactly those two by the replay.
// Usage:
//   node restart.mjs http://127.0.0.1:PORT
// Lines for the Go test: "ready" (stop the server now), "back ID MS" (ID
// reconnected at MS, Date.now()), then one line per check and
// "N passed, N failed"; exits 1 on a failure.
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import { next, until, run } from "./lib.mjs";

const url = process.argv[2];
if (!url) {
  console.error("usage: node restart.mjs URL");
  process.exit(2);
}

const transports = {
  alice: ["polling", "websocket"], // the default: polling, then the upgrade
  carol: ["polling"],
  dave: ["websocket"],
};

const sockets = [];
function client(id) {
  const s = io(url, {
    transports: transports[id],
    // The first attempt comes 4 s after the connection ends (the default is
    // about 1 s), so that the restarted server has stored the messages sent
    // meanwhile before anyone is back: they must come by the replay.
    reconnectionDelay: 4000,
    reconnectionDelayMax: 4000,
    randomizationFactor: 0,
    timeout: 5000,
    // Called before every connect: a reconnect resumes the session and asks
    // for what came after the newest message seen.
    auth: (cb) => cb(s.token ? { token: s.token, offset: s.lastSeq } : {}),
  });
  sockets.push(s);
  s.id_ = id;
  s.lastSeq = "0";
  s.got = [];
  s.downs = [];
  s.on("message", (m) => {
    s.got.push(m);
    if (BigInt(m.seq) > BigInt(s.lastSeq)) s.lastSeq = m.seq;
  });
  s.on("disconnect", (reason) => s.downs.push(reason));
  return s;
}

const all = Object.keys(transports).map(client);
const checks = [];
const check = (name, fn) => checks.push({ name, fn });

check("log in on each transport and see one message", async () => {
  for (const s of all) {
    if (!s.connected) await next(s, "connect");
    const r = await s.timeout(5000).emitWithAck("login", { id: s.id_, password: "pw-" + s.id_ + "-123" });
    assert.equal(r.code, "200", JSON.stringify(r));
    s.token = r.token;
    s.lastSeq = r.offset;
  }
  const [alice] = all;
  await until(() => alice.io.engine.transport.name === "websocket", "alice's upgrade");
  const seen = all.map((s) => next(s, "message", (m) => m.data === "before the restart"));
  const r = await alice.timeout(5000).emitWithAck("message", { recepient: "ALL", command: "chat", type: "text", data: "before the restart" });
  assert.equal(r.code, "200");
  await Promise.all(seen);
  for (const s of all) s.got = [];
});

check("the restart closes the transport, without a kick", async () => {
  console.log("ready");
  await until(() => all.every((s) => s.downs.length > 0), "every client to see the server go", 20000);
  for (const s of all) {
    // "io server disconnect" (a DISCONNECT packet) would stop the client
    // from reconnecting.
    assert.equal(s.downs[0], "transport close", `${s.id_}: ${s.downs}`);
  }
});

check("every client reconnects by itself", async () => {
  await Promise.all(all.map(async (s) => {
    if (!s.connected) await next(s, "connect", () => true, 40000);
    console.log(`back ${s.id_} ${Date.now()}`);
  }));
});

check("the replay brings what was sent while away, once, in order", async () => {
  for (const s of all) {
    await until(() => s.got.length >= 2, `${s.id_}: the missed messages`, 15000);
  }
  await new Promise((r) => setTimeout(r, 300)); // nothing else comes
  for (const s of all) {
    assert.deepEqual(s.got.map((m) => m.data).sort(), ["missed: ALL", "missed: " + s.id_], `${s.id_} got ${JSON.stringify(s.got)}`);
    assert.ok(BigInt(s.got[0].seq) < BigInt(s.got[1].seq), `${s.id_}: out of order`);
    assert.equal(s.downs.length, 1, `${s.id_} disconnected again: ${s.downs}`);
  }
});

await run(checks, sockets);
