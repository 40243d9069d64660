// N-API glue only. The engine itself (native/src) knows nothing of Node.
// Arguments are validated in TypeScript (src/native) and re-checked here
// cheaply (types and lengths) so a bad call throws instead of reading out of
// bounds. No global mutable state: each Engine object owns its tables, and
// the single-tuple registry below is per addon instance (per thread/worker).
#include <napi.h>

#include <memory>
#include <vector>

#include "engine.h"
#include "format.h"

namespace {

constexpr uint32_t kAbiVersion = 6;

Napi::Value ThrowCode(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IsType(const Napi::Value& v, napi_typedarray_type t) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == t;
}

// The single-tuple result layout shared by classifyOne and fastV4 (src/native/index.ts reads it).
void WriteResult(uint32_t* o, const nv::Result& r) {
  o[0] = r.verdict;
  o[1] = r.reason;
  o[2] = r.egressRule;
  o[3] = r.ingressRule;
  o[4] = r.decidingRule;
  o[5] = r.evalReasons;
  o[6] = r.natBackend;
  o[7] = r.rulesVisited;
}

// The low-latency single-tuple path, per addon instance (napi instance data):
// ONE native function for every engine of the thread, so the JS call site that
// calls it never sees a second function (with a function per engine, every
// engine after the first measured 20-50 ns more per call: the call site turned
// polymorphic). JS writes src, dst, proto, sport, dport and the engine's slot
// into the shared io[0..5] and calls it with no arguments; it classifies with
// that slot's engine and strategy and writes the result layout (WriteResult)
// into the slot's own out array. A slot holds a share of its engine and a
// reference to its out array; the engine's wrapper frees its slots when it is
// collected.
struct FastSlot {
  std::shared_ptr<const nv::Engine> engine;  // null: free slot
  napi_ref outRef = nullptr;
  uint32_t* out = nullptr;
  int strategy = 0;
};
struct FastRegistry {
  napi_ref ioRef = nullptr;
  uint32_t* io = nullptr;  // 16 words: [src, dst, proto, sport, dport, slot, ...]
  std::vector<FastSlot> slots;
  std::vector<uint32_t> freeSlots;
};

FastRegistry* Registry(Napi::Env env) {
  FastRegistry* r = env.GetInstanceData<FastRegistry>();
  if (!r) {
    r = new FastRegistry();
    env.SetInstanceData<FastRegistry>(r);  // deleted with the instance
  }
  return r;
}

napi_value FastCall(napi_env env, napi_callback_info cbi) {
  void* d = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, cbi, &argc, nullptr, nullptr, &d);
  const FastRegistry* reg = static_cast<const FastRegistry*>(d);
  const uint32_t* io = reg->io;
  napi_value ret;
  const uint32_t slot = io[5];
  if (slot >= reg->slots.size() || !reg->slots[slot].engine) {
    napi_get_undefined(env, &ret);
    return ret;
  }
  const FastSlot& s = reg->slots[slot];
  nv::Result r;
  s.engine->classify(4, &io[0], &io[1], uint8_t(io[2]), uint16_t(io[3]), uint16_t(io[4]), &r, s.strategy);
  WriteResult(s.out, r);
  napi_get_boolean(env, r.verdict != 0, &ret);
  return ret;
}

