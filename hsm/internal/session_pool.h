// A fixed-capacity pool of PKCS#11 sessions on one slot, one per signing thread.
#pragma once

#include <p11-kit/pkcs11.h>

#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace masa::hsm::internal {

// One open session and the key handles already resolved in it (handles are only valid in
// the session that found or copied them, as session objects die with their session).
struct PooledSession {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  std::map<std::string, CK_OBJECT_HANDLE> keys;  // key identity -> handle in this session
};

// Sessions are opened lazily, up to `capacity`. Acquire() blocks while all are leased. A
// lease that is Discard()ed (it saw an error or may be mid-operation) closes its session;
// the next Acquire() opens a fresh one. Thread-safe. Every lease must be gone before the
// pool is destroyed.
class SessionPool {
 public:
  // Owned by the caller: `fl` stays valid for the pool's life. `flags` for C_OpenSession.
  SessionPool(CK_FUNCTION_LIST* fl, CK_SLOT_ID slot, size_t capacity, CK_FLAGS flags);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Exclusive use of one session until destroyed; returns it to the pool then.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    PooledSession& session() { return *session_; }
    CK_SESSION_HANDLE handle() const { return session_->handle; }
    // Close the session instead of reusing it.
    void Discard() { discard_ = true; }

   private:
    friend class SessionPool;
    Lease(SessionPool* pool, std::unique_ptr<PooledSession> session)
        : pool_(pool), session_(std::move(session)) {}
    void Release();

    SessionPool* pool_ = nullptr;
    std::unique_ptr<PooledSession> session_;
    bool discard_ = false;
  };

  // An idle session, a newly opened one while fewer than capacity are open, or waits.
  // Fails (no wait) when opening a session fails: kUnavailable when the token is gone.
  absl::StatusOr<Lease> Acquire();

  // Closes every idle session (after a device error they are likely dead too), so that the
  // next Acquire() opens a fresh one. Leased sessions are left to their leases.
  void CloseIdle();

  size_t capacity() const { return capacity_; }
  // Sessions closed because a lease was discarded (for tests and metrics).
  size_t discarded() const;

 private:
  void Return(std::unique_ptr<PooledSession> session, bool discard);

  CK_FUNCTION_LIST* const fl_;
  const CK_SLOT_ID slot_;
  const size_t capacity_;
  const CK_FLAGS flags_;

  mutable std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PooledSession>> idle_;  // guarded by mu_
  size_t open_ = 0;                                   // idle + leased + being opened
  size_t discarded_ = 0;
};

}  // namespace masa::hsm::internal
