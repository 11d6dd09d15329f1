// coffer_native: nanosecond-exact file times (utimensat), which Node's fs cannot set.
// utimens(path: Buffer, atimeSec: number, atimeNsec: number, mtimeSec: number,
//         mtimeNsec: number, noFollow: boolean) -> number (0, or the errno)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static napi_value Utimens(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) {
    napi_throw_type_error(env, NULL, "utimens(path, asec, ansec, msec, mnsec, noFollow)");
    return NULL;
  }
  void* data;
  size_t len;
  if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "utimens: path must be a Buffer");
    return NULL;
  }
  char* path = malloc(len + 1);
  if (path == NULL) {
    napi_throw_error(env, NULL, "utimens: out of memory");
    return NULL;
  }
  memcpy(path, data, len);
  path[len] = 0;
  double asec, ansec, msec, mnsec;
  bool nofollow;
  napi_get_value_double(env, argv[1], &asec);
  napi_get_value_double(env, argv[2], &ansec);
  napi_get_value_double(env, argv[3], &msec);
  napi_get_value_double(env, argv[4], &mnsec);
  napi_get_value_bool(env, argv[5], &nofollow);
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)asec;
  ts[0].tv_nsec = (long)ansec;
  ts[1].tv_sec = (time_t)msec;
  ts[1].tv_nsec = (long)mnsec;
  int rc = utimensat(AT_FDCWD, path, ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0);
  int err = rc == 0 ? 0 : errno;
  free(path);
  napi_value out;
  napi_create_int32(env, err, &out);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "utimens", NAPI_AUTO_LENGTH, Utimens, NULL, &fn);
  napi_set_named_property(env, exports, "utimens", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
