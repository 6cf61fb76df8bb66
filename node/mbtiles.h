// mbtiles.h — basemap tiles from a county's MBTiles file (an SQLite database of map tiles,
// https://github.com/mapbox/mbtiles-spec), read only, for GET /api/v1/tiles/Z/X/Y.
//
// A county that has a basemap for its area (exported once, on a machine with the internet, by a
// GIS tool) names the file in anwang.toml (`[web] mbtiles = "/path/county.mbtiles"`); the map then
// draws its tiles under the boundaries. Without one there is no basemap, and nothing is fetched
// from anywhere. The file is opened read-only and never written. Rows are TMS (y counted from the
// south): tile(z, x, y) takes the XYZ y the browser asks for and flips it. Only raster tiles
// (PNG, JPEG, WebP, told by their bytes) are served; vector tiles would need a renderer.
//
// Thread-safety: one MbTiles is used by one thread at a time (the web server's).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "crdt/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace anwang::node {

struct Tile {
  std::string bytes;
  std::string media_type;  // image/png, image/jpeg or image/webp
};

class MbTiles {
 public:
  // Opens `path` read-only and checks it has a `tiles` table; invalid or not_found with the reason.
  static Result<std::unique_ptr<MbTiles>> open(const std::string& path);
  ~MbTiles();
  MbTiles(const MbTiles&) = delete;
  MbTiles& operator=(const MbTiles&) = delete;

  // The tile at zoom `z`, column `x`, row `y` counted from the north (XYZ); nothing when the file
  // has none there. Invalid when z, x, y are out of bounds (z above limits::web_tile_zoom_max, x or
  // y not below 2^z); an error when the tile is larger than limits::web_tile_bytes_max or not a
  // raster image.
  Result<std::optional<Tile>> tile(int z, long long x, long long y);
  // The file's metadata as it states it: name, format, minzoom, maxzoom, bounds (empty when absent).
  const std::string& name() const { return name_; }
  const std::string& format() const { return format_; }
  const std::string& bounds() const { return bounds_; }
  int min_zoom() const { return min_zoom_; }
  int max_zoom() const { return max_zoom_; }

 private:
  MbTiles() = default;
  std::string metadata(const char* key);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  std::string name_, format_, bounds_;
  int min_zoom_ = 0, max_zoom_ = 0;
};

// The media type of raster tile bytes, or empty when they are none of PNG, JPEG, WebP.
std::string tile_media_type(const std::string& bytes);

}  // namespace anwang::node
