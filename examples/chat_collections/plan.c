/* Seed 004 (chat collections) as a libmigrate plan; see plan.h. */
#include "plan.h"

#include <stdio.h>

const char *const chat_collections_names[] = {"chat_sessions", "chat_messages", "token_usage", "message_votes", NULL};

static const char *const steps[] = {
	/* chat_sessions: session metadata. */
	"{\"op\":\"create_table\",\"table\":\"chat_sessions\",\"validate\":true,\"columns\":["
	"{\"name\":\"id\",\"type\":\"text\",\"nullable\":false},{\"name\":\"user_id\",\"type\":\"text\"},"
	"{\"name\":\"session_type\",\"type\":\"text\"},{\"name\":\"title\",\"type\":\"text\"},"
	"{\"name\":\"is_active\",\"type\":\"boolean\"},{\"name\":\"created_at\",\"type\":\"timestamp\"},"
	"{\"name\":\"updated_at\",\"type\":\"timestamp\"},{\"name\":\"_schema_version\",\"type\":\"text\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"id_unique\",\"unique\":true,\"keys\":[{\"column\":\"id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"user_id_1\",\"keys\":[{\"column\":\"user_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"session_type_1\",\"keys\":[{\"column\":\"session_type\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"is_active_1\",\"keys\":[{\"column\":\"is_active\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"created_at_-1\",\"keys\":[{\"column\":\"created_at\",\"order\":\"desc\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"user_id_1_created_at_-1\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"created_at\",\"order\":\"desc\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_sessions\",\"name\":\"user_id_1_is_active_1\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"is_active\"}]}",

	/* chat_messages: the messages of the conversations. */
	"{\"op\":\"create_table\",\"table\":\"chat_messages\",\"validate\":true,\"columns\":["
	"{\"name\":\"id\",\"type\":\"text\",\"nullable\":false},{\"name\":\"session_id\",\"type\":\"text\"},"
	"{\"name\":\"user_id\",\"type\":\"text\"},{\"name\":\"role\",\"type\":\"text\"},"
	"{\"name\":\"content\",\"type\":\"text\"},{\"name\":\"status\",\"type\":\"text\"},"
	"{\"name\":\"created_at\",\"type\":\"timestamp\"},{\"name\":\"_schema_version\",\"type\":\"text\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"id_unique\",\"unique\":true,\"keys\":[{\"column\":\"id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"session_id_1\",\"keys\":[{\"column\":\"session_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"user_id_1\",\"keys\":[{\"column\":\"user_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"role_1\",\"keys\":[{\"column\":\"role\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"status_1\",\"keys\":[{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"created_at_-1\",\"keys\":[{\"column\":\"created_at\",\"order\":\"desc\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"session_id_1_created_at_1\","
	"\"keys\":[{\"column\":\"session_id\"},{\"column\":\"created_at\"}]}",
	"{\"op\":\"create_index\",\"table\":\"chat_messages\",\"name\":\"user_id_1_created_at_-1\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"created_at\",\"order\":\"desc\"}]}",

	/* token_usage: cost monitoring. */
	"{\"op\":\"create_table\",\"table\":\"token_usage\",\"validate\":true,\"columns\":["
	"{\"name\":\"id\",\"type\":\"text\",\"nullable\":false},{\"name\":\"message_id\",\"type\":\"text\"},"
	"{\"name\":\"session_id\",\"type\":\"text\"},{\"name\":\"user_id\",\"type\":\"text\"},"
	"{\"name\":\"model\",\"type\":\"text\"},{\"name\":\"prompt_tokens\",\"type\":\"integer\"},"
	"{\"name\":\"completion_tokens\",\"type\":\"integer\"},{\"name\":\"total_tokens\",\"type\":\"integer\"},"
	"{\"name\":\"cost\",\"type\":\"double\"},{\"name\":\"created_at\",\"type\":\"timestamp\"},"
	"{\"name\":\"_schema_version\",\"type\":\"text\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"id_unique\",\"unique\":true,\"keys\":[{\"column\":\"id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"message_id_1\",\"keys\":[{\"column\":\"message_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"session_id_1\",\"keys\":[{\"column\":\"session_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"model_1\",\"keys\":[{\"column\":\"model\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"created_at_-1\",\"keys\":[{\"column\":\"created_at\",\"order\":\"desc\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"user_id_1_created_at_-1\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"created_at\",\"order\":\"desc\"}]}",
	"{\"op\":\"create_index\",\"table\":\"token_usage\",\"name\":\"model_1_created_at_-1\","
	"\"keys\":[{\"column\":\"model\"},{\"column\":\"created_at\",\"order\":\"desc\"}]}",

	/* message_votes: feedback, one vote per user per message. */
	"{\"op\":\"create_table\",\"table\":\"message_votes\",\"validate\":true,\"columns\":["
	"{\"name\":\"id\",\"type\":\"text\",\"nullable\":false},{\"name\":\"message_id\",\"type\":\"text\"},"
	"{\"name\":\"user_id\",\"type\":\"text\"},{\"name\":\"vote_type\",\"type\":\"text\"},"
	"{\"name\":\"created_at\",\"type\":\"timestamp\"},{\"name\":\"_schema_version\",\"type\":\"text\"}]}",
	"{\"op\":\"create_index\",\"table\":\"message_votes\",\"name\":\"id_unique\",\"unique\":true,\"keys\":[{\"column\":\"id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"message_votes\",\"name\":\"message_id_1\",\"keys\":[{\"column\":\"message_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"message_votes\",\"name\":\"user_id_1\",\"keys\":[{\"column\":\"user_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"message_votes\",\"name\":\"vote_type_1\",\"keys\":[{\"column\":\"vote_type\"}]}",
	"{\"op\":\"create_index\",\"table\":\"message_votes\",\"name\":\"created_at_-1\",\"keys\":[{\"column\":\"created_at\",\"order\":\"desc\"}]}",
	"{\"op\":\"create_index\",\"table\":\"message_votes\",\"name\":\"message_id_1_user_id_1\",\"unique\":true,"
	"\"keys\":[{\"column\":\"message_id\"},{\"column\":\"user_id\"}]}",

	/* _schema_version "1.0.0" on every document already there (none in fresh collections). */
	"{\"op\":\"add_column\",\"table\":\"chat_sessions\",\"column\":{\"name\":\"_schema_version\",\"type\":\"text\","
	"\"default\":{\"value\":\"1.0.0\"}}}",
	"{\"op\":\"add_column\",\"table\":\"chat_messages\",\"column\":{\"name\":\"_schema_version\",\"type\":\"text\","
	"\"default\":{\"value\":\"1.0.0\"}}}",
	"{\"op\":\"add_column\",\"table\":\"token_usage\",\"column\":{\"name\":\"_schema_version\",\"type\":\"text\","
	"\"default\":{\"value\":\"1.0.0\"}}}",
	"{\"op\":\"add_column\",\"table\":\"message_votes\",\"column\":{\"name\":\"_schema_version\",\"type\":\"text\","
	"\"default\":{\"value\":\"1.0.0\"}}}",
	NULL};

int chat_collections_plan(migrate_plan_t **out, migrate_error_t *err)
{
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	int rc = migrate_plan_new(&p, "chat_collections", err);

	if (rc == 0)
		rc = migrate_plan_add_version(p, 1, "create_chat_collections", &v, err);
	for (size_t i = 0; rc == 0 && steps[i]; i++)
		rc = migrate_version_add_step_json(v, steps[i], NULL, err);
	if (rc) {
		migrate_plan_destroy(p);
		p = NULL;
	}
	*out = p;
	return rc;
}
