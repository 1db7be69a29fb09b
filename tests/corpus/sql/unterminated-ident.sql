CREATE TABLE "users (id int);
DROP TABLE t;
