-- migrate:up
CREATE TABLE t();
-- migrate:down
DROP TABLE t;
-- +goose Up
-- +goose Down
-- +goose StatementBegin
--migrate:down
-- migrate:up extra words
-- +goose
--
