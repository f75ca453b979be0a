/* The public face of the model-file loader (lstmcl.h, "Model files"):
 * lstmcl_file_* over model_file.c, lstmcl_graph_* over onnx_run.c. The
 * parsers write their messages into a buffer and return LD_* codes; this
 * file turns them into statuses and this thread's last error, prefixed
 * with the file's name where the fault lies in the file. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "load_util.h"
#include "model_file.h"
#include "onnx_model.h"

#define LD_ERRLEN 4096

struct lstmcl_file {
    char *name;
    ld_model_file mf;
    /* ONNX: the graph inputs and outputs in graph order. */
    size_t n_in, n_out;
    lstmcl_graph_port in[ONNX_IN_COUNT], out[ONNX_OUT_COUNT];
};

struct lstmcl_graph {
    const lstmcl_file *file;
    lstmcl_model **models; /* borrowed */
    size_t count;
    ld_array out[ONNX_OUT_COUNT];
    int failed_input;
};

/* A parser's LD_* result as a status. */
static lstmcl_status ld_status(int rc)
{
    return rc == LD_ERR_RUNTIME ? LSTMCL_ERROR_OUT_OF_HOST_MEMORY : LSTMCL_ERROR_INVALID_ARGUMENT;
}

void lstmcl_file_options_init(lstmcl_file_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->format = LSTMCL_FILE_AUTO;
}

/* The caller's options as this version reads them (fields past its
 * struct_size stay at their defaults). */
static lstmcl_status file_options(const char *fn, const lstmcl_file_options *in,
                                  lstmcl_file_options *out)
{
    lstmcl_file_options_init(out);
    if (!in)
        return LSTMCL_SUCCESS;
    if (in->struct_size < offsetof(lstmcl_file_options, format) + sizeof in->format)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: options: struct_size = %zu; fill the options with "
                       "lstmcl_file_options_init first", fn, in->struct_size);
    memcpy(out, in, in->struct_size < sizeof *out ? in->struct_size : sizeof *out);
    out->struct_size = sizeof *out;
    if (out->format != LSTMCL_FILE_AUTO && out->format != LSTMCL_FILE_SAFETENSORS &&
        out->format != LSTMCL_FILE_ONNX)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "%s: options: format = %d is not a lstmcl_file_format", fn,
                       (int)out->format);
    return LSTMCL_SUCCESS;
}

/* The graph's inputs and outputs, in its order, as ports. */
static void file_ports(lstmcl_file *f)
{
    const ld_onnx *m = f->mf.onnx;
    size_t k;
    f->n_in = ld_onnx_input_count(m);
    f->n_out = ld_onnx_output_count(m);
    for (k = 0; k < f->n_in; k++) {
        onnx_in_role r = ld_onnx_input_role(m, k);
        lstmcl_graph_port *p = &f->in[k];
        p->name = ld_onnx_input_name(m, r);
        p->role = (int)r;
        ld_onnx_input_shape(m, r, &p->ndim, &p->dims);
        p->has_shape = p->dims != NULL;
    }
    for (k = 0; k < f->n_out; k++) {
        onnx_out_role r = ld_onnx_output_role(m, k);
        f->out[k].name = ld_onnx_output_name(m, r);
        f->out[k].role = (int)r;
    }
}

static lstmcl_status file_open_bytes(const uint8_t *data, size_t size, const char *name,
                                     const lstmcl_file_options *o, lstmcl_file **file)
{
    char err[LD_ERRLEN] = "";
    const char *shown = name ? name : "<memory>";
    lstmcl_file *f = calloc(1, sizeof *f);
    int rc;
    if (f)
        f->name = malloc(strlen(shown) + 1);
    if (!f || !f->name) {
        free(f);
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", shown);
    }
    strcpy(f->name, shown);
    rc = ld_model_file_parse(data, size, name, o->format, o->prefix,
                             o->prefix_name ? o->prefix_name : "lstmcl_file_options.prefix",
                             &f->mf, err, sizeof err);
    if (rc != LD_OK) {
        lstmcl_status st = lc_fail(NULL, ld_status(rc), "%s: %s", shown, err);
        ld_model_file_free(&f->mf);
        free(f->name);
        free(f);
        return st;
    }
    if (f->mf.format == LSTMCL_FILE_ONNX)
        file_ports(f);
    *file = f;
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_file_open(const char *path, const lstmcl_file_options *options,
                               lstmcl_file **file)
{
    lstmcl_file_options o;
    char err[LD_ERRLEN] = "";
    uint8_t *buf;
    size_t len;
    lstmcl_status st;
    int rc;
    if (file)
        *file = NULL;
    if (!path || !file)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_file_open: %s is NULL",
                       !path ? "path" : "file");
    st = file_options("lstmcl_file_open", options, &o);
    if (st != LSTMCL_SUCCESS)
        return st;
    rc = ld_read_file(path, &buf, &len, err, sizeof err);
    if (rc != LD_OK)
        return lc_fail(NULL, ld_status(rc), "%s: %s", path, err);
    st = file_open_bytes(buf, len, path, &o, file);
    free(buf);
    return st;
}

