-- flyway:executeInTransaction=false
DROP INDEX CONCURRENTLY IF EXISTS users_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;
