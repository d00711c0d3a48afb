-- Retries find an update by its id through the id's last six characters instead of the whole id. The SDK's ids are
-- random UUIDs, so a commit's updates land on pages of the index of their own: with the whole id as the key (about 50
-- bytes an entry) the index was a third of the pages a commit wrote; the six-character key's denser pages are shared
-- by more of a commit's updates. Ids that share their last six characters are told apart by comparing the whole id,
-- so a collision costs a row read, never a wrong answer. The unique index also refused an id already in the DID's
-- log; the append now looks for it through this index and fails whole, as before (SqliteLogStatements).
DROP INDEX vivim_log_updates_update_id;

CREATE INDEX vivim_log_updates_update_id_tail ON vivim_log_updates (did_id, substr(update_id, -6));