lstmcl_status lstmcl_file_open_memory(const void *data, size_t size, const char *name,
                                      const lstmcl_file_options *options, lstmcl_file **file)
{
    lstmcl_file_options o;
    lstmcl_status st;
    if (file)
        *file = NULL;
    if ((!data && size) || !file)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_file_open_memory: %s is NULL",
                       !file ? "file" : "data");
    st = file_options("lstmcl_file_open_memory", options, &o);
    if (st != LSTMCL_SUCCESS)
        return st;
    return file_open_bytes(data ? data : "", size, name, &o, file);
}

void lstmcl_file_destroy(lstmcl_file *file)
{
    if (!file)
        return;
    ld_model_file_free(&file->mf);
    free(file->name);
    free(file);
}

lstmcl_status lstmcl_file_get_info(const lstmcl_file *file, lstmcl_file_info *info)
{
    if (!file || !info)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_file_get_info: %s is NULL",
                       !file ? "file" : "info");
    memset(info, 0, sizeof *info);
    info->format = file->mf.format;
    info->name = file->name;
    info->producer = "";
    if (file->mf.format == LSTMCL_FILE_ONNX) {
        info->lstm_count = ld_onnx_lstm_count(file->mf.onnx);
        info->opset = (long long)ld_onnx_opset(file->mf.onnx);
        info->producer = ld_onnx_producer(file->mf.onnx);
        info->input_count = file->n_in;
        info->output_count = file->n_out;
    } else {
        info->lstm_count = 1;
    }
    return LSTMCL_SUCCESS;
}

/* LSTM `index` of the file, or NULL (message set) when there is none. */
static const ld_lstm *file_lstm(const char *fn, const lstmcl_file *file, size_t index, int *layout)
{
    size_t n;
    if (!file) {
        lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: file is NULL", fn);
        return NULL;
    }
    n = file->mf.format == LSTMCL_FILE_ONNX ? ld_onnx_lstm_count(file->mf.onnx) : 1;
    if (index >= n) {
        lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: index %zu, but %s holds %zu LSTM%s", fn,
                index, file->name, n, n == 1 ? "" : "s");
        return NULL;
    }
    if (file->mf.format != LSTMCL_FILE_ONNX) {
        *layout = 0;
        return &file->mf.torch;
    }
    *layout = ld_onnx_lstm_layout(file->mf.onnx, index);
    return ld_onnx_lstm(file->mf.onnx, index);
}

