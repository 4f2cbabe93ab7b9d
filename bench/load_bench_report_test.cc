// The pure parts of load_bench (bench/internal/{latency,metrics_scrape,proc_stats,report}):
// the figures it prints and the files scripts/bench-ci.sh reads must be right without a load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/internal/latency.h"
#include "bench/internal/metrics_scrape.h"
#include "bench/internal/proc_stats.h"
#include "bench/internal/report.h"
#include "nlohmann/json.hpp"

namespace masa::bench {
namespace {

using ::testing::DoubleNear;

TEST(LatencyHistogramTest, PercentilesAreNeverUnderstatedAndWithinThreePercent) {
  LatencyHistogram h;
  // 1..100000 us: the exact p-quantile of rank ceil(p * n) is p * 100000 us.
  for (uint64_t us = 1; us <= 100000; ++us) h.Add(us);
  EXPECT_EQ(h.count(), 100000u);
  for (double p : {0.5, 0.9, 0.99, 0.999}) {
    const double exact_ms = p * 100;
    EXPECT_GE(h.PercentileMs(p), exact_ms) << p;
    EXPECT_LE(h.PercentileMs(p), exact_ms * 1.032) << p;
  }
  EXPECT_DOUBLE_EQ(h.PercentileMs(1.0), 100.0);  // capped at the largest sample
  EXPECT_EQ(LatencyHistogram().PercentileMs(0.99), 0);
}

TEST(LatencyHistogramTest, BucketsCoverEveryValueOnce) {
  // Every value lies in the bucket whose upper edge is the first at or above it.
  for (uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 66ull, 1000ull, 123456ull, 1ull << 40}) {
    const size_t b = LatencyHistogram::BucketOf(v);
    EXPECT_GE(LatencyHistogram::UpperEdge(b), v) << v;
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::UpperEdge(b - 1), v) << v;
    }
  }
}

TEST(LatencyHistogramTest, MergeAddsCounts) {
  LatencyHistogram a, b;
  for (int i = 0; i < 99; ++i) a.Add(1000);
  b.Add(500000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_LE(a.PercentileMs(0.99), 1.04);  // rank 99 is still a 1 ms sample
  EXPECT_DOUBLE_EQ(a.PercentileMs(0.999), 500.0);
}

TEST(SlicesTest, SlicesShowTheStallAndTheWorstOneIsFound) {
  std::vector<LatencyHistogram> by_second(25);
  std::vector<uint64_t> vouchers(25, 1000);
  for (int s = 0; s < 25; ++s) {
    for (int i = 0; i < 100; ++i) by_second[s].Add(s == 13 && i < 5 ? 300000 : 5000);
  }
  vouchers[13] = 0;
  // 25 s in slices of 10: 0-10, 10-20, 20-25.
  std::vector<SliceFigures> slices = MakeSlices(by_second, vouchers, 25, 10);
  ASSERT_EQ(slices.size(), 3u);
  EXPECT_EQ(slices[1].start_s, 10);
  EXPECT_EQ(slices[2].seconds, 5);
  EXPECT_DOUBLE_EQ(slices[0].vouchers_per_s, 1000);
  EXPECT_DOUBLE_EQ(slices[1].vouchers_per_s, 900);
  EXPECT_EQ(slices[1].requests, 1000u);
  EXPECT_LT(slices[0].p99_ms, 5.2);
  EXPECT_GT(slices[1].p999_ms, 290);  // 5 samples of 1000 are over 300 ms
  const SliceFigures* worst = WorstSlice(slices);
  ASSERT_NE(worst, nullptr);
  EXPECT_EQ(worst->start_s, 10);
  // A drain of under a second at the end is no slice of its own but part of the last one.
  const std::vector<SliceFigures> drained = MakeSlices(by_second, vouchers, 20.4, 10);
  ASSERT_EQ(drained.size(), 2u);
  EXPECT_DOUBLE_EQ(drained[1].seconds, 10.4);
  EXPECT_EQ(drained[1].requests, 1100u);  // seconds 10..20 inclusive: the 21st is partial
  EXPECT_EQ(WorstSlice({}), nullptr);
}

constexpr char kMetrics[] = R"(# HELP masa_store_commits_total Durable group commits.
# TYPE masa_store_commits_total counter
masa_store_commits_total 150
masa_store_commit_sync_seconds_total 0.75
masa_store_commit_seconds_bucket{le="0.001"} 0
masa_store_commit_seconds_bucket{le="0.005"} 50
masa_store_commit_seconds_bucket{le="0.01"} 140
masa_store_commit_seconds_bucket{le="0.1"} 150
masa_store_commit_seconds_bucket{le="+Inf"} 150
masa_store_commit_seconds_sum 1.1
masa_store_commit_seconds_count 150
masa_store_commit_max_seconds 0.042
masa_requests_total{method="POST",path="/request/ov",code="200"} 7 1700000000000
masa_store_map_growths_total 2
not a sample line
)";

