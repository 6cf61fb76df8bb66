#include "node/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;

Status io_error(const std::string& what, const fs::path& path, int error) {
  return Status::io_error(what + " " + path.string() + ": " + std::strerror(error));
}

// Opens a new partial file, O_EXCL and never through a link, and locks it: -1 with errno set when
// something is at `partial` already (EEXIST) or it cannot be made.
int create_locked(const fs::path& partial) {
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  // Held until the file is closed: tells a later writer that this partial file is not stale.
  // Mode 0600 whatever the umask.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fchmod(fd, 0600) != 0) {
    int saved = errno;
    ::close(fd);
    ::unlink(partial.c_str());
    errno = saved;
    return -1;
  }
  return fd;
}

// Removes a partial file a writer left when it died: a plain file of this user's with one link,
// which no live writer holds locked. Anything else is refused with what to do.
Status remove_stale(const fs::path& partial, const fs::path& target) {
  struct stat seen {};
  if (::lstat(partial.c_str(), &seen) != 0) {
    if (errno == ENOENT) return Status::ok();  // gone since: try again
    return io_error("cannot look at", partial, errno);
  }
  if (!S_ISREG(seen.st_mode) || seen.st_uid != ::geteuid() || seen.st_nlink != 1)
    return Status::error(Status::Code::kAlreadyExists,
                         partial.string() + " is in the way and is not an unfinished file anwang left (it is a link, a "
                                            "directory or another user's file), so nothing was written: remove it and try again");
  int fd = ::open(partial.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", partial, errno);
  struct stat opened {};
  bool same = ::fstat(fd, &opened) == 0 && opened.st_dev == seen.st_dev && opened.st_ino == seen.st_ino;
  if (!same) {
    ::close(fd);
    return Status::error(Status::Code::kAlreadyExists, partial.string() + " changed while anwang looked at it, so nothing was "
                                                                          "written: try again");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::error(Status::Code::kAlreadyExists, "another anwang command is writing " + target.string() +
                                                           " now (" + partial.string() +
                                                           " is in use), so nothing was written: wait for it to finish");
  }
  int removed = ::unlink(partial.c_str());
  int saved = errno;
  ::close(fd);
  if (removed != 0 && saved != ENOENT) return io_error("cannot remove the unfinished file", partial, saved);
  return Status::ok();
}

Status fsync_directory_of(const fs::path& path) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open the directory", dir, errno);
  int synced = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  // Some file systems (a USB stick's vfat among them) refuse to fsync a directory: the rename is
  // then as durable as they make it.
  if (synced != 0 && saved != EINVAL && saved != EROFS) return io_error("cannot flush the directory", dir, saved);
  return Status::ok();
}

bool exists_at(const fs::path& path) {
  struct stat seen {};
  return ::lstat(path.c_str(), &seen) == 0;
}

}  // namespace

Result<std::unique_ptr<AtomicFile>> AtomicFile::create(const fs::path& target, ExistingFile existing) {
  if (existing == ExistingFile::kRefuse && exists_at(target))
    return Status::error(Status::Code::kAlreadyExists,
                         target.string() + " already exists, and anwang never writes this file over another: choose "
                                           "another name or remove it");
  fs::path partial = target;
  partial += ".partial";
  int fd = create_locked(partial);
  if (fd < 0 && errno == EEXIST) {
    if (Status s = remove_stale(partial, target); !s) return s;
    fd = create_locked(partial);
  }
  if (fd < 0) {
    if (errno == EEXIST)
      return Status::error(Status::Code::kAlreadyExists, partial.string() + " appeared while anwang was writing " +
                                                             target.string() + ", so nothing was written: try again");
    return io_error("cannot create", partial, errno);
  }
  return std::unique_ptr<AtomicFile>(new AtomicFile(target, partial, fd, existing));
}

AtomicFile::AtomicFile(fs::path target, fs::path partial, int fd, ExistingFile existing)
    : target_(std::move(target)), partial_(std::move(partial)), fd_(fd), existing_(existing) {
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  sodium_memzero(buffer_.data(), buffer_.size());
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(partial_.c_str());
}

Status AtomicFile::write(ByteView bytes) {
  if (!failed_) return failed_;
  if (buffer_.size() + bytes.size() > kBufferBytes)
    if (Status s = flush(); !s) return s;
  if (bytes.size() >= kBufferBytes) {
    buffer_.assign(bytes.begin(), bytes.end());
    return flush();
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return Status::ok();
}

Status AtomicFile::flush() {
  std::size_t at = 0;
  while (at < buffer_.size()) {
    ssize_t wrote = ::write(fd_, buffer_.data() + at, buffer_.size() - at);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      failed_ = io_error("cannot write", partial_, wrote < 0 ? errno : EIO);
      return failed_;
    }
    at += static_cast<std::size_t>(wrote);
  }
  sodium_memzero(buffer_.data(), buffer_.size());  // a key file's seed passes through here
  buffer_.clear();
  return Status::ok();
}

Status AtomicFile::commit() {
  assert(!committed_ && fd_ >= 0);
  if (!failed_) return failed_;
  if (Status s = flush(); !s) return s;
  if (::fsync(fd_) != 0) return failed_ = io_error("cannot flush", partial_, errno);
  int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) return failed_ = io_error("cannot write", partial_, errno);
  if (Status s = put_in_place(); !s) return failed_ = s;
  committed_ = true;
  return fsync_directory_of(target_);
}

// rename(2) never follows a link at either end. kRefuse: renameat2(RENAME_NOREPLACE), or, on file
// systems without it, link(2) (which also never replaces), or, on those without links either (a
// USB stick's vfat), a check for the target just before the rename.
Status AtomicFile::put_in_place() {
  if (existing_ == ExistingFile::kReplace) {
    if (::rename(partial_.c_str(), target_.c_str()) != 0) return io_error("cannot put in place", target_, errno);
    return Status::ok();
  }
  auto refused = [this] {
    return Status::error(Status::Code::kAlreadyExists, target_.string() + " appeared while anwang was writing it, and "
                                                                          "anwang never writes this file over another");
  };
  if (::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) == 0) return Status::ok();
  if (errno == EEXIST) return refused();
  if (errno != EINVAL && errno != ENOSYS) return io_error("cannot put in place", target_, errno);
  if (::link(partial_.c_str(), target_.c_str()) == 0) {
    ::unlink(partial_.c_str());
    return Status::ok();
  }
  if (errno == EEXIST) return refused();
  if (errno != EPERM && errno != EOPNOTSUPP) return io_error("cannot put in place", target_, errno);
  if (exists_at(target_)) return refused();
  if (::rename(partial_.c_str(), target_.c_str()) != 0) return io_error("cannot put in place", target_, errno);
  return Status::ok();
}

Status write_file_atomically(const fs::path& target, ByteView bytes, ExistingFile existing) {
  auto file = AtomicFile::create(target, existing);
  if (!file) return file.status();
  if (Status s = (*file)->write(bytes); !s) return s;
  return (*file)->commit();
}

}  // namespace anwang::node
