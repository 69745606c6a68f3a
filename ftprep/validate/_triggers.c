/* Which rule triggers occur in the texts of an example, in one pass over their UTF-8 bytes.
 *
 * The tables are built by ftprep.rules.triggers (see its docstring for what a trigger is):
 * an Aho-Corasick automaton over "mapped" bytes (ASCII letters lower-cased, ASCII digits
 * read as '0'), with the triggers that must match exactly checked again on the original
 * bytes where the automaton says they end, a table of single bytes that set facts, and
 * digit-count thresholds below which facts are cleared.
 *
 * Layout of the tables (native byte order, 32-bit words, then bytes):
 *   n_states, n_classes, n_exact, n_thresholds, all_facts
 *   class_of[256]          (bytes, packed four to a word)
 *   byte_facts[256]
 *   out[n_states]          facts of the triggers ending in a state; VERIFY if exact ones do
 *   verify_start[n_states + 1], verify[...]   exact triggers ending in each state
 *   exact_start[n_exact + 1], exact_facts[n_exact]
 *   thresholds[n_thresholds][2]               (minimum digits, facts that need them)
 *   next[n_states * n_classes]   the next state's row (state * n_classes), FOUND set where
 *                                some trigger ends in that state
 *   exact bytes
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define VERIFY 0x80000000u
#define FOUND 0x80000000u
#define HEADER_WORDS 5

typedef struct {
    uint32_t n_states, n_classes, n_exact, n_thresholds, all_facts;
    const uint8_t *class_of;
    const uint32_t *byte_facts, *out, *verify_start, *verify, *exact_start, *exact_facts;
    const uint32_t *thresholds;
    const uint32_t *next;
    const uint8_t *exact_bytes;
    Py_ssize_t exact_size;
    PyObject *owner; /* the bytes object the pointers point into */
} Tables;

static const char CAPSULE[] = "ftprep.validate._triggers.Tables";

static int
bad_tables(void)
{
    PyErr_SetString(PyExc_ValueError, "malformed trigger tables");
    return -1;
}

/* The next `count` words of the blob at *at, or NULL when fewer are left (counted in 64 bits,
 * so that no table size can wrap around the checks). */
static const uint32_t *
take(const uint32_t *words, uint64_t n_words, uint64_t *at, uint64_t count)
{
    if (count > n_words - *at)
        return NULL;
    const uint32_t *start = words + *at;
    *at += count;
    return start;
}

/* Point t into the blob, checking that every offset and index stays inside it. */
static int
read_tables(const char *blob, Py_ssize_t blob_size, Tables *t)
{
    const uint32_t *words = (const uint32_t *)blob;
    uint64_t n_words = (uint64_t)blob_size / 4, at = 0;
    const uint32_t *header = take(words, n_words, &at, HEADER_WORDS);
    if (header == NULL)
        return bad_tables();
    t->n_states = header[0];
    t->n_classes = header[1];
    t->n_exact = header[2];
    t->n_thresholds = header[3];
    t->all_facts = header[4];
    if (t->n_states == 0 || t->n_states > 65535 || t->n_classes == 0 || t->n_classes > 256)
        return bad_tables();
    t->class_of = (const uint8_t *)take(words, n_words, &at, 64);
    t->byte_facts = take(words, n_words, &at, 256);
    t->out = take(words, n_words, &at, t->n_states);
    t->verify_start = take(words, n_words, &at, (uint64_t)t->n_states + 1);
    if (t->class_of == NULL || t->byte_facts == NULL || t->out == NULL || t->verify_start == NULL)
        return bad_tables();
    t->verify = take(words, n_words, &at, t->verify_start[t->n_states]);
    t->exact_start = take(words, n_words, &at, (uint64_t)t->n_exact + 1);
    t->exact_facts = take(words, n_words, &at, t->n_exact);
    t->thresholds = take(words, n_words, &at, 2 * (uint64_t)t->n_thresholds);
    uint64_t n_next = (uint64_t)t->n_states * t->n_classes;
    t->next = take(words, n_words, &at, n_next);
    if (t->verify == NULL || t->exact_start == NULL || t->exact_facts == NULL ||
        t->thresholds == NULL || t->next == NULL)
        return bad_tables();
    t->exact_bytes = (const uint8_t *)blob + at * 4;
    t->exact_size = blob_size - (Py_ssize_t)(at * 4);
    for (uint32_t i = 0; i < t->n_exact; i++)
        if (t->exact_start[i] > t->exact_start[i + 1])
            return bad_tables();
    if ((Py_ssize_t)t->exact_start[t->n_exact] > t->exact_size)
        return bad_tables();
    for (uint32_t i = 0; i < t->n_states; i++)
        if (t->verify_start[i] > t->verify_start[i + 1])
            return bad_tables();
    for (uint32_t i = 0; i < t->verify_start[t->n_states]; i++)
        if (t->verify[i] >= t->n_exact)
            return bad_tables();
    for (uint32_t i = 0; i < 256; i++)
        if (t->class_of[i] >= t->n_classes)
            return bad_tables();
    for (uint64_t i = 0; i < n_next; i++) {
        uint32_t row = t->next[i] & ~FOUND;
        if (row >= n_next || row % t->n_classes != 0)
            return bad_tables();
    }
    return 0;
}

