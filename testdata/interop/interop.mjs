// Drives a running chatapp with the stock npm socket.io-client over
// WebSocket, through the main rules of PROTOCOL.md. Usage:
//   node interop.mjs http://127.0.0.1:PORT
// Prints one line per check and "N passed, N failed"; exits 1 on failure.
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import { next, collect, until, run } from "./lib.mjs";

const url = process.argv[2];
if (!url) {
  console.error("usage: node interop.mjs URL");
  process.exit(2);
}

const sockets = [];
function connect(auth) {
  const s = io(url, { transports: ["websocket"], auth, reconnection: false, timeout: 5000 });
  sockets.push(s);
  s.lastSeq = "0"; // the newest seq this socket has seen: the offset to resume from
  s.on("message", (m) => { s.lastSeq = m.seq; });
  return s;
}

async function login(id) {
  const s = connect();
  await next(s, "connect");
  const rooms = next(s, "room");
  const presence = next(s, "presence");
  const r = await s.timeout(5000).emitWithAck("login", { id, password: "pw-" + id + "-123", alias: id.toUpperCase(), today: "hi" });
  assert.equal(r.code, "200", JSON.stringify(r));
  assert.equal(r.command, "login");
  assert.ok(r.token.length >= 22);
  await rooms;
  await presence;
  return { s, token: r.token, offset: r.offset };
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });
const ctx = {};

check("connect and login with ack", async () => {
  ctx.alice = await login("alice");
  ctx.bob = await login("bob");
  assert.equal(ctx.alice.s.connected, true);
});

check("chat with ack: delivered to the recipient, answered to the sender", async () => {
  const { alice, bob } = ctx;
  const atBob = next(bob.s, "message");
  const echoes = collect(alice.s, "message");
  const r = await alice.s.timeout(5000).emitWithAck("message", { sender: "alice", recepient: "bob", command: "chat", type: "text", data: "hello <b>bob</b>" });
  assert.equal(r.code, "200");
  assert.match(r.seq, /^[1-9][0-9]*$/);
  const m = await atBob;
  assert.equal(m.sender, "alice");
  assert.equal(m.recepient, "bob");
  assert.equal(m.data, "hello <b>bob</b>");
  assert.equal(m.seq, r.seq);
  assert.equal(m.time, r.time);
  assert.match(m.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(echoes, [], "the sending socket has its answer, not a copy");
});

check("request without ack answers with a response event", async () => {
  const resp = next(ctx.alice.s, "response");
  ctx.alice.s.emit("message", { recepient: "nobody-here", command: "chat", type: "text", data: "x" });
  const r = await resp;
  assert.equal(r.command, "message");
  assert.equal(r.code, "404");
});

check("spoofed sender is refused", async () => {
  const r = await ctx.alice.s.timeout(5000).emitWithAck("message", { sender: "bob", recepient: "bob", command: "chat", type: "text", data: "x" });
  assert.equal(r.code, "403");
});

check("message to ALL reaches everyone", async () => {
  const a = next(ctx.alice.s, "message"), b = next(ctx.bob.s, "message");
  const r = await ctx.bob.s.timeout(5000).emitWithAck("message", { recepient: "ALL", command: "chat", type: "text", data: "all" });
  assert.equal(r.code, "200");
  assert.equal((await a).data, "all");
  assert.equal((await b).data, "all");
});

check("rooms: create, list pushed, join, groupchat, rename by non-owner refused", async () => {
  const { alice, bob } = ctx;
  const listAtBob = next(bob.s, "room", (e) => e.command === "list" && e.rooms.some((r) => r.id === "lobby"));
  let r = await alice.s.timeout(5000).emitWithAck("room", { command: "create", roomId: "lobby", roomName: "Lobby" });
  assert.equal(r.code, "200");
  const list = await listAtBob;
  assert.deepEqual(list.rooms, [{ id: "lobby", name: "Lobby", owner: "alice", members: 1 }]);
  r = await bob.s.timeout(5000).emitWithAck("room", { command: "update", roomId: "lobby", roomName: "Mine" });
  assert.equal(r.code, "403");
  r = await bob.s.timeout(5000).emitWithAck("room", { command: "join", roomId: "LOBBY" });
  assert.equal(r.code, "200");
  const atBob = next(bob.s, "message");
  r = await alice.s.timeout(5000).emitWithAck("message", { recepient: "lobby", command: "groupchat", type: "text", data: "room msg" });
  assert.equal(r.code, "200");
  const m = await atBob;
  assert.equal(m.command, "groupchat");
  assert.equal(m.recepient, "lobby");
});

check("history of a conversation", async () => {
  const r = await ctx.bob.s.timeout(5000).emitWithAck("history", { target: "alice", command: "chat" });
  assert.equal(r.code, "200");
  assert.deepEqual(r.messages.map((m) => m.data), ["hello <b>bob</b>"]);
});

check("recovery: reconnect with {token, offset} replays missed messages once, in order", async () => {
  const { alice, bob } = ctx;
  const last = bob.s.lastSeq;
  assert.notEqual(last, "0");
  const offline = next(alice.s, "presence", (e) => e.command === "offline" && e.user.id === "bob");
  bob.s.disconnect();
  await offline;
  const sent = [];
  for (const data of ["missed 1", "missed 2", "missed 3"]) {
    const r = await alice.s.timeout(5000).emitWithAck("message", { recepient: "bob", command: "chat", type: "text", data });
    assert.equal(r.code, "200");
    sent.push(r.seq);
  }
  const s = connect({ token: bob.token, offset: last });
  const got = collect(s, "message");
  await next(s, "connect");
  await until(() => got.length >= 3, "replay");
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(got.map((m) => m.seq), sent);
  assert.deepEqual(got.map((m) => m.data), ["missed 1", "missed 2", "missed 3"]);
  // The resumed session is logged in.
  const r = await s.timeout(5000).emitWithAck("message", { recepient: "alice", command: "chat", type: "text", data: "back" });
  assert.equal(r.code, "200");
  ctx.bob.s = s;
});

check("logout revokes the token: reconnecting with it is refused", async () => {
  const r = await ctx.bob.s.timeout(5000).emitWithAck("logout", {});
  assert.equal(r.code, "200");
  const s = connect({ token: ctx.bob.token });
  const err = await next(s, "connect_error");
  assert.equal(err.message, "invalid session");
});

check("malformed offset is refused", async () => {
  const s = connect({ offset: "twelve" });
  const err = await next(s, "connect_error");
  assert.equal(err.message, "invalid offset");
});

await run(checks, sockets);