lstmcl_status lstmcl_file_get_lstm(const lstmcl_file *file, size_t index, lstmcl_file_lstm *lstm)
{
    int layout;
    const ld_lstm *l = file_lstm("lstmcl_file_get_lstm", file, index, &layout);
    if (!l)
        return LSTMCL_ERROR_INVALID_ARGUMENT;
    if (!lstm)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_file_get_lstm: lstm is NULL");
    memset(lstm, 0, sizeof *lstm);
    lstm->name = l->name;
    lstm->desc = l->desc;
    lstm->convention = l->convention;
    lstm->layers = l->layers;
    lstm->layout = layout;
    lstm->parameter_count = ld_lstm_parameter_count(l);
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_file_model_create(const lstmcl_file *file, size_t index, lstmcl_context *ctx,
                                       const lstmcl_model_options *options, lstmcl_model **model)
{
    int layout;
    const ld_lstm *l;
    if (model)
        *model = NULL;
    l = file_lstm("lstmcl_file_model_create", file, index, &layout);
    if (!l)
        return LSTMCL_ERROR_INVALID_ARGUMENT;
    return lstmcl_model_create_with(ctx, &l->desc, l->convention, l->layers, options, model);
}

static lstmcl_status file_port(const char *fn, const lstmcl_file *file, size_t k,
                               lstmcl_graph_port *port, int output)
{
    size_t n;
    if (!file || !port)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                       !file ? "file" : "port");
    if (file->mf.format != LSTMCL_FILE_ONNX)
        return lc_fail(NULL, LSTMCL_ERROR_UNSUPPORTED,
                       "%s: %s is a safetensors file, which has no graph", fn, file->name);
    n = output ? file->n_out : file->n_in;
    if (k >= n)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "%s: index %zu, but the graph of %s "
                       "has %zu %s", fn, k, file->name, n, output ? "outputs" : "inputs");
    *port = output ? file->out[k] : file->in[k];
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_file_graph_input(const lstmcl_file *file, size_t k, lstmcl_graph_port *port)
{
    return file_port("lstmcl_file_graph_input", file, k, port, 0);
}

lstmcl_status lstmcl_file_graph_output(const lstmcl_file *file, size_t k, lstmcl_graph_port *port)
{
    return file_port("lstmcl_file_graph_output", file, k, port, 1);
}

/* ------------------------------------------------------------------------ */
/* Graphs                                                                    */
/* ------------------------------------------------------------------------ */

static const char *dir_name(lstmcl_direction d)
{
    return d == LSTMCL_BIDIRECTIONAL ? "bidirectional" : d == LSTMCL_REVERSE ? "reverse" : "forward";
}

lstmcl_status lstmcl_graph_create(const lstmcl_file *file, lstmcl_model *const *models,
                                  size_t count, lstmcl_graph **graph)
{
    lstmcl_graph *g;
    size_t n, k;
    if (graph)
        *graph = NULL;
    if (!file || !graph || (count && !models))
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_graph_create: %s is NULL",
                       !file ? "file" : !graph ? "graph" : "models");
    if (file->mf.format != LSTMCL_FILE_ONNX)
        return lc_fail(NULL, LSTMCL_ERROR_UNSUPPORTED,
                       "lstmcl_graph_create: %s is a safetensors file: its one LSTM runs as a "
                       "model of its own (lstmcl_file_model_create)", file->name);
    n = ld_onnx_lstm_count(file->mf.onnx);
    if (count != n)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_graph_create: %zu models for the %zu LSTM nodes of %s", count, n,
                       file->name);
    /* Each model must compute its node's shapes: the interpreter sizes the
     * node's outputs from the node. */
    for (k = 0; k < n; k++) {
        const ld_lstm *l = ld_onnx_lstm(file->mf.onnx, k);
        lstmcl_model_desc d;
        if (!models[k])
            return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "lstmcl_graph_create: models[%zu] is NULL", k);
        if (lstmcl_model_get_desc(models[k], &d) != LSTMCL_SUCCESS)
            return LSTMCL_ERROR_INVALID_ARGUMENT;
        if (d.input_size != l->desc.input_size || d.hidden_size != l->desc.hidden_size ||
            d.proj_size != 0 || d.num_layers != 1 || d.direction != l->desc.direction)
            return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                           "lstmcl_graph_create: models[%zu] (%zu layer%s, %s, input size %zu, "
                           "hidden size %zu%s) does not fit LSTM node '%s' of %s (one layer, %s, "
                           "input size %zu, hidden size %zu)", k, d.num_layers,
                           d.num_layers == 1 ? "" : "s", dir_name(d.direction), d.input_size,
                           d.hidden_size, d.proj_size ? ", projected" : "", l->name, file->name,
                           dir_name(l->desc.direction), l->desc.input_size,
                           l->desc.hidden_size);
    }
    g = calloc(1, sizeof *g);
    if (g)
        g->models = malloc((n ? n : 1) * sizeof *g->models);
    if (!g || !g->models) {
        free(g);
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "lstmcl_graph_create: out of memory");
    }
    memcpy(g->models, models, n * sizeof *g->models);
    g->file = file;
    g->count = n;
    g->failed_input = -1;
    *graph = g;
    return LSTMCL_SUCCESS;
}

