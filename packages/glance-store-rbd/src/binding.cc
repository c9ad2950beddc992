// Node binding for librados/librbd: the calls the rbd store needs, each run
// off the main thread (on the binding's own thread pool), so several reads and
// writes of one image can be in flight at once. Errors carry the
// positive errno and its name (ENOENT, EEXIST, ...) for the driver to map.
#include <napi.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

// ---- errors -----------------------------------------------------------------

Napi::Error ErrnoError(Napi::Env env, int err, const std::string &what) {
  int e = err < 0 ? -err : err;
  const char *name = strerrorname_np(e);
  Napi::Error error = Napi::Error::New(env, what + ": " + std::strerror(e));
  error.Set("errno", Napi::Number::New(env, e));
  error.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  return error;
}

// ---- the binding's own thread pool ------------------------------------------

// librbd and librados calls block on network round trips, often for several
// milliseconds (a snapshot commits through the monitors). On libuv's pool of
// four threads, sixteen concurrent adds would queue behind each other and
// starve file and crypto work; the binding runs them on its own threads and
// settles each promise on the main thread through a thread-safe function.
constexpr size_t kThreads = 16;

struct Job {
  using Work = std::function<int()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  Job(Napi::Env env, std::string w, Work wk, Done d, std::vector<Napi::Reference<Napi::Value>> k)
      : deferred(Napi::Promise::Deferred::New(env)), what(std::move(w)), work(std::move(wk)), done(std::move(d)), keep(std::move(k)) {}
  Napi::Promise::Deferred deferred;
  std::string what;
  Work work;
  Done done;
  // Buffers and handles the work uses, kept alive until it ends.
  std::vector<Napi::Reference<Napi::Value>> keep;
  int result = 0;
};

class Pool {
 public:
  explicit Pool(Napi::Env env) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo &) {}), "glance-store-rbd", 0, 1);
    tsfn_.Unref(env);
    for (size_t i = 0; i < kThreads; i++) std::thread([this] { Loop(); }).detach();
  }

  Napi::Promise Run(Napi::Env env, std::string what, Job::Work work, Job::Done done, std::vector<Napi::Reference<Napi::Value>> keep) {
    Job *job = new Job(env, std::move(what), std::move(work), std::move(done), std::move(keep));
    Napi::Promise promise = job->deferred.Promise();
    // Referenced while jobs are pending, so a pending call keeps the process alive.
    if (pending_++ == 0) tsfn_.Ref(env);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(job);
    }
    cv_.notify_one();
    return promise;
  }

 private:
  void Loop() {
    for (;;) {
      Job *job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        job = queue_.front();
        queue_.pop_front();
      }
      job->result = job->work();
      tsfn_.BlockingCall(job, [this](Napi::Env env, Napi::Function, Job *j) { Settle(env, j); });
    }
  }

  void Settle(Napi::Env env, Job *job) {
    Napi::HandleScope scope(env);
    if (job->result < 0) {
      job->deferred.Reject(ErrnoError(env, job->result, job->what).Value());
    } else {
      try {
        job->deferred.Resolve(job->done ? job->done(env) : env.Undefined());
      } catch (const Napi::Error &e) {
        job->deferred.Reject(e.Value());
      }
    }
    delete job;
    if (--pending_ == 0) tsfn_.Unref(env);
  }

  Napi::ThreadSafeFunction tsfn_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job *> queue_;
  size_t pending_ = 0;  // touched on the main thread only
};

// One pool per Node environment (the main thread, or a worker thread), never
// destroyed: its threads may still be parked when the process exits.
void KeepPool(Napi::Env, Pool *) {}

Pool *PoolFor(Napi::Env env) {
  Pool *pool = env.GetInstanceData<Pool>();
  if (!pool) {
    pool = new Pool(env);
    env.SetInstanceData<Pool, KeepPool>(pool);
  }
  return pool;
}

struct Task {
  using Work = Job::Work;
  using Done = Job::Done;
  static Napi::Promise Run(Napi::Env env, std::string what, Work work, Done done, std::vector<Napi::Reference<Napi::Value>> keep = {}) {
    return PoolFor(env)->Run(env, std::move(what), std::move(work), std::move(done), std::move(keep));
  }
};

std::string Str(const Napi::Value &v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }
uint64_t U64(const Napi::Value &v) { return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()); }

// The result of a call that lists names (snapshots, clones): a JS array of them.
Job::Done NamesArray(std::shared_ptr<std::vector<std::string>> names) {
  return [names](Napi::Env e) -> Napi::Value {
    Napi::Array a = Napi::Array::New(e, names->size());
    for (size_t i = 0; i < names->size(); i++) a.Set(i, (*names)[i]);
    return a;
  };
}

// librbd's list calls fill an array the caller sizes, and answer -ERANGE with the size they
// need when it is too small. Runs `call` until its answer fits; `call` gives the number of
// entries filled (or a negative errno), each is handed to `take`, then `cleanup` frees them.
template <typename T, typename N>
int ListAll(N size, const std::function<int(T *, N *)> &call, const std::function<void(const T &)> &take, const std::function<void(T *, int)> &cleanup) {
  for (;;) {
    std::vector<T> entries(size);
    int r = call(entries.data(), &size);
    if (r == -ERANGE) continue;
    if (r < 0) return r;
    for (int i = 0; i < r; i++) take(entries[i]);
    cleanup(entries.data(), r);
    return 0;
  }
}

