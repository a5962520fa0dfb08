ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';
UPDATE orders SET status = 'new' WHERE status = 'pending';
ALTER TABLE orders DROP COLUMN shipped_at;
