{
  "targets": [
    {
      "target_name": "netverdict",
      "sources": [
        "native/addon/addon.cc",
        "native/src/image.cc",
        "native/src/classify.cc",
        "native/src/crc32c.cc",
        "native/src/layout.cc",
        "native/src/rfc.cc",
        "native/src/pmask.cc",
        "native/src/simd.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions", "-fno-omit-frame-pointer"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions", "-fvisibility=hidden", "-fno-semantic-interposition", "-Wall", "-Wextra"]
    }
  ]
}
