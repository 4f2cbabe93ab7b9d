#include "tools/config.h"

#include "gtest/gtest.h"

namespace masa::tools {
namespace {

TEST(Config, EmptyFileNeedsTlsOrPlainHttp) {
  auto c = ParseConfig("", "/etc/masa");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("tls_certificate"), absl::string_view::npos);
}

TEST(Config, DefaultsAndRelativePathsResolveAgainstTheFile) {
  auto c = ParseConfig("[server]\nplain_http = true\nlisten = \"127.0.0.1:0\"\n", "/srv/masa");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen_port, 0);
  EXPECT_EQ(c->signing_certificate, "/srv/masa/masa.pem");
  EXPECT_EQ(c->signing_key, "pkcs11:token=masa-dev;object=masa-signing;type=private");
  EXPECT_EQ(c->workers, 2u);
  EXPECT_EQ(c->default_validity, absl::Hours(24 * 365));
  EXPECT_EQ(c->default_assertion, signer::Assertion::kLogged);
  EXPECT_EQ(c->max_connections_per_client, 64u);
  EXPECT_EQ(c->header_timeout, absl::Seconds(10));
  EXPECT_EQ(c->metrics_listen, "127.0.0.1:9464");
}

TEST(Config, StoreBackendPostgresNeedsAConnectionString) {
  const std::string head = "[server]\nplain_http = true\n[store]\n";
  auto lmdb = ParseConfig(head, "/x");
  ASSERT_TRUE(lmdb.ok()) << lmdb.status();
  EXPECT_TRUE(lmdb->postgres.empty());
  auto pg = ParseConfig(head +
                            "backend = \"postgres\"\npostgres = \"host=db1,db2 dbname=masa\"\n"
                            "node_id = \"masa-2\"\n",
                        "/x");
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(pg->postgres, "host=db1,db2 dbname=masa");
  EXPECT_EQ(pg->node_id, "masa-2");
  // Printed back as given, so --print-config round-trips.
  auto again = ParseConfig(FormatConfig(*pg), "/x");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->postgres, pg->postgres);
  auto missing = ParseConfig(head + "backend = \"postgres\"\n", "/x");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("needs postgres"), absl::string_view::npos);
  auto unknown = ParseConfig(head + "backend = \"mysql\"\n", "/x");
  EXPECT_NE(unknown.status().message().find("\"lmdb\" or \"postgres\""), absl::string_view::npos)
      << unknown.status();
  auto unused = ParseConfig(head + "postgres = \"host=db1\"\n", "/x");
  EXPECT_NE(unused.status().message().find("backend is \"lmdb\""), absl::string_view::npos)
      << unused.status();
}

TEST(Config, WebDefaultsAndSettings) {
  auto d = ParseConfig("[server]\nplain_http = true\n", "/x");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->web_root, DefaultWebRoot());
  EXPECT_EQ(d->licence_file, DefaultWebRoot() + "/licence.txt");
  EXPECT_EQ(d->session_lifetime, absl::Hours(12));
  EXPECT_EQ(d->session_idle_timeout, absl::Minutes(30));
  EXPECT_FALSE(d->oidc);

  auto c = ParseConfig(
      "[server]\nplain_http = true\n[web]\nroot = \"web\"\nsession_lifetime_hours = 8\n"
      "session_idle_minutes = 15\n[oidc]\nissuer = \"http://127.0.0.1:9000\"\n"
      "client_id = \"masa\"\nclient_secret_file = \"oidc.secret\"\n"
      "redirect_uri = \"https://127.0.0.1:8443/auth/oidc/callback\"\nname = \"Acme SSO\"\n",
      "/etc/masa");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->web_root, "/etc/masa/web");
  EXPECT_EQ(c->licence_file, "/etc/masa/web/licence.txt");
  EXPECT_EQ(c->session_lifetime, absl::Hours(8));
  EXPECT_EQ(c->session_idle_timeout, absl::Minutes(15));
  EXPECT_TRUE(c->oidc);
  EXPECT_EQ(c->oidc_issuer, "http://127.0.0.1:9000");
  EXPECT_EQ(c->oidc_client_secret_file, "/etc/masa/oidc.secret");
  EXPECT_EQ(c->oidc_name, "Acme SSO");
  EXPECT_EQ(c->oidc_ca_file, "");
  auto again = ParseConfig(FormatConfig(*c), "/y");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->oidc_redirect_uri, c->oidc_redirect_uri);
  EXPECT_EQ(again->session_idle_timeout, absl::Minutes(15));
  EXPECT_EQ(again->web_root, "/etc/masa/web");
}

