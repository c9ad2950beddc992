{
  "targets": [
    {
      "target_name": "glance_store_rbd",
      "sources": ["src/binding.cc", "src/cluster.cc", "src/images.cc", "src/listing.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lrbd", "-lrados"]
    }
  ]
}
