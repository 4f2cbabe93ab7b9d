#include "bench/internal/grpc_load.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "api/grpc/ovgs.grpc.pb.h"

namespace masa::bench {
namespace {

using ovgs::v1::OwnershipVoucherService;

std::unique_ptr<OwnershipVoucherService::Stub> NewStub(const GrpcLoadTarget& target) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadWholeFile(target.tls_ca);
  auto channel = grpc::CreateChannel(
      "localhost:" + std::to_string(target.port),
      grpc::CompositeChannelCredentials(grpc::SslCredentials(tls),
                                        grpc::AccessTokenCredentials(target.token)));
  return OwnershipVoucherService::NewStub(channel);
}

void SetTime(time_t seconds, google::protobuf::Timestamp* out) {
  out->set_seconds(seconds);
  out->set_nanos(0);
}

double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

}  // namespace

std::string CreateGrpcDomainCert(const GrpcLoadTarget& target, const std::string& org_id,
                                 const std::string& certificate_der) {
  auto stub = NewStub(target);
  ovgs::v1::CreateDomainCertRequest request;
  request.set_group_id(org_id);
  request.set_certificate_der(certificate_der);
  SetTime(time(nullptr) + 30 * 86400, request.mutable_expiry_time());
  ovgs::v1::CreateDomainCertResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub->CreateDomainCert(&context, request, &response);
  if (!s.ok()) Die("gRPC CreateDomainCert: " + s.error_message());
  return response.cert_id();
}

PhaseResult GrpcClosed(const GrpcLoadTarget& target, const std::string& cert_id,
                       const std::string& name, int calls, double seconds) {
  PhaseResult r;
  r.name = name;
  auto stub = NewStub(target);  // one channel (one HTTP/2 connection), many calls on it
  std::atomic<uint64_t> next_call{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  const int64_t start = NowNs();
  const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  const double cpu0 = ProcessCpuSeconds(), daemon0 = CpuSecondsOf(target.pid);
  r.mem_start = MemoryOf(target.pid);
  r.vouchers_by_second.assign(static_cast<size_t>(seconds) + 1, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < calls; ++t) {
    threads.emplace_back([&] {
      const int per_call = target.components_per_call;
      const int calls_in_pool = std::max(1, target.serial_pool / per_call);
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t k = next_call++ % static_cast<uint64_t>(calls_in_pool);
        ovgs::v1::GetOwnershipVouchersRequest request;
        char sn[32];
        for (int i = 0; i < per_call; ++i) {
          std::snprintf(sn, sizeof(sn), "LB-%07d", static_cast<int>(k * per_call + i));
          ovgs::v1::Component* c = request.add_component();
          c->set_ien(target.ien);
          c->set_serial_number(sn);
        }
        request.set_cert_id(cert_id);
        SetTime(time(nullptr) + 7 * 86400, request.mutable_lifetime());
        ovgs::v1::GetOwnershipVouchersResponse response;
        grpc::ClientContext context;
        const int64_t sent = NowNs();
        grpc::Status s = stub->GetOwnershipVouchers(&context, request, &response);
        const int64_t done = NowNs();
        if (done > end) break;  // answered after the window: not counted
        std::lock_guard<std::mutex> lock(mu);
        if (s.ok()) {
          ++r.requests_ok;
          r.vouchers += response.ownership_vouchers_size();
          r.vouchers_by_second[static_cast<size_t>((done - start) / 1000000000)] +=
              response.ownership_vouchers_size();
          r.AddLatency(static_cast<size_t>((done - start) / 1000000000),
                       static_cast<uint64_t>((done - sent) / 1000));
        } else {
          ++r.errors["grpc " + std::to_string(s.error_code())];
          if (r.first_failure.empty()) r.first_failure = s.error_message();
        }
      }
    });
  }
  while (NowNs() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Memory m = MemoryOf(target.pid);
    r.anon_max_kb = std::max(r.anon_max_kb, m.anon_kb);
    r.rss_max_kb = std::max(r.rss_max_kb, m.rss_kb);
  }
  stop = true;
  for (auto& t : threads) t.join();
  r.seconds = seconds;
  r.client_cpu = ProcessCpuSeconds() - cpu0;
  r.daemon_cpu = CpuSecondsOf(target.pid) - daemon0;
  r.mem_end = MemoryOf(target.pid);
  return r;
}

}  // namespace masa::bench
