\set ON_ERROR_STOP on
SELECT 1 \gset
\i other.sql
  \copy t from 'x'
DROP TABLE t;
\
\\