TEST(MetricsScrapeTest, ParsesSamplesWithLabelsAndTimestamps) {
  MetricSamples s = ParsePrometheusText(kMetrics);
  EXPECT_EQ(Sample(s, "masa_store_commits_total"), 150);
  EXPECT_EQ(Sample(s, "masa_store_commit_seconds_bucket{le=\"+Inf\"}"), 150);
  EXPECT_EQ(Sample(s, "masa_requests_total{method=\"POST\",path=\"/request/ov\",code=\"200\"}"), 7);
  EXPECT_EQ(Sample(s, "masa_store_gate_wait_seconds_total"), std::nullopt);
  EXPECT_EQ(s.count("not"), 0u);
}

TEST(MetricsScrapeTest, StoreFiguresAreDeltasAndAbsentMetricsStayUnset) {
  const MetricSamples before = ParsePrometheusText(
      "masa_store_commits_total 50\nmasa_store_commit_sync_seconds_total 0.25\n"
      "masa_store_commit_seconds_bucket{le=\"0.001\"} 0\n"
      "masa_store_commit_seconds_bucket{le=\"0.005\"} 50\n"
      "masa_store_commit_seconds_bucket{le=\"0.01\"} 50\n"
      "masa_store_commit_seconds_bucket{le=\"0.1\"} 50\n"
      "masa_store_commit_seconds_bucket{le=\"+Inf\"} 50\n");
  const StoreFigures f = StoreFiguresBetween(before, ParsePrometheusText(kMetrics));
  EXPECT_EQ(f.commits, 100);
  ASSERT_TRUE(f.sync_ms_per_commit.has_value());
  EXPECT_THAT(*f.sync_ms_per_commit, DoubleNear(5.0, 1e-9));  // 0.5 s over 100 commits
  // The phase's 100 commits: 90 in (5, 10] ms, 10 in (10, 100] ms; rank 99 lies 9/10 into
  // the last bucket: 10 + 90 * 0.9 = 91 ms.
  ASSERT_TRUE(f.commit_p99_ms.has_value());
  EXPECT_THAT(*f.commit_p99_ms, DoubleNear(91.0, 1e-6));
  EXPECT_THAT(f.commit_max_ms.value_or(0), DoubleNear(42.0, 1e-9));
  EXPECT_EQ(f.map_growths, 2);
  EXPECT_FALSE(f.gate_wait_ms.has_value());
  EXPECT_FALSE(f.batches.has_value());
  EXPECT_FALSE(StoreFiguresBetween({}, {}).commits.has_value());
}

