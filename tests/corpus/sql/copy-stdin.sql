COPY t (a, b) FROM stdin;
1	'unterminated
2	$$
\.
DROP TABLE t;
COPY u FROM stdin;
no terminator here
