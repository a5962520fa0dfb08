/**
 * @file
 * @brief libmigrate: common definitions shared by every public header.
 *
 * Conventions used throughout the API:
 *  - Functions that can fail return 0 on success or a negative `MIGRATE_E*`
 *    code (#migrate_code_t), and fill the optional caller-owned
 *    #migrate_error_t.
 *  - Every `*_destroy` / `*_close` function accepts NULL.
 *  - A pointer returned directly (not through an out-parameter) is borrowed
 *    from its parent object and lives as long as the parent.
 *  - Callbacks take their user payload as the last argument.
 */
#ifndef MIGRATE_COMMON_H
#define MIGRATE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @def MIGRATE_EXPORT(type)
 * Declares a public function returning `type`: exported from the shared
 * library (default visibility, or `__declspec` on Windows). Define
 * `MIGRATE_STATIC` before including a libmigrate header when linking the
 * static library on Windows.
 */
#if defined(MIGRATE_STATIC)
#define MIGRATE_EXPORT(type) type
#elif defined(_WIN32)
#if defined(MIGRATE_BUILDING)
#define MIGRATE_EXPORT(type) __declspec(dllexport) type
#else
#define MIGRATE_EXPORT(type) __declspec(dllimport) type
#endif
#else
#define MIGRATE_EXPORT(type) __attribute__((visibility("default"))) type
#endif

/** The major version of the headers (the shared library's SOVERSION). */
#define MIGRATE_VERSION_MAJOR 0
/** The minor version of the headers. */
#define MIGRATE_VERSION_MINOR 1
/** The patch version of the headers. */
#define MIGRATE_VERSION_PATCH 0
/** The version of the headers as a string, "MAJOR.MINOR.PATCH". */
#define MIGRATE_VERSION_STRING "0.1.0"
/** The version of the headers as MAJOR * 10000 + MINOR * 100 + PATCH. */
#define MIGRATE_VERSION_NUMBER 100

/** Error codes. 0 is success; every error is negative. Append only. */
typedef enum migrate_code {
	MIGRATE_OK = 0,              /**< success */
	MIGRATE_EINVAL = -1,         /**< a bad argument from the caller */
	MIGRATE_ENOMEM = -2,         /**< out of memory */
	MIGRATE_EPLAN = -3,          /**< the plan is invalid (the message names the place) */
	MIGRATE_EUNSUPPORTED = -4,   /**< the driver cannot express a step */
	MIGRATE_ECHECKSUM = -5,      /**< an applied version was edited */
	MIGRATE_ELOCKED = -6,        /**< the plan's lock was not acquired in time */
	MIGRATE_ELOCKLOST = -7,      /**< the run lost its lock */
	MIGRATE_ECANCELED = -8,      /**< canceled by the event callback */
	MIGRATE_EDB = -9,            /**< the database reported an error */
	MIGRATE_ECONNECT = -10,      /**< the database could not be reached */
	MIGRATE_EASSERT = -11,       /**< an assert step did not hold */
	MIGRATE_EIRREVERSIBLE = -12, /**< a step on the down path has no inverse */
	MIGRATE_EORDER = -13,        /**< a pending version is older than an applied one */
	MIGRATE_EJSON = -14,         /**< malformed JSON */
	MIGRATE_ECALLBACK = -15,     /**< a custom step callback failed */
	MIGRATE_ENOTFOUND = -16,     /**< no driver for a URL, or no such version */
	MIGRATE_EIO = -17,           /**< a file could not be read or written */
	MIGRATE_EVERSION = -18,      /**< an options or driver struct version is unknown */
	MIGRATE_ESTATE = -19,        /**< the history forbids the operation */
	MIGRATE_EINTERNAL = -20      /**< a bug in libmigrate */
} migrate_code_t;

