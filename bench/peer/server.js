'use strict';
// The reference peer for `chatapp bench`: the original tutorial chat (see
// the Node chapter the project descends from) written the plain socket.io
// way, so the same load generator can measure it and chatapp.
//
// - login: any password is accepted; the answer carries a random token and
//   the newest seq (offset). The socket joins the room "user:<id>".
// - message: chat to a user (io.to("user:<id>")), to yourself, or to ALL
//   (io.emit); groupchat to a room (io.to(roomId)). seq (a counter) and
//   time (ISO 8601 with ms) are added. Nothing is stored on disk.
// - room: create/update/delete/join/leave/list; membership lives in the
//   socket.io adapter, names in a plain object; every change sends the
//   list to everyone, as the original does.
// - answers go to the ack callback when the client asked for one, else as
//   a "response" event.
// - CONNECT auth {token, offset}: the token's user is logged in at once and
//   gets the chat messages (to the user, from the user, to ALL) with
//   seq > offset, replayed from in-memory arrays of the last 1000 of each.
//   Room messages are not replayed, and room membership (per socket, in
//   the adapter) is not restored.
//
// Usage: node server.js [--port 3000] [--host 127.0.0.1]   (PORT also works)

const http = require('node:http');
const crypto = require('node:crypto');
const { Server } = require('socket.io');

function flag(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const port = Number(flag('--port', process.env.PORT || 3000));
const host = flag('--host', '127.0.0.1');
const REPLAY_MAX = 1000;

let seq = 0;
const users = new Map(); // id -> { inbox: [message…] } (the last REPLAY_MAX chat messages)
const tokens = new Map(); // token -> id
const allLog = []; // the last REPLAY_MAX messages to ALL
const rooms = {}; // roomId -> { id, name, owner }

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const io = new Server(httpServer, {
  transports: ['websocket', 'polling'],
  perMessageDeflate: false,
});

function answer(socket, ack, command, code, message, extra) {
  const r = { command, code, message, ...extra };
  if (typeof ack === 'function') ack(r);
  else socket.emit('response', r);
}

function keep(list, m) {
  list.push(m);
  if (list.length > REPLAY_MAX) list.shift();
}

function roomList() {
  return Object.values(rooms).map((r) => ({
    id: r.id,
    name: r.name,
    owner: r.owner,
    members: io.sockets.adapter.rooms.get(r.id)?.size ?? 0,
  }));
}

function enter(socket, id) {
  socket.data.id = id;
  socket.join('user:' + id);
}

// replay sends the chat messages the user missed after offset, in seq order.
function replay(socket, id, offset) {
  const after = Number(offset);
  if (!Number.isFinite(after)) return;
  const missed = users.get(id).inbox.filter((m) => Number(m.seq) > after)
    .concat(allLog.filter((m) => Number(m.seq) > after))
    .sort((a, b) => Number(a.seq) - Number(b.seq));
  for (const m of missed.slice(-REPLAY_MAX)) socket.emit('message', m);
}

io.use((socket, next) => {
  const { token } = socket.handshake.auth || {};
  if (token && !tokens.has(token)) return next(new Error('invalid session'));
  next();
});

io.on('connection', (socket) => {
  const { token, offset } = socket.handshake.auth || {};
  if (token) {
    const id = tokens.get(token);
    enter(socket, id);
    if (offset !== undefined) replay(socket, id, offset);
  }

  socket.on('login', (login, ack) => {
    if (!login || typeof login.id !== 'string' || login.id === '' || login.id === 'ALL') {
      return answer(socket, ack, 'login', '400', 'id: required');
    }
    if (!users.has(login.id)) users.set(login.id, { inbox: [] });
    const t = crypto.randomBytes(16).toString('hex');
    tokens.set(t, login.id);
    enter(socket, login.id);
    answer(socket, ack, 'login', '200', 'logged in', {
      token: t,
      user: { id: login.id, alias: login.alias || '', today: login.today || '' },
      offset: String(seq),
    });
  });

  socket.on('message', (message, ack) => {
    const sender = socket.data.id;
    if (!sender) return answer(socket, ack, 'message', '401', 'log in first');
    if (!message || typeof message.recepient !== 'string') {
      return answer(socket, ack, 'message', '400', 'recepient: required');
    }
    const to = message.recepient;
    if (message.command === 'groupchat' ? !rooms[to] : to !== 'ALL' && !users.has(to)) {
      return answer(socket, ack, 'message', '404', 'no such user or room ' + to);
    }
    const out = {
      seq: String(++seq),
      time: new Date().toISOString(),
      sender,
      recepient: to,
      command: message.command,
      type: message.type || 'text',
      data: message.data,
    };
    if (message.cid !== undefined) out.cid = message.cid;
    if (message.command === 'groupchat') {
      io.to(to).emit('message', out);
    } else if (to === 'ALL') {
      io.emit('message', out);
      keep(allLog, out);
    } else {
      io.to('user:' + to).emit('message', out);
      keep(users.get(to).inbox, out);
      if (to !== sender) keep(users.get(sender).inbox, out);
    }
    answer(socket, ack, 'message', '200', 'sent', { seq: out.seq, time: out.time });
  });

  socket.on('room', (room, ack) => {
    if (!socket.data.id) return answer(socket, ack, 'room', '401', 'log in first');
    if (!room || typeof room.command !== 'string') return answer(socket, ack, 'room', '400', 'command: required');
    const id = room.roomId;
    if (room.command === 'list') {
      socket.emit('room', { command: 'list', rooms: roomList() });
      return answer(socket, ack, 'room', '200', 'room list sent');
    }
    if (typeof id !== 'string' || id === '') return answer(socket, ack, 'room', '400', 'roomId: required');
    switch (room.command) {
      case 'create':
        if (rooms[id]) return answer(socket, ack, 'room', '409', 'room exists');
        rooms[id] = { id, name: room.roomName, owner: socket.data.id };
        socket.join(id);
        break;
      case 'update':
        if (!rooms[id]) return answer(socket, ack, 'room', '404', 'no such room');
        rooms[id].name = room.roomName;
        break;
      case 'delete':
        if (!rooms[id]) return answer(socket, ack, 'room', '404', 'no such room');
        io.to(id).emit('room', { command: 'deleted', roomId: id });
        io.socketsLeave(id);
        delete rooms[id];
        break;
      case 'join':
        if (!rooms[id]) return answer(socket, ack, 'room', '404', 'no such room');
        socket.join(id);
        break;
      case 'leave':
        socket.leave(id);
        break;
      default:
        return answer(socket, ack, 'room', '400', 'unknown room command');
    }
    answer(socket, ack, 'room', '200', 'room ' + room.command + ' done');
    io.emit('room', { command: 'list', rooms: roomList() });
  });
});

httpServer.listen(port, host, () => {
  console.log(`peer listening on ${host}:${httpServer.address().port}`);
});

function stop() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
