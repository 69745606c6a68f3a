/* MinHash signatures of token-id sequences: the hot path of ftprep.dedup.signatures.
 *
 * A sequence is given as "parts": a sequence of lists (or tuples) of ints, of uint32
 * buffers, or of bytes holding native uint32 values, concatenated. Its shingles are the runs
 * of `width` consecutive ids (the whole sequence when it is shorter), each hashed as
 *     h = 0; for k < width: h = fmix32(h ^ id[pos + k] ^ k * 0x9E3779B9)
 * and the signature is, per permutation p, min over shingles of a[p] * fmix32(h) + b[p]
 * mod 2^32: datasketch's affine32 MinHash of the shingle hashes.
 *
 * word_ids() turns texts into such ids: the words of their normalised form (NFKC, case
 * folded; a word is a run of alphanumeric characters or "_", as the regex \w+ finds them),
 * each hashed over its code points c as
 *     h = 0x811C9DC5 ^ salt; for c: h = (h ^ c) * 0x01000193; id = fmix32(h)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Runtime dispatch to AVX-512 / AVX2 builds of the loops (GCC and clang, via ifunc, which
 * needs glibc): baseline x86-64 (SSE2) has no 32-bit vector multiply or unsigned min, and
 * signs ~3.5x slower than AVX-512 on the benchmark corpus (AVX2: ~1.3x slower). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif
#if defined(_MSC_VER)
#define restrict __restrict
#endif

static inline uint32_t
fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    return h ^ (h >> 16);
}

/* Hash the shingles of ids[0..n) (n >= 1) into h; returns their number. Position-major loops
 * (one pass per offset k over all shingles) so that they vectorise. */
VECTOR_CLONES static Py_ssize_t
shingle(const uint32_t *restrict ids, Py_ssize_t n, Py_ssize_t width, uint32_t *restrict h)
{
    Py_ssize_t count = n < width ? 1 : n - width + 1;
    Py_ssize_t mixed = n < width ? n : width;
    memset(h, 0, (size_t)count * sizeof *h);
    for (Py_ssize_t k = 0; k < mixed; k++) {
        uint32_t salt = (uint32_t)k * 0x9E3779B9u;
        for (Py_ssize_t i = 0; i < count; i++)
            h[i] = fmix32(h[i] ^ ids[i + k] ^ salt);
    }
    return count;
}

/* Permutations whose minima stay in vector registers while all shingles stream past (a
 * pass over the whole out[] per shingle would load and store it every time: twice as slow). */
#define BLOCK 64

static ALWAYS_INLINE void
minimise_block(const uint32_t *restrict x, Py_ssize_t count, const uint32_t *restrict a,
               const uint32_t *restrict b, Py_ssize_t span, uint32_t *restrict out)
{
    uint32_t m[BLOCK];
    for (Py_ssize_t p = 0; p < span; p++)
        m[p] = UINT32_MAX;
    for (Py_ssize_t i = 0; i < count; i++) {
        for (Py_ssize_t p = 0; p < span; p++) {
            uint32_t v = a[p] * x[i] + b[p];
            m[p] = v < m[p] ? v : m[p];
        }
    }
    memcpy(out, m, (size_t)span * sizeof *m);
}

/* out[p] = min over shingle hashes h of a[p] * fmix32(h) + b[p] (h is overwritten). */
VECTOR_CLONES static void
minimise(uint32_t *restrict h, Py_ssize_t count, const uint32_t *restrict a,
         const uint32_t *restrict b, Py_ssize_t num_perm, uint32_t *restrict out)
{
    for (Py_ssize_t i = 0; i < count; i++)
        h[i] = fmix32(h[i]);
    Py_ssize_t p = 0;
    for (; p + BLOCK <= num_perm; p += BLOCK) /* a constant span: fully unrolled */
        minimise_block(h, count, a + p, b + p, BLOCK, out + p);
    if (p < num_perm)
        minimise_block(h, count, a + p, b + p, num_perm - p, out + p);
}

/* A growing uint32 array. */
typedef struct {
    uint32_t *v;
    Py_ssize_t n, cap;
} Ids;