TEST(Config, WebAndOidcErrorsNameTheKey) {
  struct Case {
    const char* toml;
    const char* message;
  } cases[] = {
      {"[web]\nsession_idle_minutes = 0\n", "[web] session_idle_minutes: 0 is out of range"},
      {"[web]\nsession_lifetime_hours = 1\nsession_idle_minutes = 90\n",
       "[web] session_idle_minutes exceeds session_lifetime_hours"},
      {"[web]\nlicense_file = \"x\"\n", "unknown key [web] license_file"},
      {"[oidc]\nissuer = \"http://127.0.0.1:1\"\n", "[oidc] client_id is required"},
      {"[oidc]\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"m\"\n",
       "[oidc] client_secret_file is required"},
      {"[oidc]\nissuer = \"idp.example\"\nclient_id = \"m\"\nclient_secret_file = \"s\"\n"
       "redirect_uri = \"https://h/auth/oidc/callback\"\n",
       "[oidc] issuer must be an https:// URL"},
      {"[oidc]\nissuer = \"https://idp\"\nclient_id = \"m\"\nclient_secret_file = \"s\"\n"
       "redirect_uri = \"https://h/\"\n",
       "[oidc] redirect_uri must be this daemon's /auth/oidc/callback"},
      {"[oidc]\nclient_secret = \"hunter2\"\n", "unknown key [oidc] client_secret"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.toml);
    auto parsed = ParseConfig(std::string("[server]\nplain_http = true\n") + c.toml, "/x");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.message), absl::string_view::npos)
        << parsed.status();
  }
}

TEST(Config, KeyLifecycleSettings) {
  auto d = ParseConfig("[server]\nplain_http = true\n", "/x");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->ca_key, "pkcs11:token=masa-dev;object=vendor-ca;type=private");
  EXPECT_EQ(d->approvals_required, 1u);
  auto c = ParseConfig(
      "[server]\nplain_http = true\n[keys]\nca_key = \"pkcs11:token=hsm;object=ca\"\n"
      "approvals_required = 2\napproval_ttl_seconds = 3600\ncertificate_validity_days = 365\n",
      "/x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_key, "pkcs11:token=hsm;object=ca");
  EXPECT_EQ(c->approvals_required, 2u);
  EXPECT_EQ(c->approval_ttl, absl::Hours(1));
  EXPECT_EQ(c->certificate_validity, absl::Hours(24 * 365));
  auto again = ParseConfig(FormatConfig(*c), "/x");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->approvals_required, 2u);
  EXPECT_EQ(ParseConfig("[server]\nplain_http = true\n[keys]\napprovals_required = 0\n", "/x")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Config, ConnectionLimitsAndTheMetricsListener) {
  auto c = ParseConfig(
      "[server]\nplain_http = true\nmax_connections_per_client = 16\n"
      "header_timeout_seconds = 3\n[metrics]\nlisten = \"[::1]:9100\"\n",
      "/x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_connections_per_client, 16u);
  EXPECT_EQ(c->header_timeout, absl::Seconds(3));
  EXPECT_EQ(c->metrics_listen, "[::1]:9100");
  auto off = ParseConfig("[server]\nplain_http = true\n[metrics]\nlisten = \"\"\n", "/x");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->metrics_listen, "");
}