// Issue 14's CPU outside the signature, both sides from masad over the same phase: its CPU
// less what its /metrics says the signing calls took.
TEST(MetricsScrapeTest, SignatureCpuComesFromMasadsOwnSummary) {
  const MetricSamples before = ParsePrometheusText(
      "# TYPE masa_hsm_sign_cpu_seconds summary\n"
      "masa_hsm_sign_cpu_seconds_sum 1.5\nmasa_hsm_sign_cpu_seconds_count 20000\n");
  const MetricSamples after = ParsePrometheusText(
      "masa_hsm_sign_cpu_seconds_sum 3.5\nmasa_hsm_sign_cpu_seconds_count 60000\n");
  // 40000 signatures took 2 s: 50 us each. masad used 10 s for 40000 vouchers: 250 us a
  // voucher, of which 200 outside the signature, 4 times the signature's own.
  const SignCpuFigures f = SignCpuBetween(before, after, 10, 40000);
  EXPECT_EQ(f.signatures, 40000);
  EXPECT_THAT(f.cpu_us_per_signature.value_or(0), DoubleNear(50, 1e-9));
  EXPECT_THAT(f.cpu_us_per_voucher_outside.value_or(0), DoubleNear(200, 1e-9));
  EXPECT_THAT(f.outside_over_signature.value_or(0), DoubleNear(4, 1e-9));
  // masad's CPU unknown: the signature's figures alone.
  const SignCpuFigures no_cpu = SignCpuBetween(before, after, -1, 40000);
  EXPECT_TRUE(no_cpu.cpu_us_per_signature.has_value());
  EXPECT_FALSE(no_cpu.cpu_us_per_voucher_outside.has_value());
  EXPECT_FALSE(no_cpu.outside_over_signature.has_value());
  // No signature in the phase: nothing per signature, and no ratio to it.
  const SignCpuFigures idle = SignCpuBetween(after, after, 1, 10);
  EXPECT_EQ(idle.signatures, 0);
  EXPECT_FALSE(idle.cpu_us_per_signature.has_value());
  EXPECT_FALSE(idle.outside_over_signature.has_value());
  // A masad that times one call in 16: the sample gives the CPU of one signature, the
  // counter of all calls how many there were. 2000 timed calls took 0.1 s (50 us each) of
  // 32000; masad used 10 s for 32000 vouchers, 1.6 s of it signing: 262.5 us a voucher
  // outside the signature.
  const SignCpuFigures sampled = SignCpuBetween(
      ParsePrometheusText("masa_hsm_sign_cpu_seconds_sum 0.5\nmasa_hsm_sign_cpu_seconds_count "
                          "10000\nmasa_hsm_sign_calls_total 160000\n"),
      ParsePrometheusText("masa_hsm_sign_cpu_seconds_sum 0.6\nmasa_hsm_sign_cpu_seconds_count "
                          "12000\nmasa_hsm_sign_calls_total 192000\n"),
      10, 32000);
  EXPECT_EQ(sampled.signatures, 32000);
  EXPECT_THAT(sampled.cpu_us_per_signature.value_or(0), DoubleNear(50, 1e-6));
  EXPECT_THAT(sampled.cpu_us_per_voucher_outside.value_or(0), DoubleNear(262.5, 1e-6));
  // A masad that does not export the summary: every figure unset, never 0.
  const SignCpuFigures absent = SignCpuBetween({}, ParsePrometheusText(kMetrics), 10, 40000);
  EXPECT_FALSE(absent.signatures.has_value());
  EXPECT_FALSE(absent.cpu_us_per_signature.has_value());
  EXPECT_FALSE(absent.cpu_us_per_voucher_outside.has_value());
}

// /metrics at the edges of three 10 s slices (and one scrape past the last edge) as text.
std::string EdgeMetrics(double sign_s, int signatures, int fast, int slow, double commit_max_s) {
  return "masa_hsm_sign_cpu_seconds_sum " + std::to_string(sign_s) +
         "\nmasa_hsm_sign_cpu_seconds_count " + std::to_string(signatures) +
         "\nmasa_request_latency_seconds_bucket{le=\"0.01\"} " + std::to_string(fast) +
         "\nmasa_request_latency_seconds_bucket{le=\"0.1\"} " + std::to_string(fast + slow) +
         "\nmasa_request_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(fast + slow) +
         "\nmasa_store_commit_max_seconds " + std::to_string(commit_max_s) + "\n";
}

