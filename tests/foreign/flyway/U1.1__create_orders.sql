DROP TABLE orders;
DELETE FROM users WHERE email IN ('ada@example.com', 'bob@example.com');