TEST(Config, GrpcIsOffByDefaultAndNeedsTlsWithAPemKey) {
  auto off = ParseConfig("[server]\nplain_http = true\n", "/x");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->grpc_listen, "");
  EXPECT_EQ(off->grpc_max_message_bytes, 4u * 1024 * 1024);

  auto on = ParseConfig(
      "[server]\ntls_certificate = \"tls.pem\"\ntls_key = \"tls-key.pem\"\n"
      "[grpc]\nlisten = \"[::1]:0\"\nmax_message_bytes = 65536\n",
      "/x");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->grpc_listen, "[::1]:0");
  EXPECT_EQ(on->grpc_max_message_bytes, 65536u);
  EXPECT_NE(FormatConfig(*on).find("[grpc]\nlisten = \"[::1]:0\"\nmax_message_bytes = 65536\n"),
            std::string::npos);
  auto again = ParseConfig(FormatConfig(*on), "/x");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->grpc_listen, "[::1]:0");

  auto plain = ParseConfig("[server]\nplain_http = true\n[grpc]\nlisten = \"127.0.0.1:0\"\n", "/x");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("gRPC is served over TLS only"), absl::string_view::npos)
      << plain.status();

  auto hsm = ParseConfig(
      "[server]\ntls_certificate = \"tls.pem\"\n"
      "tls_key = \"pkcs11:token=t;object=tls?pin-value=1234\"\n"
      "[grpc]\nlisten = \"127.0.0.1:0\"\n",
      "/x");
  ASSERT_FALSE(hsm.ok());
  EXPECT_NE(hsm.status().message().find("HSM key pkcs11:token=t;object=tls;"),
            absl::string_view::npos)
      << hsm.status();
  EXPECT_EQ(hsm.status().message().find("1234"), absl::string_view::npos) << hsm.status();

  auto bad = ParseConfig("[server]\nplain_http = true\n[grpc]\nlisten = \"x\"\n", "/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[grpc] listen"), absl::string_view::npos) << bad.status();
}

TEST(Config, VoucherAssertionIsOneOfTheYangEnum) {
  for (const char* name : {"verified", "logged", "proximity", "agent-proximity"}) {
    auto c = ParseConfig(std::string("[server]\nplain_http = true\n[voucher]\nassertion = \"") +
                             name + "\"\n",
                         "/x");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(signer::AssertionName(c->default_assertion), name);
    EXPECT_NE(FormatConfig(*c).find(std::string("[voucher]\nassertion = \"") + name + "\""),
              std::string::npos);
  }
  auto bad =
      ParseConfig("[server]\nplain_http = true\n[voucher]\nassertion = \"Verified\"\n", "/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "[voucher] assertion: \"Verified\" is not one of verified, logged, proximity, "
                "agent-proximity"),
            absl::string_view::npos)
      << bad.status();
}

TEST(Config, FormattedConfigParsesBackToTheSame) {
  auto c = ParseConfig(
      "[server]\nplain_http = true\n[queue]\nworkers = 4\nmax_queue_delay_ms = 7\n", "/x");
  ASSERT_TRUE(c.ok()) << c.status();
  auto again = ParseConfig(FormatConfig(*c), "/x");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(FormatConfig(*again), FormatConfig(*c));
  EXPECT_EQ(again->workers, 4u);
  EXPECT_EQ(again->max_queue_delay, absl::Milliseconds(7));
}

// Admission by queueing delay is off unless configured (max_queue_delay_ms; 0 = off).
TEST(Config, MaxQueueDelayIsOffByDefaultAndSetInMilliseconds) {
  auto c = ParseConfig("[server]\nplain_http = true\n", "/x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_queue_delay, absl::ZeroDuration());
  auto on = ParseConfig("[server]\nplain_http = true\n[queue]\nmax_queue_delay_ms = 10\n", "/x");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->max_queue_delay, absl::Milliseconds(10));
  EXPECT_FALSE(
      ParseConfig("[server]\nplain_http = true\n[queue]\nmax_queue_delay_ms = -1\n", "/x").ok());
}

