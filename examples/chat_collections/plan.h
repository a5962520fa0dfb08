/*
 * Seed 004 (chat collections) as a libmigrate plan for MongoDB. Shared by
 * the example program and the tests.
 */
#ifndef CHAT_COLLECTIONS_PLAN_H
#define CHAT_COLLECTIONS_PLAN_H

#include <migrate/migrate.h>

/*
 * The plan "chat_collections", one version "create_chat_collections":
 * chat_sessions, chat_messages, token_usage and message_votes with every
 * index the guide lists (unique ids, the per-field indexes, the compound
 * ones, and the unique one vote per user per message), and
 * `_schema_version: "1.0.0"` on their documents. Its down drops them all.
 */
int chat_collections_plan(migrate_plan_t **out, migrate_error_t *err);

/* The names of the four collections, NULL-terminated. */
extern const char *const chat_collections_names[];

#endif
