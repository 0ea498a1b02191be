-- 001_init: accounts, sessions, rooms, membership and the message log.
--
-- Every *_key column is shared.Fold of the display id beside it: ids are
-- unique regardless of case, and display ids keep the case they were
-- created with. Keys compare with the BINARY collation, so ORDER BY a key
-- is byte order.

CREATE TABLE users (
	id_key  TEXT PRIMARY KEY,
	id      TEXT NOT NULL,
	hash    BLOB NOT NULL,           -- slow salted password hash, opaque here
	alias   TEXT NOT NULL DEFAULT '',
	today   TEXT NOT NULL DEFAULT '',
	created TEXT NOT NULL            -- shared.FormatTime
) WITHOUT ROWID;

CREATE TABLE tokens (
	hash     BLOB PRIMARY KEY,       -- hash of the session token; the token itself is never stored
	user_key TEXT NOT NULL REFERENCES users(id_key) ON DELETE CASCADE,
	expires  INTEGER NOT NULL        -- Unix milliseconds
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens(user_key);

CREATE TABLE rooms (
	id_key  TEXT PRIMARY KEY,
	id      TEXT NOT NULL,
	name    TEXT NOT NULL,
	owner   TEXT NOT NULL,           -- display id of the creator; stays if the account goes
	created TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE members (
	room_key TEXT NOT NULL REFERENCES rooms(id_key) ON DELETE CASCADE,
	user_key TEXT NOT NULL REFERENCES users(id_key) ON DELETE CASCADE,
	PRIMARY KEY (room_key, user_key)
) WITHOUT ROWID;
CREATE INDEX members_user ON members(user_key, room_key);

-- seq is global and increasing. AUTOINCREMENT keeps the high-water mark in
-- sqlite_sequence, so a seq is never reused after its message is deleted
-- (DeleteRoom) and client offsets stay valid.
CREATE TABLE messages (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	time          TEXT NOT NULL,     -- shared.FormatTime of the commit batch
	sender        TEXT NOT NULL,
	sender_key    TEXT NOT NULL,
	recipient     TEXT NOT NULL,
	recipient_key TEXT NOT NULL,     -- user key, 'all', or room key
	command       TEXT NOT NULL CHECK (command IN ('chat', 'groupchat')),
	type          TEXT NOT NULL,
	data          TEXT NOT NULL,
	cid           TEXT NOT NULL DEFAULT ''
);

-- Retries: one message per (sender, cid).
CREATE UNIQUE INDEX messages_cid ON messages(sender_key, cid) WHERE cid <> '';
-- DMs and ALL to a user, and room messages (recovery, room and ALL history,
-- DeleteRoom).
CREATE INDEX messages_recipient ON messages(recipient_key, command, seq);
-- DMs a user sent (recovery).
CREATE INDEX messages_sender ON messages(sender_key, seq) WHERE command = 'chat';
-- One direction of a conversation (history).
CREATE INDEX messages_pair ON messages(sender_key, recipient_key, seq) WHERE command = 'chat';
