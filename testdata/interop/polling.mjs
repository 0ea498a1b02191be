// Drives a running chatapp with the stock npm socket.io-client over HTTP
// long-polling, in one of three modes:
//   default    io(url): polling first, then the upgrade to WebSocket
//   polling    transports: ["polling"]: polling only
//   noupgrade  upgrade: false: polling, never probing WebSocket
// Usage:
//   node polling.mjs http://127.0.0.1:PORT MODE
// The server must run with --msg-rate 0 (the burst check sends 1,000
// messages at once). Prints one line per check and "N passed, N failed";
// exits 1 on failure.
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import { next, collect, until, run } from "./lib.mjs";

const [url, mode] = process.argv.slice(2);
const modes = {
  default: {},
  polling: { transports: ["polling"] },
  noupgrade: { upgrade: false },
};
if (!url || !(mode in modes)) {
  console.error("usage: node polling.mjs URL default|polling|noupgrade");
  process.exit(2);
}
const upgrades = mode === "default";
const tag = mode.slice(0, 4); // keeps user ids distinct per mode

const sockets = [];
function connect(auth) {
  const s = io(url, { ...modes[mode], auth, reconnection: false, timeout: 5000 });
  sockets.push(s);
  s.lastSeq = "0"; // the newest seq this socket has seen: the offset to resume from
  s.on("message", (m) => { if (BigInt(m.seq) > BigInt(s.lastSeq)) s.lastSeq = m.seq; });
  return s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const transport = (s) => s.io.engine.transport.name;

// settled waits until s uses the transport its mode ends on.
async function settled(s) {
  if (upgrades) {
    await until(() => transport(s) === "websocket", "upgrade to websocket");
  } else {
    await sleep(300); // a probe would have started by now
    assert.equal(transport(s), "polling");
  }
}

async function login(id) {
  const s = connect();
  await next(s, "connect");
  const rooms = next(s, "room");
  const presence = next(s, "presence");
  const r = await s.timeout(5000).emitWithAck("login", { id, password: "pw-" + id + "-123" });
  assert.equal(r.code, "200", JSON.stringify(r));
  assert.equal(r.command, "login");
  assert.ok(r.token.length >= 22);
  await rooms;
  await presence;
  return { s, token: r.token };
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });
const ctx = {};
// chat sends a direct message with an ack. The sending socket gets the
// ack, not a copy, so the ack's seq counts as seen for its offset.
const chat = (s, recepient, data) =>
  s.timeout(5000).emitWithAck("message", { recepient, command: "chat", type: "text", data }).then((r) => {
    if (r.seq && BigInt(r.seq) > BigInt(s.lastSeq)) s.lastSeq = r.seq;
    return r;
  });

check(`connect and login over ${mode}`, async () => {
  ctx.alice = await login(`alice-${tag}`);
  ctx.bob = await login(`bob-${tag}`);
  await settled(ctx.alice.s);
  await settled(ctx.bob.s);
  assert.equal(ctx.alice.s.connected, true);
});

check("chat with ack: delivered to the recipient, answered to the sender", async () => {
  const { alice, bob } = ctx;
  const atBob = next(bob.s, "message");
  const echoes = collect(alice.s, "message");
  const r = await chat(alice.s, `bob-${tag}`, "hello <b>bob</b> \u2713");
  assert.equal(r.code, "200");
  const m = await atBob;
  assert.equal(m.sender, `alice-${tag}`);
  assert.equal(m.data, "hello <b>bob</b> \u2713");
  assert.equal(m.seq, r.seq);
  const back = next(alice.s, "message");
  assert.equal((await chat(bob.s, `alice-${tag}`, "hi alice")).code, "200");
  assert.equal((await back).data, "hi alice");
  assert.deepEqual(echoes.map((m) => m.data), ["hi alice"], "the sending socket has its answer, not a copy");
});

check("rooms: create, join, groupchat", async () => {
  const { alice, bob } = ctx;
  const room = `room-${tag}`;
  const listAtBob = next(bob.s, "room", (e) => e.command === "list" && e.rooms.some((r) => r.id === room));
  let r = await alice.s.timeout(5000).emitWithAck("room", { command: "create", roomId: room, roomName: "Room " + mode });
  assert.equal(r.code, "200");
  await listAtBob;
  r = await bob.s.timeout(5000).emitWithAck("room", { command: "join", roomId: room });
  assert.equal(r.code, "200");
  const atBob = next(bob.s, "message");
  r = await alice.s.timeout(5000).emitWithAck("message", { recepient: room, command: "groupchat", type: "text", data: "room msg" });
  assert.equal(r.code, "200");
  const m = await atBob;
  assert.equal(m.command, "groupchat");
  assert.equal(m.recepient, room);
  assert.equal(m.seq, r.seq);
});

