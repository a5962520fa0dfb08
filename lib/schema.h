/*
 * Drift detection internals: the schema model replayed from a plan's
 * applied versions (schema_model.c), compared with the live catalog a
 * driver reads (schema.c).
 */
#ifndef MIGRATE_SCHEMA_H
#define MIGRATE_SCHEMA_H

#include "internal.h"

/* Each element type starts with its `char *name` (schema_model.c looks them up by it). */
typedef struct migrate__scol {
	char *name;
	bson_t *doc; /* the column document of the step that made it */
	uint64_t version;
} migrate__scol;

typedef struct migrate__sidx {
	char *name;
	char **keys; /* column names, in key order */
	bool *desc;  /* per key: descending */
	size_t nkeys;
	bool unique, where;
	uint64_t version;
} migrate__sidx;

typedef struct migrate__stable {
	char *name;
	migrate__scol *cols;
	size_t ncols, capcols;
	migrate__sidx *idx;
	size_t nidx, capidx;
	char **pk; /* primary key columns */
	size_t npk;
	bool pk_known;  /* false: a raw step or a dropped column may have changed it */
	char **ignored; /* indexes that went with a dropped column: never reported as extra */
	size_t nignored;
	bool open;        /* a raw step may have changed it: only what is missing is reported */
	uint64_t version; /* the version that made it (or renamed it) */
} migrate__stable;

typedef struct migrate__senum {
	char *name;
	char **values;
	size_t nvalues;
	bool open;
	uint64_t version;
} migrate__senum;

typedef struct migrate__schema {
	migrate__stable *tables;
	size_t ntables, captables;
	migrate__senum *enums;
	size_t nenums, capenums;
	uint64_t partial; /* the last version with a raw step, 0 when none */
	bool oom;
} migrate__schema;

/* Replays the steps in effect per `h` (whole applied versions, the journaled steps of the others). */
int migrate__schema_replay(migrate__schema *m, const migrate_plan_t *plan, migrate__history *h, migrate_error_t *err);
/* Replays one step of `version` over `m` (lint.c walks a plan step by step); allocation failures set m->oom. */
void migrate__schema_step(migrate__schema *m, const migrate_step_t *step, uint64_t version);
void migrate__schema_free(migrate__schema *m);
migrate__stable *migrate__schema_table(migrate__schema *m, const char *name);

#endif