/* The facts of one text's bytes; adds its ASCII digits to *digits. */
static uint32_t
scan(const Tables *t, const uint8_t *s, Py_ssize_t n, Py_ssize_t *digits)
{
    const uint8_t *class_of = t->class_of;
    const uint32_t *byte_facts = t->byte_facts, *next = t->next;
    uint32_t row = 0, facts = 0;
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t b = s[i];
        facts |= byte_facts[b];
        count += (uint8_t)(b - '0') < 10;
        uint32_t step = next[row + class_of[b]];
        row = step & ~FOUND;
        if (step & FOUND) {
            uint32_t state = row / t->n_classes, found = t->out[state];
            if (found & VERIFY) {
                for (uint32_t v = t->verify_start[state]; v < t->verify_start[state + 1]; v++) {
                    uint32_t id = t->verify[v];
                    Py_ssize_t size = t->exact_start[id + 1] - t->exact_start[id];
                    if (size <= i + 1 &&
                        memcmp(s + i + 1 - size, t->exact_bytes + t->exact_start[id], size) == 0)
                        facts |= t->exact_facts[id];
                }
            }
            facts |= found & ~VERIFY;
        }
    }
    *digits += count;
    return facts;
}

static void
free_tables(PyObject *capsule)
{
    Tables *t = PyCapsule_GetPointer(capsule, CAPSULE);
    if (t != NULL) {
        Py_XDECREF(t->owner);
        PyMem_Free(t);
    }
}

static PyObject *
compile_tables(PyObject *Py_UNUSED(module), PyObject *blob)
{
    if (!PyBytes_Check(blob)) {
        PyErr_SetString(PyExc_TypeError, "tables must be bytes");
        return NULL;
    }
    if (((uintptr_t)PyBytes_AS_STRING(blob)) % 4 != 0) {
        PyErr_SetString(PyExc_ValueError, "trigger tables are not aligned");
        return NULL;
    }
    Tables *t = PyMem_Malloc(sizeof(Tables));
    if (t == NULL)
        return PyErr_NoMemory();
    if (read_tables(PyBytes_AS_STRING(blob), PyBytes_GET_SIZE(blob), t) < 0) {
        PyMem_Free(t);
        return NULL;
    }
    Py_INCREF(blob);
    t->owner = blob;
    PyObject *capsule = PyCapsule_New(t, CAPSULE, free_tables);
    if (capsule == NULL) {
        Py_DECREF(blob);
        PyMem_Free(t);
    }
    return capsule;
}

static PyObject *
text_facts(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "text_facts(tables, texts) takes two arguments");
        return NULL;
    }
    const Tables *t = PyCapsule_GetPointer(args[0], CAPSULE);
    if (t == NULL)
        return NULL;
    PyObject *texts = args[1];
    if (!PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "texts must be a list of str");
        return NULL;
    }
    uint32_t facts = 0;
    Py_ssize_t digits = 0;
    int unscanned = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(texts); i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "texts must be a list of str");
            return NULL;
        }
        Py_ssize_t size;
        const char *data = PyUnicode_AsUTF8AndSize(text, &size);
        if (data == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
                return NULL;
            /* Lone surrogates have no UTF-8: anything may be in the text. */
            PyErr_Clear();
            unscanned = 1;
            continue;
        }
        facts |= scan(t, (const uint8_t *)data, size, &digits);
    }
    if (unscanned) {
        facts = t->all_facts;
        digits = PY_SSIZE_T_MAX;
    }
    for (uint32_t i = 0; i < t->n_thresholds; i++)
        if (digits < (Py_ssize_t)t->thresholds[2 * i])
            facts &= ~t->thresholds[2 * i + 1];
    return PyLong_FromUnsignedLong(facts);
}

static PyMethodDef methods[] = {
    {"compile", compile_tables, METH_O,
     "compile(tables)\n--\n\n"
     "Check the tables built by ftprep.validate.prefilter and keep them for text_facts."},
    {"text_facts", (PyCFunction)(void (*)(void))text_facts, METH_FASTCALL,
     "text_facts(tables, texts)\n--\n\n"
     "The facts (bits) whose triggers occur in the texts, by the compiled tables."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_triggers",
    .m_doc = "One pass over an example's texts for the triggers of the record rules.",
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__triggers(void)
{
    return PyModule_Create(&module);
}
