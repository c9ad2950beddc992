// Images in a pool (create, open, remove, move to the trash) and one image's
// size, reads, writes, resize and snapshots; close() of any handle.
#include "kit.h"

namespace glance_store_rbd {

// ---- images in a pool ------------------------------------------------------

// create(ioctx, name, size, order, features)
Napi::Value Create(const Napi::CallbackInfo &info) {
  auto io = Unwrap<IoctxHandle>(info[0]);
  std::string name = Str(info[1]);
  uint64_t size = U64(info[2]);
  int order = info[3].As<Napi::Number>().Int32Value();
  uint64_t features = U64(info[4]);
  return Task::Run(info.Env(), "creating image " + name, [=]() {
    int o = order;
    return rbd_create2(io->ioctx, name.c_str(), size, features, &o);
  }, nullptr);
}

// open(ioctx, name, snap|null) -> image; openReadOnly the same, read-only: a
// read-only handle registers no watch on the image (so it is not listed by
// watchers(), and a monitor or OSD restart does not make it re-register one
// before the next read) and can neither write nor change a snapshot.
static Napi::Value OpenImage(const Napi::CallbackInfo &info, bool readOnly) {
  auto io = Unwrap<IoctxHandle>(info[0]);
  std::string name = Str(info[1]);
  bool hasSnap = info[2].IsString();
  std::string snap = Str(info[2]);
  auto handle = std::make_shared<ImageHandle>();
  handle->ioctx = io;
  return Task::Run(
      info.Env(), std::string(readOnly ? "opening image (read-only) " : "opening image ") + name,
      [=]() {
        const char *at = hasSnap ? snap.c_str() : nullptr;
        return readOnly ? rbd_open_read_only(io->ioctx, name.c_str(), &handle->image, at) : rbd_open(io->ioctx, name.c_str(), &handle->image, at);
      },
      [=](Napi::Env e) -> Napi::Value { return Wrap(e, handle, "image"); });
}
Napi::Value Open(const Napi::CallbackInfo &info) { return OpenImage(info, false); }
Napi::Value OpenReadOnly(const Napi::CallbackInfo &info) { return OpenImage(info, true); }

Napi::Value Remove(const Napi::CallbackInfo &info) {
  auto io = Unwrap<IoctxHandle>(info[0]);
  std::string name = Str(info[1]);
  return Task::Run(info.Env(), "removing image " + name, [=]() { return rbd_remove(io->ioctx, name.c_str()); }, nullptr);
}

// trashMove(ioctx, name): moves the image to the pool's RBD trash (removable
// at once: no deferment), where `rbd trash ls` lists it and `rbd trash purge`
// removes it once nothing depends on it. EBUSY while a client has it open.
Napi::Value TrashMove(const Napi::CallbackInfo &info) {
  auto io = Unwrap<IoctxHandle>(info[0]);
  std::string name = Str(info[1]);
  return Task::Run(info.Env(), "moving image " + name + " to the trash", [=]() { return rbd_trash_move(io->ioctx, name.c_str(), 0); }, nullptr);
}

// ---- one image --------------------------------------------------------------

Napi::Value Size(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  auto size = std::make_shared<uint64_t>(0);
  return Task::Run(info.Env(), "reading the image size", [=]() { return rbd_get_size(img->image, size.get()); },
                   [=](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, static_cast<double>(*size)); });
}

// write(image, offset, buffer)
Napi::Value Write(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  uint64_t off = U64(info[1]);
  Napi::Buffer<char> buf = info[2].As<Napi::Buffer<char>>();
  const char *data = buf.Data();
  size_t len = buf.Length();
  std::vector<Napi::Reference<Napi::Value>> keep;
  keep.push_back(Napi::Persistent(info[2]));
  return Task::Run(
      info.Env(), "writing to the image",
      [=]() {
        ssize_t r = rbd_write2(img->image, off, len, data, 0);
        if (r < 0) return static_cast<int>(r);
        return static_cast<size_t>(r) == len ? 0 : -EIO;
      },
      nullptr, std::move(keep));
}

