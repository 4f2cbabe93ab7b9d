#include "hsm/internal/session_pool.h"

#include "hsm/internal/ck.h"

namespace masa::hsm::internal {

SessionPool::SessionPool(CK_FUNCTION_LIST* fl, CK_SLOT_ID slot, size_t capacity, CK_FLAGS flags)
    : fl_(fl), slot_(slot), capacity_(capacity == 0 ? 1 : capacity), flags_(flags) {}

SessionPool::~SessionPool() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& session : idle_) (void)MASA_CK(fl_, C_CloseSession, session->handle);
  idle_.clear();
}

absl::StatusOr<SessionPool::Lease> SessionPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < capacity_; });
    if (!idle_.empty()) {
      std::unique_ptr<PooledSession> session = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(session));
    }
    ++open_;  // reserve the slot; open outside the lock (C_OpenSession may be slow)
  }
  auto session = std::make_unique<PooledSession>();
  absl::Status status = MASA_CK(fl_, C_OpenSession, slot_, flags_ | CKF_SERIAL_SESSION, nullptr,
                                nullptr, &session->handle);
  if (!status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    available_.notify_one();
    return status;
  }
  return Lease(this, std::move(session));
}

void SessionPool::CloseIdle() {
  std::vector<std::unique_ptr<PooledSession>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle.swap(idle_);
    open_ -= idle.size();
    discarded_ += idle.size();
  }
  for (auto& session : idle) (void)MASA_CK(fl_, C_CloseSession, session->handle);
  std::lock_guard<std::mutex> lock(mu_);
  available_.notify_all();
}

size_t SessionPool::discarded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return discarded_;
}

void SessionPool::Return(std::unique_ptr<PooledSession> session, bool discard) {
  if (discard) {
    // Closing ends any operation left active; a failure here means the session is gone
    // already, which is what we want.
    (void)MASA_CK(fl_, C_CloseSession, session->handle);
    session.reset();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (discard) {
    --open_;
    ++discarded_;
  } else {
    idle_.push_back(std::move(session));
  }
  available_.notify_one();
}

SessionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), session_(std::move(other.session_)), discard_(other.discard_) {
  other.pool_ = nullptr;
}

SessionPool::Lease& SessionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = other.pool_;
    session_ = std::move(other.session_);
    discard_ = other.discard_;
    other.pool_ = nullptr;
  }
  return *this;
}

SessionPool::Lease::~Lease() { Release(); }

void SessionPool::Lease::Release() {
  if (pool_ != nullptr && session_ != nullptr) pool_->Return(std::move(session_), discard_);
  pool_ = nullptr;
}

}  // namespace masa::hsm::internal
