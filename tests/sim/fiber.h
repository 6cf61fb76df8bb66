// fiber.h — cooperative fibers (ucontext) so the simulator runs both ends of a blocking sync
// session on one thread, in an order it chooses.
//
// run_sync blocks on its transport. With threads, which end runs when is up to the kernel and a
// run cannot be repeated; with fibers, a transport that finds no bytes to read yields back to the
// simulator, which decides who runs next and how many bytes arrive. Same seed, same schedule.
// A fiber's body must return normally (exceptions are carried out to resume()); it is never
// abandoned mid-way, so every destructor on its stack runs.
#pragma once

#include <ucontext.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>

namespace anwang::sim {

class Fiber {
 public:
  explicit Fiber(std::function<void()> body, std::size_t stack_bytes = 1 << 20)
      : body_(std::move(body)), stack_(new char[stack_bytes]) {
    getcontext(&context_);
    context_.uc_stack.ss_sp = stack_.get();
    context_.uc_stack.ss_size = stack_bytes;
    context_.uc_link = &caller_;
    auto address = reinterpret_cast<std::uintptr_t>(this);
    makecontext(&context_, reinterpret_cast<void (*)()>(&Fiber::entry), 2, static_cast<unsigned>(address >> 32),
                static_cast<unsigned>(address & 0xffffffffu));
  }
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the body until it yields or returns. REQUIRES: !done(), called from outside any fiber.
  void resume() {
    Fiber* outer = current_;
    current_ = this;
    swapcontext(&caller_, &context_);
    current_ = outer;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }
  bool done() const { return done_; }

  // From inside a running fiber: back to whoever resumed it.
  static void yield() {
    Fiber* self = current_;
    swapcontext(&self->context_, &self->caller_);
  }
  static bool inside() { return current_ != nullptr; }

 private:
  static void entry(unsigned high, unsigned low) {
    auto* self = reinterpret_cast<Fiber*>((static_cast<std::uintptr_t>(high) << 32) | low);
    try {
      self->body_();
    } catch (...) {
      self->error_ = std::current_exception();
    }
    self->done_ = true;
    // Returning switches to uc_link (the caller).
  }

  std::function<void()> body_;
  std::unique_ptr<char[]> stack_;
  ucontext_t context_{};
  ucontext_t caller_{};
  bool done_ = false;
  std::exception_ptr error_;
  static inline thread_local Fiber* current_ = nullptr;
};

}  // namespace anwang::sim
