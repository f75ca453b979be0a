/* lstmcl: run LSTM models from safetensors and ONNX files on an OpenCL
 * device or on the CPU reference path.
 *
 * Exit codes: 0 success, 2 bad usage or a bad input file, 1 a device or
 * runtime failure. Errors go to stderr as one line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunked.h"
#include "cli_util.h"
#include "lstmcl.h"
#include "npy.h"
#include "output.h"

#define ERRLEN 1024

/* Where the command's own lines (--validate, --time) go: standard error
 * when an output is written to standard output. */
static FILE *info_out;

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* One line on stderr: "lstmcl: <what>: <message>", control characters from
 * file contents replaced so the message stays on one line. */
static void report(const char *what, const char *fmt, ...)
{
    char msg[2 * ERRLEN];
    va_list ap;
    char *p;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (what) {
        char w[512];
        snprintf(w, sizeof w, "%s", what);
        for (p = w; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        fprintf(stderr, "lstmcl: %s: %s\n", w, msg);
    } else {
        fprintf(stderr, "lstmcl: %s\n", msg);
    }
}

/* Exit code for an lstmcl status: a model or array the library refuses is
 * bad input; anything else is a runtime failure. */
static int status_exit(lstmcl_status s)
{
    return (s == LSTMCL_ERROR_INVALID_ARGUMENT || s == LSTMCL_ERROR_INVALID_SHAPE ||
            s == LSTMCL_ERROR_SIZE_OVERFLOW || s == LSTMCL_ERROR_INVALID_CONFIG)
               ? CLI_ERR_INPUT
               : CLI_ERR_RUNTIME;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct run_opts {
    const char *weights, *input, *output, *hn, *cn, *h0, *c0, *seq_lens, *prefix, *device;
    const char *tolerance, *algo, *precision, *chunk_text;
    size_t chunk; /* --chunk: steps per session call, 0 for a whole forward */
    int batch_first, cpu, validate, time, help;
    lstmcl_model_options model_opts; /* --algo, --precision */
    cli_output *dest; /* the outputs, in ONNX_OUT_* order (checked before any work) */
} run_opts;

typedef struct opt_def {
    const char *name;
    int takes_value;
    size_t offset; /* into run_opts: a const char * or an int */
} opt_def;

#define OPT_S(n, f) {n, 1, offsetof(run_opts, f)}
#define OPT_B(n, f) {n, 0, offsetof(run_opts, f)}

static const opt_def run_defs[] = {
    OPT_S("--weights", weights), OPT_S("--input", input),       OPT_S("--output", output),
    OPT_S("--hn", hn),           OPT_S("--cn", cn),             OPT_S("--h0", h0),
    OPT_S("--c0", c0),           OPT_S("--seq-lens", seq_lens), OPT_S("--prefix", prefix),
    OPT_S("--device", device),   OPT_S("--tolerance", tolerance), OPT_S("--algo", algo),
    OPT_S("--precision", precision), OPT_S("--chunk", chunk_text),
    OPT_B("--batch-first", batch_first), OPT_B("--cpu", cpu), OPT_B("--validate", validate),
    OPT_B("--time", time),       OPT_B("--help", help),         OPT_B("-h", help),
};
static const opt_def info_defs[] = {
    OPT_S("--prefix", prefix), OPT_B("--help", help), OPT_B("-h", help),
};
static const opt_def devices_defs[] = {
    OPT_B("--help", help), OPT_B("-h", help),
};

/* Parses "--name value", "--name=value" and flags; one positional argument
 * goes to *positional (if not NULL). Returns 0 on bad usage (reported). */
static int parse_opts(const char *cmd, int argc, char **argv, const opt_def *defs, size_t ndefs,
                      run_opts *o, const char **positional)
{
    int k;
    for (k = 0; k < argc; k++) {
        const char *a = argv[k], *eq = NULL, *value = NULL;
        size_t j, namelen;
        const opt_def *def = NULL;
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (positional && !*positional) {
                *positional = a;
                continue;
            }
            report(NULL, "%s: unexpected argument '%s' (see lstmcl %s --help)", cmd, a, cmd);
            return 0;
        }
        eq = strchr(a, '=');
        namelen = eq ? (size_t)(eq - a) : strlen(a);
        for (j = 0; j < ndefs; j++)
            if (strlen(defs[j].name) == namelen && strncmp(defs[j].name, a, namelen) == 0)
                def = &defs[j];
        if (!def) {
            report(NULL, "%s: unknown option '%.*s' (see lstmcl %s --help)", cmd, (int)namelen, a,
                   cmd);
            return 0;
        }
        if (!def->takes_value) {
            if (eq) {
                report(NULL, "%s: option '%s' takes no value", cmd, def->name);
                return 0;
            }
            *(int *)((char *)o + def->offset) = 1;
            continue;
        }
        if (eq)
            value = eq + 1;
        else if (k + 1 < argc)
            value = argv[++k];
        if (!value || !*value) {
            report(NULL, "%s: option '%s' needs a value", cmd, def->name);
            return 0;
        }
        if (*(const char **)((char *)o + def->offset)) {
            report(NULL, "%s: option '%s' given twice", cmd, def->name);
            return 0;
        }
        *(const char **)((char *)o + def->offset) = value;
    }
    return 1;
}

static const char usage_main[] =
    "usage: lstmcl [--version] [--help] COMMAND [ARGS]\n"
    "\n"
    "Runs LSTM models on an OpenCL device or on the CPU reference path.\n"
    "\n"
    "commands:\n"
    "  devices   list the OpenCL devices\n"
    "  info      describe a model file (.safetensors or .onnx)\n"
    "  run       run a model on .npy arrays\n"
    "\n"
    "'lstmcl COMMAND --help' describes a command. Exit status: 0 success,\n"
    "2 bad usage or a bad input file, 1 a device or runtime failure.\n";

static const char usage_devices[] =
    "usage: lstmcl devices\n"
    "\n"
    "Lists every OpenCL device with the index that 'lstmcl run --device' takes,\n"
    "its name, vendor, type, compute units, memory, OpenCL C version and\n"
    "fp16/fp64 support.\n";

static const char usage_info[] =
    "usage: lstmcl info [--prefix PREFIX] MODEL\n"
    "\n"
    "Describes the LSTM in MODEL: layers, directions, sizes, features, the\n"
    "parameter count and the weight convention it was read in.\n"
    "\n"
    "  MODEL             a PyTorch nn.LSTM state_dict (*.safetensors) or an ONNX\n"
    "                    model (*.onnx): one LSTM node, or torch.onnx.export's\n"
    "                    graph of an nn.LSTM\n"
    "  --prefix PREFIX   the state_dict prefix of the LSTM (e.g. 'encoder.rnn.')\n"
    "                    when the file holds more than one\n";

static const char usage_run[] =
    "usage: lstmcl run --weights MODEL --input X.npy [--output Y.npy] [--hn HN.npy]\n"
    "                  [--cn CN.npy] [--h0 H0.npy] [--c0 C0.npy] [--seq-lens LENS.npy]\n"
    "                  [--batch-first] [--prefix PREFIX] [--device SPEC | --cpu]\n"
    "                  [--algo ALGO] [--precision P] [--chunk K]\n"
    "                  [--validate [--tolerance TOL]] [--time]\n"
    "\n"
    "Runs MODEL on X and writes the outputs asked for (at least one).\n"
    "\n"
    "safetensors (PyTorch nn.LSTM, PyTorch shapes):\n"
    "  X (T, N, I), or (N, T, I) with --batch-first;  Y (T, N, D*Hout) or (N, T, D*Hout)\n"
    "  H0, HN (L*D, N, Hout);  C0, CN (L*D, N, H)\n"
    "ONNX: the shapes of the graph's own inputs and outputs (for one LSTM node\n"
    "  with layout 0: X (T, N, I), Y (T, D, N, H), H0/HN and C0/CN (D, N, H));\n"
    "  --batch-first does not apply, the graph's layout decides.\n"
    "\n"
    "  --seq-lens LENS   int32 or int64 (N,), each in 1..T; steps past a length are 0\n"
    "  --prefix PREFIX   the state_dict prefix when the file holds several LSTMs\n"
    "  --device SPEC     device index, a part of its name, or 'cpu'; default:\n"
    "                    $LSTMCL_DEVICE, else the first GPU, else the first device\n"
    "  --cpu             the CPU reference path (same as --device cpu)\n"
    "  --algo ALGO       force the device algorithm: auto, gemm, fused, fused-rows,\n"
    "                    fused-cols, persistent, persistent-rows, persistent-cols\n"
    "                    (default: $LSTMCL_ALGO, else auto)\n"
    "  --precision P     how the model stores its weights: fp32 (default), fp16,\n"
    "                    bf16 (h and y are then stored rounded too), or int8 (one\n"
    "                    float scale per row); arithmetic, c and biases stay\n"
    "                    float; every LSTM node of an ONNX graph takes it.\n"
    "                    Accuracy against the same model in fp32, per output:\n"
    "                    max |difference| / max(max |fp32 output|, 1) <= 1e-2\n"
    "                    (fp16), 3e-2 (bf16), 5e-2 (int8), for weights scaled as\n"
    "                    trained models' are. F16 and BF16 weights in the file\n"
    "                    are taken as stored: an fp16 checkpoint run with fp16\n"
    "                    keeps every weight exact. fp16 refuses a weight of 65520\n"
    "                    or more in magnitude (it rounds to infinity; 65504 is\n"
    "                    half's largest). The gemm algorithm runs fp32 only:\n"
    "                    --algo gemm (or LSTMCL_ALGO=gemm) with another\n"
    "                    precision is refused.\n"
    "                    --cpu and --validate's reference compute with the\n"
    "                    weights as the model stores them.\n"
    "  --chunk K         feed the input through a session K steps at a time, as\n"
    "                    live streams would be (forward models only); the\n"
    "                    outputs are those of the whole run\n"
    "  --validate        also run the CPU reference, print the largest absolute\n"
    "                    and relative differences; exit 1 when an element differs\n"
    "                    by more than TOL * (1 + |reference|) (TOL default 1e-4;\n"
    "                    with --precision fp16 2.1e-3, bf16 1.6e-2: h stored\n"
    "                    rounded may round either way near a rounding boundary)\n"
    "  --time            print the time spent loading, creating the model\n"
    "                    (weights upload and kernel build), in the forward pass\n"
    "                    (input upload, run and output download) and writing\n"
    "\n"
    "Arrays are float32 .npy files (float16/float64 are converted, Fortran order\n"
    "is reordered); every element and every weight must be finite.\n"
    "\n"
    "Outputs: a regular file (or a link to one) is written to a temporary file\n"
    "renamed into place once every output is written: a failed or interrupted\n"
    "run leaves no partial file and keeps the old ones. A character device or a\n"
    "FIFO is written directly; '-' is standard output (the --validate and --time\n"
    "lines then go to standard error). An output that is an input or another\n"
    "output, under any name, is refused.\n";

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (t & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

static int cmd_devices(int argc, char **argv)
{
    run_opts o;
    size_t count = 0, k;
    lstmcl_status s;
    memset(&o, 0, sizeof o);
    if (!parse_opts("devices", argc, argv, devices_defs,
                    sizeof devices_defs / sizeof devices_defs[0], &o, NULL))
        return CLI_ERR_INPUT;
    if (o.help) {
        fputs(usage_devices, stdout);
        return 0;
    }
    s = lstmcl_device_count(&count);
    if (s != LSTMCL_SUCCESS) {
        report(NULL, "cannot list devices: %s", lstmcl_thread_last_error());
        return CLI_ERR_RUNTIME;
    }
    if (count == 0) {
        printf("no OpenCL device found\n");
        return 0;
    }
    for (k = 0; k < count; k++) {
        lstmcl_device_info di;
        s = lstmcl_device_get_info(k, &di);
        if (s != LSTMCL_SUCCESS) {
            report(NULL, "device %zu: %s", k, lstmcl_thread_last_error());
            return CLI_ERR_RUNTIME;
        }
        printf("%zu: %s\n", di.index, di.name);
        printf("    vendor:         %s\n", di.vendor);
        printf("    platform:       %s\n", di.platform);
        printf("    type:           %s\n", type_name(di.type));
        printf("    compute units:  %u\n", (unsigned)di.compute_units);
        printf("    global memory:  %llu MiB\n",
               (unsigned long long)(di.global_mem_bytes / (1024 * 1024)));
        printf("    local memory:   %llu KiB\n", (unsigned long long)(di.local_mem_bytes / 1024));
        printf("    max allocation: %llu MiB\n",
               (unsigned long long)(di.max_alloc_bytes / (1024 * 1024)));
        printf("    OpenCL:         %s; %s\n", di.device_version, di.opencl_c_version);
        printf("    driver:         %s\n", di.driver_version);
        printf("    fp16:           %s\n", di.has_fp16 ? "yes" : "no");
        printf("    fp64:           %s\n", di.has_fp64 ? "yes" : "no");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* info                                                                      */
/* ------------------------------------------------------------------------ */

static const char *direction_name(lstmcl_direction d)
{
    return d == LSTMCL_BIDIRECTIONAL ? "bidirectional" : d == LSTMCL_REVERSE ? "reverse" : "forward";
}

static void print_lstm(const lstmcl_file_lstm *l)
{
    const lstmcl_model_desc *d = &l->desc;
    size_t D = d->direction == LSTMCL_BIDIRECTIONAL ? 2 : 1, k, s;
    int custom = 0;
    printf("  layers:          %zu\n", d->num_layers);
    printf("  direction:       %s (%zu)\n", direction_name(d->direction), D);
    printf("  input size:      %zu\n", d->input_size);
    printf("  hidden size:     %zu\n", d->hidden_size);
    printf("  projection size: %zu%s\n", d->proj_size, d->proj_size ? "" : " (none)");
    printf("  features:        %s", d->no_bias ? "no biases" : "biases");
    if (d->proj_size)
        printf(", projection");
    if (d->peephole)
        printf(", peepholes");
    if (d->input_forget)
        printf(", input_forget");
    if (d->has_clip)
        printf(", clip %g", (double)d->clip);
    for (k = 0; k < D; k++)
        for (s = 0; s < 3; s++)
            if (d->activations[k][s].kind != LSTMCL_ACT_DEFAULT)
                custom = 1;
    if (custom) {
        printf(", activations");
        for (k = 0; k < D; k++)
            for (s = 0; s < 3; s++) {
                const lstmcl_activation *a = &d->activations[k][s];
                const char *n = a->kind == LSTMCL_ACT_DEFAULT
                                    ? (s == LSTMCL_SLOT_F ? "Sigmoid" : "Tanh")
                                    : lstmcl_activation_name(a->kind);
                printf(" %s(%g, %g)", n ? n : "?", (double)a->alpha,
                       (double)a->beta);
            }
    }
    printf("\n");
    printf("  parameters:      %zu\n", l->parameter_count);
    printf("  convention:      %s\n",
           l->convention == LSTMCL_CONVENTION_ONNX ? "ONNX (gates i, o, f, c)"
                                                   : "PyTorch (gates i, f, g, o)");
}

/* Opens a model file through the library's loader. The loader's message
 * names the file; a file it refuses is bad input, running out of memory a
 * runtime failure. */
static int open_model_file(const char *path, const char *prefix, lstmcl_file **file)
{
    lstmcl_file_options fo;
    lstmcl_status s;
    lstmcl_file_options_init(&fo);
    fo.prefix = prefix;
    fo.prefix_name = "--prefix";
    s = lstmcl_file_open(path, &fo, file);
    if (s == LSTMCL_SUCCESS)
        return CLI_OK;
    report(NULL, "%s", lstmcl_thread_last_error());
    return s == LSTMCL_ERROR_OUT_OF_HOST_MEMORY ? CLI_ERR_RUNTIME : CLI_ERR_INPUT;
}

static int cmd_info(int argc, char **argv)
{
    run_opts o;
    const char *path = NULL;
    lstmcl_file *mf = NULL;
    lstmcl_file_info fi;
    lstmcl_file_lstm l;
    int rc;
    memset(&o, 0, sizeof o);
    if (!parse_opts("info", argc, argv, info_defs, sizeof info_defs / sizeof info_defs[0], &o,
                    &path))
        return CLI_ERR_INPUT;
    if (o.help) {
        fputs(usage_info, stdout);
        return 0;
    }
    if (!path) {
        report(NULL, "info: missing MODEL (see lstmcl info --help)");
        return CLI_ERR_INPUT;
    }
    rc = open_model_file(path, o.prefix, &mf);
    if (rc != CLI_OK)
        return rc;
    lstmcl_file_get_info(mf, &fi);
    printf("%s\n", path);
    if (fi.format == LSTMCL_FILE_SAFETENSORS) {
        lstmcl_file_get_lstm(mf, 0, &l);
        printf("  format:          safetensors, PyTorch nn.LSTM state_dict\n");
        printf("  prefix:          '%s'\n", l.name);
        print_lstm(&l);
    } else {
        size_t k, total = 0;
        printf("  format:          ONNX, opset %lld, producer '%s'\n", fi.opset, fi.producer);
        printf("  LSTM nodes:      %zu (one layer each)\n", fi.lstm_count);
        for (k = 0; k < fi.lstm_count; k++) {
            lstmcl_file_get_lstm(mf, k, &l);
            printf("LSTM node %zu '%s' (layout %d):\n", k, l.name, l.layout);
            print_lstm(&l);
            total += l.parameter_count;
        }
        printf("total parameters:  %zu\n", total);
    }
    lstmcl_file_destroy(mf);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* run                                                                       */
/* ------------------------------------------------------------------------ */

/* An array to be written. */
typedef struct out_array {
    const char *path;
    size_t ndim;
    size_t dims[4];
    float *data;     /* owned */
    float *ref;      /* reference result for --validate (owned) */
    size_t count;
} out_array;

static int load_input(const char *path, int want_int, npy_array *a)
{
    char err[ERRLEN] = "";
    int rc = npy_load(path, a, err, sizeof err);
    if (rc != CLI_OK) {
        report(path, "%s", err);
        return rc;
    }
    if (want_int) {
        if (!a->is_integer || (strcmp(a->descr + 1, "i4") != 0 && strcmp(a->descr + 1, "i8") != 0)) {
            report(path, "dtype '%s': int32 or int64 sequence lengths expected", a->descr);
            npy_free(a);
            return CLI_ERR_INPUT;
        }
    } else if (a->is_integer) {
        report(path, "dtype '%s': a floating-point array expected", a->descr);
        npy_free(a);
        return CLI_ERR_INPUT;
    }
    if (!want_int && a->first_nonfinite < a->count) {
        const size_t k = a->first_nonfinite;
        const double v = a->nonfinite_value;
        if (isfinite(v))
            report(path, "element %zu %s (%g)", k, ld_nonfinite_reason(v, a->f[k]), v);
        else
            report(path, "element %zu %s", k, ld_nonfinite_reason(v, a->f[k]));
        npy_free(a);
        return CLI_ERR_INPUT;
    }
    return CLI_OK;
}

static void shape_str(const size_t *dims, size_t ndim, char *buf, size_t len)
{
    size_t k, n = 0;
    n += (size_t)snprintf(buf + n, len - n, "(");
    for (k = 0; k < ndim && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%zu", k ? ", " : "", dims[k]);
    if (n < len)
        snprintf(buf + n, len - n, "%s)", ndim == 1 ? "," : ""); /* NumPy style: (4,) */
}

static int check_array_shape(const char *path, const npy_array *a, const size_t *want, size_t ndim,
                             const char *what)
{
    size_t k;
    int ok = a->ndim == ndim;
    for (k = 0; ok && k < ndim; k++)
        ok = a->dims[k] == want[k];
    if (!ok) {
        char got[256], exp[256];
        shape_str(a->dims, a->ndim, got, sizeof got);
        shape_str(want, ndim, exp, sizeof exp);
        report(path, "shape %s, but the model needs %s for %s", got, exp, what);
        return 0;
    }
    return 1;
}

/* Sequence lengths as int32 in 1..T. */
static int seq_lens_to_int32(const char *path, const npy_array *a, size_t N, size_t T,
                             int32_t **out)
{
    size_t k;
    size_t want[1];
    want[0] = N;
    if (!check_array_shape(path, a, want, 1, "the sequence lengths"))
        return CLI_ERR_INPUT;
    *out = malloc(N * sizeof **out);
    if (!*out) {
        report(path, "out of memory");
        return CLI_ERR_RUNTIME;
    }
    for (k = 0; k < N; k++) {
        if (a->i[k] < 1 || (uint64_t)a->i[k] > (uint64_t)T) {
            report(path, "sequence length %lld at index %zu is outside 1..%zu", (long long)a->i[k],
                   k, T);
            free(*out);
            *out = NULL;
            return CLI_ERR_INPUT;
        }
        (*out)[k] = (int32_t)a->i[k];
    }
    return CLI_OK;
}

/* Largest differences between results and reference; 0 when within
 * tolerance. */
static int compare_outputs(const out_array *outs, size_t n, double tol)
{
    double max_abs = 0, max_rel = 0;
    int ok = 1;
    size_t k, j;
    for (k = 0; k < n; k++) {
        if (!outs[k].data || !outs[k].ref)
            continue;
        for (j = 0; j < outs[k].count; j++) {
            double a = outs[k].data[j], b = outs[k].ref[j], d, rel;
            /* NaN where the reference has NaN, or the same infinity, agrees. */
            if ((isnan(a) && isnan(b)) || a == b)
                continue;
            d = fabs(a - b);
            rel = d / fmax(fabs(b), 1e-6);
            if (!(d <= tol * (1.0 + fabs(b))))
                ok = 0;
            if (!(d <= max_abs))
                max_abs = d;
            if (!(rel <= max_rel))
                max_rel = rel;
        }
    }
    fprintf(info_out, "validate: max abs diff %.3g, max rel diff %.3g (tolerance %.3g): %s\n",
            max_abs, max_rel, tol, ok ? "ok" : "FAILED");
    fflush(info_out);
    if (!ok)
        report(NULL, "validate: the results differ from the CPU reference by more than the "
               "tolerance; no output written");
    return ok;
}

/* --validate's tolerance: --tolerance, else 1e-4 (float32 sums in a
 * different order), plus, where h is stored in half or bfloat16, 4 units of
 * the stored type's last place relative to |h|: a value whose float sum
 * lies near a rounding boundary may round up on the device and down on the
 * reference, and the difference passes on to later steps (the library's
 * own device tests allow the same). */
static double validate_tolerance(const run_opts *o)
{
    if (o->tolerance)
        return strtod(o->tolerance, NULL);
    return 1e-4 + lstmcl_precision_reference_allowance(o->model_opts.precision);
}

/* Writes the outputs asked for, all or nothing (output.h). outs[k] is the
 * result for dest[k]. */
static int write_outputs(const run_opts *o, out_array *outs, size_t n)
{
    uint8_t *hdr[LSTMCL_GRAPH_OUTPUT_COUNT] = {NULL};
    char err[ERRLEN] = "";
    size_t k, bad = 0;
    int rc = CLI_OK;
    for (k = 0; k < n && rc == CLI_OK; k++) {
        size_t hlen = 0, j;
        if (!outs[k].path)
            continue;
        /* .npy data is little-endian float32. */
        for (j = 0; j < outs[k].count; j++) {
            float f = outs[k].data[j];
            uint32_t u;
            uint8_t *b = (uint8_t *)&outs[k].data[j];
            memcpy(&u, &f, sizeof u);
            b[0] = (uint8_t)u;
            b[1] = (uint8_t)(u >> 8);
            b[2] = (uint8_t)(u >> 16);
            b[3] = (uint8_t)(u >> 24);
        }
        rc = npy_make_f32_header(outs[k].dims, outs[k].ndim, &hdr[k], &hlen, err, sizeof err);
        if (rc != CLI_OK) {
            report(outs[k].path, "%s", err);
            break;
        }
        o->dest[k].header = hdr[k];
        o->dest[k].header_len = hlen;
        o->dest[k].data = outs[k].data;
        o->dest[k].data_len = outs[k].count * sizeof(float);
    }
    if (rc == CLI_OK) {
        rc = cli_outputs_commit(o->dest, n, &bad, err, sizeof err);
        if (rc != CLI_OK)
            report(o->dest[bad].path, "%s", err);
    }
    for (k = 0; k < n; k++)
        free(hdr[k]);
    return rc;
}

static void free_outputs(out_array *outs, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) {
        free(outs[k].data);
        free(outs[k].ref);
        outs[k].data = outs[k].ref = NULL;
    }
}

static int alloc_output(out_array *o, const char *path, size_t ndim, size_t d0, size_t d1,
                        size_t d2, int with_ref)
{
    size_t n;
    o->path = path;
    o->ndim = ndim;
    o->dims[0] = d0;
    o->dims[1] = d1;
    o->dims[2] = d2;
    if (!ld_mul_size(d0, d1, &n) || !ld_mul_size(n, d2, &n) ||
        n > SIZE_MAX / sizeof(float)) {
        report(path, "output too large");
        return CLI_ERR_INPUT;
    }
    o->count = n;
    o->data = calloc(n ? n : 1, sizeof(float));
    if (with_ref)
        o->ref = calloc(n ? n : 1, sizeof(float));
    if (!o->data || (with_ref && !o->ref)) {
        report(path, "out of memory for the output");
        return CLI_ERR_RUNTIME;
    }
    return CLI_OK;
}

typedef struct timings {
    double load, create, forward, write;
} timings;

static int create_model(lstmcl_context *ctx, const run_opts *o, const lstmcl_file *mf,
                        size_t index, const char *path, lstmcl_model **model)
{
    lstmcl_status s = lstmcl_file_model_create(mf, index, ctx, &o->model_opts, model);
    if (s != LSTMCL_SUCCESS) {
        /* A bad setting is nobody's file's fault; nor is a combination of
         * --algo and --precision that the device cannot run (gemm with a
         * reduced precision), which is bad usage. */
        if (s == LSTMCL_ERROR_INVALID_CONFIG) {
            report(NULL, "%s", lstmcl_thread_last_error());
        } else if (s == LSTMCL_ERROR_UNSUPPORTED && (o->algo || o->precision)) {
            report(NULL, "run: %s%s%s%s%s: %s", o->algo ? "--algo " : "",
                   o->algo ? o->algo : "", o->algo && o->precision ? " " : "",
                   o->precision ? "--precision " : "", o->precision ? o->precision : "",
                   lstmcl_thread_last_error());
            return CLI_ERR_INPUT;
        } else {
            /* Which node of a graph: the library's message names the
             * tensor by layer and direction of the node's own model. */
            lstmcl_file_info fi;
            lstmcl_file_lstm l;
            char node[320] = "", msg[ERRLEN];
            snprintf(msg, sizeof msg, "%s", lstmcl_thread_last_error());
            lstmcl_file_get_info(mf, &fi);
            if (fi.format == LSTMCL_FILE_ONNX && fi.lstm_count > 1 &&
                lstmcl_file_get_lstm(mf, index, &l) == LSTMCL_SUCCESS)
                snprintf(node, sizeof node, " of LSTM node %zu '%.256s'", index, l.name);
            report(path, "cannot create the model%s: %s", node, msg);
        }
        return status_exit(s);
    }
    return CLI_OK;
}

/* A PyTorch nn.LSTM from a safetensors file: PyTorch's shapes throughout. */
static int run_torch(const run_opts *o, const lstmcl_file *mf, const lstmcl_file_lstm *l,
                     lstmcl_context *ctx, const npy_array in[LSTMCL_GRAPH_INPUT_COUNT],
                     timings *tm)
{
    const lstmcl_model_desc *d = &l->desc;
    size_t D = d->direction == LSTMCL_BIDIRECTIONAL ? 2 : 1;
    size_t Hout = d->proj_size ? d->proj_size : d->hidden_size, T, N, want[3];
    const npy_array *x = &in[LSTMCL_GRAPH_X];
    out_array outs[3];
    int32_t *lens = NULL;
    lstmcl_model *model = NULL;
    lstmcl_forward_args args;
    lstmcl_status s;
    int rc = CLI_OK;
    double t0;

    memset(outs, 0, sizeof outs);
    if (x->ndim != 3 || x->dims[2] != d->input_size || x->dims[0] == 0 || x->dims[1] == 0) {
        char got[256];
        shape_str(x->dims, x->ndim, got, sizeof got);
        report(o->input, "shape %s, but the model needs %s with input size %zu", got,
               o->batch_first ? "(N, T, I)" : "(T, N, I)", d->input_size);
        return CLI_ERR_INPUT;
    }
    T = o->batch_first ? x->dims[1] : x->dims[0];
    N = o->batch_first ? x->dims[0] : x->dims[1];
    want[0] = d->num_layers * D;
    want[1] = N;
    want[2] = Hout;
    if (in[LSTMCL_GRAPH_INITIAL_H].count && !check_array_shape(o->h0, &in[LSTMCL_GRAPH_INITIAL_H], want, 3,
                                                   "initial hidden states (L*D, N, Hout)"))
        return CLI_ERR_INPUT;
    want[2] = d->hidden_size;
    if (in[LSTMCL_GRAPH_INITIAL_C].count && !check_array_shape(o->c0, &in[LSTMCL_GRAPH_INITIAL_C], want, 3,
                                                   "initial cell states (L*D, N, H)"))
        return CLI_ERR_INPUT;
    if (o->seq_lens) {
        rc = seq_lens_to_int32(o->seq_lens, &in[LSTMCL_GRAPH_SEQ_LENS], N, T, &lens);
        if (rc != CLI_OK)
            return rc;
    }
    if (o->output)
        rc = o->batch_first ? alloc_output(&outs[0], o->output, 3, N, T, D * Hout, o->validate)
                            : alloc_output(&outs[0], o->output, 3, T, N, D * Hout, o->validate);
    if (rc == CLI_OK && o->hn)
        rc = alloc_output(&outs[1], o->hn, 3, d->num_layers * D, N, Hout, o->validate);
    if (rc == CLI_OK && o->cn)
        rc = alloc_output(&outs[2], o->cn, 3, d->num_layers * D, N, d->hidden_size, o->validate);
    if (rc != CLI_OK)
        goto done;

    t0 = now_seconds();
    rc = create_model(ctx, o, mf, 0, o->weights, &model);
    tm->create = now_seconds() - t0;
    if (rc != CLI_OK)
        goto done;
    memset(&args, 0, sizeof args);
    args.seq_len = T;
    args.batch = N;
    args.batch_first = o->batch_first;
    args.x = x->f;
    args.seq_lens = lens;
    args.h0 = in[LSTMCL_GRAPH_INITIAL_H].count ? in[LSTMCL_GRAPH_INITIAL_H].f : NULL;
    args.c0 = in[LSTMCL_GRAPH_INITIAL_C].count ? in[LSTMCL_GRAPH_INITIAL_C].f : NULL;
    args.y = outs[0].data;
    args.hn = outs[1].data;
    args.cn = outs[2].data;
    t0 = now_seconds();
    s = o->chunk ? cli_chunked_forward(model, &args, o->chunk) : lstmcl_forward(model, &args);
    tm->forward = now_seconds() - t0;
    if (s != LSTMCL_SUCCESS) {
        report(o->weights, "forward pass failed: %s", lstmcl_thread_last_error());
        rc = status_exit(s);
        goto done;
    }
    if (o->validate) {
        args.y = outs[0].ref;
        args.hn = outs[1].ref;
        args.cn = outs[2].ref;
        s = lstmcl_forward_reference(model, &args);
        if (s != LSTMCL_SUCCESS) {
            report(o->weights, "reference forward pass failed: %s", lstmcl_thread_last_error());
            rc = status_exit(s);
            goto done;
        }
        if (!compare_outputs(outs, 3, validate_tolerance(o)))
            rc = CLI_ERR_RUNTIME;
    }
    if (rc == CLI_OK) {
        t0 = now_seconds();
        rc = write_outputs(o, outs, 3);
        tm->write = now_seconds() - t0;
    }
done:
    lstmcl_model_destroy(model);
    free(lens);
    free_outputs(outs, 3);
    return rc;
}

/* The graph's LSTM nodes fed through sessions (--chunk). */
static lstmcl_status chunked_node(void *user, lstmcl_model *model, const lstmcl_forward_args *a)
{
    return cli_chunked_forward(model, a, *(const size_t *)user);
}

/* A graph run's message without the model file's name in front (the
 * command puts the name of the file at fault there itself). */
static const char *graph_message(const char *weights)
{
    const char *msg = lstmcl_thread_last_error();
    size_t n = strlen(weights);
    if (strncmp(msg, weights, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

/* Runs the graph on the inputs (reference: on the CPU reference path) and
 * takes its outputs into res; reports a failure, naming the input file
 * at fault or the model. */
static int graph_run(const run_opts *o, lstmcl_graph *g, const npy_array in[LSTMCL_GRAPH_INPUT_COUNT],
                     const char *const in_paths[LSTMCL_GRAPH_INPUT_COUNT], int reference,
                     const char *what, out_array res[LSTMCL_GRAPH_OUTPUT_COUNT])
{
    static const char *const labels[LSTMCL_GRAPH_INPUT_COUNT] = {"--input", "--seq-lens",
                                                                 "--h0", "--c0"};
    lstmcl_graph_run_args a;
    lstmcl_status s;
    size_t k, j;
    memset(&a, 0, sizeof a);
    for (k = 0; k < LSTMCL_GRAPH_INPUT_COUNT; k++) {
        a.labels[k] = labels[k];
        if (!in_paths[k])
            continue;
        a.inputs[k].data = in[k].is_integer ? NULL : in[k].f;
        a.inputs[k].ints = in[k].is_integer ? in[k].i : NULL;
        a.inputs[k].ndim = in[k].ndim;
        a.inputs[k].dims = in[k].dims;
    }
    a.reference = reference;
    if (!reference && o->chunk) {
        a.forward = chunked_node;
        a.forward_user = (void *)&o->chunk;
    }
    s = lstmcl_graph_run(g, &a);
    if (s != LSTMCL_SUCCESS) {
        int bad = lstmcl_graph_failed_input(g);
        report(bad >= 0 && in_paths[bad] ? in_paths[bad] : o->weights, "%s%s", what,
               graph_message(o->weights));
        return s == LSTMCL_ERROR_INVALID_ARGUMENT || s == LSTMCL_ERROR_INVALID_SHAPE ||
                       s == LSTMCL_ERROR_UNSUPPORTED
                   ? CLI_ERR_INPUT
                   : CLI_ERR_RUNTIME;
    }
    for (k = 0; k < LSTMCL_GRAPH_OUTPUT_COUNT; k++) {
        lstmcl_array r;
        size_t n = 1;
        lstmcl_graph_output(g, (int)k, &r);
        if (!r.data)
            continue;
        res[k].ndim = r.ndim;
        for (j = 0; j < r.ndim; j++) {
            n *= r.dims[j];
            if (j < 4)
                res[k].dims[j] = r.dims[j];
        }
        res[k].count = n;
        res[k].data = malloc((n ? n : 1) * sizeof(float));
        if (!res[k].data) {
            report(NULL, "out of memory");
            return CLI_ERR_RUNTIME;
        }
        memcpy(res[k].data, r.data, n * sizeof(float));
    }
    return CLI_OK;
}

/* An ONNX graph: the graph's own input and output shapes. */
static int run_onnx(const run_opts *o, const lstmcl_file *mf, lstmcl_context *ctx,
                    const npy_array in[LSTMCL_GRAPH_INPUT_COUNT], timings *tm)
{
    static const char *const in_opts[LSTMCL_GRAPH_INPUT_COUNT] = {"--input", "--seq-lens",
                                                                  "--h0", "--c0"};
    static const char *const out_opts[LSTMCL_GRAPH_OUTPUT_COUNT] = {"--output", "--hn", "--cn"};
    const char *in_paths[LSTMCL_GRAPH_INPUT_COUNT], *out_paths[LSTMCL_GRAPH_OUTPUT_COUNT];
    int has_in[LSTMCL_GRAPH_INPUT_COUNT] = {0}, has_out[LSTMCL_GRAPH_OUTPUT_COUNT] = {0};
    lstmcl_file_info fi;
    lstmcl_graph_port port;
    lstmcl_model **models = NULL;
    lstmcl_graph *g = NULL;
    out_array outs[LSTMCL_GRAPH_OUTPUT_COUNT], ref[LSTMCL_GRAPH_OUTPUT_COUNT];
    size_t n, k;
    int rc = CLI_OK;
    double t0;

    in_paths[LSTMCL_GRAPH_X] = o->input;
    in_paths[LSTMCL_GRAPH_SEQ_LENS] = o->seq_lens;
    in_paths[LSTMCL_GRAPH_INITIAL_H] = o->h0;
    in_paths[LSTMCL_GRAPH_INITIAL_C] = o->c0;
    out_paths[LSTMCL_GRAPH_Y] = o->output;
    out_paths[LSTMCL_GRAPH_Y_H] = o->hn;
    out_paths[LSTMCL_GRAPH_Y_C] = o->cn;
    memset(outs, 0, sizeof outs);
    memset(ref, 0, sizeof ref);
    if (o->batch_first) {
        report(o->weights, "--batch-first does not apply to ONNX models (the graph's layout "
               "attribute decides)");
        return CLI_ERR_INPUT;
    }
    lstmcl_file_get_info(mf, &fi);
    for (k = 0; k < fi.input_count; k++)
        if (lstmcl_file_graph_input(mf, k, &port) == LSTMCL_SUCCESS)
            has_in[port.role] = 1;
    for (k = 0; k < fi.output_count; k++)
        if (lstmcl_file_graph_output(mf, k, &port) == LSTMCL_SUCCESS)
            has_out[port.role] = 1;
    for (k = 0; k < LSTMCL_GRAPH_INPUT_COUNT; k++)
        if (in_paths[k] && !has_in[k]) {
            report(o->weights, "the graph has no input for %s", in_opts[k]);
            return CLI_ERR_INPUT;
        }
    for (k = 0; k < LSTMCL_GRAPH_OUTPUT_COUNT; k++)
        if (out_paths[k] && !has_out[k]) {
            report(o->weights, "the graph has no output for %s", out_opts[k]);
            return CLI_ERR_INPUT;
        }
    n = fi.lstm_count;
    models = calloc(n ? n : 1, sizeof *models);
    if (!models) {
        report(NULL, "out of memory");
        return CLI_ERR_RUNTIME;
    }
    t0 = now_seconds();
    for (k = 0; k < n && rc == CLI_OK; k++)
        rc = create_model(ctx, o, mf, k, o->weights, &models[k]);
    tm->create = now_seconds() - t0;
    if (rc != CLI_OK)
        goto done;
    if (lstmcl_graph_create(mf, models, n, &g) != LSTMCL_SUCCESS) {
        report(NULL, "%s", lstmcl_thread_last_error());
        rc = CLI_ERR_RUNTIME;
        goto done;
    }
    t0 = now_seconds();
    rc = graph_run(o, g, in, in_paths, lstmcl_context_is_reference(ctx), "", outs);
    tm->forward = now_seconds() - t0;
    if (rc != CLI_OK)
        goto done;
    if (o->validate) {
        rc = graph_run(o, g, in, in_paths, 1, "reference run: ", ref);
        if (rc != CLI_OK)
            goto done;
    }
    for (k = 0; k < LSTMCL_GRAPH_OUTPUT_COUNT; k++) {
        if (!out_paths[k] && !o->validate) {
            free(outs[k].data);
            outs[k].data = NULL;
            continue;
        }
        outs[k].path = out_paths[k];
        if (o->validate) {
            outs[k].ref = ref[k].data;
            ref[k].data = NULL;
        }
    }
    if (o->validate &&
        !compare_outputs(outs, LSTMCL_GRAPH_OUTPUT_COUNT, validate_tolerance(o)))
        rc = CLI_ERR_RUNTIME;
    if (rc == CLI_OK) {
        t0 = now_seconds();
        rc = write_outputs(o, outs, LSTMCL_GRAPH_OUTPUT_COUNT);
        tm->write = now_seconds() - t0;
    }
done:
    free_outputs(outs, LSTMCL_GRAPH_OUTPUT_COUNT);
    free_outputs(ref, LSTMCL_GRAPH_OUTPUT_COUNT);
    lstmcl_graph_destroy(g);
    for (k = 0; k < n; k++)
        lstmcl_model_destroy(models[k]);
    free(models);
    return rc;
}

/* Refuses, before any work, outputs that cannot be written or that would
 * destroy an input or another output (output.h). */
static int check_outputs(run_opts *o, cli_output dest[LSTMCL_GRAPH_OUTPUT_COUNT])
{
    const char *const in_paths[] = {o->weights, o->input, o->h0, o->c0, o->seq_lens};
    const char *const in_opts[] = {"--weights", "--input", "--h0", "--c0", "--seq-lens"};
    char err[ERRLEN] = "";
    size_t k, bad = 0;
    int rc;
    memset(dest, 0, LSTMCL_GRAPH_OUTPUT_COUNT * sizeof *dest);
    dest[LSTMCL_GRAPH_Y].option = "--output";
    dest[LSTMCL_GRAPH_Y].path = o->output;
    dest[LSTMCL_GRAPH_Y_H].option = "--hn";
    dest[LSTMCL_GRAPH_Y_H].path = o->hn;
    dest[LSTMCL_GRAPH_Y_C].option = "--cn";
    dest[LSTMCL_GRAPH_Y_C].path = o->cn;
    o->dest = dest;
    rc = cli_outputs_check(dest, LSTMCL_GRAPH_OUTPUT_COUNT, in_paths, in_opts,
                           sizeof in_paths / sizeof in_paths[0], &bad, err, sizeof err);
    if (rc != CLI_OK) {
        report(dest[bad].path, "%s", err);
        return rc;
    }
    for (k = 0; k < LSTMCL_GRAPH_OUTPUT_COUNT; k++)
        if (dest[k].path && dest[k].kind == CLI_OUT_STDOUT)
            info_out = stderr;
    return CLI_OK;
}

/* The context for --device / --cpu, with an exit status that tells a bad
 * argument (2) from a machine without OpenCL or a failing device (1). */
static int open_context(const run_opts *o, lstmcl_context **ctx)
{
    const char *spec = o->cpu ? "cpu" : o->device;
    lstmcl_status s = lstmcl_context_create(spec, ctx);
    size_t count = 0;
    if (s == LSTMCL_SUCCESS)
        return CLI_OK;
    if (s == LSTMCL_ERROR_INVALID_CONFIG) {
        report(NULL, "%s", lstmcl_thread_last_error());
        return CLI_ERR_INPUT;
    }
    if (s == LSTMCL_ERROR_NO_DEVICE && lstmcl_device_count(&count) == LSTMCL_SUCCESS &&
        count == 0) {
        report(NULL, "no OpenCL device found (no OpenCL platform is installed, or none has a "
               "device); --cpu runs the CPU reference path");
        return CLI_ERR_RUNTIME;
    }
    if (s == LSTMCL_ERROR_NO_DEVICE && o->device) {
        report(NULL, "--device '%s': %s (see lstmcl devices)", o->device,
               lstmcl_thread_last_error());
        return CLI_ERR_INPUT;
    }
    report(NULL, "cannot open %s: %s", o->cpu ? "the CPU reference path" : "a device",
           lstmcl_thread_last_error());
    return CLI_ERR_RUNTIME;
}

static int cmd_run(int argc, char **argv)
{
    run_opts o;
    lstmcl_file *mf = NULL;
    lstmcl_file_info fi;
    npy_array in[LSTMCL_GRAPH_INPUT_COUNT];
    lstmcl_context *ctx = NULL;
    const char *in_paths[LSTMCL_GRAPH_INPUT_COUNT];
    cli_output dest[LSTMCL_GRAPH_OUTPUT_COUNT];
    timings tm;
    double t0;
    int rc = CLI_OK;
    size_t k;

    memset(&o, 0, sizeof o);
    memset(dest, 0, sizeof dest);
    memset(in, 0, sizeof in);
    memset(&tm, 0, sizeof tm);
    if (!parse_opts("run", argc, argv, run_defs, sizeof run_defs / sizeof run_defs[0], &o, NULL))
        return CLI_ERR_INPUT;
    if (o.help) {
        fputs(usage_run, stdout);
        return 0;
    }
    if (!o.weights || !o.input) {
        report(NULL, "run: %s is required (see lstmcl run --help)",
               !o.weights ? "--weights" : "--input");
        return CLI_ERR_INPUT;
    }
    if (!o.output && !o.hn && !o.cn) {
        report(NULL, "run: no output asked for (--output, --hn or --cn)");
        return CLI_ERR_INPUT;
    }
    if (o.cpu && o.device) {
        report(NULL, "run: --cpu and --device exclude each other");
        return CLI_ERR_INPUT;
    }
    lstmcl_model_options_init(&o.model_opts);
    if (o.algo && lstmcl_algorithm_from_name(o.algo, &o.model_opts.algorithm) != LSTMCL_SUCCESS) {
        report(NULL, "run: --algo: %s", lstmcl_thread_last_error());
        return CLI_ERR_INPUT;
    }
    if (o.precision &&
        lstmcl_precision_from_name(o.precision, &o.model_opts.precision) != LSTMCL_SUCCESS) {
        report(NULL, "run: --precision: %s", lstmcl_thread_last_error());
        return CLI_ERR_INPUT;
    }
    if (o.chunk_text) {
        char *end;
        unsigned long long k = strtoull(o.chunk_text, &end, 10);
        if (*end || o.chunk_text[0] < '1' || o.chunk_text[0] > '9' || k > (1u << 30)) {
            report(NULL, "run: --chunk needs a number of steps from 1 to %u", 1u << 30);
            return CLI_ERR_INPUT;
        }
        o.chunk = (size_t)k;
    }
    if (o.tolerance) {
        char *end;
        double t = strtod(o.tolerance, &end);
        if (*end || !(t > 0)) {
            report(NULL, "run: --tolerance needs a positive number");
            return CLI_ERR_INPUT;
        }
    }
    rc = check_outputs(&o, dest);
    if (rc != CLI_OK)
        goto done;

    t0 = now_seconds();
    rc = open_model_file(o.weights, o.prefix, &mf);
    if (rc != CLI_OK)
        goto done;
    lstmcl_file_get_info(mf, &fi);
    if (o.chunk) {
        /* A stream's reverse direction needs its future. */
        for (k = 0; k < fi.lstm_count; k++) {
            lstmcl_file_lstm l;
            lstmcl_file_get_lstm(mf, k, &l);
            if (l.desc.direction != LSTMCL_FORWARD) {
                report(o.weights, "--chunk: the model is %s; a stream's reverse direction "
                       "needs its future, so --chunk runs forward models only",
                       direction_name(l.desc.direction));
                rc = CLI_ERR_INPUT;
                goto done;
            }
        }
    }
    in_paths[LSTMCL_GRAPH_X] = o.input;
    in_paths[LSTMCL_GRAPH_SEQ_LENS] = o.seq_lens;
    in_paths[LSTMCL_GRAPH_INITIAL_H] = o.h0;
    in_paths[LSTMCL_GRAPH_INITIAL_C] = o.c0;
    for (k = 0; k < LSTMCL_GRAPH_INPUT_COUNT && rc == CLI_OK; k++)
        if (in_paths[k])
            rc = load_input(in_paths[k], k == LSTMCL_GRAPH_SEQ_LENS, &in[k]);
    tm.load = now_seconds() - t0;
    if (rc != CLI_OK)
        goto done;

    rc = open_context(&o, &ctx);
    if (rc != CLI_OK)
        goto done;
    if (fi.format == LSTMCL_FILE_SAFETENSORS) {
        lstmcl_file_lstm l;
        lstmcl_file_get_lstm(mf, 0, &l);
        rc = run_torch(&o, mf, &l, ctx, in, &tm);
    } else
        rc = run_onnx(&o, mf, ctx, in, &tm);
    if (rc == CLI_OK && o.time) {
        fprintf(info_out, "time: load %.3f ms, model create (weights upload, kernel build) %.3f ms, "
               "forward (input upload, run, output download) %.3f ms, write %.3f ms\n",
               1e3 * tm.load, 1e3 * tm.create, 1e3 * tm.forward, 1e3 * tm.write);
    }
done:
    for (k = 0; k < LSTMCL_GRAPH_INPUT_COUNT; k++)
        npy_free(&in[k]);
    lstmcl_context_destroy(ctx);
    lstmcl_file_destroy(mf);
    cli_outputs_free(dest, LSTMCL_GRAPH_OUTPUT_COUNT);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd;
    info_out = stdout;
    if (argc < 2) {
        fputs(usage_main, stderr);
        return CLI_ERR_INPUT;
    }
    cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("lstmcl %s\n", lstmcl_version_string());
        return 0;
    }
    if (strcmp(cmd, "devices") == 0)
        return cmd_devices(argc - 2, argv + 2);
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    report(NULL, "unknown command '%s' (see lstmcl --help)", cmd);
    return CLI_ERR_INPUT;
}
