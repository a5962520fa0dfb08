-- flyway:executeInTransaction=false
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_idx ON users (created_at);
