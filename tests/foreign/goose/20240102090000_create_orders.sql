-- +goose Up
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    status text NOT NULL DEFAULT 'new',
    total_cents integer NOT NULL
);
CREATE INDEX orders_user_id_idx ON orders (user_id);
INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada'), ('bob@example.com', 'Bob');
INSERT INTO orders (user_id, status, total_cents) SELECT id, 'new', 1200 FROM users;

-- +goose StatementBegin
CREATE FUNCTION orders_touch() RETURNS trigger AS $$
BEGIN
    NEW.total_cents := greatest(NEW.total_cents, 0);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_touch();

-- +goose Down
DROP TABLE orders;
DROP FUNCTION orders_touch();
DELETE FROM users WHERE email IN ('ada@example.com', 'bob@example.com');
