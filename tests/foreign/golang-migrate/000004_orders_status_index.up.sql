-- Built without blocking writes: PostgreSQL refuses it in a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