static int
reserve(Ids *ids, Py_ssize_t extra)
{
    if (ids->n + extra <= ids->cap)
        return 0;
    Py_ssize_t cap = ids->cap * 2 > ids->n + extra ? ids->cap * 2 : ids->n + extra;
    uint32_t *v = PyMem_Resize(ids->v, uint32_t, (size_t)cap);
    if (v == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    ids->v = v;
    ids->cap = cap;
    return 0;
}

/* Get a C-contiguous buffer of native uint32: format "I", or with `raw`, also plain bytes
 * (format "B") of a whole number of uint32 values. */
static int
get_u32(PyObject *obj, Py_buffer *view, const char *what, int raw)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    int words = view->itemsize == 4 && strcmp(view->format, "I") == 0;
    int bytes = raw && view->itemsize == 1 && strcmp(view->format, "B") == 0 && view->len % 4 == 0;
    if (!words && !bytes) {
        PyErr_Format(PyExc_TypeError, "%s must be a uint32 buffer", what);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Append the ids of every part of `parts` to `ids`, with room for as many shingle hashes
 * after them. Ids must fit 32 bits unsigned (OverflowError otherwise, as array('I')). */
static int
gather(PyObject *parts, Ids *ids)
{
    PyObject *seq = PySequence_Fast(parts, "parts must be a sequence");
    if (seq == NULL)
        return -1;
    /* One allocation for the ids of lists and their hashes (buffers make room as they come). */
    Py_ssize_t listed = 0;
    for (Py_ssize_t j = 0; j < PySequence_Fast_GET_SIZE(seq); j++) {
        PyObject *part = PySequence_Fast_GET_ITEM(seq, j);
        if (PyList_Check(part) || PyTuple_Check(part))
            listed += PySequence_Fast_GET_SIZE(part);
    }
    if (reserve(ids, 2 * listed) < 0)
        goto fail;
    for (Py_ssize_t j = 0; j < PySequence_Fast_GET_SIZE(seq); j++) {
        PyObject *part = PySequence_Fast_GET_ITEM(seq, j);
        if (PyList_Check(part) || PyTuple_Check(part)) {
            Py_ssize_t size = PySequence_Fast_GET_SIZE(part);
            if (reserve(ids, size) < 0)
                goto fail;
            for (Py_ssize_t i = 0; i < size; i++) {
                /* ints only (no __index__): no Python code runs that could resize the
                 * part while it is read. */
                unsigned long x = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(part, i));
                if (x == (unsigned long)-1 && PyErr_Occurred())
                    goto fail;
                if (x > UINT32_MAX) {
                    PyErr_SetString(PyExc_OverflowError, "token id does not fit 32 bits");
                    goto fail;
                }
                ids->v[ids->n++] = (uint32_t)x;
            }
        }
        else {
            Py_buffer view;
            if (get_u32(part, &view, "a part", 1) < 0)
                goto fail;
            Py_ssize_t size = view.len / 4;
            if (reserve(ids, size) < 0) {
                PyBuffer_Release(&view);
                goto fail;
            }
            memcpy(ids->v + ids->n, view.buf, (size_t)view.len);
            ids->n += size;
            PyBuffer_Release(&view);
        }
    }
    Py_DECREF(seq);
    return reserve(ids, ids->n);
fail:
    Py_DECREF(seq);
    return -1;
}

static int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs == expected)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, expected, nargs);
    return -1;
}

static int
get_width(PyObject *obj, Py_ssize_t *width)
{
    *width = PyLong_AsSsize_t(obj);
    if (*width == -1 && PyErr_Occurred())
        return -1;
    if (*width < 1) {
        PyErr_SetString(PyExc_ValueError, "width must be at least 1");
        return -1;
    }
    return 0;
}

static PyObject *
shingle_hashes(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    Ids ids = {NULL, 0, 0};
    Py_ssize_t width;
    PyObject *result = NULL;
    if (check_nargs("shingle_hashes", nargs, 2) < 0 ||
        get_width(args[1], &width) < 0 || gather(args[0], &ids) < 0)
        goto done;
    Py_ssize_t count = ids.n ? shingle(ids.v, ids.n, width, ids.v + ids.n) : 0;
    result = PyBytes_FromStringAndSize((const char *)(ids.v + ids.n), count * 4);
done:
    PyMem_Free(ids.v);
    return result;
}

static PyObject *
sign(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    Ids ids = {NULL, 0, 0};
    Py_ssize_t width;
    Py_buffer a = {NULL}, b = {NULL};
    PyObject *result = NULL;
    if (check_nargs("sign", nargs, 4) < 0 || get_width(args[1], &width) < 0 ||
        get_u32(args[2], &a, "a", 0) < 0 ||
        get_u32(args[3], &b, "b", 0) < 0)
        goto done;
    if (a.len != b.len || a.len == 0) {
        PyErr_SetString(PyExc_ValueError, "a and b must be of one non-zero length");
        goto done;
    }
    if (gather(args[0], &ids) < 0)
        goto done;
    if (ids.n == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, a.len);
    if (result == NULL)
        goto done;
    Py_ssize_t count = shingle(ids.v, ids.n, width, ids.v + ids.n);
    minimise(ids.v + ids.n, count, a.buf, b.buf, a.len / 4,
             (uint32_t *)PyBytes_AS_STRING(result));
done:
    if (a.obj)
        PyBuffer_Release(&a);
    if (b.obj)
        PyBuffer_Release(&b);
    PyMem_Free(ids.v);
    return result;
}

