-- 003_v2: protocol version 2 (docs/STORAGE.md). One table of sequenced
-- events replaces messages; conversations, read marks, mentions,
-- reactions, private rooms, files and the search indexes are added. A
-- version 1 database is converted in place: every message becomes an
-- event with its seq, and the derived state is computed from them.
--
-- Conversation keys (store.Conv): 'all', 'r:' || room key, and
-- 'd:' || lo || '/' || hi for the users' keys lo <= hi.

-- Every sequenced event: a message (command chat or groupchat) or a change
-- to one (edit, delete, react). A message row holds the message as it is
-- now: edited text, or deleted (data '' and file NULL). data is the last
-- column so that reading the others never touches its overflow pages.
CREATE TABLE events (
	seq        INTEGER PRIMARY KEY,  -- assigned by the committer; meta.last_seq is the high-water mark
	conv       TEXT NOT NULL,
	ord        INTEGER NOT NULL,     -- the number of messages in conv up to and including this event
	time       TEXT NOT NULL,        -- shared.FormatTime of the commit batch
	sender     TEXT NOT NULL,        -- who sent the message or made the change
	sender_key TEXT NOT NULL,
	recipient  TEXT NOT NULL,        -- display id of a user, ALL or a room; a change has its message's
	command    TEXT NOT NULL CHECK (command IN ('chat', 'groupchat', 'edit', 'delete', 'react')),
	type       TEXT NOT NULL DEFAULT 'text',
	cid        TEXT NOT NULL DEFAULT '',
	ref        INTEGER,              -- changes: the message's seq
	reply_to   INTEGER,              -- messages: replyTo
	mentions   TEXT,                 -- messages: mentioned display ids, space-separated, of the current text
	file       TEXT,                 -- messages: files.id
	edited     TEXT,                 -- messages: time of the last edit
	deleted    INTEGER NOT NULL DEFAULT 0, -- messages: erased
	on_        INTEGER,              -- react: 1 added, 0 removed
	data       TEXT NOT NULL DEFAULT '' -- messages: current text; edit: new text; react: the emoji
);
-- History, replay, a conversation's newest event and its message count:
-- every insert writes this index and the table, nothing else.
CREATE INDEX events_conv ON events(conv, seq, ord);
-- Retries: one event per (sender, cid).
CREATE UNIQUE INDEX events_cid ON events(sender_key, cid) WHERE cid <> '';
-- Unread counts skip deleted messages; only deletions write it.
CREATE INDEX events_deleted ON events(conv, seq, sender_key) WHERE deleted = 1;
-- The changes of a message (a delete erases its edits' text); only
-- changes write it.
CREATE INDEX events_ref ON events(ref) WHERE ref IS NOT NULL;
-- Which messages hold a file (issue 13).
CREATE INDEX events_file ON events(file) WHERE file IS NOT NULL;

-- A user's side of a conversation. Every direct conversation has a row
-- for both users from its first message (peer: the other user's display
-- id, one's own for notes to self); other conversations get one when the
-- user sends in them or reads them. read_ord is the ord of the event at
-- read_seq; own_after counts the user's messages after read_seq, last_own
-- is the seq of the newest.
CREATE TABLE user_convs (
	user_key  TEXT NOT NULL,
	conv      TEXT NOT NULL,
	peer      TEXT NOT NULL DEFAULT '',
	read_seq  INTEGER NOT NULL DEFAULT 0,
	read_ord  INTEGER NOT NULL DEFAULT 0,
	own_after INTEGER NOT NULL DEFAULT 0,
	last_own  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_key, conv)
) WITHOUT ROWID;

-- One row per account a message mentions, the sender aside; replaced when
-- the message is edited, removed when it is deleted.
CREATE TABLE mentions (
	user_key TEXT NOT NULL,
	conv     TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	PRIMARY KEY (user_key, conv, seq)
) WITHOUT ROWID;

-- The current reactions of each message.
CREATE TABLE reactions (
	seq      INTEGER NOT NULL,
	emoji    TEXT NOT NULL,
	user_key TEXT NOT NULL,
	user     TEXT NOT NULL,       -- display id
	time     TEXT NOT NULL,
	PRIMARY KEY (seq, emoji, user_key)
) WITHOUT ROWID;

-- Private rooms (issue 12): invisible to non-members.
ALTER TABLE rooms ADD COLUMN private INTEGER NOT NULL DEFAULT 0;

-- Uploaded files (issue 13); the bytes live in the data directory.
CREATE TABLE files (
	id        TEXT PRIMARY KEY,
	owner_key TEXT NOT NULL,
	name      TEXT NOT NULL,
	size      INTEGER NOT NULL,
	type      TEXT NOT NULL,
	hash      TEXT,
	width     INTEGER,
	height    INTEGER,
	created   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX files_owner ON files(owner_key, created);

-- Message search (issue 12): each message's current text as character
-- bigrams and a final unigram per word, rowid = seq; contentless, and
-- deleted rows leave nothing behind (secure-delete).
CREATE VIRTUAL TABLE search USING fts5(
	words, content = '', contentless_delete = 1,
	tokenize = 'unicode61 remove_diacritics 0');
INSERT INTO search(search, rank) VALUES ('secure-delete', 1);

-- The users directory (issue 12): the grams of each account's folded id
-- and alias, in the scheme of search, as a plain index that pages by
-- folded id.
CREATE TABLE user_grams (
	gram     TEXT NOT NULL,
	user_key TEXT NOT NULL,
	PRIMARY KEY (gram, user_key)
) WITHOUT ROWID;

-- last_seq: the highest seq ever assigned (seqs are never reused, even
-- after a room's events are deleted). search_seq: the seq up to which
-- search is indexed. directory_built: 1 once user_grams holds every
-- account.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value NOT NULL
) WITHOUT ROWID;

-- The version 1 messages, with their conversation keys.
CREATE TEMP VIEW v1_messages AS SELECT m.*, CASE
		WHEN command = 'groupchat' THEN 'r:' || recipient_key
		WHEN recipient_key = 'all' THEN 'all'
		WHEN sender_key <= recipient_key THEN 'd:' || sender_key || '/' || recipient_key
		ELSE 'd:' || recipient_key || '/' || sender_key END AS conv
	FROM messages m;

INSERT INTO events (seq, conv, ord, time, sender, sender_key, recipient, command, type, cid, data)
	SELECT seq, conv, row_number() OVER (PARTITION BY conv ORDER BY seq),
		time, sender, sender_key, recipient, command, type, cid, data
	FROM v1_messages;

-- The senders' rows of every conversation, and the receivers' of direct
-- ones. No read marks existed before: read_seq stays 0.
INSERT INTO user_convs (user_key, conv, peer, own_after, last_own)
	SELECT user_key, conv, max(peer), sum(own), max(own * seq) FROM (
		SELECT sender_key AS user_key, conv,
			CASE WHEN conv LIKE 'd:%' THEN recipient ELSE '' END AS peer, 1 AS own, seq
			FROM v1_messages
		UNION ALL
		SELECT recipient_key, conv, sender, 0, seq FROM v1_messages
			WHERE conv LIKE 'd:%' AND recipient_key <> sender_key)
	GROUP BY user_key, conv;

INSERT INTO meta (key, value) VALUES
	('last_seq', max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),
		coalesce((SELECT max(seq) FROM messages), 0))),
	('search_seq', 0),
	('directory_built', 0);

DROP VIEW v1_messages;
DROP TABLE messages;
