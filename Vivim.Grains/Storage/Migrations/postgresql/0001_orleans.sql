-- What the Orleans 10.4.2 ADO.NET providers (invariant "Npgsql") need: grain state, cluster membership, reminders.
-- The providers read their statements from OrleansQuery at startup and bind fixed parameter names (@GrainIdHash,
-- @DeploymentId, ...); the statements below are ours, over our tables, and answer with the column names the providers
-- read. Version columns are the providers' ETags.

-- The providers hard-code "SELECT QueryKey, QueryText FROM OrleansQuery": this one name is theirs.
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey text PRIMARY KEY,
    QueryText text NOT NULL
);

---------------------------------------------------------------------------------------------------------------------
-- Grain state (AdoNetGrainStorage).
-- A record is keyed by the service, the state name (the provider calls it the grain type) and the grain key: for
-- integer and Guid keys the two 64-bit halves plus the key extension, for string keys only the extension. The grain
-- type itself is not part of the key, so two grain classes must not share a state name on one provider.
-- A cleared record keeps its row with a null payload, so its version (the ETag) keeps counting.
CREATE TABLE IF NOT EXISTS vivim_grain_state (
    grain_id_hash integer NOT NULL,
    state_name_hash integer NOT NULL,
    service_id text NOT NULL,
    state_name text NOT NULL,
    grain_id_n0 bigint NOT NULL,
    grain_id_n1 bigint NOT NULL,
    grain_id_extension text,
    payload bytea,
    version integer NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
-- Room on each page for the new row version: most writes replace payload and version only, which then stay HOT
-- (no index update).
) WITH (fillfactor = 90);

-- The record's identity and its lookup path in one index, led by the two 32-bit hashes the provider sends with every
-- call. A null extension (integer and Guid keys without one) is kept apart from an empty one by the '+' prefix. Being
-- a btree key, a string grain key must stay under about 2 KB.
CREATE UNIQUE INDEX IF NOT EXISTS vivim_grain_state_key ON vivim_grain_state (
    grain_id_hash, state_name_hash, service_id, state_name, grain_id_n0, grain_id_n1,
    (coalesce('+' || grain_id_extension, '')));

