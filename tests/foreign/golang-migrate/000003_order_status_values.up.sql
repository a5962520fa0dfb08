-- Data change: the old status names.
ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
UPDATE orders SET status = 'pending' WHERE status = 'new';
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending';