TEST(Config, MistakesNameTheKey) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[server]\nplain_http = true\nlisten = 8443\n", "[server] listen must be a string"},
      {"[server]\nplain_http = true\nlisten = \"8443\"\n", "[server] listen: must be ADDRESS:PORT"},
      {"[server]\nplain_http = true\nlisten = \"[::1]:99999\"\n", "bad port"},
      {"[server]\nplain_http = true\nmax_body_bytes = 1\n",
       "[server] max_body_bytes: 1 is out of range"},
      {"[server]\nplain_http = true\nplian_http = true\n", "unknown key [server] plian_http"},
      {"[serevr]\n", "unknown section [serevr]"},
      {"[server]\nplain_http = yes\n", "configuration line 2"},
      {"[server]\nplain_http = true\n[signing]\ndefault_validity_days = 900\nmax_validity_days = 30\n",
       "default_validity_days exceeds max_validity_days"},
      {"[server]\ntls_certificate = \"a.pem\"\n", "go together"},
      {"[server]\nplain_http = true\n[voucher]\nassertion = 1\n",
       "[voucher] assertion must be a string"},
      {"[server]\nplain_http = true\n[voucher]\nasertion = \"logged\"\n",
       "unknown key [voucher] asertion"},
      {"[server]\nplain_http = true\nmax_connections = 10\nmax_connections_per_client = 11\n",
       "max_connections_per_client exceeds max_connections"},
      {"[server]\nplain_http = true\nheader_timeout_seconds = 0\n",
       "[server] header_timeout_seconds: 0 is out of range"},
      {"[server]\nplain_http = true\n[metrics]\nlisten = \"9464\"\n",
       "[metrics] listen: must be ADDRESS:PORT"},
      {"[server]\nplain_http = true\n[metrics]\nport = 9464\n", "unknown key [metrics] port"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseConfig(c.text, "/etc/masa");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.status().message().find(c.expect), absl::string_view::npos)
        << parsed.status() << " for " << c.text;
  }
}

// Found by tools_config_fuzz: toml++ describes a stray control byte by quoting it, and the
// description went into the message as it was; names taken from the file are echoed too.
TEST(Config, ErrorMessagesArePrintableOneLiners) {
  for (const char* text :
       {"[server]\nplain_http = tr\x1fue\n", "[server]\n\"a\\nb\" = 1\n", "[\"\\u0007\"]\n",
        "[server]\nplain_http = true\nlisten = \"\\n:x\"\n"}) {
    auto c = ParseConfig(text, "/x");
    ASSERT_FALSE(c.ok()) << text;
    for (char ch : c.status().message()) {
      EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << c.status() << " for " << text;
    }
  }
}

// Found by tools_config_fuzz: FormatConfig wrote strings without escaping (a quote, a
// backslash or a newline in a value made TOML that ParseConfig refused) and an address in
// brackets lost them on the way back.
TEST(Config, FormatConfigReadsBackAsTheSameConfiguration) {
  auto c = ParseConfig(
      "[server]\nplain_http = true\nlisten = \"[[a]]:1\"\n[audit]\norigin = "
      "\"a\\\"b\\\\c\\n\\u007f\"\n",
      ".");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen_address, "[a]");
  EXPECT_EQ(c->audit_origin, "a\"b\\c\n\x7f");
  auto again = ParseConfig(FormatConfig(*c), ".");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << FormatConfig(*c);
  EXPECT_EQ(again->listen_address, "[a]");
  EXPECT_EQ(again->audit_origin, c->audit_origin);
  EXPECT_EQ(FormatConfig(*again), FormatConfig(*c));
  auto v6 = ParseConfig("[server]\nplain_http = true\nlisten = \"[::1]:0\"\n", ".");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_NE(FormatConfig(*v6).find("listen = \"[::1]:0\""), std::string::npos);
}

