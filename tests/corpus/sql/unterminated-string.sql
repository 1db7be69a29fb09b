SELECT 'abc
DROP TABLE users;
