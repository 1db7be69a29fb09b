-- Serialize each org's audit chain (#1002). Concurrent inserts for one org all read the
-- same latest checksum as their predecessor and forked the chain, so verify_chain reported
-- breaks nobody made. A transaction-scoped advisory lock per org, taken before the
-- predecessor read, makes them take turns; it is released when the inserting transaction
-- ends. COALESCE because hashtext(NULL) is NULL, and a NULL key would take no lock at all.
--
-- Deploy this before healing already-forked rows, or new forks keep appearing.
CREATE OR REPLACE FUNCTION audit_log_compute_checksum() RETURNS trigger AS $$
DECLARE
  prev TEXT;
  payload TEXT;
BEGIN
  payload := concat_ws('|',
    NEW.id::text, COALESCE(NEW.org_id::text, ''), NEW.action, NEW.timestamp::text
  );

  PERFORM pg_advisory_xact_lock(574470355, hashtext(COALESCE(NEW.org_id::text, 'NULL')));

  SELECT checksum INTO prev
  FROM audit_logs
  WHERE org_id IS NOT DISTINCT FROM NEW.org_id
    AND id <> NEW.id
  ORDER BY timestamp DESC, id DESC
  LIMIT 1;

  NEW.prev_checksum := prev;
  NEW.checksum := encode(
    digest(convert_to(COALESCE(prev, '') || payload, 'UTF8'), 'sha256'),
    'hex'
  );
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
