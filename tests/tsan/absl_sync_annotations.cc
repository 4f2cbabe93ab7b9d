// ThreadSanitizer builds only (MASA_TSAN): tells TSan about abseil's locks.
//
// Debian's abseil is built without -fsanitize=thread, so absl::Mutex and absl::Notification
// synchronize inside uninstrumented code that TSan cannot see: every field guarded by an
// absl::Mutex, and everything handed over through a Notification, is reported as a data race
// that is not one. A suppression cannot fix this (the reports name our own code, and would
// hide real races there too). Instead this library, linked first into every binary of a TSan
// build, interposes the exported lock entry points: each one calls abseil's own (found with
// dlsym(RTLD_NEXT)) and adds the happens-before edge TSan would have recorded had abseil been
// instrumented: release before a lock is given up, acquire after it is taken.
//
// This file is compiled without -fsanitize=thread, like abseil itself, so TSan sees only the
// edges it adds, not its own bookkeeping. Not covered: lock-order (deadlock) reports for
// absl::Mutex, and reader/reader ordering (readers are treated as writers, which can hide a
// race between two readers only).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

#define MASA_STR2(x) #x
#define MASA_STR(x) MASA_STR2(x)

// abseil's own definition of the function whose Itanium-mangled name is "_ZN" (or "_ZNK" for
// a const member) "4absl" <inline namespace> `rest`. Aborts if it is missing: a silently
// unannotated lock would bring the false reports back.
template <typename F>
F Real(const char* rest, bool is_const = false) {
  std::string ns = MASA_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name =
      std::string(is_const ? "_ZNK" : "_ZN") + "4absl" + std::to_string(ns.size()) + ns + rest;
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

using Cond = const absl::Condition&;

// abseil evaluates a Condition inside its own lock functions, with the lock held but out of
// our sight (before they return to us, or in another thread as it unlocks). This Condition
// acquires before and releases after, as a holder of the lock does around its accesses.
class Acquiring {
 public:
  Acquiring(absl::Mutex* mu, Cond cond) : mu_(mu), cond_(&cond), wrapped_(&Eval, this) {}
  const absl::Condition& get() const { return wrapped_; }

 private:
  static bool Eval(Acquiring* self) {
    __tsan_acquire(self->mu_);
    bool met = self->cond_->Eval();
    __tsan_release(self->mu_);
    return met;
  }
  absl::Mutex* mu_;
  const absl::Condition* cond_;
  absl::Condition wrapped_;
};

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex4LockEv");
  real(this);
  __tsan_acquire(this);
}
void Mutex::Unlock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex6UnlockEv");
  __tsan_release(this);
  real(this);
}
bool Mutex::TryLock() {
  static auto real = Real<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}
void Mutex::ReaderLock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  real(this);
  __tsan_acquire(this);
}
void Mutex::ReaderUnlock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  __tsan_release(this);
  real(this);
}
bool Mutex::ReaderTryLock() {
  static auto real = Real<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}
void Mutex::LockWhen(Cond cond) {
  static auto real = Real<void (*)(Mutex*, Cond)>("5Mutex8LockWhenERKNS0_9ConditionE");
  Acquiring wrapped(this, cond);
  real(this, wrapped.get());
  __tsan_acquire(this);
}
void Mutex::ReaderLockWhen(Cond cond) {
  static auto real = Real<void (*)(Mutex*, Cond)>("5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Acquiring wrapped(this, cond);
  real(this, wrapped.get());
  __tsan_acquire(this);
}
// The timed variants hold the lock on return whatever they return.
bool Mutex::LockWhenWithTimeout(Cond cond, Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, Cond, Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Acquiring wrapped(this, cond);
  bool met = real(this, wrapped.get(), timeout);
  __tsan_acquire(this);
  return met;
}
bool Mutex::LockWhenWithDeadline(Cond cond, Time deadline) {
  static auto real = Real<bool (*)(Mutex*, Cond, Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Acquiring wrapped(this, cond);
  bool met = real(this, wrapped.get(), deadline);
  __tsan_acquire(this);
  return met;
}
void Mutex::Await(Cond cond) {
  static auto real = Real<void (*)(Mutex*, Cond)>("5Mutex5AwaitERKNS0_9ConditionE");
  Acquiring wrapped(this, cond);
  __tsan_release(this);
  real(this, wrapped.get());
  __tsan_acquire(this);
}
bool Mutex::AwaitWithTimeout(Cond cond, Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, Cond, Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Acquiring wrapped(this, cond);
  __tsan_release(this);
  bool met = real(this, wrapped.get(), timeout);
  __tsan_acquire(this);
  return met;
}
bool Mutex::AwaitWithDeadline(Cond cond, Time deadline) {
  static auto real =
      Real<bool (*)(Mutex*, Cond, Time)>("5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Acquiring wrapped(this, cond);
  __tsan_release(this);
  bool met = real(this, wrapped.get(), deadline);
  __tsan_acquire(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  static auto real = Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  bool timed_out = real(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}
bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static auto real =
      Real<bool (*)(CondVar*, Mutex*, Time)>("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  bool timed_out = real(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

// HasBeenNotified() is inline (instrumented): an acquire load of notified_yet_, the member
// after mutex_. Releasing on that address too gives it the edge as well.
static_assert(sizeof(Notification) == sizeof(Mutex) + sizeof(std::atomic<bool>) + 7);
void Notification::Notify() {
  static auto real = Real<void (*)(Notification*)>("12Notification6NotifyEv");
  __tsan_release(this);
  __tsan_release(reinterpret_cast<char*>(this) + sizeof(Mutex));
  real(this);
}
void Notification::WaitForNotification() const {
  static auto real =
      Real<void (*)(const Notification*)>("12Notification19WaitForNotificationEv", true);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}
bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static auto real = Real<bool (*)(const Notification*, Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}
bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static auto real = Real<bool (*)(const Notification*, Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true);
  bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
