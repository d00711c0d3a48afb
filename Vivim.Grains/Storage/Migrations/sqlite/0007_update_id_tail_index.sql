-- Retries find an update by its id through the id's last six characters instead of the whole id. The SDK's ids are
-- random UUIDs, so every update of a commit lands on its own page of this index: a full-id key (about 40 bytes a
-- row) made it a third of the pages a commit writes, and the six-character key's denser pages let a commit's updates
-- share them. Updates whose ids share their last six characters are told apart by comparing the whole id, so a
-- collision costs a row read, never a wrong answer. The anchor checks every batch's ids against the log under its
-- commit lock before it appends, and an append continues a DID's log only from its last seq, so no update can take a
-- second seq without the unique index.
DROP INDEX vivim_log_updates_update_id;

CREATE INDEX vivim_log_updates_update_id_tail ON vivim_log_updates (did_id, substr(update_id, -6));
