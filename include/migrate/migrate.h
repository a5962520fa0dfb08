/**
 * @file
 * @brief libmigrate: the umbrella header.
 *
 * Include this one; it needs no database client headers. Driver-specific
 * wrappers live in `<migrate/sqlite.h>`, `<migrate/postgres.h>` and
 * `<migrate/mongo.h>`; the interface for drivers built outside the library
 * is `<migrate/driver.h>`.
 */
#ifndef MIGRATE_MIGRATE_H
#define MIGRATE_MIGRATE_H

#include "common.h"
#include "plan.h"
#include "run.h"

#endif
