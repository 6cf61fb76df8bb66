// atomic_file.h — the one way anwang writes a file: bundles, op files, key files and key move
// files, attachments saved out, the node's configuration.
//
// A file is written under "<target>.partial", created with O_CREAT|O_EXCL|O_NOFOLLOW and mode
// 0600, so that nothing is ever written through a link someone planted or into a file someone else
// made, and no other user can read it; then fsynced, renamed onto the target (a rename replaces a
// link at the target, it never follows it) and the directory fsynced. A reader sees the old file
// or the new one, whole, and a power cut loses neither.
//
// A ".partial" a writer left behind when it died is removed and written anew, but only when it is
// a plain file of this user's with a single link that no live writer holds (a writer holds an
// flock on its partial file until it is done). Anything else there — a link, a directory, another
// user's file, a hard link, another export still running — is refused with a sentence saying
// what to remove, and nothing is written.
//
// Not thread-safe: one object per file being written, used by one thread.
#pragma once

#include <filesystem>
#include <memory>

#include "crdt/bytes.h"
#include "crdt/status.h"

namespace anwang::node {

// What happens when the target exists already.
enum class ExistingFile : std::uint8_t {
  kReplace,  // replaced at once by the new file (exports)
  kRefuse,   // refused: the new file is never put over another (key files, key move files)
};

class AtomicFile {
 public:
  // Creates the partial file beside `target`. Errors: the partial file cannot be made (see above),
  // or `target` exists and `existing` is kRefuse.
  static Result<std::unique_ptr<AtomicFile>> create(const std::filesystem::path& target,
                                                    ExistingFile existing = ExistingFile::kReplace);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Not committed: the partial file is removed, the target left as it was.
  ~AtomicFile();

  // Appends `bytes` (buffered). A failure is also returned by every later call and by commit().
  Status write(ByteView bytes);
  // Flushes, fsyncs and closes the partial file, puts it in place of the target, fsyncs the
  // directory. Called once; after a failure the target is as it was.
  Status commit();

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& partial() const { return partial_; }

 private:
  AtomicFile(std::filesystem::path target, std::filesystem::path partial, int fd, ExistingFile existing);
  Status flush();
  Status put_in_place();

  std::filesystem::path target_, partial_;
  int fd_ = -1;
  ExistingFile existing_;
  Bytes buffer_;
  Status failed_;
  bool committed_ = false;
};

// The whole of a small file written as above.
Status write_file_atomically(const std::filesystem::path& target, ByteView bytes, ExistingFile existing);

}  // namespace anwang::node
