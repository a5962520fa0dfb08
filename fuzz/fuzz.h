/*
 * Shared by the libFuzzer targets of fuzz/: each target turns its input into
 * a plan with fuzz_plan_from_input() and hands it to the code it exercises.
 * The targets link the static library and reach internal functions, like
 * the INTERNAL tests.
 */
#ifndef MIGRATE_FUZZ_H
#define MIGRATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "migrate/migrate.h"

/* The libFuzzer entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Installs a log handler that reads every line, so that the DEBUG logging
 * (which formats names taken from the plan) runs too.
 */
void fuzz_log_everything(void);

/*
 * Loads the input as a plan file (copied and NUL-terminated first). Returns
 * the plan, or NULL when the loader refused it (its error checked for a
 * terminated message).
 */
migrate_plan_t *fuzz_plan_from_input(const uint8_t *data, size_t size);

/*
 * Runs everything a run checks before it writes, against `t`: the whole
 * plan's validation, then the driver's check of every step, of every
 * step's computed inverse and of every version's explicit down, each on its
 * own so that one refusal does not hide the rest. Errors are expected;
 * only a crash, a leak or an unterminated message is a finding.
 */
void fuzz_validate(migrate_target_t *t, const migrate_plan_t *plan);

/*
 * The dry run of every step the driver accepts, each on its own (a dry run
 * of the whole plan stops at the first error).
 */
void fuzz_render_steps(migrate_target_t *t, const migrate_plan_t *plan);

/* Checks that an error message is terminated within its buffer (aborts if not). */
void fuzz_check_error(const migrate_error_t *err);

#endif
