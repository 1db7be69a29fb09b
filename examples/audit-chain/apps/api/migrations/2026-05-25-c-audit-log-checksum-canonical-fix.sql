-- Canonical checksum input (#994): digest(text) hashed the text in the database encoding,
-- so instances with different encodings computed different checksums for the same row.
-- Hash the UTF-8 bytes explicitly, and add the verifier the API's /audit/verify calls.

-- Walks one org's chain in timestamp, id order and returns every row whose link is broken.
CREATE OR REPLACE FUNCTION audit_log_verify_chain(p_org UUID)
RETURNS TABLE (id UUID, expected TEXT, actual TEXT) AS $$
DECLARE
  r RECORD;
  prev TEXT := NULL;
BEGIN
  FOR r IN
    SELECT a.id, a.checksum, a.prev_checksum
    FROM audit_logs a
    WHERE a.org_id IS NOT DISTINCT FROM p_org
    ORDER BY a.timestamp, a.id
  LOOP
    IF r.prev_checksum IS DISTINCT FROM prev THEN
      id := r.id;
      expected := prev;
      actual := r.prev_checksum;
      RETURN NEXT;
    END IF;
    prev := r.checksum;
  END LOOP;
END;
$$ LANGUAGE plpgsql STABLE;

CREATE OR REPLACE FUNCTION audit_log_compute_checksum() RETURNS trigger AS $$
DECLARE
  prev TEXT;
  payload TEXT;
BEGIN
  payload := concat_ws('|',
    NEW.id::text, COALESCE(NEW.org_id::text, ''), NEW.action, NEW.timestamp::text
  );

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
