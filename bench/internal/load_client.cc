#include "bench/internal/load_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "common/openssl.h"
#include "signer/certificate.h"

namespace masa::bench {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "load_bench: %s\n", what.c_str());
  std::exit(1);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double CpuSecondsOf(pid_t pid) {
  std::string stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Memory MemoryOf(pid_t pid) {
  Memory m;
  std::string status = ReadWholeFile("/proc/" + std::to_string(pid) + "/status");
  for (auto [key, out] : {std::pair{"VmRSS:", &m.rss_kb}, std::pair{"VmHWM:", &m.hwm_kb},
                          std::pair{"RssAnon:", &m.anon_kb}, std::pair{"RssFile:", &m.file_kb}}) {
    size_t at = status.find(key);
    if (at != std::string::npos) *out = std::strtol(status.c_str() + at + strlen(key), nullptr, 10);
  }
  return m;
}

namespace {

double CpuSecondsSelf() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

void PrintOpenSslErrors() {
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    std::fprintf(stderr, "  openssl: %s\n", buf);
  }
}

// A pinned-domain certificate as a customer would paste it: a self-signed EC P-256 CA.
std::string MakePdcPem() {
  UniquePtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) Die("EVP_EC_gen failed");
  absl::Time now = absl::Now();
  auto cert = signer::IssueCertificate("CN=Load Bench Owner CA,O=Load Bench Customer", key.get(),
                                       nullptr, key.get(), nullptr, nullptr, now - absl::Hours(1),
                                       now + absl::Hours(24 * 365), true, 7);
  if (!cert.ok()) Die("PDC: " + std::string(cert.status().message()));
  auto pem = CertificateToPem(cert->get());
  if (!pem.ok()) Die("PDC: " + std::string(pem.status().message()));
  return *pem;
}

