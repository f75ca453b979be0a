/* Output: the aligned table, JSON and CSV. main() sets LC_NUMERIC to "C", so
 * printf's floating-point conversions write '.' whatever the user's locale. */
#include <math.h>
#include <string.h>

#include "bench.h"

static const char *num(char *buf, size_t size, double x, int prec)
{
    if (!isfinite(x))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.*f", prec, x);
    return buf;
}

static const char *check_text(const bench_result *r)
{
    if (!r->ok)
        return r->unsupported ? "UNSUPPORTED" : "ERROR";
    return r->check < 0 ? "-" : r->check ? "pass" : "FAILED";
}

static double per_step_us(const bench_result *r)
{
    return r->wall.median * 1e3 / (double)r->cfg.T;
}

static double gflops(const bench_result *r) { return r->flops / (r->wall.median * 1e6); }
static double gbs(const bench_result *r) { return r->bytes / (r->wall.median * 1e6); }

static const char *prec_name(const bench_result *r)
{
    const char *n = lstmcl_precision_name(r->precision);
    return n ? n : "?";
}

/* JSON/CSV status of a row */
static const char *status_text(const bench_result *r)
{
    if (!r->ok)
        return r->unsupported ? "unsupported" : "error";
    return r->check == 0 ? "FAILED" : "ok";
}

void bench_print_header(FILE *f)
{
    fprintf(f, "%-26s %-15s %-4s %10s %10s %10s %5s %9s %8s %7s %5s %5s %10s %10s %9s %9s %-6s %s\n",
            "config", "device", "prec", "ms/fwd", "min", "max", "reps", "us/step", "GFLOP/s",
            "GB/s", "%pkF", "%pkB", "dev ms", "rec ms", "max err", "vs fp32", "check",
            "baseline/lstmcl");
}

static const char *sci(char *buf, size_t size, double x)
{
    if (isnan(x))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2e", x);
    return buf;
}