---------------------------------------------------------------------------------------------------------------------
-- Cluster membership (AdoNetClusteringTable, AdoNetGatewayListProvider). The providers' DeploymentId is the ClusterId.
-- Every membership change of a cluster bumps its one version row, which the providers use as the table's ETag.
CREATE TABLE IF NOT EXISTS vivim_cluster_versions (
    cluster_id text PRIMARY KEY,
    version integer NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vivim_cluster_members (
    cluster_id text NOT NULL REFERENCES vivim_cluster_versions (cluster_id) ON DELETE CASCADE,
    address text NOT NULL,
    port integer NOT NULL,
    generation integer NOT NULL,
    silo_name text NOT NULL,
    host_name text NOT NULL,
    -- Orleans' SiloStatus: 3 active, 6 dead.
    status integer NOT NULL,
    proxy_port integer NOT NULL DEFAULT 0,
    suspect_times text,
    start_time timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

-- Adds a silo if the caller saw the current table version; false if another change came first or the silo is there.
CREATE OR REPLACE FUNCTION vivim_cluster_add_member(
    p_cluster_id text, p_address text, p_port integer, p_generation integer, p_silo_name text, p_host_name text,
    p_status integer, p_proxy_port integer, p_start_time timestamptz, p_i_am_alive_time timestamptz,
    p_version integer)
RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    -- The version row's lock orders concurrent changes; after waiting, the version is checked again.
    PERFORM 1 FROM vivim_cluster_versions WHERE cluster_id = p_cluster_id AND version = p_version FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    INSERT INTO vivim_cluster_members (
        cluster_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
    VALUES (
        p_cluster_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, coalesce(p_proxy_port, 0),
        p_start_time, p_i_am_alive_time)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE vivim_cluster_versions SET version = version + 1, changed_at = now() WHERE cluster_id = p_cluster_id;
    RETURN true;
END
$fn$;

-- Updates a silo's status and suspicions under the same rule.
CREATE OR REPLACE FUNCTION vivim_cluster_update_member(
    p_cluster_id text, p_address text, p_port integer, p_generation integer, p_status integer, p_suspect_times text,
    p_i_am_alive_time timestamptz, p_version integer)
RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM vivim_cluster_versions WHERE cluster_id = p_cluster_id AND version = p_version FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE vivim_cluster_members
    SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = p_i_am_alive_time
    WHERE cluster_id = p_cluster_id AND address = p_address AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE vivim_cluster_versions SET version = version + 1, changed_at = now() WHERE cluster_id = p_cluster_id;
    RETURN true;
END
$fn$;

---------------------------------------------------------------------------------------------------------------------
-- Reminders (AdoNetReminderTable). grain_hash is the grain's uniform hash as a signed integer: each silo reads the
-- reminders of its hash range of the ring.
CREATE TABLE IF NOT EXISTS vivim_reminders (
    service_id text NOT NULL,
    grain_id text NOT NULL,
    reminder_name text NOT NULL,
    grain_hash integer NOT NULL,
    start_time timestamptz NOT NULL,
    period_ms bigint NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX IF NOT EXISTS vivim_reminders_by_hash ON vivim_reminders (service_id, grain_hash);

---------------------------------------------------------------------------------------------------------------------
-- The statements. Aliases are the column names the providers read. Versions of grain state and reminders are only
-- compared for equality, so they wrap at the top of integer instead of failing; membership versions are ordered and
-- do not wrap.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('ReadFromStorageKey', $q$
SELECT payload AS "PayloadBinary", version AS "Version"
FROM vivim_grain_state
WHERE grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce('+' || grain_id_extension, '') = coalesce('+' || @GrainIdExtensionString, '')
$q$),

-- With a version: replace the record holding it. Without one: create the record, which must not exist yet (the unique
-- key makes two first writes race safely). No row back means a conflict to the provider.
('WriteToStorageKey', $q$
WITH replaced AS (
    UPDATE vivim_grain_state
    SET payload = @PayloadBinary, version = version % 2147483647 + 1, written_at = now()
    WHERE @GrainStateVersion IS NOT NULL
      AND grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
      AND service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND coalesce('+' || grain_id_extension, '') = coalesce('+' || @GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version
), created AS (
    INSERT INTO vivim_grain_state (
        grain_id_hash, state_name_hash, service_id, state_name, grain_id_n0, grain_id_n1, grain_id_extension,
        payload, version)
    SELECT @GrainIdHash, @GrainTypeHash, @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1,
        @GrainIdExtensionString, @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM replaced
UNION ALL
SELECT version FROM created
$q$),

('ClearStorageKey', $q$
UPDATE vivim_grain_state
SET payload = NULL, version = version % 2147483647 + 1, written_at = now()
WHERE grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce('+' || grain_id_extension, '') = coalesce('+' || @GrainIdExtensionString, '')
  AND version = @GrainStateVersion
RETURNING version AS "NewGrainStateVersion"
$q$),

-- Used instead of ClearStorageKey when a provider is configured with DeleteStateOnClear.
('DeleteStorageKey', $q$
DELETE FROM vivim_grain_state
WHERE grain_id_hash = @GrainIdHash AND state_name_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND coalesce('+' || grain_id_extension, '') = coalesce('+' || @GrainIdExtensionString, '')
  AND version = @GrainStateVersion
RETURNING version % 2147483647 + 1 AS "NewGrainStateVersion"
$q$),

('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO vivim_cluster_versions (cluster_id) VALUES (@DeploymentId)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) > 0 FROM created
$q$),

('InsertMembershipKey', $q$
SELECT vivim_cluster_add_member(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
    @ProxyPort, @StartTime, @IAmAliveTime, @Version)
$q$),

('UpdateMembershipKey', $q$
SELECT vivim_cluster_update_member(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
    @IAmAliveTime, @Version)
$q$),

-- Heartbeats are not membership changes: no version bump.
('UpdateIAmAlivetimeKey', $q$
UPDATE vivim_cluster_members
SET i_am_alive_time = @IAmAliveTime
WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$q$),

-- The version row comes first even without members: the provider takes the table version from the first row.
('MembershipReadAllKey', $q$
SELECT v.version AS "Version", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
    m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
    m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
FROM vivim_cluster_versions v
LEFT JOIN vivim_cluster_members m ON m.cluster_id = v.cluster_id
WHERE v.cluster_id = @DeploymentId
$q$),

('MembershipReadRowKey', $q$
SELECT v.version AS "Version", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
    m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
    m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
FROM vivim_cluster_versions v
LEFT JOIN vivim_cluster_members m ON m.cluster_id = v.cluster_id
    AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.cluster_id = @DeploymentId
$q$),

('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM vivim_cluster_members
WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0
$q$),

-- Members go with their version row.
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM vivim_cluster_versions WHERE cluster_id = @DeploymentId
$q$),

-- Orleans 10.4.2 uses the next statement when it exists and keeps this one for older schemas; both remove only dead
-- silos.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM vivim_cluster_members
WHERE cluster_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime
$q$),

-- One dead silo the caller judged defunct, only if nothing about it changed since it read the row.
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM vivim_cluster_members
WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
  AND status = 6 AND start_time = @StartTime AND i_am_alive_time = @IAmAliveTime
  AND coalesce(suspect_times, '') = coalesce(@SuspectTimes, '')
$q$),

('UpsertReminderRowKey', $q$
INSERT INTO vivim_reminders AS r (
    service_id, grain_id, reminder_name, grain_hash, start_time, period_ms, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @GrainHash, @StartTime, @Period, 0)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET grain_hash = excluded.grain_hash, start_time = excluded.start_time, period_ms = excluded.period_ms,
    version = r.version % 2147483647 + 1
RETURNING r.version AS "Version"
$q$),

('ReadReminderRowsKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
    version AS "Version"
FROM vivim_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId
$q$),

('ReadReminderRowKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
    version AS "Version"
FROM vivim_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
$q$),

-- The ring range (begin, end] when it does not wrap in signed order...
('ReadRangeRows1Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
    version AS "Version"
FROM vivim_reminders
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash
$q$),

-- ... and when it does.
('ReadRangeRows2Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
    version AS "Version"
FROM vivim_reminders
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash)
$q$),

('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM vivim_reminders
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version
    RETURNING 1
)
SELECT count(*) > 0 FROM deleted
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM vivim_reminders WHERE service_id = @ServiceId
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
