#include "service/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace masa::service {

void LatencyHistogram::Observe(absl::Duration d) {
  int64_t us = absl::ToInt64Microseconds(d);
  uint64_t v = us < 0 ? 0 : static_cast<uint64_t>(us);
  size_t i = 0;
  while (i < kBoundsMicros.size() && v > kBoundsMicros[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(v, std::memory_order_relaxed);
}

void SizeHistogram::Observe(uint64_t n) {
  size_t i = 0;
  while (i < kBounds.size() && n > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(n, std::memory_order_relaxed);
}

namespace {

void Family(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.6f", absl::ToDoubleSeconds(d)); }

}  // namespace

std::string StoreMetricsText(store::Store& store) {
  const absl::Duration slowest = store.TakeSlowestCommit();
  const store::StoreStats s = store.Stats();
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    Family(&out, name, "counter", help);
    absl::StrAppend(&out, name, " ", value, "\n");
  };
  auto seconds = [&](const char* name, const char* help, absl::Duration value) {
    Family(&out, name, "counter", help);
    absl::StrAppend(&out, name, " ", Seconds(value), "\n");
  };
  counter("masa_store_commits_total", "Durable group commits of the store.", s.commits);
  counter("masa_store_commit_batches_total",
          "Batches (one per request or operation) the group commits applied.", s.batches);
  Family(&out, "masa_store_commit_seconds", "histogram",
         "Time of one group commit, from taking the group to the end of its durable commit.");
  const auto& bounds = store::StoreStats::kCommitBoundsMicros;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += s.commit_buckets[i];
    absl::StrAppend(&out, "masa_store_commit_seconds_bucket{le=\"",
                    absl::StrFormat("%.6g", static_cast<double>(bounds[i]) / 1e6), "\"} ",
                    cumulative, "\n");
  }
  cumulative += s.commit_buckets[bounds.size()];
  absl::StrAppend(&out, "masa_store_commit_seconds_bucket{le=\"+Inf\"} ", cumulative, "\n");
  absl::StrAppend(&out, "masa_store_commit_seconds_sum ", Seconds(s.commit_time), "\n");
  absl::StrAppend(&out, "masa_store_commit_seconds_count ", cumulative, "\n");
  seconds("masa_store_commit_sync_seconds_total",
          "Time inside the durable LMDB commit (page writes and fdatasync).", s.sync_time);
  seconds("masa_store_commit_queue_wait_seconds_total",
          "Sum over batches of the time from submit to the start of their group commit.",
          s.queue_wait);
  counter("masa_store_group_reruns_total",
          "Group commits run again, each batch in a nested transaction, because one batch of "
          "theirs failed.",
          s.group_reruns);
  counter("masa_store_map_growths_total",
          "LMDB map resizes (grown, or adopted from another "
          "process).",
          s.map_growths);
  seconds("masa_store_map_growth_seconds_total",
          "Time map resizes took, the wait for every transaction to end included.",
          s.map_growth_time);
  seconds("masa_store_gate_wait_seconds_total",
          "Time transactions waited at the resize gate for a map resize.", s.gate_wait);
  counter("masa_store_checkpoints_total", "Signed audit checkpoints written.", s.checkpoints);
  seconds("masa_store_checkpoint_seconds_total",
          "Time writing signed audit checkpoints took (signature and durable commit).",
          s.checkpoint_time);
  Family(&out, "masa_store_map_size_bytes", "gauge",
         "The LMDB map size (address space reserved, not disk).");
  absl::StrAppend(&out, "masa_store_map_size_bytes ", store.MapSize(), "\n");
  Family(&out, "masa_store_commit_max_seconds", "gauge",
         "The slowest group commit since the previous scrape (0: none).");
  absl::StrAppend(&out, "masa_store_commit_max_seconds ", Seconds(slowest), "\n");
  return out;
}

}  // namespace masa::service