// fastShared(io: Uint32Array(16) over its own ArrayBuffer) -> function() -> verdict | undefined (bad slot).
// Once per addon instance (a second call replaces io and returns a new function).
Napi::Value FastShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !IsType(info[0], napi_uint32_array) || info[0].As<Napi::Uint32Array>().ElementLength() < 16)
    return ThrowCode(env, "ERR_INVALID_ARG", "fastShared(io: Uint32Array(16))");
  FastRegistry* reg = Registry(env);
  Napi::Uint32Array io = info[0].As<Napi::Uint32Array>();
  napi_ref ref;
  if (napi_create_reference(env, io, 1, &ref) != napi_ok) return ThrowCode(env, "ERR_NAPI", "cannot reference io");
  if (reg->ioRef) napi_delete_reference(env, reg->ioRef);
  reg->ioRef = ref;
  reg->io = io.Data();
  reg->io[5] = 0xffffffffu;
  napi_value fn;
  if (napi_create_function(env, "classifyV4One", NAPI_AUTO_LENGTH, FastCall, reg, &fn) != napi_ok)
    return ThrowCode(env, "ERR_NAPI", "cannot create the function");
  return Napi::Value(env, fn);
}

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("classifyV4", &EngineWrap::ClassifyV4),
                        InstanceMethod("classifyV6", &EngineWrap::ClassifyV6),
                        InstanceMethod("classifyOne", &EngineWrap::ClassifyOne),
                        InstanceMethod("fastSlot", &EngineWrap::FastSlotOf),
                        InstanceMethod("info", &EngineWrap::Info)});
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !IsType(info[0], napi_uint8_array)) {
      ThrowCode(env, "ERR_INVALID_ARG", "Engine(image): image must be a Uint8Array/Buffer");
      return;
    }
    Napi::Uint8Array img = info[0].As<Napi::Uint8Array>();
    nv::LoadError err = nv::LoadError::Ok;
    std::string detail;
    if (info.Length() > 1 && info[1].IsNumber()) {
      const int v = info[1].As<Napi::Number>().Int32Value();
      strategy_ = v >= 0 && v <= 2 ? v : 0;
    }
    engine_ = nv::Engine::load(img.Data(), img.ElementLength(), &err, &detail);
    if (!engine_) {
      ThrowCode(env, nv::loadErrorName(err), std::string("invalid image: ") + detail);
    }
  }

 private:
  // classifyV4(src, dst, sport, dport, proto, out)
  Napi::Value Classify(const Napi::CallbackInfo& info, int family) {
    Napi::Env env = info.Env();
    if (!engine_) return ThrowCode(env, "ERR_NO_ENGINE", "engine not loaded");
    if (info.Length() < 6 || !IsType(info[0], napi_uint32_array) || !IsType(info[1], napi_uint32_array) ||
        !IsType(info[2], napi_uint16_array) || !IsType(info[3], napi_uint16_array) ||
        !IsType(info[4], napi_uint8_array) || !info[5].IsObject())
      return ThrowCode(env, "ERR_INVALID_ARG", "classify(src: Uint32Array, dst: Uint32Array, sport: Uint16Array, dport: Uint16Array, proto: Uint8Array, out)");
    const size_t w = family == 4 ? 1 : 4;
    Napi::Uint32Array src = info[0].As<Napi::Uint32Array>();
    Napi::Uint32Array dst = info[1].As<Napi::Uint32Array>();
    Napi::Uint16Array sport = info[2].As<Napi::Uint16Array>();
    Napi::Uint16Array dport = info[3].As<Napi::Uint16Array>();
    Napi::Uint8Array proto = info[4].As<Napi::Uint8Array>();
    const size_t n = proto.ElementLength();
    if (src.ElementLength() != n * w || dst.ElementLength() != n * w || sport.ElementLength() != n || dport.ElementLength() != n)
      return ThrowCode(env, "ERR_LENGTH", "input arrays disagree on the tuple count");
    Napi::Object out = info[5].As<Napi::Object>();
    nv::BatchOut bo{};
    Napi::Value v = out.Get("verdict");
    if (!IsType(v, napi_uint8_array) || v.As<Napi::Uint8Array>().ElementLength() < n)
      return ThrowCode(env, "ERR_LENGTH", "out.verdict must be a Uint8Array of at least n entries");
    bo.verdict = v.As<Napi::Uint8Array>().Data();
    v = out.Get("reason");
    if (!v.IsUndefined()) {
      if (!IsType(v, napi_uint8_array) || v.As<Napi::Uint8Array>().ElementLength() < n)
        return ThrowCode(env, "ERR_LENGTH", "out.reason must be a Uint8Array of at least n entries");
      bo.reason = v.As<Napi::Uint8Array>().Data();
    }
    struct U32Out { const char* name; uint32_t** dst; };
    const U32Out u32s[] = {{"egressRule", &bo.egressRule}, {"ingressRule", &bo.ingressRule},
                           {"decidingRule", &bo.decidingRule}, {"evalReasons", &bo.evalReasons},
                           {"natBackend", &bo.natBackend}, {"rulesVisited", &bo.rulesVisited}};
    for (const U32Out& o : u32s) {
      v = out.Get(o.name);
      if (v.IsUndefined()) continue;
      if (!IsType(v, napi_uint32_array) || v.As<Napi::Uint32Array>().ElementLength() < n)
        return ThrowCode(env, "ERR_LENGTH", std::string("out.") + o.name + " must be a Uint32Array of at least n entries");
      *o.dst = v.As<Napi::Uint32Array>().Data();
    }
    // Trace events (engine.h): events (Uint32Array, >= n * eventStride),
    // eventCount (Uint8Array, >= n), eventStride (1..254); all or none.
    v = out.Get("events");
    if (!v.IsUndefined()) {
      Napi::Value c = out.Get("eventCount"), k = out.Get("eventStride");
      if (!k.IsNumber()) return ThrowCode(env, "ERR_INVALID_ARG", "out.eventStride must be a number with out.events");
      const double stride = k.As<Napi::Number>().DoubleValue();
      if (!(stride >= 1 && stride <= nv::kMaxEventStride) || stride != double(uint32_t(stride)))
        return ThrowCode(env, "ERR_INVALID_ARG", "out.eventStride must be an integer in 1..254");
      bo.eventStride = uint32_t(stride);
      if (!IsType(v, napi_uint32_array) || v.As<Napi::Uint32Array>().ElementLength() / bo.eventStride < n)
        return ThrowCode(env, "ERR_LENGTH", "out.events must be a Uint32Array of at least n * eventStride entries");
      if (!IsType(c, napi_uint8_array) || c.As<Napi::Uint8Array>().ElementLength() < n)
        return ThrowCode(env, "ERR_LENGTH", "out.eventCount must be a Uint8Array of at least n entries");
      bo.events = v.As<Napi::Uint32Array>().Data();
      bo.eventCount = c.As<Napi::Uint8Array>().Data();
    } else if (!out.Get("eventCount").IsUndefined()) {
      return ThrowCode(env, "ERR_INVALID_ARG", "out.eventCount without out.events");
    }
    nv::Batch b{n, src.Data(), dst.Data(), sport.Data(), dport.Data(), proto.Data()};
    engine_->classifyBatch(family, b, bo, StrategyArg(info, 6));
    return Napi::Number::New(env, double(n));
  }

  Napi::Value ClassifyV4(const Napi::CallbackInfo& info) { return Classify(info, 4); }
  Napi::Value ClassifyV6(const Napi::CallbackInfo& info) { return Classify(info, 6); }

  // classifyOne(family, s0, s1, s2, s3, d0, d1, d2, d3, proto, sport, dport, out: Uint32Array(8), strategy?,
  //             events?: Uint32Array, eventCount?: Uint8Array(1)) -> verdict
  // Plain numbers in, a caller-owned scratch array out: no allocation per call.
  // With events, up to min(events.length, 254) trace event words (engine.h)
  // and their number (or 255: overflow) in eventCount[0].
  Napi::Value ClassifyOne(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) return ThrowCode(env, "ERR_NO_ENGINE", "engine not loaded");
    if (info.Length() < 13 || !IsType(info[12], napi_uint32_array) || info[12].As<Napi::Uint32Array>().ElementLength() < 8)
      return ThrowCode(env, "ERR_INVALID_ARG", "classifyOne(family, s0..s3, d0..d3, proto, sport, dport, out: Uint32Array(8))");
    const int family = info[0].As<Napi::Number>().Int32Value() == 6 ? 6 : 4;
    uint32_t s[4], d[4];
    for (int i = 0; i < 4; i++) {
      s[i] = info[1 + i].As<Napi::Number>().Uint32Value();
      d[i] = info[5 + i].As<Napi::Number>().Uint32Value();
    }
    const uint8_t proto = uint8_t(info[9].As<Napi::Number>().Uint32Value());
    const uint16_t sport = uint16_t(info[10].As<Napi::Number>().Uint32Value());
    const uint16_t dport = uint16_t(info[11].As<Napi::Number>().Uint32Value());
    uint32_t* events = nullptr;
    uint32_t cap = 0;
    uint8_t* count = nullptr;
    if (info.Length() > 14 && !info[14].IsUndefined()) {
      if (!IsType(info[14], napi_uint32_array) || info.Length() < 16 || !IsType(info[15], napi_uint8_array) ||
          info[15].As<Napi::Uint8Array>().ElementLength() < 1 || info[14].As<Napi::Uint32Array>().ElementLength() < 1)
        return ThrowCode(env, "ERR_INVALID_ARG", "classifyOne(..., events: Uint32Array(>= 1), eventCount: Uint8Array(>= 1))");
      Napi::Uint32Array ev = info[14].As<Napi::Uint32Array>();
      events = ev.Data();
      cap = ev.ElementLength() < nv::kMaxEventStride ? uint32_t(ev.ElementLength()) : nv::kMaxEventStride;
      count = info[15].As<Napi::Uint8Array>().Data();
    }
    nv::Result r;
    engine_->classify(family, s, d, proto, sport, dport, &r, StrategyArg(info, 13), events, cap, count);
    WriteResult(info[12].As<Napi::Uint32Array>().Data(), r);
    return Napi::Number::New(env, r.verdict);
  }

  // fastSlot(out: Uint32Array(>= 8), strategy?) -> slot for the shared fast
  // function (FastRegistry): its results go to out[0..7].
  Napi::Value FastSlotOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) return ThrowCode(env, "ERR_NO_ENGINE", "engine not loaded");
    if (info.Length() < 1 || !IsType(info[0], napi_uint32_array) || info[0].As<Napi::Uint32Array>().ElementLength() < 8)
      return ThrowCode(env, "ERR_INVALID_ARG", "fastSlot(out: Uint32Array(8), strategy?)");
    FastRegistry* reg = Registry(env);
    Napi::Uint32Array out = info[0].As<Napi::Uint32Array>();
    FastSlot s;
    s.engine = engine_;
    s.out = out.Data();
    s.strategy = StrategyArg(info, 1);
    if (napi_create_reference(env, out, 1, &s.outRef) != napi_ok) return ThrowCode(env, "ERR_NAPI", "cannot reference out");
    uint32_t slot;
    if (!reg->freeSlots.empty()) {
      slot = reg->freeSlots.back();
      reg->freeSlots.pop_back();
      reg->slots[slot] = std::move(s);
    } else {
      slot = uint32_t(reg->slots.size());
      reg->slots.push_back(std::move(s));
    }
    slots_.push_back(slot);
    return Napi::Number::New(env, slot);
  }

 public:
  ~EngineWrap() override {
    if (slots_.empty()) return;
    Napi::Env env = Env();
    FastRegistry* reg = env.GetInstanceData<FastRegistry>();
    if (!reg) return;
    for (uint32_t slot : slots_) {
      FastSlot& s = reg->slots[slot];
      if (s.outRef) napi_delete_reference(env, s.outRef);
      s = FastSlot();
      reg->freeSlots.push_back(slot);
    }
  }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (engine_) {
      o.Set("imageSize", Napi::Number::New(env, double(engine_->imageSize())));
      o.Set("ruleCount", Napi::Number::New(env, engine_->ruleCount()));
      o.Set("backendCount", Napi::Number::New(env, engine_->backendCount()));
      o.Set("maxProgramWork", Napi::Number::New(env, double(engine_->maxProgramWork())));
      o.Set("workCap", Napi::Number::New(env, double(engine_->workCap())));
      o.Set("traceBound", Napi::Number::New(env, double(engine_->traceBound())));
      o.Set("fastTransit", Napi::Boolean::New(env, engine_->fastTransit()));
      o.Set("simd", Napi::Boolean::New(env, engine_->simd()));
      o.Set("simdForm", Napi::String::New(env, engine_->simdForm()));
      o.Set("memoryBytes", Napi::Number::New(env, double(engine_->memoryBytes())));
      o.Set("treeCount", Napi::Number::New(env, engine_->treeCount()));
      o.Set("treeBytes", Napi::Number::New(env, double(engine_->treeBytes())));
      o.Set("rfcCount", Napi::Number::New(env, engine_->rfcCount()));
      o.Set("rfcBytes", Napi::Number::New(env, double(engine_->rfcBytes())));
      o.Set("pmCount", Napi::Number::New(env, engine_->pmCount()));
      o.Set("pmBytes", Napi::Number::New(env, double(engine_->pmBytes())));
      o.Set("pmCut", Napi::Boolean::New(env, engine_->pmCut()));
      o.Set("laneMemoBytes", Napi::Number::New(env, double(engine_->laneMemoBytes())));
      o.Set("nodeLanes", Napi::Boolean::New(env, engine_->nodeLanes()));
    }
    return o;
  }

  // Optional trailing strategy argument (0 linear, 1 decision); else the engine's default.
  int StrategyArg(const Napi::CallbackInfo& info, size_t i) const {
    if (info.Length() > i && info[i].IsNumber()) {
      const int v = info[i].As<Napi::Number>().Int32Value();
      return v >= 0 && v <= 2 ? v : 0;
    }
    return strategy_;
  }

  std::shared_ptr<const nv::Engine> engine_;
  int strategy_ = 0;
  std::vector<uint32_t> slots_;  // FastRegistry slots of this engine
};

