/* outer /* inner */ still outer
DROP TABLE users;
