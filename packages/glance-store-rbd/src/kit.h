// What every call of the binding shares: errno errors, the binding's own
// thread pool (Task::Run), argument helpers and the native handles, plus the
// calls each source file defines, for the module's Init (binding.cc).
#pragma once

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

namespace glance_store_rbd {

// ---- errors -----------------------------------------------------------------

inline Napi::Error ErrnoError(Napi::Env env, int err, const std::string &what) {
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
inline void KeepPool(Napi::Env, Pool *) {}

inline Pool *PoolFor(Napi::Env env) {
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

inline std::string Str(const Napi::Value &v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }
inline uint64_t U64(const Napi::Value &v) { return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()); }

// The result of a call that lists names (snapshots, clones): a JS array of them.
inline Job::Done NamesArray(std::shared_ptr<std::vector<std::string>> names) {
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

// ---- the calls, by file -----------------------------------------------------

Napi::Value Connect(const Napi::CallbackInfo &info);
Napi::Value Fsid(const Napi::CallbackInfo &info);
Napi::Value RefreshMap(const Napi::CallbackInfo &info);
Napi::Value OpenPool(const Napi::CallbackInfo &info);
Napi::Value Create(const Napi::CallbackInfo &info);
Napi::Value Open(const Napi::CallbackInfo &info);
Napi::Value OpenReadOnly(const Napi::CallbackInfo &info);
Napi::Value Remove(const Napi::CallbackInfo &info);
Napi::Value TrashMove(const Napi::CallbackInfo &info);
Napi::Value Size(const Napi::CallbackInfo &info);
Napi::Value Write(const Napi::CallbackInfo &info);
Napi::Value Read(const Napi::CallbackInfo &info);
Napi::Value Resize(const Napi::CallbackInfo &info);
Napi::Value SnapCreate(const Napi::CallbackInfo &info);
Napi::Value SnapProtect(const Napi::CallbackInfo &info);
Napi::Value SnapUnprotect(const Napi::CallbackInfo &info);
Napi::Value SnapRemove(const Napi::CallbackInfo &info);
Napi::Value SnapIsProtected(const Napi::CallbackInfo &info);
Napi::Value SnapList(const Napi::CallbackInfo &info);
Napi::Value List(const Napi::CallbackInfo &info);
Napi::Value CreateTimestamp(const Napi::CallbackInfo &info);
Napi::Value ListChildren(const Napi::CallbackInfo &info);
Napi::Value Watchers(const Napi::CallbackInfo &info);
Napi::Value Close(const Napi::CallbackInfo &info);

}  // namespace glance_store_rbd
