// The cluster: connect with its timeouts, its fsid, a fresh OSD map, a pool's I/O context.
#include "kit.h"

namespace glance_store_rbd {

// ---- cluster ----------------------------------------------------------------

// Seconds from an option of connect(), -1 when absent (left to the Ceph configuration).
static int64_t Seconds(const Napi::Object &o, const char *key) {
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

}  // namespace glance_store_rbd
