-- 002_revocations: deleted ids stay reserved, memberships know when they
-- began, and every revocation of sessions is logged for running servers.

-- The ids of deleted accounts (issue 18). Nobody may sign up or log in
-- with one again, in any case: the messages it sent and received stay
-- under its key, and a new account with that key would see them.
CREATE TABLE deleted_users (
	id_key  TEXT PRIMARY KEY,
	id      TEXT NOT NULL,
	deleted TEXT NOT NULL            -- shared.FormatTime
) WITHOUT ROWID;

-- When the membership began (shared.FormatTime): a deleted owner's room
-- passes to its longest-standing member, ties broken by user_key.
-- Memberships older than this migration get the later of the room's and
-- the account's creation time, the earliest moment the member can have
-- joined: members whose accounts are older than the room tie at its
-- creation (and the fold of their ids decides), members who signed up
-- later rank by sign-up. FormatTime has a fixed width, so max() and
-- ORDER BY on the text are chronological.
ALTER TABLE members ADD COLUMN joined TEXT NOT NULL DEFAULT '';
UPDATE members SET joined = max(
	coalesce((SELECT created FROM rooms WHERE id_key = members.room_key), ''),
	coalesce((SELECT created FROM users WHERE id_key = members.user_key), ''));
CREATE INDEX members_joined ON members(room_key, joined, user_key);

-- Sessions revoked by any process (a logout, 'chatapp user passwd',
-- 'user logout', 'user del'), written in the transaction of the change.
-- Each running server reads the rows after the last one it has seen,
-- about once a second, and disconnects the sockets they name. seq is
-- AUTOINCREMENT so that pruning old rows never lets a seq come back.
CREATE TABLE revocations (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	user_key TEXT NOT NULL,
	token    BLOB,                   -- hash of the one revoked token; NULL: every session of the user
	deleted  INTEGER NOT NULL DEFAULT 0,  -- 1: the account itself was deleted
	time     INTEGER NOT NULL        -- Unix milliseconds, for pruning
);