/** Which part of the system reported an error. Append only. */
typedef enum migrate_domain {
	MIGRATE_DOMAIN_NONE = 0,    /**< no error recorded */
	MIGRATE_DOMAIN_API = 1,     /**< argument checks */
	MIGRATE_DOMAIN_PLAN = 2,    /**< plan and step validation */
	MIGRATE_DOMAIN_RUN = 3,     /**< the engine: history, checksums, order */
	MIGRATE_DOMAIN_LOCK = 4,    /**< locking */
	MIGRATE_DOMAIN_DRIVER = 5,  /**< the storage driver or its database */
	MIGRATE_DOMAIN_CALLBACK = 6 /**< a user callback */
} migrate_domain_t;

/** The size of migrate_error_t::message, terminating NUL included. */
#define MIGRATE_ERROR_MESSAGE_SIZE 1000

/**
 * A caller-owned error. Functions fill it on failure when it is not NULL;
 * its contents are unspecified on success. No thread-local state is used,
 * so one error per thread (or per call) is all a caller needs.
 */
typedef struct migrate_error {
	int domain;                               /**< a #migrate_domain_t */
	int code;                                 /**< a #migrate_code_t, the same value the function returned */
	char message[MIGRATE_ERROR_MESSAGE_SIZE]; /**< NUL-terminated English text; never holds passwords */
} migrate_error_t;

/**
 * Describes an error code.
 *
 * Stateless and thread-safe.
 *
 * @param code a #migrate_code_t (any other value gives "unknown error").
 * @return a static English description; never NULL, never to be freed.
 */
MIGRATE_EXPORT(const char *) migrate_strerror(int code);

/**
 * The run-time library version, which may differ from #MIGRATE_VERSION_STRING
 * when the program was built against other headers.
 *
 * @return "MAJOR.MINOR.PATCH", a static string.
 */
MIGRATE_EXPORT(const char *) migrate_version_string(void);

/**
 * The run-time library version as a number, to compare with
 * #MIGRATE_VERSION_NUMBER.
 *
 * @return MAJOR * 10000 + MINOR * 100 + PATCH.
 */
MIGRATE_EXPORT(int) migrate_version_number(void);

/**
 * Frees memory that libmigrate returned as caller-owned (the text of
 * migrate_step_to_json() and migrate_render()).
 *
 * @param ptr the memory to free; NULL is a no-op.
 */
MIGRATE_EXPORT(void) migrate_free(void *ptr);

/** Log levels for the log handler. */
typedef enum migrate_log_level {
	MIGRATE_LOG_ERROR = 0,   /**< an error no call returns (a lock taken over, a failure record not written) */
	MIGRATE_LOG_WARNING = 1, /**< something to look at (a server warning, a lock renewal that failed) */
	MIGRATE_LOG_INFO = 2,    /**< what the library decided on its own (an index that already exists) */
	MIGRATE_LOG_DEBUG = 3    /**< every statement or command sent */
} migrate_log_level_t;

/**
 * Receives the library's log lines, of every level: filter in the handler.
 *
 * The handler may be called from any thread that runs libmigrate, one call
 * at a time: calls are serialised by a lock, so the handler must not call
 * migrate_log_set_handler(), and a slow handler delays every thread that
 * logs.
 *
 * @param level a #migrate_log_level_t.
 * @param message the line, valid during the call only.
 * @param payload the `payload` given to migrate_log_set_handler().
 */
typedef void (*migrate_log_fn)(int level, const char *message, void *payload);

/**
 * Installs the process-wide log handler.
 *
 * Thread-safe; intended to be called at start-up. It waits for a call of
 * the previous handler to return.
 *
 * @param fn the handler, or NULL to restore the default, which discards
 *        everything.
 * @param payload passed to every call of `fn`; it must stay valid until
 *        the handler is replaced.
 */
MIGRATE_EXPORT(void) migrate_log_set_handler(migrate_log_fn fn, void *payload);

#ifdef __cplusplus
}
#endif

#endif