// For ListAll: a list call that answers 0 and sets its size argument to the number it filled.
template <typename T>
std::function<int(T *, size_t *)> CountInSize(std::function<int(T *, size_t *)> call) {
  return [call](T *entries, size_t *size) {
    int r = call(entries, size);
    return r < 0 ? r : static_cast<int>(*size);
  };
}

// ---- shared native handles --------------------------------------------------

struct ClusterHandle {
  rados_t cluster = nullptr;
  ~ClusterHandle() {
    if (cluster) rados_shutdown(cluster);
  }
};

struct IoctxHandle {
  std::shared_ptr<ClusterHandle> cluster;  // keeps the cluster alive
  rados_ioctx_t ioctx = nullptr;
  ~IoctxHandle() {
    if (ioctx) rados_ioctx_destroy(ioctx);
  }
};

struct ImageHandle {
  std::shared_ptr<IoctxHandle> ioctx;
  rbd_image_t image = nullptr;
  ~ImageHandle() {
    if (image) rbd_close(image);
  }
};

template <typename T>
Napi::Object Wrap(Napi::Env env, std::shared_ptr<T> handle, const char *kind) {
  Napi::Object obj = Napi::Object::New(env);
  auto *holder = new std::shared_ptr<T>(std::move(handle));
  obj.Set("kind", Napi::String::New(env, kind));
  napi_wrap(env, obj, holder, [](napi_env, void *data, void *) { delete static_cast<std::shared_ptr<T> *>(data); }, nullptr, nullptr);
  return obj;
}

template <typename T>
std::shared_ptr<T> Unwrap(const Napi::Value &v) {
  void *data = nullptr;
  if (!v.IsObject() || napi_unwrap(v.Env(), v, &data) != napi_ok || !data) {
    throw Napi::TypeError::New(v.Env(), "invalid or closed rbd handle");
  }
  return *static_cast<std::shared_ptr<T> *>(data);
}

// ---- cluster ----------------------------------------------------------------

// Seconds from an option of connect(), -1 when absent (left to the Ceph configuration).
int64_t Seconds(const Napi::Object &o, const char *key) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().Int64Value() : -1;
}

// connect({ confFile, user, connectTimeout?, monOpTimeout?, osdOpTimeout? }) -> cluster
// Each timeout given (seconds, 0 included: Ceph's "no timeout") is set over the
// Ceph configuration's: connectTimeout as client_mount_timeout (the connect),
// monOpTimeout as rados_mon_op_timeout, osdOpTimeout as rados_osd_op_timeout
// (every read and write librbd sends to an OSD, so an OSD that stops answering
// fails the call with ETIMEDOUT instead of leaving it waiting forever). One
// left out keeps the configuration file's value.
Napi::Value Connect(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  std::string conf = Str(o.Get("confFile"));
  std::string user = Str(o.Get("user"));
  int64_t connect = Seconds(o, "connectTimeout");
  int64_t mon = Seconds(o, "monOpTimeout");
  int64_t osd = Seconds(o, "osdOpTimeout");
  auto handle = std::make_shared<ClusterHandle>();
  return Task::Run(
      env, "connecting to the Ceph cluster",
      [=]() {
        std::string name = "client." + (user.empty() ? std::string("admin") : user);
        int r = rados_create2(&handle->cluster, "ceph", name.c_str(), 0);
        if (r < 0) return r;
        if (!conf.empty() && (r = rados_conf_read_file(handle->cluster, conf.c_str())) < 0) return r;
        const std::pair<const char *, int64_t> timeouts[] = {
            {"client_mount_timeout", connect}, {"rados_mon_op_timeout", mon}, {"rados_osd_op_timeout", osd}};
        for (const auto &t : timeouts) {
          if (t.second < 0) continue;
          if ((r = rados_conf_set(handle->cluster, t.first, std::to_string(t.second).c_str())) < 0) return r;
        }
        return rados_connect(handle->cluster);
      },
      [=](Napi::Env e) -> Napi::Value { return Wrap(e, handle, "cluster"); });
}

Napi::Value Fsid(const Napi::CallbackInfo &info) {
  auto c = Unwrap<ClusterHandle>(info[0]);
  char buf[64] = {0};
  int r = rados_cluster_fsid(c->cluster, buf, sizeof(buf));
  if (r < 0) throw ErrnoError(info.Env(), r, "reading the cluster fsid");
  return Napi::String::New(info.Env(), buf);
}

// refreshMap(cluster): asks the monitors for the newest OSD map and waits for
// it. A client whose OSD was killed and started again keeps sending to the
// dead instance (its connection fails quietly, its map still has the OSD up),
// so every call times out until it learns the new map; this makes it learn it.
Napi::Value RefreshMap(const Napi::CallbackInfo &info) {
  auto c = Unwrap<ClusterHandle>(info[0]);
  return Task::Run(info.Env(), "reading the newest OSD map", [=]() { return rados_wait_for_latest_osdmap(c->cluster); }, nullptr);
}

