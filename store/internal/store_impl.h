// The LMDB Store: one environment, one group-commit writer thread, snapshots, checkpoints
// and backups. Its methods live by concept in writer.cc (the group commit loop and map
// growth), reader.cc (snapshots), checkpoint_writer.cc, backup.cc and open.cc.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "store/internal/commit_recorder.h"
#include "store/internal/lmdb.h"
#include "store/internal/resize_gate.h"
#include "store/internal/tables.h"
#include "store/internal/txn.h"
#include "store/store.h"

namespace masa::store::internal {

// How long a writer (or a reader adopting another process's map size) waits for open
// snapshots to end before it gives up with kUnavailable.
inline constexpr absl::Duration kResizeWait = absl::Seconds(5);

// An LMDB snapshot: its read transaction and the share of the resize gate that keeps the
// map still under it. Members end in reverse order: the transaction before the share.
struct LmdbSnapshot final : SnapshotState {
  LmdbSnapshot(SharedGate share, Txn read, const Dbs* dbs)
      : share(std::move(share)), txn(std::move(read)), kv(txn.get(), dbs) {
    view.kv = &kv;
  }
  SharedGate share;
  Txn txn;
  LmdbKv kv;
};

class StoreImpl final : public Store {
 public:
  // `shared`: another process had the environment open when this one opened it.
  StoreImpl(const StoreOptions& options, Env env, bool shared)
      : options_(options), env_(std::move(env)), shared_(shared),
        // The configured signer is borrowed: a no-op deleter.
        signer_(options.checkpoint_signer, [](CheckpointSigner*) {}),
        has_signer_(options.checkpoint_signer != nullptr) {}
  // Completes every batch already submitted, then stops the writer.
  ~StoreImpl() override;

  // Opens the databases, checks and migrates the schema, and starts the writer (open.cc).
  absl::Status Init();

  void Submit(WriteBatch batch, std::function<void(absl::StatusOr<CommitResult>)> done) override;
  absl::StatusOr<Snapshot> Read() const override;
  absl::Status WriteCheckpoint() override;
  void SetCheckpointSigner(std::shared_ptr<CheckpointSigner> signer) override;
  absl::Status Backup(const std::string& path) const override;
  size_t MapSize() const override { return env_.MapSize(); }
  std::string_view Backend() const override { return "lmdb"; }
  std::string NodeId() const override {
    return options_.node_id.empty() ? DefaultNodeId() : options_.node_id;
  }
  uint64_t CommitCount() const override { return recorder_.commits(); }
  StoreStats Stats() const override;
  absl::Duration TakeSlowestCommit() override { return recorder_.TakeSlowest(); }

 private:
  using Pending = PendingBatch;

  absl::Status InitOnce();
  void WriterLoop();
  void CommitGroup(std::vector<Pending>& group);
  // Doubles the map (up to max_map_size) once no transaction of this process is active.
  absl::Status GrowMap();
  // Another process grew the map: adopt its size (needs no txn of ours active).
  absl::Status AdoptMapSize() const;
  // Runs `resize` holding the resize gate alone (waiting up to kResizeWait for every
  // transaction to end; false when the time ran out), counting it as a map growth.
  bool Resize(const std::function<void()>& resize) const;
  absl::Status Checkpoint(bool force);
  // The signer in use now (null: none); the caller's reference keeps it alive while it signs.
  std::shared_ptr<CheckpointSigner> Signer() const;
  // A share of the resize gate for a transaction begun on the calling thread.
  SharedGate ShareGate() const;

  const StoreOptions options_;
  const Env env_;
  const bool shared_;
  Dbs dbs_;  // set by Init, then read-only
  // Every transaction of this process holds a share; a map resize holds it alone.
  mutable ResizeGate resize_gate_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;  // guarded by mu_
  bool stop_ = false;           // guarded by mu_
  std::thread writer_;
  std::chrono::steady_clock::time_point last_commit_start_;  // writer thread only
  CommitRecorder recorder_;

  std::mutex checkpoint_mu_;
  absl::Time last_checkpoint_time_;  // guarded by checkpoint_mu_ (and Init)
  // Hints that spare a write txn when no checkpoint is due (the txn re-checks).
  std::atomic<uint64_t> audit_size_hint_{0};
  uint64_t last_checkpoint_size_ = 0;  // guarded by checkpoint_mu_ (and Init)

  // Replaced by SetCheckpointSigner while the writer and the checkpoint timer run; each
  // checkpoint signs with the copy it took under signer_mu_.
  mutable std::mutex signer_mu_;
  std::shared_ptr<CheckpointSigner> signer_;  // guarded by signer_mu_
  std::atomic<bool> has_signer_{false};
};

}  // namespace masa::store::internal
