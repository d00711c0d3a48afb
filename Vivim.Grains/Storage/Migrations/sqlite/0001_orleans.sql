-- What the Orleans 10.4.2 ADO.NET grain storage needs on SQLite (invariant "System.Data.SQLite", which Orleans maps to
-- Microsoft.Data.Sqlite). SQLite serves the single-process node, so there is no clustering or reminders here.
-- The provider reads its statements from OrleansQuery at startup and binds fixed parameter names (@GrainIdHash, ...);
-- the statements below are ours and answer with the column names the provider reads. version is its ETag.

-- The provider hard-codes "SELECT QueryKey, QueryText FROM OrleansQuery": this one name is theirs.
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- A record is keyed by the service, the state name (the provider calls it the grain type) and the grain key: for
-- integer and Guid keys the two 64-bit halves plus the key extension, for string keys only the extension. The grain
-- type itself is not part of the key, so two grain classes must not share a state name on one provider.
-- A cleared record keeps its row with a null payload, so its version (the ETag) keeps counting.
CREATE TABLE IF NOT EXISTS vivim_grain_state (
    grain_id_hash INTEGER NOT NULL,
    state_name_hash INTEGER NOT NULL,
    service_id TEXT NOT NULL,
    state_name TEXT NOT NULL,
    grain_id_n0 INTEGER NOT NULL,
    grain_id_n1 INTEGER NOT NULL,
    grain_id_extension TEXT,
    payload BLOB,
    version INTEGER NOT NULL,
    written_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The record's identity and its lookup path in one index, led by the two 32-bit hashes the provider sends with every
-- call. SQLite's unique indexes let nulls repeat, so a null extension (integer and Guid keys without one) is indexed as
-- '' and any other as '+' followed by it.
CREATE UNIQUE INDEX IF NOT EXISTS vivim_grain_state_key ON vivim_grain_state (
    grain_id_hash, state_name_hash, service_id, state_name, grain_id_n0, grain_id_n1,
    coalesce('+' || grain_id_extension, ''));

-- Aliases are the column names the provider reads. Versions are only compared for equality, so they wrap at the top
-- of a 32-bit integer (the provider parses ETags as int) instead of overflowing it.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('ReadFromStorageKey', '
SELECT payload AS PayloadBinary, version AS Version
FROM vivim_grain_state
WHERE grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce(''+'' || grain_id_extension, '''') = coalesce(''+'' || @GrainIdExtensionString, '''')
'),

-- With a version: replace the record holding it. Without one: create the record, which must not exist yet (the unique
-- key makes two first writes race safely). Only one of the two statements can match; no row back means a conflict to
-- the provider.
('WriteToStorageKey', '
UPDATE vivim_grain_state
SET payload = @PayloadBinary, version = version % 2147483647 + 1,
    written_at = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now'')
WHERE @GrainStateVersion IS NOT NULL
  AND grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce(''+'' || grain_id_extension, '''') = coalesce(''+'' || @GrainIdExtensionString, '''')
  AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;

INSERT INTO vivim_grain_state (
    grain_id_hash, state_name_hash, service_id, state_name, grain_id_n0, grain_id_n1, grain_id_extension,
    payload, version)
SELECT @GrainIdHash, @GrainTypeHash, @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1,
    @GrainIdExtensionString, @PayloadBinary, 1
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING version AS NewGrainStateVersion;
'),

('ClearStorageKey', '
UPDATE vivim_grain_state
SET payload = NULL, version = version % 2147483647 + 1,
    written_at = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now'')
WHERE grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce(''+'' || grain_id_extension, '''') = coalesce(''+'' || @GrainIdExtensionString, '''')
  AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion
'),

-- Used instead of ClearStorageKey when a provider is configured with DeleteStateOnClear.
('DeleteStorageKey', '
DELETE FROM vivim_grain_state
WHERE grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce(''+'' || grain_id_extension, '''') = coalesce(''+'' || @GrainIdExtensionString, '''')
  AND version = @GrainStateVersion
RETURNING version % 2147483647 + 1 AS NewGrainStateVersion
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