Napi::Value OpenPool(const Napi::CallbackInfo &info) {
  auto c = Unwrap<ClusterHandle>(info[0]);
  std::string pool = Str(info[1]);
  auto handle = std::make_shared<IoctxHandle>();
  handle->cluster = c;
  return Task::Run(
      info.Env(), "opening pool " + pool, [=]() { return rados_ioctx_create(c->cluster, pool.c_str(), &handle->ioctx); },
      [=](Napi::Env e) -> Napi::Value { return Wrap(e, handle, "ioctx"); });
}

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
Napi::Value OpenImage(const Napi::CallbackInfo &info, bool readOnly) {
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

Napi::Value SnapOp(const Napi::CallbackInfo &info, const char *what, int (*op)(rbd_image_t, const char *)) {
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

Napi::Value SnapList(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  auto names = std::make_shared<std::vector<std::string>>();
  return Task::Run(
      info.Env(), "listing snapshots",
      [=]() {
        return ListAll<rbd_snap_info_t, int>(
            16, [&](rbd_snap_info_t *snaps, int *max) { return rbd_snap_list(img->image, snaps, max); },
            [&](const rbd_snap_info_t &snap) { names->push_back(snap.name); }, [](rbd_snap_info_t *snaps, int) { rbd_snap_list_end(snaps); });
      },
      NamesArray(names));
}

// list(ioctx) -> Buffer of the pool's image names, each followed by a NUL.
// librbd lists a pool whole (rbd_list2 takes no marker); one buffer of the
// names' bytes costs a fraction of an array of a million strings, and the
// caller splits it a page at a time.
Napi::Value List(const Napi::CallbackInfo &info) {
  auto io = Unwrap<IoctxHandle>(info[0]);
  auto names = std::make_shared<std::string>();
  return Task::Run(
      info.Env(), "listing the pool's images",
      [=]() {
        return ListAll<rbd_image_spec_t, size_t>(
            1024, CountInSize<rbd_image_spec_t>([&](rbd_image_spec_t *specs, size_t *max) { return rbd_list2(io->ioctx, specs, max); }),
            [&](const rbd_image_spec_t &spec) {
              names->append(spec.name);
              names->push_back('\0');
            },
            [](rbd_image_spec_t *specs, int n) { rbd_image_spec_list_cleanup(specs, n); });
      },
      [=](Napi::Env e) -> Napi::Value { return Napi::Buffer<char>::Copy(e, names->data(), names->size()); });
}

// createTimestamp(image) -> seconds since the epoch (with their fraction) the image was created at.
Napi::Value CreateTimestamp(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  auto ts = std::make_shared<struct timespec>();
  return Task::Run(info.Env(), "reading the image's creation time", [=]() { return rbd_get_create_timestamp(img->image, ts.get()); },
                   [=](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, static_cast<double>(ts->tv_sec) + static_cast<double>(ts->tv_nsec) / 1e9); });
}

// listChildren(image) -> ["pool/image", ...] of the snapshot the image is opened at
Napi::Value ListChildren(const Napi::CallbackInfo &info) {
  auto img = Unwrap<ImageHandle>(info[0]);
  auto names = std::make_shared<std::vector<std::string>>();
  return Task::Run(
      info.Env(), "listing clones",
      [=]() {
        return ListAll<rbd_linked_image_spec_t, size_t>(
            16, CountInSize<rbd_linked_image_spec_t>([&](rbd_linked_image_spec_t *specs, size_t *max) { return rbd_list_children3(img->image, specs, max); }),
            [&](const rbd_linked_image_spec_t &spec) { names->push_back(std::string(spec.pool_name) + "/" + spec.image_name); },
            [](rbd_linked_image_spec_t *specs, int n) { rbd_linked_image_spec_list_cleanup(specs, n); });
      },
      NamesArray(names));
}

// watchers(ioctx, name) -> ["addr", ...]: the clients that have the image
// open (a reader at its snapshot included). The image is opened read-only for
// this, which registers no watch of its own, so an empty list means no one.
Napi::Value Watchers(const Napi::CallbackInfo &info) {
  auto io = Unwrap<IoctxHandle>(info[0]);
  std::string name = Str(info[1]);
  auto names = std::make_shared<std::vector<std::string>>();
  return Task::Run(
      info.Env(), "listing the watchers of image " + name,
      [=]() {
        rbd_image_t image = nullptr;
        int r = rbd_open_read_only(io->ioctx, name.c_str(), &image, nullptr);
        if (r < 0) return r;
        size_t max = 8;
        for (;;) {
          std::vector<rbd_image_watcher_t> watchers(max);
          r = rbd_watchers_list(image, watchers.data(), &max);
          if (r == -ERANGE) continue;
          if (r >= 0) {
            for (size_t i = 0; i < max; i++) names->push_back(watchers[i].addr ? watchers[i].addr : "");
            rbd_watchers_list_cleanup(watchers.data(), max);
            r = 0;
          }
          break;
        }
        rbd_close(image);
        return r;
      },
      NamesArray(names));
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
