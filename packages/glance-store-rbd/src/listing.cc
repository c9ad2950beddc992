// What a pool and an image hold: the pool's images and their creation time,
// an image's snapshots, a snapshot's clones and the clients watching an image.
#include "kit.h"

namespace glance_store_rbd {

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
        r = ListAll<rbd_image_watcher_t, size_t>(
            8, CountInSize<rbd_image_watcher_t>([&](rbd_image_watcher_t *watchers, size_t *max) { return rbd_watchers_list(image, watchers, max); }),
            [&](const rbd_image_watcher_t &w) { names->push_back(w.addr ? w.addr : ""); },
            [](rbd_image_watcher_t *watchers, int n) { rbd_watchers_list_cleanup(watchers, static_cast<size_t>(n)); });
        rbd_close(image);
        return r;
      },
      NamesArray(names));
}

}  // namespace glance_store_rbd
