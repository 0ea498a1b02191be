-- 005_files: the indexes uploaded files need (issue 13, docs/STORAGE.md
-- "Files"). The files table of 003 is kept as it is.

-- A blob is erased when no row names its hash any more: one seek per
-- erased file instead of a scan of the table.
CREATE INDEX files_hash ON files(hash);

-- A user's quota is the sum of their files' sizes: with size in the
-- index the sum reads the index alone. created was not used by any query.
DROP INDEX files_owner;
CREATE INDEX files_owner ON files(owner_key, size);
