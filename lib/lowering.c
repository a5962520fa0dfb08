/*
 * How an in-tree driver lowers a step: each driver has one table of
 * MIGRATE_OP_COUNT rows (`ops` at the end of lib/<driver>/lower.c),
 * the row of an op giving its check, flags, render and apply. These four
 * functions are the driver callbacks of migrate_driver_t over such a table.
 * The engine checks every step of a plan before it renders or applies one,
 * so render and apply do not check again.
 */
#include "internal.h"

static void init(migrate__lower *x, void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_exec_t *exec,
		 migrate_error_t *err)
{
	x->conn = conn;
	x->step = step;
	x->doc = migrate_step_document(step);
	x->op = migrate_step_op(step);
	x->out = out;
	x->exec = exec;
	x->err = err;
}

/* The row of the step's op in *out, or MIGRATE_EUNSUPPORTED when the driver has none. */
static int row(const migrate__lowering *ops, const char *driver, migrate__lower *x, const migrate__lowering **out)
{
	bool known = x->op > MIGRATE_OP_UNKNOWN && x->op < MIGRATE_OP_COUNT;

	/* It comes as the rename it is (migrate__driver_step): never drop what is to be kept. */
	*out = NULL;
	if (x->op == MIGRATE_OP_DROP_TABLE && bson_has_field(x->doc, "keep"))
		return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EINTERNAL,
				    "the %s driver was given a drop_table that keeps \"%s\" (not its rename)", driver,
				    migrate__doc_str(x->doc, "keep"));

	*out = known ? &ops[x->op] : NULL;
	if (*out && ((*out)->render || (*out)->apply))
		return 0;
	return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED, "the %s driver has no op \"%s\"",
			    driver, migrate__ops[known ? x->op : MIGRATE_OP_UNKNOWN].name);
}

int migrate__lower_check(const migrate__lowering *ops, const char *driver, void *conn, const migrate_step_t *step,
			 migrate_error_t *err)
{
	const migrate__lowering *r;
	migrate__lower x;
	int rc;

	init(&x, conn, step, NULL, NULL, err);
	if (x.op == MIGRATE_OP_DROP_TABLE && bson_has_field(x.doc, "keep"))
		return row(ops, driver, &x, &r);
	/* A row's check may explain better than "has no op" why the driver has none. */
	if (x.op > MIGRATE_OP_UNKNOWN && x.op < MIGRATE_OP_COUNT && ops[x.op].check && (rc = ops[x.op].check(&x)))
		return rc;
	return row(ops, driver, &x, &r);
}

unsigned migrate__lower_flags(const migrate__lowering *ops, void *conn, const migrate_step_t *step)
{
	migrate__lower x;

	init(&x, conn, step, NULL, NULL, NULL);
	if (x.op <= MIGRATE_OP_UNKNOWN || x.op >= MIGRATE_OP_COUNT || !ops[x.op].flags)
		return 0;
	return ops[x.op].flags(&x);
}

/* Renders (x->out set) or applies (x->exec set) the step through its row. */
static int lower(const migrate__lowering *ops, const char *driver, migrate__lower *x)
{
	const migrate__lowering *r;
	int (*fn)(migrate__lower *);
	int rc;

	if ((rc = row(ops, driver, x, &r)))
		return rc;
	if (!(fn = x->out ? r->render : r->apply))
		return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "the %s driver cannot %s a %s step", driver,
				    x->out ? "show the statements of" : "run", migrate__ops[x->op].name);
	return fn(x);
}

int migrate__lower_render(const migrate__lowering *ops, const char *driver, void *conn, const migrate_step_t *step,
			  migrate_buf_t *out, migrate_error_t *err)
{
	migrate__lower x;

	init(&x, conn, step, out, NULL, err);
	return lower(ops, driver, &x);
}

int migrate__lower_apply(const migrate__lowering *ops, const char *driver, void *conn, const migrate_step_t *step,
			 migrate_exec_t *exec, migrate_error_t *err)
{
	migrate__lower x;

	init(&x, conn, step, NULL, exec, err);
	return lower(ops, driver, &x);
}

unsigned migrate__lower_no_txn(const migrate__lower *x)
{
	(void)x;
	return MIGRATE_STEP_NO_TXN;
}
