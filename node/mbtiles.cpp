// mbtiles.cpp — see mbtiles.h.
#include "node/mbtiles.h"

#include <sqlite3.h>

#include <algorithm>

#include "crdt/limits.h"

namespace anwang::node {

std::string tile_media_type(const std::string& bytes) {
  if (bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0) return "image/png";
  if (bytes.size() > 3 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xD8 &&
      static_cast<unsigned char>(bytes[2]) == 0xFF)
    return "image/jpeg";
  if (bytes.size() > 12 && bytes.rfind("RIFF", 0) == 0 && bytes.compare(8, 4, "WEBP") == 0) return "image/webp";
  return {};
}

Result<std::unique_ptr<MbTiles>> MbTiles::open(const std::string& path) {
  std::unique_ptr<MbTiles> tiles(new MbTiles());
  // Read only, and no other process's writes to wait for: the file is the county's export.
  int rc = sqlite3_open_v2(path.c_str(), &tiles->db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = tiles->db_ != nullptr ? sqlite3_errmsg(tiles->db_) : sqlite3_errstr(rc);
    return Status::not_found("cannot open the MBTiles file " + path + ": " + why);
  }
  const char* sql = "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3";
  if (sqlite3_prepare_v2(tiles->db_, sql, -1, &tiles->select_, nullptr) != SQLITE_OK)
    return Status::invalid(path + " is not an MBTiles file (no tiles table): " + sqlite3_errmsg(tiles->db_));
  tiles->name_ = tiles->metadata("name");
  tiles->format_ = tiles->metadata("format");
  tiles->bounds_ = tiles->metadata("bounds");
  auto zoom = [&tiles](const char* key, int fallback) {
    std::string text = tiles->metadata(key);
    if (text.empty() || text.size() > 2 || text.find_first_not_of("0123456789") != std::string::npos) return fallback;
    return std::min(std::stoi(text), limits::web_tile_zoom_max);
  };
  tiles->min_zoom_ = zoom("minzoom", 0);
  tiles->max_zoom_ = zoom("maxzoom", limits::web_tile_zoom_max);
  return tiles;
}

MbTiles::~MbTiles() {
  sqlite3_finalize(select_);
  sqlite3_close(db_);
}

std::string MbTiles::metadata(const char* key) {
  sqlite3_stmt* statement = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM metadata WHERE name = ?1", -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_bind_text(statement, 1, key, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
    if (out.size() > 1024) out.clear();  // metadata is a few words; anything else is not ours to show
  }
  sqlite3_finalize(statement);
  return out;
}

Result<std::optional<Tile>> MbTiles::tile(int z, long long x, long long y) {
  if (z < 0 || z > limits::web_tile_zoom_max)
    return Status::invalid("zoom " + std::to_string(z) + " is outside 0 to " + std::to_string(limits::web_tile_zoom_max));
  const long long side = 1LL << z;
  if (x < 0 || y < 0 || x >= side || y >= side)
    return Status::invalid("tile " + std::to_string(x) + "/" + std::to_string(y) + " is outside zoom " + std::to_string(z) +
                           " (0 to " + std::to_string(side - 1) + ")");
  sqlite3_reset(select_);
  sqlite3_bind_int(select_, 1, z);
  sqlite3_bind_int64(select_, 2, x);
  sqlite3_bind_int64(select_, 3, side - 1 - y);  // TMS rows count from the south
  int rc = sqlite3_step(select_);
  if (rc == SQLITE_DONE) return std::optional<Tile>();
  if (rc != SQLITE_ROW) return Status::error(Status::Code::kIoError, std::string("reading a tile: ") + sqlite3_errmsg(db_));
  int size = sqlite3_column_bytes(select_, 0);
  const void* data = sqlite3_column_blob(select_, 0);
  if (size <= 0 || data == nullptr) return std::optional<Tile>();
  if (static_cast<std::size_t>(size) > limits::web_tile_bytes_max)
    return Status::invalid("tile " + std::to_string(z) + "/" + std::to_string(x) + "/" + std::to_string(y) + " is " +
                           std::to_string(size) + " bytes, over " + std::to_string(limits::web_tile_bytes_max));
  Tile tile{std::string(static_cast<const char*>(data), static_cast<std::size_t>(size)), {}};
  sqlite3_reset(select_);
  tile.media_type = tile_media_type(tile.bytes);
  if (tile.media_type.empty())
    return Status::invalid("the tile is not a PNG, JPEG or WebP image (vector tiles are not drawn)");
  return std::optional<Tile>(std::move(tile));
}

}  // namespace anwang::node