std::string JsonEscapePem(const std::string& pem) {
  std::string out;
  for (char c : pem) {
    if (c == '\n') {
      out += "\\n";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The client

struct Connection {
  uint16_t port = 0;
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;
  bool busy = false;
  int64_t scheduled_ns = 0;  // latency is measured from here
};

class Client final : public LoadClient {
 public:
  explicit Client(const LoadTarget& target) : target_(target) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr ||
        SSL_CTX_load_verify_locations(ctx_, target_.tls_ca.c_str(), nullptr) != 1) {
      PrintOpenSslErrors();
      Die("TLS context");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    BuildRequests();
  }
  ~Client() override {
    for (auto& c : conns_) Close(&c);
    close(epoll_);
    SSL_CTX_free(ctx_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Closed loop: `connections` connections, each sending the next request as soon as the
  // answer arrives, for `seconds`.
  PhaseResult Closed(const std::string& name, int connections, double seconds) override {
    return Run(name, connections, seconds, 0);
  }
  // Open loop: requests due at start + k / rate for `seconds`, each on an idle connection
  // (of at most `connections`), or waiting for one; latency from the due time.
  PhaseResult Open(const std::string& name, int connections, double seconds, double rate) override {
    return Run(name, connections, seconds, rate);
  }

 private:
  void BuildRequests() {
    // One PDC for the whole run: a client made after a restart (--prefill) must request
    // for the same pin, or every serial already has a live voucher pinned elsewhere.
    static const std::string pdc = JsonEscapePem(MakePdcPem());
    const int per = target_.serials_per_request;
    const int batches = target_.serial_pool / per;
    char sn[32];
    for (int b = 0; b < batches; ++b) {
      std::string body = "{\"serial_numbers\":[";
      for (int i = 0; i < per; ++i) {
        std::snprintf(sn, sizeof(sn), "%s\"LB-%07d\"", i ? "," : "", b * per + i);
        body += sn;
      }
      body += "],\"pdc\":\"" + pdc + "\"}";
      requests_.push_back(
          "POST /request/ov HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(target_.port) +
          "\r\nAuthorization: Bearer " + target_.token +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body);
    }
  }

  // Seconds of CPU the masad process (or every node of the cluster) used so far.
  double DaemonCpu() const {
    if (target_.pids.empty()) return CpuSecondsOf(target_.pid);
    double sum = 0;
    for (pid_t pid : target_.pids) sum += CpuSecondsOf(pid);
    return sum;
  }

  bool Connect(Connection* c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(c->port != 0 ? c->port : target_.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(c->fd);
      c->fd = -1;
      return false;
    }
    c->ssl = SSL_new(ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {  // blocking: only at set-up and after a failure
      PrintOpenSslErrors();
      Close(c);
      return false;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
    c->in.clear();
    c->busy = false;
    return true;
  }

  void Close(Connection* c) {
    if (c->ssl != nullptr) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);  // also leaves the epoll set
    c->ssl = nullptr;
    c->fd = -1;
    c->busy = false;
    c->in.clear();
  }

  // Writes one whole request. Requests are ~1.5 KB, so a loopback socket takes them at once;
  // the short poll covers the rare full buffer.
  bool Send(Connection* c, int64_t scheduled_ns) {
    if (c->fd < 0 && !Connect(c)) return false;
    const std::string& req = requests_[next_request_++ % requests_.size()];
    for (int tries = 0; tries < 1000; ++tries) {
      ERR_clear_error();  // see Receive()
      int n = SSL_write(c->ssl, req.data(), static_cast<int>(req.size()));
      if (n > 0) {
        c->busy = true;
        c->scheduled_ns = scheduled_ns;
        return true;
      }
      int err = SSL_get_error(c->ssl, n);
      if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) break;
      pollfd p{c->fd, static_cast<short>(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
      poll(&p, 1, 10);
    }
    Close(c);
    return false;
  }

  // Reads what is there; true when a whole response was taken (then *status, *body,
  // *close_after, and *retry_after_s: its Retry-After seconds, 0 when absent). *failed when
  // the connection broke.
  bool Receive(Connection* c, int* status, std::string* body, bool* close_after, bool* failed,
               int* retry_after_s) {
    char buf[16384];
    *failed = false;
    for (;;) {
      // SSL_get_error() reads the thread's error queue: an error left there by another
      // connection (a server closing an idle one without close_notify) would make a mere
      // "no more bytes yet" look fatal, and the client would drop an answer half read.
      ERR_clear_error();
      int n = SSL_read(c->ssl, buf, sizeof(buf));
      if (n > 0) {
        c->in.append(buf, n);
        continue;
      }
      int err = SSL_get_error(c->ssl, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
      *failed = true;
      break;
    }
    size_t head_end = c->in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    std::string head = c->in.substr(0, head_end);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    size_t cl = lower.find("\r\ncontent-length:");
    size_t length = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 17, nullptr, 10);
    if (c->in.size() < head_end + 4 + length) return false;
    *status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    *close_after = lower.find("\r\nconnection: close") != std::string::npos;
    size_t ra = lower.find("\r\nretry-after:");
    *retry_after_s = ra == std::string::npos ? 0 : std::atoi(head.c_str() + ra + 14);
    body->assign(c->in, head_end + 4, length);
    c->in.erase(0, head_end + 4 + length);
    *failed = false;
    return true;
  }

  static uint64_t Count(const std::string& haystack, std::string_view needle) {
    uint64_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size())) {
      ++n;
    }
    return n;
  }

  PhaseResult Run(const std::string& name, int connections, double seconds, double rate) {
    PhaseResult r;
    r.name = name;
    r.seconds = seconds;
    r.offered_rate = rate;
    // Connections are made before the clock starts, and kept across phases.
    // A deque keeps the addresses epoll holds stable as it grows.
    if (static_cast<int>(conns_.size()) < connections) conns_.resize(connections);
    for (size_t i = 0; i < conns_.size() && !target_.ports.empty(); ++i) {
      conns_[i].port = target_.ports[i % target_.ports.size()];
    }
    for (int i = 0; i < connections; ++i) {
      if (conns_[i].fd < 0 && !Connect(&conns_[i])) Die("cannot connect to masad");
    }
    std::vector<Connection*> idle;
    for (int i = connections - 1; i >= 0; --i) idle.push_back(&conns_[i]);
    std::deque<int64_t> backlog;  // open loop: due, not yet sent
    // Closed loop: connections told by a 503 to come back later, and when.
    std::vector<std::pair<int64_t, Connection*>> parked;

    const int64_t start = NowNs();
    const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
    const int64_t give_up = end + int64_t{30} * 1000000000;
    const int64_t interval = rate > 0 ? static_cast<int64_t>(1e9 / rate) : 0;
    int64_t next_due = start;
    int in_flight = 0;
    const double cpu0 = CpuSecondsSelf(), dcpu0 = DaemonCpu();
    r.mem_start = MemoryOf(target_.pid);
    r.rss_max_kb = r.mem_start.rss_kb;
    r.anon_max_kb = r.mem_start.anon_kb;
    int64_t next_sample = start;

    auto error = [&](const std::string& what) { ++r.errors[what]; };
    auto send = [&](Connection* c, int64_t due) {
      if (Send(c, due)) {
        ++in_flight;
      } else {
        error("connect/write");
        idle.push_back(c);
      }
    };
    if (rate <= 0) {
      while (!idle.empty()) {
        Connection* c = idle.back();
        idle.pop_back();
        send(c, NowNs());
        if (!c->busy) break;  // the server refuses: stop, do not spin
      }
    }

    epoll_event events[64];
    std::string body;
    for (;;) {
      int64_t now = NowNs();
      if (now >= next_sample) {
        Memory m = MemoryOf(target_.pid);
        r.rss_max_kb = std::max(r.rss_max_kb, m.rss_kb);
        r.anon_max_kb = std::max(r.anon_max_kb, m.anon_kb);
        next_sample = now + 200 * 1000000;
      }
      for (size_t i = 0; i < parked.size();) {
        if (parked[i].first > now) {
          ++i;
          continue;
        }
        Connection* c = parked[i].second;
        parked[i] = parked.back();
        parked.pop_back();
        if (now < end) {
          send(c, now);
        } else {
          idle.push_back(c);
        }
      }
      if (rate > 0) {
        while (next_due < end && next_due <= now) {
          backlog.push_back(next_due);
          next_due += interval;
        }
        while (!backlog.empty() && !idle.empty()) {
          Connection* c = idle.back();
          idle.pop_back();
          send(c, backlog.front());
          backlog.pop_front();
        }
      }
      const bool sending_done = rate > 0 ? next_due >= end : now >= end;
      if (sending_done && in_flight == 0 && backlog.empty()) break;
      if (now >= give_up) {
        r.errors["no answer in 30 s"] += in_flight + backlog.size();
        for (auto& c : conns_) {
          if (c.busy) Close(&c);
        }
        break;
      }
      int64_t wait_ns = std::min<int64_t>(next_sample - now, 200 * 1000000);
      if (rate > 0 && next_due < end) wait_ns = std::min(wait_ns, next_due - now);
      for (const auto& [when, c] : parked) wait_ns = std::min(wait_ns, when - now);
      int timeout_ms = static_cast<int>(std::max<int64_t>(0, (wait_ns + 999999) / 1000000));
      int n = epoll_wait(epoll_, events, 64, timeout_ms);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Connection*>(events[i].data.ptr);
        const bool was_busy = c->busy;
        int status = 0;
        bool close_after = false, failed = false;
        int retry_after_s = 0;
        bool got = Receive(c, &status, &body, &close_after, &failed, &retry_after_s);
        const int64_t done = NowNs();
        if (got && c->busy) {
          c->busy = false;
          --in_flight;
          // A shed request (503 from admission control, answered at once and told when to
          // come back) is counted with the errors, not timed: the percentiles are those of
          // the requests served.
          if (status != 503) {
            r.AddLatency(
                static_cast<size_t>(std::max<int64_t>(0, done - start) / 1000000000),
                static_cast<uint64_t>(std::max<int64_t>(0, done - c->scheduled_ns) / 1000));
          }
          const bool in_window = done <= end || rate > 0;
          if (status == 200) {
            uint64_t issued = Count(body, "\"status\":\"completed\"");
            uint64_t failed_serials = Count(body, "\"status\":\"failed\"");
            if (in_window) {
              ++r.requests_ok;
              r.vouchers += issued;
              const size_t second =
                  static_cast<size_t>(std::max<int64_t>(0, done - start) / 1000000000);
              if (r.vouchers_by_second.size() <= second) r.vouchers_by_second.resize(second + 1);
              r.vouchers_by_second[second] += issued;
            }
            if (target_.sample_vouchers) {
              const std::string_view kId = "\"voucher_id\":\"";
              const size_t at = body.find(kId);
              if (at != std::string::npos) {
                const size_t from = at + kId.size();
                r.samples.push_back({std::max<int64_t>(0, done - start) / 1e9,
                                     body.substr(from, body.find('"', from) - from)});
              }
            }
            r.serials_failed += failed_serials;
            if (failed_serials > 0 && r.first_failure.empty())
              r.first_failure = body.substr(0, 400);
          } else {
            error("HTTP " + std::to_string(status));
            const size_t second =
                static_cast<size_t>(std::max<int64_t>(0, done - start) / 1000000000);
            if (r.errors_by_second.size() <= second) r.errors_by_second.resize(second + 1);
            ++r.errors_by_second[second];
            if (r.first_failure.empty()) r.first_failure = body.substr(0, 400);
          }
        }
        if (failed || close_after) {
          if (c->busy) {
            c->busy = false;
            --in_flight;
            error(failed ? "connection lost" : "closed");
          }
          Close(c);
        }
        if (was_busy && !c->busy) {
          if (rate <= 0 && status == 503 && retry_after_s > 0 && NowNs() < end) {
            // As a client should: this connection sends again when told to, the others go on.
            parked.emplace_back(NowNs() + int64_t{retry_after_s} * 1000000000, c);
          } else if (rate <= 0 && NowNs() < end) {
            send(c, NowNs());
          } else {
            idle.push_back(c);
          }
        }
      }
    }
    const int64_t stop = NowNs();
    // Closed loop: the rate over the window; open loop: over the time to answer them all.
    if (rate > 0) r.seconds = (stop - start) / 1e9;
    r.client_cpu = CpuSecondsSelf() - cpu0;
    r.daemon_cpu = DaemonCpu() - dcpu0;
    r.mem_end = MemoryOf(target_.pid);
    r.rss_max_kb = std::max(r.rss_max_kb, r.mem_end.rss_kb);
    r.anon_max_kb = std::max(r.anon_max_kb, r.mem_end.anon_kb);
    return r;
  }

  const LoadTarget target_;
  SSL_CTX* ctx_ = nullptr;
  int epoll_ = -1;
  std::deque<Connection> conns_;
  std::vector<std::string> requests_;
  uint64_t next_request_ = 0;
};

}  // namespace

std::unique_ptr<LoadClient> NewLoadClient(const LoadTarget& target) {
  return std::make_unique<Client>(target);
}

}  // namespace masa::bench