Napi::Value AbiVersion(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), kAbiVersion); }

Napi::Value FormatVersion(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("major", Napi::Number::New(info.Env(), nv::fmt::kMajor));
  o.Set("minor", Napi::Number::New(info.Env(), nv::fmt::kMinor));
  return o;
}

// [{struct, field|null, value}] from offsetof/sizeof.
Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t n = 0;
  const nv::fmt::FieldLayout* t = nv::fmt::layoutTable(&n);
  Napi::Array arr = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("struct", Napi::String::New(env, t[i].structName));
    o.Set("field", t[i].field ? Napi::Value(Napi::String::New(env, t[i].field)) : env.Null());
    o.Set("value", Napi::Number::New(env, double(t[i].value)));
    arr.Set(uint32_t(i), o);
  }
  return arr;
}

Napi::Value TupleHash(const Napi::CallbackInfo& info) {
  // tupleHash(family, src: Uint32Array, dst: Uint32Array, proto, sport, dport) — for the hash test vectors.
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !IsType(info[1], napi_uint32_array) || !IsType(info[2], napi_uint32_array))
    return ThrowCode(env, "ERR_INVALID_ARG", "tupleHash(family, src, dst, proto, sport, dport)");
  const int family = info[0].As<Napi::Number>().Int32Value() == 6 ? 6 : 4;
  Napi::Uint32Array s = info[1].As<Napi::Uint32Array>();
  Napi::Uint32Array d = info[2].As<Napi::Uint32Array>();
  const size_t w = family == 4 ? 1 : 4;
  if (s.ElementLength() < w || d.ElementLength() < w) return ThrowCode(env, "ERR_LENGTH", "address arrays too short");
  const uint32_t h = nv::tupleHash(family, s.Data(), d.Data(), uint8_t(info[3].As<Napi::Number>().Uint32Value()),
                                   uint16_t(info[4].As<Napi::Number>().Uint32Value()), uint16_t(info[5].As<Napi::Number>().Uint32Value()));
  return Napi::Number::New(env, h);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Function::New(env, AbiVersion, "abiVersion"));
  exports.Set("formatVersion", Napi::Function::New(env, FormatVersion, "formatVersion"));
  exports.Set("layout", Napi::Function::New(env, Layout, "layout"));
  exports.Set("tupleHash", Napi::Function::New(env, TupleHash, "tupleHash"));
  exports.Set("fastShared", Napi::Function::New(env, FastShared, "fastShared"));
  exports.Set("Engine", EngineWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(netverdict, Init)
