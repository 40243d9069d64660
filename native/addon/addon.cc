// N-API glue only. The engine itself (native/src) knows nothing of Node.
#include <napi.h>

namespace {

// Version handshake: TypeScript checks this before handing the addon an image.
Napi::Value AbiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), 1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Function::New(env, AbiVersion, "abiVersion"));
  return exports;
}

}  // namespace

NODE_API_MODULE(netverdict, Init)
