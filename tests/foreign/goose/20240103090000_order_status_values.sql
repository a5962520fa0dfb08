-- +goose Up
-- Data change: the old status names.
ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
UPDATE orders SET status = 'pending' WHERE status = 'new';
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending';

-- +goose Down
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';
UPDATE orders SET status = 'new' WHERE status = 'pending';
ALTER TABLE orders DROP COLUMN shipped_at;
