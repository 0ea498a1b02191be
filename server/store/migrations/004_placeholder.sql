-- 004_placeholder: a no-op that holds number 004 for issue 12's migration
-- (search and the directory) while issue 13's 005 is written beside it.
-- The lead drops this file at merge; 004 is then issue 12's.
SELECT 1;
