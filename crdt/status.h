// status.h — expected failures as values.
//
// A Status is the outcome of something that can fail for reasons outside the program: bad input
// from a user or peer, a full disk, a wrong key. Bugs are not Statuses: they are asserted.
// Result<T> is a value or a failed Status. Both are plain values, safe to move across threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace anwang {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the user or caller gave something that breaks a rule
    kNotFound,
    kAlreadyExists,
    kCorruption,       // stored bytes fail their own checks
    kStoreFull,        // the LMDB map is full: an operating error
    kIoError,
    kRefused,          // a peer's or file's op was refused
    kUnavailable,
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status error(Code code, std::string message) { return Status(code, std::move(message)); }
  static Status invalid(std::string message) { return error(Code::kInvalidArgument, std::move(message)); }
  static Status not_found(std::string message) { return error(Code::kNotFound, std::move(message)); }
  static Status io_error(std::string message) { return error(Code::kIoError, std::move(message)); }
  static Status corruption(std::string message) { return error(Code::kCorruption, std::move(message)); }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.is_ok()); }  // NOLINT

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(value_); return *value_; }
  const T& value() const& { assert(value_); return *value_; }
  T&& value() && { assert(value_); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace anwang