// Each slice gets masad's own p99, CPU per signature and slowest commit between its edges,
// so a slice over 25 ms can be told from a slice where this machine itself slowed down.
TEST(MetricsScrapeTest, SlicesGetMasadsFiguresBetweenTheirEdges) {
  std::vector<SliceFigures> slices(3);
  const std::vector<MetricSamples> edges = {
      ParsePrometheusText(EdgeMetrics(0, 0, 0, 0, 0.020)),
      // slice 0: 1000 signatures in 0.06 s (60 us); 100 requests all under 10 ms
      ParsePrometheusText(EdgeMetrics(0.06, 1000, 100, 0, 0.005)),
      // slice 1: 1000 signatures in 0.09 s (90 us); 50 more under 10 ms, 50 slower
      ParsePrometheusText(EdgeMetrics(0.15, 2000, 150, 50, 0.040)),
      // slice 2 has no edge after it: it stays unset
  };
  SliceMasadFigures(edges, &slices);
  EXPECT_THAT(slices[0].sign_cpu_us.value_or(0), DoubleNear(60, 1e-6));
  EXPECT_THAT(slices[1].sign_cpu_us.value_or(0), DoubleNear(90, 1e-6));
  // 99 of 100 under 10 ms: p99 at 9.9 ms; half of the second slice's in (10, 100] ms:
  // rank 99 lies 49/50 into that bucket.
  EXPECT_THAT(slices[0].masad_request_p99_ms.value_or(0), DoubleNear(9.9, 1e-6));
  EXPECT_THAT(slices[1].masad_request_p99_ms.value_or(0), DoubleNear(10 + 90 * 49.0 / 50, 1e-6));
  EXPECT_THAT(slices[0].commit_max_ms.value_or(0), DoubleNear(5, 1e-6));
  EXPECT_THAT(slices[1].commit_max_ms.value_or(0), DoubleNear(40, 1e-6));
  EXPECT_FALSE(slices[2].sign_cpu_us.has_value());
  EXPECT_FALSE(slices[2].masad_request_p99_ms.has_value());
  // The phase's slowest commit: the largest read after its start (the first edge's 20 ms
  // was before it).
  EXPECT_THAT(CommitMaxMsOver(edges).value_or(0), DoubleNear(40, 1e-6));
  EXPECT_FALSE(CommitMaxMsOver({edges[0]}).has_value());
}

TEST(ProcStatsTest, ParsesStatIoAndSmaps) {
  std::string comm;
  // A thread name with a space and a parenthesis; utime 300 and stime 100 ticks.
  const double s =
      ParseThreadStat("4242 (masa (x) y) S 1 2 3 4 5 6 7 8 9 10 300 100 0 0 20 0 1 0", 100, &comm);
  EXPECT_EQ(comm, "masa (x) y");
  EXPECT_DOUBLE_EQ(s, 4.0);
  EXPECT_EQ(ParseThreadStat("garbage", 100, &comm), -1);
  EXPECT_EQ(ParseIoWriteBytes("rchar: 1\nwchar: 2\nread_bytes: 3\nwrite_bytes: 8192\n"
                              "cancelled_write_bytes: 4096\n"),
            8192);
  EXPECT_EQ(ParseIoWriteBytes(""), -1);
  EXPECT_EQ(ParseIoField("rchar: 1\nwchar: 20480\nsyscw: 5\n", "wchar"), 20480);
  EXPECT_EQ(ParseIoField("rchar: 1\n", "wchar"), -1);
  // /sys/block/vda/stat: the 7th field is sectors written.
  EXPECT_EQ(ParseBlockStatWriteBytes("  924773    68414 19287762  3430219 24623689   799728 "
                                     "609142848 19544996        0  1634376 23810327"),
            int64_t{609142848} * 512);
  EXPECT_EQ(ParseBlockStatWriteBytes("1 2 3"), -1);
  // The test binary maps the C library; the path is found by its name's ending.
  const std::string libc = MappedFileOf(getpid(), "/libc.so.6");
  EXPECT_EQ(libc.rfind('/'), libc.size() - std::string("/libc.so.6").size()) << libc;
  EXPECT_EQ(MappedFileOf(getpid(), "/no-such-file.mdb"), "");
  const MappedRss m = ParseSmaps(
      "55d0-55e0 r-xp 00000000 fd:01 123 /usr/bin/masad\n"
      "Size:                 64 kB\nRss:                  40 kB\n"
      "7f00-7f80 rw-s 00000000 fd:01 456 /tmp/x/state/store/data.mdb\n"
      "Rss:               1000 kB\n"
      "7f90-7fa0 rw-p 00000000 00:00 0 \n"
      "Rss:                 60 kB\n",
      "/data.mdb");
  EXPECT_EQ(m.rss_kb, 1100);
  EXPECT_EQ(m.map_rss_kb, 1000);
  EXPECT_EQ(m.rss_without_map_kb(), 100);
}

