// The floor under any Node.js binding of bpf(2): one N-API function, no FFI library, no
// checks, that makes the syscall on an attr the caller has filled. bench/sections/10 measures
// it beside bare koffi and the driver, to show how much of the gap to C is Node's own.
// Built by bench/run.mjs with the machine's gcc against Node's headers; not part of bpfkit.
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// bpf(cmd, attr address as a Number, attr size) → the result, or -errno.
static napi_value call_bpf(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t cmd = 0;
  double addr = 0;
  uint32_t size = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &cmd);
  napi_get_value_double(env, argv[1], &addr);
  napi_get_value_uint32(env, argv[2], &size);
  long r = syscall(SYS_bpf, cmd, (void *)(uintptr_t)addr, size);
  napi_value out;
  napi_create_int32(env, r < 0 ? -errno : (int32_t)r, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "bpf", NAPI_AUTO_LENGTH, call_bpf, NULL, &fn);
  napi_set_named_property(env, exports, "bpf", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
