-- Audit log hash chain (#900): every audit row carries the checksum of its predecessor in
-- the same organisation, so a deleted or edited row breaks the chain.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

ALTER TABLE audit_logs
  ADD COLUMN IF NOT EXISTS checksum TEXT,
  ADD COLUMN IF NOT EXISTS prev_checksum TEXT;

CREATE INDEX IF NOT EXISTS audit_logs_org_chain_idx
  ON audit_logs (org_id, timestamp DESC, id DESC);

-- Computes the row checksum and links it to the latest row of the same org.
CREATE OR REPLACE FUNCTION audit_log_compute_checksum() RETURNS trigger AS $$
DECLARE
  prev TEXT;
  payload TEXT;
BEGIN
  payload := concat_ws('|',
    NEW.id::text,
    COALESCE(NEW.org_id::text, ''),
    NEW.action,
    NEW.timestamp::text
  );

  SELECT checksum INTO prev
  FROM audit_logs
  WHERE org_id IS NOT DISTINCT FROM NEW.org_id
    AND id <> NEW.id
  ORDER BY timestamp DESC, id DESC
  LIMIT 1;

  NEW.prev_checksum := prev;
  NEW.checksum := encode(digest(COALESCE(prev, '') || payload, 'sha256'), 'hex');
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_log_checksum ON audit_logs;
CREATE TRIGGER audit_log_checksum BEFORE INSERT ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_log_compute_checksum();
