/* The text that content keys hash: every turn as "role:text" ("field/role:text" outside
 * `messages`), joined by U+001F, each text normalised as the ftprep.dedup.keys docstring says
 * (Unicode NFC, whitespace runs collapsed to one space and trimmed, optionally case folded).
 *
 * Whitespace is what str.split() splits on (Py_UNICODE_ISSPACE), so the result is the same as
 * " ".join(text.split()). ASCII texts, nearly all of them, are collapsed byte by byte straight
 * into the output; others go through unicodedata and str methods first.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *nfc_normalize; /* unicodedata.normalize */

typedef struct {
    char *v;
    Py_ssize_t n, cap;
} Buffer;

static int
reserve(Buffer *buf, Py_ssize_t extra)
{
    if (buf->n + extra <= buf->cap)
        return 0;
    Py_ssize_t cap = buf->cap * 2 > buf->n + extra ? buf->cap * 2 : buf->n + extra + 256;
    char *v = PyMem_Realloc(buf->v, (size_t)cap);
    if (v == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buf->v = v;
    buf->cap = cap;
    return 0;
}

static int
append(Buffer *buf, const char *data, Py_ssize_t size)
{
    if (reserve(buf, size) < 0)
        return -1;
    memcpy(buf->v + buf->n, data, (size_t)size);
    buf->n += size;
    return 0;
}

/* Append a string's UTF-8 bytes (lone surrogates passed through, as "surrogatepass"). */
static int
append_str(Buffer *buf, PyObject *text)
{
    if (PyUnicode_IS_ASCII(text))
        return append(buf, (const char *)PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text));
    PyObject *encoded = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    if (encoded == NULL)
        return -1;
    int status = append(buf, PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded));
    Py_DECREF(encoded);
    return status;
}

/* Append ASCII text with whitespace runs collapsed to one space and trimmed, lower-cased
 * unless case_sensitive (casefold() of ASCII is lower()). */
static int
append_ascii_collapsed(Buffer *buf, const unsigned char *s, Py_ssize_t size, int case_sensitive)
{
    if (reserve(buf, size) < 0)
        return -1;
    char *out = buf->v + buf->n;
    Py_ssize_t n = 0;
    int pending_space = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = s[i];
        if (Py_UNICODE_ISSPACE(c)) {
            pending_space = n > 0;
            continue;
        }
        if (pending_space) {
            out[n++] = ' ';
            pending_space = 0;
        }
        out[n++] = (char)(case_sensitive || c < 'A' || c > 'Z' ? c : c + ('a' - 'A'));
    }
    buf->n += n;
    return 0;
}

/* Append any text, normalised. */
static int
append_normalised(Buffer *buf, PyObject *text, int case_sensitive)
{
    if (PyUnicode_IS_ASCII(text))
        return append_ascii_collapsed(buf, PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text),
                                      case_sensitive);
    PyObject *nfc = PyObject_CallFunction(nfc_normalize, "sO", "NFC", text);
    if (nfc == NULL)
        return -1;
    PyObject *words = PyUnicode_Split(nfc, NULL, -1);
    Py_DECREF(nfc);
    if (words == NULL)
        return -1;
    PyObject *space = PyUnicode_FromString(" ");
    PyObject *collapsed = space == NULL ? NULL : PyUnicode_Join(space, words);
    Py_XDECREF(space);
    Py_DECREF(words);
    if (collapsed == NULL)
        return -1;
    if (!case_sensitive) {
        PyObject *folded = PyObject_CallMethod(collapsed, "casefold", NULL);
        Py_DECREF(collapsed);
        if (folded == NULL)
            return -1;
        collapsed = folded;
    }
    int status = append_str(buf, collapsed);
    Py_DECREF(collapsed);
    return status;
}

static PyObject *
joined(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "joined() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *fields = args[0], *roles = args[1], *texts = args[2];
    int case_sensitive = PyObject_IsTrue(args[3]);
    if (case_sensitive < 0)
        return NULL;
    if (!PyList_Check(fields) || !PyList_Check(roles) || !PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "fields, roles and texts must be lists");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(texts);
    if (PyList_GET_SIZE(fields) != count || PyList_GET_SIZE(roles) != count) {
        PyErr_SetString(PyExc_ValueError, "fields, roles and texts differ in length");
        return NULL;
    }
    Buffer buf = {NULL, 0, 0};
    PyObject *bounds = PyList_New(2 * count);
    if (bounds == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *field = PyList_GET_ITEM(fields, i);
        PyObject *role = PyList_GET_ITEM(roles, i);
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(field) || !PyUnicode_Check(role) || !PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "fields, roles and texts must hold strings");
            goto fail;
        }
        if (i > 0 && append(&buf, "\x1f", 1) < 0)
            goto fail;
        if (PyUnicode_CompareWithASCIIString(field, "messages") != 0 &&
            (append_str(&buf, field) < 0 || append(&buf, "/", 1) < 0))
            goto fail;
        if (append_str(&buf, role) < 0 || append(&buf, ":", 1) < 0)
            goto fail;
        Py_ssize_t start = buf.n;
        if (append_normalised(&buf, text, case_sensitive) < 0)
            goto fail;
        Py_ssize_t span[2] = {start, buf.n};
        for (int k = 0; k < 2; k++) {
            PyObject *offset = PyLong_FromSsize_t(span[k]);
            if (offset == NULL)
                goto fail;
            PyList_SET_ITEM(bounds, 2 * i + k, offset);
        }
    }
    PyObject *data = PyBytes_FromStringAndSize(buf.v, buf.n);
    PyMem_Free(buf.v);
    if (data == NULL) {
        Py_DECREF(bounds);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, data, bounds);
    Py_DECREF(data);
    Py_DECREF(bounds);
    return result;
fail:
    PyMem_Free(buf.v);
    Py_DECREF(bounds);
    return NULL;
}

static PyMethodDef methods[] = {
    {"joined", (PyCFunction)(void (*)(void))joined, METH_FASTCALL,
     "joined(fields, roles, texts, case_sensitive)\n--\n\n"
     "The UTF-8 text content keys hash, and for each turn the byte offsets where its\n"
     "normalised text starts and ends (where the turn ends)."},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *Py_UNUSED(module))
{
    if (nfc_normalize != NULL)
        return 0;
    PyObject *unicodedata = PyImport_ImportModule("unicodedata");
    if (unicodedata == NULL)
        return -1;
    nfc_normalize = PyObject_GetAttrString(unicodedata, "normalize");
    Py_DECREF(unicodedata);
    return nfc_normalize == NULL ? -1 : 0;
}

static struct PyModuleDef_Slot slots[] = {{Py_mod_exec, exec_module}, {0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_keys",
    .m_doc = "The normalised text content keys hash.",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__keys(void)
{
    return PyModuleDef_Init(&module);
}