// read(image, offset, length) -> Buffer; librbd reads straight into the Buffer returned.
Napi::Value Read(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  uint64_t off = U64(info[1]);
  size_t len = static_cast<size_t>(U64(info[2]));
  Napi::Buffer<char> buf = Napi::Buffer<char>::New(info.Env(), len);
  char *data = buf.Data();
  auto got = std::make_shared<ssize_t>(0);
  std::vector<Napi::Reference<Napi::Value>> keep;
  keep.push_back(Napi::Persistent(Napi::Value(buf)));
  auto ref = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(Napi::Value(buf)));
  return Task::Run(
      info.Env(), "reading the image",
      [=]() {
        *got = rbd_read2(img->image, off, len, data, 0);
        return *got < 0 ? static_cast<int>(*got) : 0;
      },
      [=](Napi::Env e) -> Napi::Value {
        Napi::Buffer<char> b = ref->Value().As<Napi::Buffer<char>>();
        ref->Reset();
        if (static_cast<size_t>(*got) == len) return b;
        return Napi::Buffer<char>::Copy(e, b.Data(), static_cast<size_t>(*got));
      },
      std::move(keep));
}

Napi::Value Resize(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  uint64_t size = U64(info[1]);
  return Task::Run(info.Env(), "resizing the image", [=]() { return rbd_resize(img->image, size); }, nullptr);
}

static Napi::Value SnapOp(const Napi::CallbackInfo &info, const char *what, int (*op)(rbd_image_t, const char *)) {
  auto img = Unwrap<ImageHandle>(info[0]);
  std::string snap = Str(info[1]);
  return Task::Run(info.Env(), std::string(what) + " snapshot " + snap, [=]() { return op(img->image, snap.c_str()); }, nullptr);
}
Napi::Value SnapCreate(const Napi::CallbackInfo &info) { return SnapOp(info, "creating", rbd_snap_create); }
Napi::Value SnapProtect(const Napi::CallbackInfo &info) { return SnapOp(info, "protecting", rbd_snap_protect); }
Napi::Value SnapUnprotect(const Napi::CallbackInfo &info) { return SnapOp(info, "unprotecting", rbd_snap_unprotect); }
Napi::Value SnapRemove(const Napi::CallbackInfo &info) { return SnapOp(info, "removing", rbd_snap_remove); }

Napi::Value SnapIsProtected(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  std::string snap = Str(info[1]);
  auto prot = std::make_shared<int>(0);
  return Task::Run(info.Env(), "checking snapshot " + snap, [=]() { return rbd_snap_is_protected(img->image, snap.c_str(), prot.get()); },
                   [=](Napi::Env e) -> Napi::Value { return Napi::Boolean::New(e, *prot != 0); });
}

// close(handle): releases the native handle now instead of at garbage collection.
Napi::Value Close(const Napi::CallbackInfo &info) {
  void *data = nullptr;
  if (info[0].IsObject() && napi_remove_wrap(info.Env(), info[0], &data) == napi_ok && data) {
    std::string kind = Str(info[0].As<Napi::Object>().Get("kind"));
    // Closing can block (rbd_close flushes, rados_shutdown waits): do it off the main thread.
    std::function<void()> release;
    if (kind == "image") {
      auto *p = static_cast<std::shared_ptr<ImageHandle> *>(data);
      release = [p]() { delete p; };
    } else if (kind == "ioctx") {
      auto *p = static_cast<std::shared_ptr<IoctxHandle> *>(data);
      release = [p]() { delete p; };
    } else {
      auto *p = static_cast<std::shared_ptr<ClusterHandle> *>(data);
      release = [p]() { delete p; };
    }
    return Task::Run(info.Env(), "closing", [release]() { release(); return 0; }, nullptr);
  }
  auto d = Napi::Promise::Deferred::New(info.Env());
  d.Resolve(info.Env().Undefined());
  return d.Promise();
}

}  // namespace glance_store_rbd