TEST(Config, HsmTokensDefaultToTheOneConfiguredToken) {
  auto c = ParseConfig("[server]\nplain_http = true\n[hsm]\ntoken = \"masa dev\"\n", "/srv/masa");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->tokens.empty());
  EXPECT_EQ(c->call_timeout, absl::Seconds(5));
  EXPECT_EQ(c->probe_interval, absl::Seconds(1));
  EXPECT_EQ(HsmTokenUris(*c),
            std::vector<std::string>{
                "pkcs11:token=masa%20dev?module-path=/usr/lib/softhsm/libsofthsm2.so"});
}

TEST(Config, HsmTokensAreTokenUrisWithModuleAndPinSource) {
  auto c = ParseConfig(
      "[server]\nplain_http = true\n[hsm]\ncall_timeout_ms = 750\nprobe_interval_ms = 200\n"
      "tokens = [\"pkcs11:token=masa-1?module-path=/lib/a.so&pin-source=file:pin-1\",\n"
      "          \"pkcs11:token=masa-2;manufacturer=SoftHSM%20project?pin-source=file:/p/2\"]\n",
      "/srv/masa");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->call_timeout, absl::Milliseconds(750));
  EXPECT_EQ(c->probe_interval, absl::Milliseconds(200));
  ASSERT_EQ(c->tokens.size(), 2u);
  // A relative pin-source file is resolved against the configuration's folder.
  EXPECT_EQ(c->tokens[0],
            "pkcs11:token=masa-1?module-path=/lib/a.so&pin-source=file:/srv/masa/pin-1");
  // module-path defaults to [hsm] module.
  EXPECT_EQ(c->tokens[1],
            "pkcs11:token=masa-2;manufacturer=SoftHSM%20project?module-path=/usr/lib/softhsm/"
            "libsofthsm2.so&pin-source=file:/p/2");
  EXPECT_EQ(HsmTokenUris(*c), c->tokens);
  auto again = ParseConfig(FormatConfig(*c), "/elsewhere");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << FormatConfig(*c);
  EXPECT_EQ(again->tokens, c->tokens);
  EXPECT_EQ(again->call_timeout, c->call_timeout);
  EXPECT_EQ(FormatConfig(*again), FormatConfig(*c));
}

TEST(Config, HsmTokenMistakesNameTheKeyAndNeverEchoAPin) {
  struct Case {
    const char* tokens;
    const char* expect;
  } cases[] = {
      {"\"masa-1\"", "[hsm] tokens[0] must be a pkcs11: token URI"},
      {"\"pkcs11:token=a\", 7", "[hsm] tokens must be an array of strings"},
      {"\"pkcs11:model=x\"", "[hsm] tokens[0] needs token=LABEL"},
      {"\"pkcs11:token=a\", \"pkcs11:token=a;object=k\"", "[hsm] tokens[1] names a token"},
      {"\"pkcs11:token=a?pin-value=123456\"", "[hsm] tokens[0] has a pin-value"},
      {"\"pkcs11:token=a?slot=1\"", "[hsm] tokens[0] has an unknown query attribute"},
      {"\"pkcs11:token=a\", \"pkcs11:token=a\"", "[hsm] tokens[1] repeats tokens[0]"},
  };
  for (const Case& c : cases) {
    std::string text =
        std::string("[server]\nplain_http = true\n[hsm]\ntokens = [") + c.tokens + "]\n";
    auto parsed = ParseConfig(text, "/etc/masa");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find(c.expect), absl::string_view::npos)
        << parsed.status() << " for " << text;
    EXPECT_EQ(parsed.status().message().find("123456"), absl::string_view::npos);
  }
  for (const char* text : {"[server]\nplain_http = true\n[hsm]\ncall_timeout_ms = 0\n",
                           "[server]\nplain_http = true\n[hsm]\nprobe_interval_ms = 5\n",
                           "[server]\nplain_http = true\n[hsm]\ntokens = \"pkcs11:token=a\"\n"}) {
    auto parsed = ParseConfig(text, "/etc/masa");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("[hsm] "), absl::string_view::npos) << parsed.status();
  }
}

}  // namespace
}  // namespace masa::tools