static void graph_clear(lstmcl_graph *g)
{
    size_t k;
    for (k = 0; k < ONNX_OUT_COUNT; k++) {
        ld_array_free(&g->out[k]);
        memset(&g->out[k], 0, sizeof g->out[k]);
    }
}

void lstmcl_graph_destroy(lstmcl_graph *graph)
{
    if (!graph)
        return;
    graph_clear(graph);
    free(graph->models);
    free(graph);
}

/* The caller's array as the interpreter's (borrowed: the interpreter only
 * reads arrays it does not own). */
static lstmcl_status graph_input(const lstmcl_array *a, size_t role, ld_array *out)
{
    size_t k;
    memset(out, 0, sizeof *out);
    if (!a->data && !a->ints)
        return LSTMCL_SUCCESS;
    if (a->data && a->ints)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_graph_run: inputs[%zu] has both data and ints set", role);
    if (a->ndim > LD_MAX_DIMS || (a->ndim && !a->dims))
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_graph_run: inputs[%zu]: %s", role,
                       a->ndim > LD_MAX_DIMS ? "more than 32 dimensions" : "dims is NULL");
    out->ndim = a->ndim;
    out->count = 1;
    for (k = 0; k < a->ndim; k++) {
        out->dims[k] = a->dims[k];
        if (!lc_mul(out->count, a->dims[k], &out->count))
            return lc_fail(NULL, LSTMCL_ERROR_SIZE_OVERFLOW,
                           "lstmcl_graph_run: inputs[%zu]: the shape's size overflows", role);
    }
    out->is_integer = a->ints != NULL;
    out->f = (float *)a->data;
    out->i = (int64_t *)a->ints;
    out->first_nonfinite = out->count;
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_graph_run(lstmcl_graph *graph, const lstmcl_graph_run_args *args)
{
    ld_array in[ONNX_IN_COUNT];
    ld_onnx_run_opts o;
    lstmcl_status st, fst = LSTMCL_SUCCESS;
    char *err;
    size_t k;
    int rc, bad = -1;
    if (!graph || !args)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_graph_run: %s is NULL",
                       !graph ? "graph" : "args");
    graph_clear(graph);
    graph->failed_input = -1;
    for (k = 0; k < ONNX_IN_COUNT; k++) {
        st = graph_input(&args->inputs[k], k, &in[k]);
        if (st != LSTMCL_SUCCESS)
            return st;
    }
    memset(&o, 0, sizeof o);
    o.reference = args->reference;
    o.forward = args->forward;
    o.forward_user = args->forward_user;
    for (k = 0; k < ONNX_IN_COUNT; k++)
        o.labels[k] = args->labels[k];
    err = malloc(LD_ERRLEN);
    if (!err)
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "lstmcl_graph_run: out of memory");
    err[0] = '\0';
    rc = ld_onnx_run(graph->file->mf.onnx, graph->models, &o, in, graph->out, &bad, &fst, err,
                     LD_ERRLEN);
    if (rc == LD_OK) {
        free(err);
        return LSTMCL_SUCCESS;
    }
    graph_clear(graph);
    graph->failed_input = bad;
    st = fst != LSTMCL_SUCCESS ? fst : ld_status(rc);
    /* A fault in an input is named by the input's label; one in the model
     * by the file. */
    if (bad >= 0)
        st = lc_fail(NULL, st, "%s", err);
    else
        st = lc_fail(NULL, st, "%s: %s", graph->file->name, err);
    free(err);
    return st;
}

lstmcl_status lstmcl_graph_output(const lstmcl_graph *graph, int role, lstmcl_array *out)
{
    const ld_array *a;
    if (!graph || !out)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT, "lstmcl_graph_output: %s is NULL",
                       !graph ? "graph" : "out");
    if (role < 0 || role >= ONNX_OUT_COUNT)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_graph_output: role %d is not a lstmcl_graph_output_role", role);
    a = &graph->out[role];
    out->data = a->f;
    out->ints = NULL;
    out->ndim = a->f ? a->ndim : 0;
    out->dims = a->dims;
    return LSTMCL_SUCCESS;
}

int lstmcl_graph_failed_input(const lstmcl_graph *graph)
{
    return graph ? graph->failed_input : -1;
}
