DO $$
BEGIN
  EXECUTE 'TRUNCATE ' || quote_ident(t);
  DO $inner$ BEGIN DROP TABLE x; END $inner$;
END
$$;
DO LANGUAGE plpgsql $$ BEGIN PERFORM 1; END $$;
DO 'BEGIN DELETE FROM t; END';
DO $a$ DO $b$ DO $c$ DO $d$ DO $e$ SELECT 1; $e$; $d$; $c$; $b$; $a$;
