/*
 * host-memory: shared memory between the worker processes of one machine,
 * for the same-host all-reduce (src/worker/host-sum.ts).
 *
 * Node has no shared memory between processes: a SharedArrayBuffer is shared
 * only between the threads of one process, and Atomics.wait/notify wake only
 * waiters of that process. This addon gives the two things that are missing,
 * through Node-API (ABI-stable, no V8 headers):
 *
 *   open(name, bytes)           a POSIX shared-memory object (shm_open, mode
 *                               0600: this user only), created if absent,
 *                               mapped and returned as an ArrayBuffer
 *   unlink(name)                removes the name (mappings stay valid)
 *   wait(i32, index, value, ms) futex wait on a shared word, with a timeout:
 *                               0 woken, 1 the word was not `value`, 2 timed out
 *   wake(i32, index, count)     futex wake of up to `count` waiters
 *   add(dst, src)               dst[i] += src[i] over two Float32Arrays of one
 *                               length, in float32 (as JS's typed arrays round
 *                               it), vectorized by the compiler
 *
 * Futexes are used without FUTEX_PRIVATE_FLAG so that waiters in other
 * processes that map the same object are woken.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "host-memory: Node-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, const char *name) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s %s: %s", what, name, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* The call's first n arguments into argv; 0 (a TypeError pending, naming `usage`) when fewer were given. */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

static int read_name(napi_env env, napi_value v, char *out, size_t cap) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, out, cap, &len) != napi_ok || len == 0 || len >= cap - 1 || out[0] != '/') {
    napi_throw_type_error(env, NULL, "host-memory: the name must be a string starting with '/'");
    return 0;
  }
  return 1;
}

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value open_shared(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[256];
  if (!get_args(env, info, 2, argv, "host-memory: open(name, bytes)") || !read_name(env, argv[0], name, sizeof name)) return NULL;
  int64_t bytes = 0;
  CHECK(napi_get_value_int64(env, argv[1], &bytes));
  if (bytes <= 0) {
    napi_throw_range_error(env, NULL, "host-memory: the size must be positive");
    return NULL;
  }
  int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
  if (fd < 0) return throw_errno(env, "shm_open", name);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return throw_errno(env, "fstat", name);
  }
  /*
   * The first process to open it sizes it (zero-filled); the others find that
   * size. posix_fallocate, not ftruncate: tmpfs reserves nothing on ftruncate,
   * and a full /dev/shm would then kill the process with SIGBUS at its first
   * write instead of failing here with ENOSPC.
   */
  if (st.st_size == 0) {
    int e = posix_fallocate(fd, 0, (off_t)bytes);
    if (e != 0) {
      close(fd);
      shm_unlink(name);
      errno = e;
      return throw_errno(env, "posix_fallocate", name);
    }
  }
  if (st.st_size != 0 && st.st_size != bytes) {
    close(fd);
    char msg[512];
    snprintf(msg, sizeof msg, "%s exists with %lld bytes, not %lld", name, (long long)st.st_size, (long long)bytes);
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  void *data = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (data == MAP_FAILED) return throw_errno(env, "mmap", name);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, data, (size_t)bytes, unmap, (void *)(uintptr_t)bytes, &ab) != napi_ok) {
    munmap(data, (size_t)bytes);
    napi_throw_error(env, NULL, "host-memory: cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return ab;
}

static napi_value unlink_shared(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char name[256];
  if (!get_args(env, info, 1, argv, "host-memory: unlink(name)") || !read_name(env, argv[0], name, sizeof name)) return NULL;
  napi_value out;
  CHECK(napi_get_boolean(env, shm_unlink(name) == 0, &out));
  return out;
}

/* The address of element `index` of an Int32Array argument, or NULL (a TypeError is pending). */
static int32_t *word_at(napi_env env, napi_value arr, napi_value idx) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, arr, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "host-memory: expected an Int32Array");
    return NULL;
  }
  uint32_t i = 0;
  if (napi_get_value_uint32(env, idx, &i) != napi_ok || i >= length) {
    napi_throw_range_error(env, NULL, "host-memory: index out of range");
    return NULL;
  }
  return (int32_t *)data + i;
}

static napi_value futex_wait(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t *word = get_args(env, info, 4, argv, "host-memory: wait(i32, index, value, ms)") ? word_at(env, argv[0], argv[1]) : NULL;
  if (!word) return NULL;
  int32_t value = 0;
  double ms = 0;
  CHECK(napi_get_value_int32(env, argv[2], &value));
  CHECK(napi_get_value_double(env, argv[3], &ms));
  if (!(ms >= 0)) ms = 0;
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms - 1000.0 * (double)(time_t)(ms / 1000)) * 1e6)};
  long r = syscall(SYS_futex, word, FUTEX_WAIT, value, &ts, NULL, 0);
  int code = 0;
  if (r != 0) code = errno == EAGAIN ? 1 : errno == ETIMEDOUT ? 2 : errno == EINTR ? 0 : -1;
  if (code < 0) return throw_errno(env, "futex wait", "");
  napi_value out;
  CHECK(napi_create_int32(env, code, &out));
  return out;
}

static napi_value futex_wake(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t *word = get_args(env, info, 3, argv, "host-memory: wake(i32, index, count)") ? word_at(env, argv[0], argv[1]) : NULL;
  if (!word) return NULL;
  int32_t count = 0;
  CHECK(napi_get_value_int32(env, argv[2], &count));
  long r = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
  if (r < 0) return throw_errno(env, "futex wake", "");
  napi_value out;
  CHECK(napi_create_int32(env, (int32_t)r, &out));
  return out;
}

static float *floats_of(napi_env env, napi_value arr, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, arr, &type, length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "host-memory: expected a Float32Array");
    return NULL;
  }
  return (float *)data;
}

static napi_value add_into(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t n = 0, m = 0;
  float *dst = get_args(env, info, 2, argv, "host-memory: add(dst, src)") ? floats_of(env, argv[0], &n) : NULL;
  if (!dst) return NULL;
  const float *src = floats_of(env, argv[1], &m);
  if (!src) return NULL;
  if (n != m) {
    napi_throw_range_error(env, NULL, "host-memory: add of arrays of different lengths");
    return NULL;
  }
  /* Overlap is allowed only when identical (x += x); the loop reads each src[i] before it writes dst[i]. */
  for (size_t i = 0; i < n; i++) dst[i] += src[i];
  return NULL;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"open", open_shared}, {"unlink", unlink_shared}, {"wait", futex_wait}, {"wake", futex_wake}, {"add", add_into}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return NULL;
  }
  return exports;
}
