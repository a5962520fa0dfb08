CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    status text NOT NULL DEFAULT 'new',
    total_cents integer NOT NULL
);
CREATE INDEX orders_user_id_idx ON orders (user_id);
INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada'), ('bob@example.com', 'Bob');
INSERT INTO orders (user_id, status, total_cents) SELECT id, 'new', 1200 FROM users;
