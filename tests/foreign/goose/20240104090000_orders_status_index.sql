-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_idx ON users (created_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS orders_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;