static PyObject *nfkc_normalize; /* unicodedata.normalize */

static inline uint32_t
word_start(uint32_t salt)
{
    return 0x811C9DC5u ^ salt;
}

/* Append the word ids of one normalised text (PyUnicode, any kind). */
static int
append_words(Ids *ids, PyObject *text, uint32_t salt)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    /* At most one word per two characters (plus one). */
    if (reserve(ids, size / 2 + 1) < 0)
        return -1;
    uint32_t h = 0;
    int in_word = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '_' || Py_UNICODE_ISALNUM(c)) {
            if (!in_word) {
                h = word_start(salt);
                in_word = 1;
            }
            h = (h ^ (uint32_t)c) * 0x01000193u;
        }
        else if (in_word) {
            ids->v[ids->n++] = fmix32(h);
            in_word = 0;
        }
    }
    if (in_word)
        ids->v[ids->n++] = fmix32(h);
    return 0;
}

/* Append the word ids of ASCII bytes, lower-cased on the way. */
static int
append_ascii_words(Ids *ids, const unsigned char *s, Py_ssize_t size, uint32_t salt)
{
    if (reserve(ids, size / 2 + 1) < 0)
        return -1;
    uint32_t h = 0;
    int in_word = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = s[i];
        int lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if (lower || upper || (c >= '0' && c <= '9') || c == '_') {
            if (!in_word) {
                h = word_start(salt);
                in_word = 1;
            }
            h = (h ^ (uint32_t)(upper ? c + ('a' - 'A') : c)) * 0x01000193u;
        }
        else if (in_word) {
            ids->v[ids->n++] = fmix32(h);
            in_word = 0;
        }
    }
    if (in_word)
        ids->v[ids->n++] = fmix32(h);
    return 0;
}

static PyObject *
word_ids(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (check_nargs("word_ids", nargs, 2) < 0)
        return NULL;
    unsigned long salt = PyLong_AsUnsignedLong(args[1]);
    if (salt == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    if (salt > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "salt does not fit 32 bits");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "texts must be a sequence");
    if (seq == NULL)
        return NULL;
    Ids ids = {NULL, 0, 0};
    PyObject *result = NULL;
    for (Py_ssize_t j = 0; j < PySequence_Fast_GET_SIZE(seq); j++) {
        PyObject *text = PySequence_Fast_GET_ITEM(seq, j);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "texts must hold strings");
            goto done;
        }
        if (PyUnicode_IS_ASCII(text)) {
            if (append_ascii_words(&ids, PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text),
                                   (uint32_t)salt) < 0)
                goto done;
            continue;
        }
        PyObject *nfkc = PyObject_CallFunction(nfkc_normalize, "sO", "NFKC", text);
        if (nfkc == NULL)
            goto done;
        PyObject *folded = PyObject_CallMethod(nfkc, "casefold", NULL);
        Py_DECREF(nfkc);
        if (folded == NULL)
            goto done;
        int status = append_words(&ids, folded, (uint32_t)salt);
        Py_DECREF(folded);
        if (status < 0)
            goto done;
    }
    result = PyBytes_FromStringAndSize((const char *)ids.v, ids.n * 4);
done:
    Py_DECREF(seq);
    PyMem_Free(ids.v);
    return result;
}

static PyMethodDef methods[] = {
    {"sign", (PyCFunction)(void (*)(void))sign, METH_FASTCALL,
     "sign(parts, width, a, b)\n--\n\n"
     "The MinHash signature (num_perm native uint32, as bytes) of the concatenated token ids\n"
     "of parts, or None when there are none."},
    {"shingle_hashes", (PyCFunction)(void (*)(void))shingle_hashes, METH_FASTCALL,
     "shingle_hashes(parts, width)\n--\n\n"
     "The 32-bit hashes (native uint32, as bytes) of the shingles of the concatenated token\n"
     "ids of parts, in order."},
    {"word_ids", (PyCFunction)(void (*)(void))word_ids, METH_FASTCALL,
     "word_ids(texts, salt)\n--\n\n"
     "The 32-bit ids (native uint32, as bytes) of the words of the texts' normalised form\n"
     "(NFKC, case folded), in order."},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *Py_UNUSED(module))
{
    if (nfkc_normalize != NULL)
        return 0;
    PyObject *unicodedata = PyImport_ImportModule("unicodedata");
    if (unicodedata == NULL)
        return -1;
    nfkc_normalize = PyObject_GetAttrString(unicodedata, "normalize");
    Py_DECREF(unicodedata);
    return nfkc_normalize == NULL ? -1 : 0;
}

static struct PyModuleDef_Slot slots[] = {{Py_mod_exec, exec_module}, {0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_minhash",
    .m_doc = "MinHash signing of token-id sequences.",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__minhash(void)
{
    return PyModuleDef_Init(&module);
}