void bench_print_row(FILE *f, const bench_result *r)
{
    char label[128], a[32], b[32], c[32], d[32], e[32], g[32], h[32], i[32], j[32], k[32], l[32];
    bench_config_label(&r->cfg, label, sizeof label);
    /* The device column names the algorithm of an lstmcl row: "0 fused-rows". */
    char dev[96];
    if (r->algo[0] && !r->is_baseline)
        snprintf(dev, sizeof dev, "%s %s", r->device, r->algo);
    else
        snprintf(dev, sizeof dev, "%s", r->device);
    if (!r->ok) {
        fprintf(f, "%-26s %-15s %-4s %s %s\n", label, dev, prec_name(r), check_text(r), r->error);
        return;
    }
    char err[32], dev32[32];
    sci(err, sizeof err, r->max_rel_err);
    sci(dev32, sizeof dev32, r->dev_fp32_max);
    fprintf(f, "%-26s %-15s %-4s %10s %10s %10s %5zu %9s %8s %7s %5s %5s %10s %10s %9s %9s %-6s",
            label, dev, prec_name(r), num(a, sizeof a, r->wall.median, 3),
            num(b, sizeof b, r->wall.min, 3),
            num(c, sizeof c, r->wall.max, 3), r->wall.reps, num(d, sizeof d, per_step_us(r), 1),
            num(e, sizeof e, gflops(r), 2), num(g, sizeof g, gbs(r), 2),
            num(h, sizeof h, 100.0 * gflops(r) / r->peak_gflops, 1),
            num(i, sizeof i, 100.0 * gbs(r) / r->peak_gbs, 1), num(j, sizeof j, r->dev.median, 3),
            num(k, sizeof k, r->rec.median, 3), err, dev32, check_text(r));
    for (size_t n = 0; n < r->nratios; ++n)
        fprintf(f, " %s=%s", r->ratio_name[n], num(l, sizeof l, r->ratio[n], 3));
    fputc('\n', f);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void jnum(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.9g", x);
    else
        fputs("null", f);
}

static void jstats(FILE *f, const char *name, const bench_stats *s)
{
    fprintf(f, "\"%s\": {\"median\": ", name);
    jnum(f, s->median);
    fputs(", \"min\": ", f);
    jnum(f, s->min);
    fputs(", \"max\": ", f);
    jnum(f, s->max);
    fprintf(f, ", \"reps\": %zu}", s->reps);
}

int bench_write_json(const char *path, const bench_run_info *run, const bench_device *devs,
                     size_t ndevs, const bench_result *res, size_t nres)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("{\n  \"tool\": \"lstmcl-bench\",\n  \"format_version\": 2,\n  \"lstmcl_version\": ", f);
    jstr(f, run->version);
    fputs(",\n  \"git_commit\": ", f);
    jstr(f, run->git_commit);
    fputs(",\n  \"date\": ", f);
    jstr(f, run->date);
    fputs(",\n  \"host\": ", f);
    jstr(f, run->host);
    fputs(",\n  \"command\": ", f);
    jstr(f, run->command);
    fputs(",\n  \"suite\": ", f);
    jstr(f, run->suite);
    fputs(",\n  \"target_ms\": ", f);
    jnum(f, run->target_ms);
    fprintf(f, ",\n  \"seed\": %llu,\n  \"notes\": [", (unsigned long long)run->seed);
    for (size_t i = 0; i < run->nnotes; ++i) {
        fputs(i ? ", " : "", f);
        jstr(f, run->notes[i]);
    }
    fputs("],\n  \"baselines\": [", f);
    for (size_t i = 0; i < run->nbaseline_versions; ++i) {
        fputs(i ? ", " : "", f);
        jstr(f, run->baseline_versions[i]);
    }
    fputs("],\n  \"devices\": [", f);
    for (size_t i = 0; i < ndevs; ++i) {
        const bench_device *d = &devs[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"label\": ", f);
        jstr(f, d->label);
        fprintf(f, ", \"reference\": %s, \"name\": ", d->is_reference ? "true" : "false");
        jstr(f, d->info.name);
        fputs(", \"vendor\": ", f);
        jstr(f, d->info.vendor);
        fputs(", \"platform\": ", f);
        jstr(f, d->info.platform);
        fputs(", \"device_version\": ", f);
        jstr(f, d->info.device_version);
        fputs(", \"driver_version\": ", f);
        jstr(f, d->info.driver_version);
        fputs(", \"opencl_c_version\": ", f);
        jstr(f, d->info.opencl_c_version);
        fprintf(f, ", \"compute_units\": %u, \"global_mem_bytes\": %llu, \"profiling\": %s",
                (unsigned)d->info.compute_units, (unsigned long long)d->info.global_mem_bytes,
                d->profiling ? "true" : "false");
        fputs(", \"peak_gflops\": ", f);
        jnum(f, d->peak_gflops);
        fputs(", \"peak_gbs\": ", f);
        jnum(f, d->peak_gbs);
        fputs(", \"error\": ", f);
        jstr(f, d->error);
        fputc('}', f);
    }
    fputs("\n  ],\n  \"results\": [", f);
    for (size_t i = 0; i < nres; ++i) {
        const bench_result *r = &res[i];
        char label[128];
        bench_config_label(&r->cfg, label, sizeof label);
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"config\": ", f);
        jstr(f, label);
        fprintf(f,
                ", \"H\": %zu, \"I\": %zu, \"N\": %zu, \"T\": %zu, \"L\": %zu, \"P\": %zu, "
                "\"bidirectional\": %s, \"lengths\": \"%s\", \"device\": ",
                r->cfg.H, r->cfg.I, r->cfg.N, r->cfg.T, r->cfg.L, r->cfg.P,
                r->cfg.bidirectional ? "true" : "false", r->cfg.spread ? "spread" : "full");
        jstr(f, r->device);
        fputs(", \"algorithm\": ", f);
        jstr(f, r->algo);
        fputs(", \"precision\": ", f);
        jstr(f, prec_name(r));
        fprintf(f, ", \"baseline\": %s, \"status\": ", r->is_baseline ? "true" : "false");
        jstr(f, status_text(r));
        fputs(", \"error\": ", f);
        jstr(f, r->error);
        fputs(",\n     ", f);
        jstats(f, "wall_ms", &r->wall);
        fputs(", ", f);
        jstats(f, "device_ms", &r->dev);
        fputs(",\n     ", f);
        jstats(f, "recurrent_only_ms", &r->rec);
        fputs(",\n     \"flop\": ", f);
        jnum(f, r->flops);
        fputs(", \"bytes\": ", f);
        jnum(f, r->bytes);
        fputs(", \"us_per_step\": ", f);
        jnum(f, r->ok ? per_step_us(r) : NAN);
        fputs(", \"gflops\": ", f);
        jnum(f, r->ok ? gflops(r) : NAN);
        fputs(", \"gbs\": ", f);
        jnum(f, r->ok ? gbs(r) : NAN);
        fputs(", \"frac_peak_flops\": ", f);
        jnum(f, r->ok ? gflops(r) / r->peak_gflops : NAN);
        fputs(", \"frac_peak_bw\": ", f);
        jnum(f, r->ok ? gbs(r) / r->peak_gbs : NAN);
        fputs(",\n     \"max_rel_err\": ", f);
        jnum(f, r->max_rel_err);
        fputs(", \"tolerance\": ", f);
        jnum(f, r->tolerance);
        fputs(", \"check\": ", f);
        jstr(f, check_text(r));
        fputs(",\n     \"dev_fp32\": ", f);
        jnum(f, r->dev_fp32_max);
        fputs(", \"dev_fp32_y\": ", f);
        jnum(f, r->dev_fp32[0]);
        fputs(", \"dev_fp32_hn\": ", f);
        jnum(f, r->dev_fp32[1]);
        fputs(", \"dev_fp32_cn\": ", f);
        jnum(f, r->dev_fp32[2]);
        fputs(", \"dev_fp32_bound\": ", f);
        jnum(f, r->precision == LSTMCL_PRECISION_FP32 ? NAN : bench_precision_bound(r->precision));
        fputs(", \"ratios\": {", f);
        for (size_t n = 0; n < r->nratios; ++n) {
            fputs(n ? ", " : "", f);
            jstr(f, r->ratio_name[n]);
            fputs(": ", f);
            jnum(f, r->ratio[n]);
        }
        fputs("}}", f);
    }
    fputs("\n  ]\n}\n", f);
    int failed = ferror(f);
    return fclose(f) == 0 && !failed ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */
