/* Model and context settings: the algorithm table, the options structs, and
 * their resolution against the environment variables that supply defaults.
 * The only place the library reads a model's settings from the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    lstmcl_algorithm algorithm;
    const char *name;
} lc_algorithms[] = {
#define LC_X_ALGO(name, value, text) {name, text},
    LSTMCL_ALGORITHM_TABLE(LC_X_ALGO)
#undef LC_X_ALGO
};
#define LC_N_ALGOS (sizeof lc_algorithms / sizeof lc_algorithms[0])

/* "auto, gemm, ..." for messages. */
static const char *lc_algorithm_list(void)
{
    static const char list[] =
#define LC_X_LIST(name, value, text) text ", "
        LSTMCL_ALGORITHM_TABLE(LC_X_LIST)
#undef LC_X_LIST
        ;
    return list;
}

const char *lstmcl_algorithm_name(lstmcl_algorithm algorithm)
{
    for (size_t i = 0; i < LC_N_ALGOS; i++)
        if (lc_algorithms[i].algorithm == algorithm)
            return lc_algorithms[i].name;
    return NULL;
}

int lc_algorithm_parse(const char *name, lstmcl_algorithm *algorithm)
{
    for (size_t i = 0; name && i < LC_N_ALGOS; i++)
        if (strcmp(name, lc_algorithms[i].name) == 0) {
            *algorithm = lc_algorithms[i].algorithm;
            return 1;
        }
    return 0;
}

lstmcl_status lstmcl_algorithm_from_name(const char *name, lstmcl_algorithm *algorithm)
{
    if (!algorithm)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_algorithm_from_name: algorithm must not be NULL");
    if (lc_algorithm_parse(name, algorithm))
        return LSTMCL_SUCCESS;
    const char *list = lc_algorithm_list();
    return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                   "algorithm \"%.32s\" is not one of %.*s", name ? name : "(null)",
                   (int)(strlen(list) - 2), list);
}

void lstmcl_model_options_init(lstmcl_model_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->algorithm = LSTMCL_ALGO_UNSET;
    o->precision = LSTMCL_PRECISION_UNSET;
}

void lstmcl_context_options_init(lstmcl_context_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->queue_profiling = -1;
}

/* The caller's options as this version reads them: fields past its
 * struct_size stay unset. */
static void lc_options_copy(const lstmcl_model_options *in, lstmcl_model_options *out)
{
    lstmcl_model_options_init(out);
    if (!in)
        return;
    size_t n = in->struct_size < sizeof *out ? in->struct_size : sizeof *out;
    memcpy(out, in, n);
    out->struct_size = sizeof *out;
}

#define LC_MAX_PERSIST_GROUPS 4096
#define LC_MAX_SPIN_LIMIT ((size_t)1 << 30)

lstmcl_status lc_options_check(lstmcl_context *ctx, const lstmcl_model_options *options)
{
    if (!options)
        return LSTMCL_SUCCESS;
    if (options->struct_size < offsetof(lstmcl_model_options, algorithm))
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "options: struct_size = %zu; fill the options with "
                       "lstmcl_model_options_init first",
                       options->struct_size);
    lstmcl_model_options o;
    lc_options_copy(options, &o);
    if (o.algorithm != LSTMCL_ALGO_UNSET && !lstmcl_algorithm_name(o.algorithm))
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "options: algorithm = %d is not a known algorithm", (int)o.algorithm);
    if (o.precision != LSTMCL_PRECISION_UNSET && !lstmcl_precision_name(o.precision))
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "options: precision = %d is not a known precision", (int)o.precision);
    if (o.persist_groups > LC_MAX_PERSIST_GROUPS)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "options: persist_groups = %zu is not a count from 1 to %d",
                       o.persist_groups, LC_MAX_PERSIST_GROUPS);
    if (o.persist_spin_limit > LC_MAX_SPIN_LIMIT)
        return lc_fail(ctx, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "options: persist_spin_limit = %zu is above %zu", o.persist_spin_limit,
                       LC_MAX_SPIN_LIMIT);
    return LSTMCL_SUCCESS;
}

lstmcl_precision lc_options_precision(const lstmcl_model_options *options)
{
    lstmcl_model_options o;
    lc_options_copy(options, &o);
    return o.precision == LSTMCL_PRECISION_UNSET ? LSTMCL_PRECISION_FP32 : o.precision;
}

/* A path setting: the option when given, else the variable; *on 0 when the
 * result is "none" (an empty string, or `off_word` when not NULL). */
static int lc_path_setting(const char *option, const char *var, const char *off_word,
                           char *out, size_t cap, int *given)
{
    const char *v = option ? option : getenv(var);
    *given = v != NULL;
    if (!v || !*v || (off_word && strcmp(v, off_word) == 0))
        return 0;
    return snprintf(out, cap, "%s", v) < (int)cap;
}

lstmcl_status lc_config_resolve(lstmcl_context *ctx, const lstmcl_model_options *options,
                                lc_config *cfg)
{
    lstmcl_model_options o;
    lstmcl_status st = lc_options_check(ctx, options);
    if (st != LSTMCL_SUCCESS)
        return st;
    lc_options_copy(options, &o);
    memset(cfg, 0, sizeof *cfg);

    cfg->algorithm = o.algorithm;
    if (cfg->algorithm == LSTMCL_ALGO_UNSET) {
        const char *v = getenv("LSTMCL_ALGO");
        cfg->algorithm = LSTMCL_ALGO_AUTO;
        cfg->algorithm_from_env = v && *v;
        if (v && *v && !lc_algorithm_parse(v, &cfg->algorithm)) {
            const char *list = lc_algorithm_list();
            return lc_fail(ctx, LSTMCL_ERROR_INVALID_CONFIG,
                           "LSTMCL_ALGO=\"%.32s\" is not one of %.*s", v, (int)(strlen(list) - 2),
                           list);
        }
    }

    cfg->persist_groups = o.persist_groups;
    if (!cfg->persist_groups) {
        const char *v = getenv("LSTMCL_PERSIST_GROUPS");
        if (v && *v) {
            char *end = NULL;
            unsigned long g = strtoul(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || g < 1 || g > LC_MAX_PERSIST_GROUPS)
                return lc_fail(ctx, LSTMCL_ERROR_INVALID_CONFIG,
                               "LSTMCL_PERSIST_GROUPS=\"%.32s\" is not a count from 1 to %d", v,
                               LC_MAX_PERSIST_GROUPS);
            cfg->persist_groups = g;
        }
    }
    cfg->persist_spin_limit = o.persist_spin_limit;

    int given;
    cfg->cache_on = lc_path_setting(o.cache_dir, "LSTMCL_CACHE_DIR", "off", cfg->cache_dir,
                                    sizeof cfg->cache_dir, &given);
    if (!given)
        cfg->cache_on = lc_cache_dir_default(cfg->cache_dir, sizeof cfg->cache_dir);
    cfg->tuning_on = lc_path_setting(o.tuning_file, "LSTMCL_TUNING_FILE", NULL,
                                     cfg->tuning_file, sizeof cfg->tuning_file, &given);
    if (!given && cfg->cache_on)
        cfg->tuning_on = snprintf(cfg->tuning_file, sizeof cfg->tuning_file, "%s/tuning.txt",
                                  cfg->cache_dir) < (int)sizeof cfg->tuning_file;
    cfg->kernel_dir_on = lc_path_setting(o.kernel_dir, "LSTMCL_KERNEL_DIR", NULL,
                                         cfg->kernel_dir, sizeof cfg->kernel_dir, &given);
    return LSTMCL_SUCCESS;
}