check("recovery: reconnect with {token, offset} replays missed messages once, in order", async () => {
  const { alice, bob } = ctx;
  const last = bob.s.lastSeq;
  assert.notEqual(last, "0");
  const offline = next(alice.s, "presence", (e) => e.command === "offline" && e.user.id === `bob-${tag}`);
  bob.s.disconnect();
  await offline;
  const sent = [];
  for (const data of ["missed 1", "missed 2", "missed 3"]) {
    const r = await chat(alice.s, `bob-${tag}`, data);
    assert.equal(r.code, "200");
    sent.push(r.seq);
  }
  const s = connect({ token: bob.token, offset: last });
  const got = collect(s, "message");
  await next(s, "connect");
  await until(() => got.length >= 3, "replay");
  await settled(s);
  assert.deepEqual(got.map((m) => m.seq), sent);
  assert.deepEqual(got.map((m) => m.data), ["missed 1", "missed 2", "missed 3"]);
  const r = await chat(s, `alice-${tag}`, "back");
  assert.equal(r.code, "200");
  ctx.bob.s = s;
});

check("burst of 1,000 messages while sockets connect (and upgrade): all delivered once, in order", async () => {
  const { alice, bob } = ctx;
  // A fresh sender emits from the start, before its CONNECT is answered.
  // Three fresh receivers connect with the same offset at different points
  // of the burst: each gets a replay of what was stored before it, then
  // live messages, and upgrades (in default mode) while they flow.
  const offset = bob.s.lastSeq;
  const sender = connect({ token: alice.token });
  let acked = 0, senderUpgradedAt = -1;
  sender.io.engine.on("upgrade", () => { senderUpgradedAt = acked; });
  const receivers = [{ name: "old receiver", s: bob.s, got: collect(bob.s, "message") }];
  const connectReceiver = () => {
    const s = connect({ token: bob.token, offset });
    const r = { name: `receiver after ${acked} acks`, s, got: collect(s, "message"), upgradedAt: -1 };
    s.io.engine.on("upgrade", () => { r.upgradedAt = r.got.length; });
    receivers.push(r);
  };
  const starts = [0, 200, 500];
  const acks = [];
  for (let i = 0; i < 1000; i++) {
    acks.push(sender.timeout(30000).emitWithAck("message", { recepient: `bob-${tag}`, command: "chat", type: "text", data: `burst ${i}` })
      .then((r) => { acked++; return r; }));
    while (receivers.length - 1 < starts.length && acked >= starts[receivers.length - 1]) connectReceiver();
    if (i % 50 === 49) await sleep(10);
  }
  while (receivers.length - 1 < starts.length) connectReceiver();
  const rs = await Promise.all(acks);
  for (const r of rs) assert.equal(r.code, "200", JSON.stringify(r));
  const seqs = rs.map((r) => r.seq);
  for (let i = 1; i < seqs.length; i++) assert.ok(BigInt(seqs[i]) > BigInt(seqs[i - 1]), `seq ${seqs[i]} after ${seqs[i - 1]}`);
  for (const { name, got } of receivers) {
    await until(() => got.length >= 1000, `${name}: 1000 messages (have ${got.length})`, 30000);
  }
  await sleep(200);
  for (const { name, s, got, upgradedAt } of receivers) {
    assert.equal(got.length, 1000, `${name}: no duplicates`);
    assert.deepEqual(got.map((m) => m.seq), seqs, `${name}: in order`);
    assert.deepEqual(got.map((m) => m.data), seqs.map((_, i) => `burst ${i}`));
    await settled(s);
    if (upgrades && upgradedAt !== undefined) console.log(`     (${name}: upgraded after ${upgradedAt} of 1000 messages)`);
  }
  await settled(sender);
  if (upgrades) console.log(`     (sender: upgraded after ${senderUpgradedAt} acks)`);
});

await run(checks, sockets);