/* ------------------------------------------------------------------------ */

static void cstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void cnum(FILE *f, double x)
{
    fputc(',', f);
    if (isfinite(x))
        fprintf(f, "%.9g", x);
}

int bench_write_csv(const char *path, const bench_run_info *run, const bench_result *res,
                    size_t nres)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("lstmcl_version,git_commit,date,host,config,H,I,N,T,L,P,bidirectional,device,baseline,"
          "status,ms_median,ms_min,ms_max,reps,device_ms_median,recurrent_only_ms_median,"
          "us_per_step,gflops,gbs,frac_peak_flops,frac_peak_bw,max_rel_err,tolerance,check,ratios,"
          "error,algorithm,precision,dev_fp32,dev_fp32_y,dev_fp32_hn,dev_fp32_cn\n",
          f);
    for (size_t i = 0; i < nres; ++i) {
        const bench_result *r = &res[i];
        char label[128];
        bench_config_label(&r->cfg, label, sizeof label);
        cstr(f, run->version);
        fputc(',', f);
        cstr(f, run->git_commit);
        fputc(',', f);
        cstr(f, run->date);
        fputc(',', f);
        cstr(f, run->host);
        fputc(',', f);
        cstr(f, label);
        fprintf(f, ",%zu,%zu,%zu,%zu,%zu,%zu,%d,", r->cfg.H, r->cfg.I, r->cfg.N, r->cfg.T,
                r->cfg.L, r->cfg.P, r->cfg.bidirectional);
        cstr(f, r->device);
        fprintf(f, ",%d,%s", r->is_baseline, status_text(r));
        cnum(f, r->wall.median);
        cnum(f, r->wall.min);
        cnum(f, r->wall.max);
        fprintf(f, ",%zu", r->wall.reps);
        cnum(f, r->dev.median);
        cnum(f, r->rec.median);
        cnum(f, r->ok ? per_step_us(r) : NAN);
        cnum(f, r->ok ? gflops(r) : NAN);
        cnum(f, r->ok ? gbs(r) : NAN);
        cnum(f, r->ok ? gflops(r) / r->peak_gflops : NAN);
        cnum(f, r->ok ? gbs(r) / r->peak_gbs : NAN);
        cnum(f, r->max_rel_err);
        cnum(f, r->tolerance);
        fprintf(f, ",%s,\"", check_text(r));
        for (size_t n = 0; n < r->nratios; ++n) {
            char v[32];
            fprintf(f, "%s%s=%s", n ? ";" : "", r->ratio_name[n], num(v, sizeof v, r->ratio[n], 4));
        }
        fputs("\",", f);
        cstr(f, r->error);
        fputc(',', f);
        cstr(f, r->algo);
        fprintf(f, ",%s", prec_name(r));
        cnum(f, r->dev_fp32_max);
        for (int k = 0; k < 3; ++k)
            cnum(f, r->dev_fp32[k]);
        fputc('\n', f);
    }
    int failed = ferror(f);
    return fclose(f) == 0 && !failed ? 0 : -1;
}
