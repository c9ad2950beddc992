// Node binding for librados/librbd: the calls the rbd store needs, each run
// off the main thread (on the binding's own thread pool), so several reads and
// writes of one image can be in flight at once. Errors carry the
// positive errno and its name (ENOENT, EEXIST, ...) for the driver to map.
//
// The calls live in cluster.cc, images.cc and listing.cc; kit.h holds what
// they share. This file only builds the module's exports.
#include "kit.h"

namespace {

using namespace glance_store_rbd;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connect", Napi::Function::New(env, Connect));
  exports.Set("fsid", Napi::Function::New(env, Fsid));
  exports.Set("openPool", Napi::Function::New(env, OpenPool));
  exports.Set("refreshMap", Napi::Function::New(env, RefreshMap));
  exports.Set("create", Napi::Function::New(env, Create));
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("openReadOnly", Napi::Function::New(env, OpenReadOnly));
  exports.Set("remove", Napi::Function::New(env, Remove));
  exports.Set("trashMove", Napi::Function::New(env, TrashMove));
  exports.Set("size", Napi::Function::New(env, Size));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("resize", Napi::Function::New(env, Resize));
  exports.Set("snapCreate", Napi::Function::New(env, SnapCreate));
  exports.Set("snapProtect", Napi::Function::New(env, SnapProtect));
  exports.Set("snapUnprotect", Napi::Function::New(env, SnapUnprotect));
  exports.Set("snapRemove", Napi::Function::New(env, SnapRemove));
  exports.Set("snapIsProtected", Napi::Function::New(env, SnapIsProtected));
  exports.Set("snapList", Napi::Function::New(env, SnapList));
  exports.Set("list", Napi::Function::New(env, List));
  exports.Set("createTimestamp", Napi::Function::New(env, CreateTimestamp));
  exports.Set("listChildren", Napi::Function::New(env, ListChildren));
  exports.Set("watchers", Napi::Function::New(env, Watchers));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("FEATURE_LAYERING", Napi::Number::New(env, static_cast<double>(RBD_FEATURE_LAYERING)));
  return exports;
}

}  // namespace

NODE_API_MODULE(glance_store_rbd, Init)