BenchReport SampleReport() {
  BenchReport r;
  r.command = "load_bench --duration 20";
  r.csign_per_s = 28500;
  r.csign_before_per_s = 30000;
  r.csign_after_per_s = 27000;
  r.csign_cpu_us_per_signature = 70;
  r.csign_inside_cpu_us_per_signature = 62;
  PhaseFigures f;
  f.name = "open80";
  f.label = "open-loop 80% <test>";
  f.seconds = 20;
  f.vouchers_per_s = 9000;
  f.p50_ms = 10;
  f.p99_ms = 30;
  f.p999_ms = 60;
  f.disk_bytes_per_voucher = 5000;
  f.store_bytes_per_voucher = 4200;
  f.cpu_us_per_voucher = 120;
  f.cpu_us_per_voucher_outside_signature = 50;
  f.masad_signatures = 180000;
  f.masad_sign_cpu_us_per_signature = 60;
  f.cpu_us_per_voucher_outside_masad_signature = 60;
  f.outside_over_masad_signature_cpu = 1;
  f.masad_cpu_by_thread = {{"masa-signer", 120}, {"masa-store", 30}};
  f.heap_mb_start = 20;
  f.heap_mb_end = 21;
  f.rss_mb_without_map_end = 40;
  f.store.commits = 400;
  f.store.commit_p99_ms = 12;
  for (int s = 0; s < 20; ++s) {
    f.latency_by_second.emplace_back();
    for (int i = 0; i < 50; ++i) {
      f.latency_by_second.back().Add(8000 + 100 * i);
      f.latency.Add(8000 + 100 * i);
    }
    f.vouchers_by_second.push_back(9000);
  }
  f.slices = MakeSlices(f.latency_by_second, f.vouchers_by_second, f.seconds, 10);
  f.slices[1].masad_request_p99_ms = 28;
  f.slices[1].sign_cpu_us = 75;
  f.heap_in_use_mb_end = 8;
  r.phases.push_back(f);
  r.ratios["open80_p99_ms"] = 30;
  r.ratios["end_to_end_over_csign"] = 0.5;
  r.ratios["outside_over_masad_signature_cpu"] = 1;
  return r;
}

