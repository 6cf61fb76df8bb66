// web_assets.h — the web UI's files (node/web/), compiled into anwangd by node/embed_web.cmake:
// a node serves its UI with nothing to install beside the binary, and nothing from outside.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace anwang::node {

struct WebAsset {
  const char* path;          // "/index.html", "/js/app.js"
  const char* media_type;
  const unsigned char* data;
  std::size_t size;
  const char* etag;          // quoted, as the ETag header carries it
};

// Every file, by path.
const std::vector<WebAsset>& web_assets();

}  // namespace anwang::node