TEST(ReportTest, JsonHasTheContractsKeysAndLeavesUnmeasuredFiguresOut) {
  const nlohmann::json j = nlohmann::json::parse(ReportJson(SampleReport()).dump());
  EXPECT_EQ(j["command"], "load_bench --duration 20");
  EXPECT_EQ(j["csign_per_s"], 28500);
  EXPECT_EQ(j["csign_before_per_s"], 30000);
  EXPECT_EQ(j["csign_after_per_s"], 27000);
  EXPECT_EQ(j["csign_cpu_us_per_signature"], 70);
  EXPECT_EQ(j["csign_inside_cpu_us_per_signature"], 62);
  ASSERT_EQ(j["phases"].size(), 1u);
  const nlohmann::json& p = j["phases"][0];
  for (const char* key : {"name",
                          "seconds",
                          "requests_per_s",
                          "vouchers_per_s",
                          "p50_ms",
                          "p99_ms",
                          "p999_ms",
                          "errors",
                          "shed",
                          "disk_bytes_per_voucher",
                          "store_bytes_per_voucher",
                          "cpu_us_per_voucher",
                          "cpu_us_per_voucher_outside_signature",
                          "masad_signatures",
                          "masad_sign_cpu_us_per_signature",
                          "cpu_us_per_voucher_outside_masad_signature",
                          "outside_over_masad_signature_cpu",
                          "masad_cpu_by_thread",
                          "heap_mb_start",
                          "heap_mb_end",
                          "rss_mb_without_map_end",
                          "store",
                          "slices"}) {
    EXPECT_TRUE(p.contains(key)) << key;
  }
  EXPECT_TRUE(p["disk_bytes_per_voucher"].is_number());
  EXPECT_EQ(p["store_bytes_per_voucher"], 4200);
  EXPECT_EQ(p["masad_cpu_by_thread"]["masa-signer"], 120);
  EXPECT_EQ(p["store"]["commits"], 400);
  EXPECT_FALSE(p["store"].contains("gate_wait_ms"));  // not measured: absent, not 0
  EXPECT_FALSE(p.contains("rss_mb_without_map_start"));
  ASSERT_EQ(p["slices"].size(), 2u);
  for (const char* key : {"start_s", "seconds", "vouchers_per_s", "p50_ms", "p99_ms", "p999_ms"}) {
    EXPECT_TRUE(p["slices"][1][key].is_number()) << key;
  }
  EXPECT_EQ(p["slices"][1]["masad_request_p99_ms"], 28);
  EXPECT_EQ(p["slices"][1]["sign_cpu_us"], 75);
  EXPECT_FALSE(p["slices"][1].contains("commit_max_ms"));
  EXPECT_FALSE(p["slices"][0].contains("sign_cpu_us"));
  EXPECT_EQ(p["heap_in_use_mb_end"], 8);
  EXPECT_FALSE(p.contains("heap_in_use_mb_start"));
  EXPECT_EQ(j["ratios"]["open80_p99_ms"], 30);
  EXPECT_EQ(j["ratios"]["outside_over_masad_signature_cpu"], 1);
  EXPECT_EQ(p["masad_sign_cpu_us_per_signature"], 60);
  EXPECT_FALSE(j["ratios"].contains("prefilled_over_empty"));
  EXPECT_FALSE(j.contains("prefill"));
}

TEST(ReportTest, WritesSelfContainedFiles) {
  const std::string dir = ::testing::TempDir() + "/load_bench_report_test";
  std::filesystem::remove_all(dir);
  ASSERT_EQ(WriteResults(dir, SampleReport()), "");
  auto read = [&](const std::string& name) {
    std::ifstream in(dir + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const nlohmann::json j = nlohmann::json::parse(read("load_bench.json"));
  EXPECT_EQ(j["phases"][0]["name"], "open80");
  const std::string latency = read("open80-latency.svg");
  const std::string percentiles = read("open80-percentiles.svg");
  EXPECT_THAT(latency, ::testing::StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(latency, ::testing::HasSubstr("<path d=\"M"));
  EXPECT_THAT(percentiles, ::testing::HasSubstr("p99.9"));
  EXPECT_THAT(latency, ::testing::HasSubstr("&lt;test&gt;"));  // the label escaped
  const std::string html = read("load_bench.html");
  EXPECT_THAT(html, ::testing::HasSubstr("<svg"));
  EXPECT_THAT(html, ::testing::HasSubstr("the mean of 30000 before the load and 27000 after it"));
  // The phase's row: CPU per voucher, the signature's CPU in masad, masad's CPU outside it
  // and their ratio.
  EXPECT_THAT(html, ::testing::HasSubstr("<td>120.0</td><td>60.0</td><td>60.0</td><td>1.00</td>"));
  // Self-contained: no script and nothing fetched from anywhere.
  EXPECT_THAT(html, ::testing::Not(::testing::HasSubstr("<script")));
  EXPECT_THAT(html, ::testing::Not(::testing::HasSubstr("src=")));
  EXPECT_THAT(html, ::testing::Not(::testing::HasSubstr("href=")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace masa::bench
