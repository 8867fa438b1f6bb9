// Security of `fabtwin serve` (docs/operations.md "Security"): every rpc the server offers x every
// kind of caller (no token, an unknown token, each role), table-driven from one list of
// expectations; the auth file's errors; tokens held as digests and compared exactly; TLS with a
// server certificate and with required client certificates (real certificates, made with the
// `openssl` command at test time); a server without tokens refuses a non-loopback address.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "fabtwin/client/client.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/auth.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"
#include "fabtwin/v1/whatif.pb.h"
#include "fabtwin/v1/yield.pb.h"
#include "grpc_bytes.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using server::Role;

namespace {

namespace fs = std::filesystem;

// THE expectations: every rpc and the lowest role that may call it (the issue's policy, written
// independently of server::method_roles(), which must agree). A service added to the server adds
// its rows here (the test below fails until it does).
const std::vector<std::pair<std::string, Role>>& expected_roles() {
  static const std::vector<std::pair<std::string, Role>> rows = {
      {"/fabtwin.v1.TwinService/GetModel", Role::viewer},
      {"/fabtwin.v1.TwinService/GetSnapshot", Role::viewer},
      {"/fabtwin.v1.TwinService/StreamState", Role::viewer},
      {"/fabtwin.v1.TwinService/Forecast", Role::analyst},
      {"/fabtwin.v1.YieldService/ListWafers", Role::analyst},
      {"/fabtwin.v1.YieldService/YieldSummary", Role::analyst},
      {"/fabtwin.v1.YieldService/WaferMap", Role::analyst},
      {"/fabtwin.v1.YieldService/StackedMap", Role::analyst},
      {"/fabtwin.v1.YieldService/Commonality", Role::analyst},
      {"/fabtwin.v1.IngestService/Ingest", Role::operator_},
      {"/fabtwin.v1.IngestService/IngestEvents", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Submit", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Watch", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Results", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Cancel", Role::operator_},
      {"/fabtwin.v1.WhatIfService/ListJobs", Role::operator_},
  };
  return rows;
}

// Tokens of the test's auth file (each >= 16 characters).
const std::string kViewer = "viewer-token-0123456789";
const std::string kAnalyst = "analyst-token-0123456789";
const std::string kOperator = "operator-token-0123456789";
const std::string kUnknown = "unknown-token-0123456789";

std::string auth_text() {
  return "# role tokens for test_security\n\n" + kViewer + " viewer\n" + kAnalyst + "\tanalyst\n" +
         kOperator + "   operator   \n";
}

std::chrono::system_clock::time_point in_seconds(double s) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(s));
}

const model::Model& minifab() {
  static const model::Model m = io::load_model(test::minifab()).value();
  return m;
}

std::unique_ptr<live::LiveTwin> open_twin(const fs::path& db) {
  live::LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db.string();
  auto t = live::LiveTwin::open(minifab(), o);
  if (!t) FAIL(t.error().what());
  return std::move(t.value());
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Certificates made once per run with the openssl command: a CA, a server certificate for
// localhost and 127.0.0.1 signed by it, a client certificate signed by it, and a second CA with a
// client certificate of its own (a stranger).
struct Certificates {
  test::TempDir dir{"fabtwin_security_certs"};
  std::string file(const std::string& name) const { return dir.file(name); }

  Certificates() {
    const std::string d = dir.path.string();
    auto run = [&](const std::string& cmd) {
      const std::string full = "cd '" + d + "' && " + cmd + " >>openssl.log 2>&1";
      if (std::system(full.c_str()) != 0)
        FAIL("openssl failed: " << cmd << "\n" << read(dir.path / "openssl.log"));
    };
    const std::string key = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    for (const std::string ca : {"ca", "other_ca"})
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=" +
          ca + "' -keyout " + ca + ".key -out " + ca + ".pem");
    write(dir.path / "server.ext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    write(dir.path / "client.ext", "extendedKeyUsage=clientAuth\n");
    auto issue = [&](const std::string& name, const std::string& cn, const std::string& ca,
                     const std::string& ext) {
      run(key + " -subj '/CN=" + cn + "' -keyout " + name + ".key -out " + name + ".csr");
      run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
          ".key -CAcreateserial -days 2 " + "-extfile " + ext + " -out " + name + ".pem");
    };
    issue("server", "localhost", "ca", "server.ext");
    issue("client", "analyst-1", "ca", "client.ext");
    issue("stranger", "stranger", "other_ca", "client.ext");
  }
};

const Certificates& certificates() {
  static const Certificates c;
  return c;
}

struct Running {
  test::TempDir dir{"fabtwin_security"};
  std::unique_ptr<server::Server> server;
  std::string target;

  explicit Running(server::ServerOptions o) {
    if (o.listen.empty() || o.listen == server::ServerOptions{}.listen) o.listen = "127.0.0.1:0";
    auto s = server::Server::start(open_twin(dir.path / "live.db"), std::move(o));
    if (!s) FAIL(s.error().what());
    server = std::move(s.value());
    REQUIRE(server->port() > 0);
    target = "127.0.0.1:" + std::to_string(server->port());
  }
};

std::shared_ptr<const server::Tokens> test_tokens() {
  auto t = server::Tokens::parse(auth_text(), "auth.txt");
  REQUIRE(t.ok());
  return std::make_shared<const server::Tokens>(std::move(t.value()));
}

std::shared_ptr<grpc::Channel> channel(const client::ChannelOptions& o) {
  auto c = client::connect(o);
  if (!c) FAIL(c.error().what());
  return c.value();
}

using fabtwin::test::to_buffer;
using fabtwin::test::to_string;

// What a call came to: its status, and whether any reply arrived (a stream cancelled after its
// first reply ends CANCELLED: it was let through).
struct Outcome {
  grpc::Status status;
  bool replied = false;
  bool let_through() const {
    return replied || (status.error_code() != grpc::StatusCode::UNAUTHENTICATED &&
                       status.error_code() != grpc::StatusCode::PERMISSION_DENIED);
  }
};

// A request the method accepts (so an allowed call ends OK); the empty message for the rest
// (then an allowed call may end INVALID_ARGUMENT, never UNAUTHENTICATED or PERMISSION_DENIED).
std::string request_for(const std::string& method) {
  if (method == "/fabtwin.v1.TwinService/Forecast") {
    v1::ForecastRequest r;
    r.set_horizon_days(0.05);
    r.set_replications(1);
    return r.SerializeAsString();
  }
  if (method == "/fabtwin.v1.WhatIfService/Submit") {
    // A tiny batch from the live twin's state (no file needed on the server).
    v1::SubmitRequest r;
    r.set_spec_json(R"({"base": {"live": true}, "horizon_days": 0.05, "replications": 2, "scenarios": []})");
    return r.SerializeAsString();
  }
  if (method == "/fabtwin.v1.YieldService/YieldSummary") {
    v1::YieldSummaryRequest r;
    r.set_group_by(v1::GROUP_BY_PRODUCT);
    return r.SerializeAsString();
  }
  if (method == "/fabtwin.v1.IngestService/Ingest" || method == "/fabtwin.v1.IngestService/IngestEvents") {
    // A tool down and up again: valid on the mini-fab whatever came before (a second time: duplicates).
    v1::IngestRequest r;
    const std::string tool = minifab().tools()[0].name;
    for (const auto& [id, state, t] : {std::tuple{"sec-1", v1::TOOL_STATE_UNSCHEDULED_DOWN, 1000},
                                       std::tuple{"sec-2", v1::TOOL_STATE_STANDBY, 2000}}) {
      v1::MesEvent& e = *r.add_events();
      e.set_id(id);
      e.set_time_ms(t);
      e.set_kind(v1::EVENT_KIND_TOOL_STATE);
      e.set_tool(tool);
      e.set_state(state);
    }
    return r.SerializeAsString();
  }
  return "";
}

// Calls `method` (found in the generated descriptors) with `token` ("": none) as raw bytes, whatever
// its kind (unary, server, client or bidirectional streaming).
Outcome call(grpc::Channel& ch, const google::protobuf::MethodDescriptor& m, const std::string& token) {
  const std::string name = "/" + m.service()->full_name() + "/" + m.name();
  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(60));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  const grpc::ByteBuffer request = to_buffer(request_for(name));
  Outcome out;
  grpc::ByteBuffer reply;
  if (!m.client_streaming() && !m.server_streaming()) {
    out.status = grpc::internal::BlockingUnaryCall(
        &ch, grpc::internal::RpcMethod(name.c_str(), grpc::internal::RpcMethod::NORMAL_RPC), &ctx, request,
        &reply);
    out.replied = out.status.ok();
  } else if (!m.client_streaming()) {
    auto reader = std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>>(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            &ch, grpc::internal::RpcMethod(name.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING), &ctx,
            request));
    out.replied = reader->Read(&reply);
    if (out.replied) ctx.TryCancel();  // an endless stream (StreamState): one frame is enough
    out.status = reader->Finish();
  } else {
    auto stream = std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>(
        grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
            &ch,
            grpc::internal::RpcMethod(name.c_str(), m.server_streaming()
                                                        ? grpc::internal::RpcMethod::BIDI_STREAMING
                                                        : grpc::internal::RpcMethod::CLIENT_STREAMING),
            &ctx));
    if (stream->Write(request)) stream->WritesDone();
    out.replied = stream->Read(&reply);
    while (stream->Read(&reply)) {
    }
    out.status = stream->Finish();
  }
  return out;
}

// The services the server lists over reflection, but for gRPC's own (health, reflection).
std::vector<std::string> served_services(grpc::Channel& ch) {
  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(30));
  const grpc::internal::RpcMethod info("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                       grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(&ch, info, &ctx));
  REQUIRE(stream->Write(to_buffer(std::string("\x3a\x01*", 3))));  // list_services: "*"
  stream->WritesDone();
  grpc::ByteBuffer reply;
  REQUIRE(stream->Read(&reply));
  REQUIRE(stream->Finish().ok());
  auto field = [](const google::protobuf::UnknownFieldSet& set,
                  int number) -> const google::protobuf::UnknownField* {
    for (int i = 0; i < set.field_count(); ++i)
      if (set.field(i).number() == number) return &set.field(i);
    return nullptr;
  };
  google::protobuf::UnknownFieldSet resp, services;
  REQUIRE(resp.ParseFromString(to_string(reply)));
  const auto* list = field(resp, 6);
  REQUIRE(list);
  REQUIRE(services.ParseFromString(list->length_delimited()));
  std::vector<std::string> names;
  for (int i = 0; i < services.field_count(); ++i) {
    google::protobuf::UnknownFieldSet service;
    REQUIRE(service.ParseFromString(services.field(i).length_delimited()));
    if (const auto* name = field(service, 1))
      if (name->length_delimited().rfind("grpc.", 0) != 0) names.push_back(name->length_delimited());
  }
  return names;
}

// Every method of every service the server offers (from the generated descriptors).
std::vector<const google::protobuf::MethodDescriptor*> served_methods(grpc::Channel& ch) {
  std::vector<const google::protobuf::MethodDescriptor*> out;
  for (const std::string& s : served_services(ch)) {
    const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(s);
    if (!service) FAIL("no descriptor for the served service " << s);
    for (int i = 0; i < service->method_count(); ++i) out.push_back(service->method(i));
  }
  return out;
}

std::string full_name(const google::protobuf::MethodDescriptor& m) {
  return "/" + m.service()->full_name() + "/" + m.name();
}

std::optional<Role> expected_role(const std::string& method) {
  for (const auto& [name, role] : expected_roles())
    if (name == method) return role;
  return std::nullopt;
}

}  // namespace

TEST_CASE("every rpc the server offers has a role, the same in the table and the expectations",
          "[services][security]") {
  Running r({.tokens = test_tokens()});
  auto ch = channel({.target = r.target, .token = kOperator});
  const auto methods = served_methods(*ch);
  REQUIRE(methods.size() >= expected_roles().size());
  std::set<std::string> served;
  for (const auto* m : methods) {
    const std::string name = full_name(*m);
    served.insert(name);
    INFO(name);
    const auto table = server::method_roles().find(name);
    REQUIRE(table != server::method_roles().end());
    const auto expected = expected_role(name);
    REQUIRE(expected);
    CHECK(table->second == *expected);
  }
  // No row for a method that does not exist (a typo would leave the real one closed).
  for (const auto& [name, role] : server::method_roles()) CHECK(served.count(name) == 1);
  for (const auto& [name, role] : expected_roles()) CHECK(served.count(name) == 1);
}

TEST_CASE("every rpc x caller: no token and unknown tokens are unauthenticated, low roles denied",
          "[services][security]") {
  // Over plain TCP and over TLS with a client certificate: the same answers.
  const bool tls = GENERATE(false, true);
  server::ServerOptions so{.tokens = test_tokens()};
  client::ChannelOptions co;
  if (tls) {
    const Certificates& c = certificates();
    so.tls = {c.file("server.pem"), c.file("server.key"), c.file("ca.pem")};
    co = {.tls_ca = c.file("ca.pem"), .tls_cert = c.file("client.pem"), .tls_key = c.file("client.key")};
  }
  Running r(so);
  co.target = r.target;
  auto ch = channel(co);
  struct Caller {
    std::string name, token;
    std::optional<Role> role;
  };
  const std::vector<Caller> callers = {{"no token", "", std::nullopt},
                                       {"unknown token", kUnknown, std::nullopt},
                                       {"viewer", kViewer, Role::viewer},
                                       {"analyst", kAnalyst, Role::analyst},
                                       {"operator", kOperator, Role::operator_}};
  int calls = 0;
  for (const auto* m : served_methods(*ch)) {
    const std::string name = full_name(*m);
    const auto needs = expected_role(name);
    REQUIRE(needs);
    for (const Caller& c : callers) {
      INFO(name << " called by " << c.name << (tls ? " over TLS" : ""));
      const Outcome o = call(*ch, *m, c.token);
      INFO("status " << o.status.error_code() << ": " << o.status.error_message());
      ++calls;
      if (!c.role) {
        CHECK(o.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
        CHECK_FALSE(o.replied);
      } else if (static_cast<int>(*c.role) < static_cast<int>(*needs)) {
        CHECK(o.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK_FALSE(o.replied);
        CHECK(o.status.error_message().find(std::string(server::role_name(*needs))) != std::string::npos);
      } else {
        CHECK(o.let_through());
        if (!request_for(name).empty() || name.find("TwinService/Get") != std::string::npos) CHECK(o.replied);
      }
      // The token never comes back in a message.
      if (!c.token.empty()) CHECK(o.status.error_message().find(c.token) == std::string::npos);
    }
  }
  CHECK(calls == static_cast<int>(expected_roles().size() * callers.size()));
  // The operator's ingest reached the twin (the gate let it through to the store).
  CHECK(r.server->stats().ingest_events > 0);
}

TEST_CASE("the authorization value: Bearer (any case) and one token; anything else is unauthenticated",
          "[services][security]") {
  const auto tokens = test_tokens();
  const std::string method = "/fabtwin.v1.TwinService/GetModel";
  using Code = server::Decision::Code;
  auto decide = [&](std::vector<std::string_view> values) {
    return server::authorize(tokens.get(), method, values).code;
  };
  const std::string bearer = "Bearer " + kViewer, lower = "bearer " + kViewer, upper = "BEARER " + kViewer;
  CHECK(decide({bearer}) == Code::allowed);
  CHECK(decide({lower}) == Code::allowed);
  CHECK(decide({upper}) == Code::allowed);
  CHECK(decide({}) == Code::unauthenticated);
  CHECK(decide({bearer, bearer}) == Code::unauthenticated);
  const std::string basic = "Basic " + kViewer, bare = kViewer, nospace = "Bearer" + kViewer;
  CHECK(decide({basic}) == Code::unauthenticated);
  CHECK(decide({bare}) == Code::unauthenticated);
  CHECK(decide({nospace}) == Code::unauthenticated);
  CHECK(decide({"Bearer "}) == Code::unauthenticated);
  // Exact tokens only: a prefix, an extension, another case.
  const std::string prefix = "Bearer " + kViewer.substr(0, kViewer.size() - 1), longer = bearer + "x";
  std::string other_case = bearer;
  other_case.back() = 'X';
  CHECK(decide({prefix}) == Code::unauthenticated);
  CHECK(decide({longer}) == Code::unauthenticated);
  CHECK(decide({other_case}) == Code::unauthenticated);
  // No tokens configured: everything passes. A method missing from the table: nobody.
  CHECK(server::authorize(nullptr, "/fabtwin.v1.NoService/Nothing", {}).code == Code::allowed);
  const std::string op = "Bearer " + kOperator;
  const auto d = server::authorize(tokens.get(), "/fabtwin.v1.TwinService/NotInTheTable", {op});
  CHECK(d.code == Code::permission_denied);
  CHECK(d.message.find("no role") != std::string::npos);
  CHECK(tokens->size() == 3);
  CHECK(tokens->role_of(kAnalyst) == Role::analyst);
  CHECK_FALSE(tokens->role_of(kUnknown).has_value());
  CHECK_FALSE(tokens->role_of("").has_value());
}

TEST_CASE("auth file errors name the file and line and never repeat the token", "[services][security]") {
  struct Bad {
    std::string text;
    int line;
    std::string field, says;
  };
  const std::string t = "abcdefghijklmnop-secret";
  const std::vector<Bad> cases = {
      {"# only a comment\n\n", 0, "", "no token"},
      {"", 0, "", "no token"},
      {"\n" + t + "\n", 2, "", "2 fields"},
      {t + " viewer extra\n", 1, "", "2 fields"},
      {t + " admin\n", 1, "role", "not a role"},
      {t + " Viewer\n", 1, "role", "not a role"},
      {"# c\nshort-token viewer\n", 2, "token", "16 to 512"},
      {std::string(513, 'x') + " viewer\n", 1, "token", "16 to 512"},
      {"abcdefghijklmnop\x01secret viewer\n", 1, "token", "printable"},
      {"abcdefghijklmnop\xc3\xa9secret viewer\n", 1, "token", "printable"},
      {t + " viewer\n# again:\n" + t + " operator\n", 3, "token", "line 1"},
  };
  for (const Bad& b : cases) {
    INFO(b.text);
    auto r = server::Tokens::parse(b.text, "tokens.txt");
    REQUIRE_FALSE(r.ok());
    const model::Error& e = r.error();
    CHECK(e.file == "tokens.txt");
    CHECK(e.line == b.line);
    CHECK(e.field == b.field);
    CHECK(e.message.find(b.says) != std::string::npos);
    CHECK(e.what().find("secret") == std::string::npos);
  }
  // Comments, blank lines, tabs and CRLF line ends are fine.
  auto ok = server::Tokens::parse("# c\r\n\r\n\t" + t + "\toperator\r\n   # indented comment\n", "t");
  REQUIRE(ok.ok());
  CHECK(ok->role_of(t) == Role::operator_);
  // A file that cannot be read.
  test::TempDir dir("fabtwin_security_auth");
  auto missing = server::Tokens::load(dir.file("absent.txt"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().file == dir.file("absent.txt"));
  write(dir.path / "auth.txt", auth_text());
  auto loaded = server::Tokens::load(dir.file("auth.txt"));
  REQUIRE(loaded.ok());
  CHECK(loaded->role_of(kViewer) == Role::viewer);
}

TEST_CASE("without tokens the server refuses a non-loopback address", "[services][security]") {
  CHECK(server::loopback_address("127.0.0.1:50051"));
  CHECK(server::loopback_address("127.1.2.3:0"));
  CHECK(server::loopback_address("localhost:50051"));
  CHECK(server::loopback_address("[::1]:50051"));
  CHECK(server::loopback_address("[::ffff:127.0.0.1]:1"));
  CHECK(server::loopback_address("unix:/tmp/fabtwin.sock"));
  CHECK_FALSE(server::loopback_address("0.0.0.0:50051"));
  CHECK_FALSE(server::loopback_address("[::]:50051"));
  CHECK_FALSE(server::loopback_address("10.0.0.5:50051"));
  CHECK_FALSE(server::loopback_address("127.0.0.1.example.com:50051"));
  CHECK_FALSE(server::loopback_address("fab-host:50051"));
  CHECK_FALSE(server::loopback_address(":50051"));

  test::TempDir dir("fabtwin_security_listen");
  auto refused = server::Server::start(open_twin(dir.path / "a.db"), {.listen = "0.0.0.0:0"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().field == "listen");
  CHECK(refused.error().message.find("loopback") != std::string::npos);
  // With tokens it listens (every address), and calls need a token.
  auto open =
      server::Server::start(open_twin(dir.path / "b.db"), {.listen = "0.0.0.0:0", .tokens = test_tokens()});
  REQUIRE(open.ok());
  auto ch = channel({.target = "127.0.0.1:" + std::to_string(open.value()->port())});
  auto stub = v1::TwinService::NewStub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(30));
  v1::ModelSummary s;
  CHECK(stub->GetModel(&ctx, {}, &s).error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("TLS: a client must trust the server's CA; with a client CA, it must present a certificate",
          "[services][security]") {
  const Certificates& c = certificates();
  auto get_model = [](const client::ChannelOptions& o) {
    auto ch = channel(o);
    auto stub = v1::TwinService::NewStub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(10));
    v1::ModelSummary s;
    return stub->GetModel(&ctx, {}, &s);
  };
  SECTION("server certificate only") {
    Running r({.tls = {c.file("server.pem"), c.file("server.key"), ""}});
    CHECK(get_model({.target = r.target}).error_code() == grpc::StatusCode::UNAVAILABLE);  // plaintext
    CHECK_FALSE(get_model({.target = r.target, .tls = true}).ok());  // the system's roots do not know it
    CHECK_FALSE(get_model({.target = r.target, .tls_ca = c.file("other_ca.pem")}).ok());
    CHECK(get_model({.target = r.target, .tls_ca = c.file("ca.pem")}).ok());
    CHECK(get_model({.target = "localhost:" + std::to_string(r.server->port()), .tls_ca = c.file("ca.pem")})
              .ok());
  }
  SECTION("client certificates required") {
    Running r({.tls = {c.file("server.pem"), c.file("server.key"), c.file("ca.pem")}});
    CHECK_FALSE(get_model({.target = r.target, .tls_ca = c.file("ca.pem")}).ok());  // no certificate
    CHECK_FALSE(get_model({.target = r.target,
                           .tls_ca = c.file("ca.pem"),
                           .tls_cert = c.file("stranger.pem"),
                           .tls_key = c.file("stranger.key")})
                    .ok());  // signed by another CA
    CHECK(get_model({.target = r.target,
                     .tls_ca = c.file("ca.pem"),
                     .tls_cert = c.file("client.pem"),
                     .tls_key = c.file("client.key")})
              .ok());
    CHECK(get_model({.target = r.target}).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_CASE("TLS and channel options that cannot work are refused naming the option", "[services][security]") {
  const Certificates& c = certificates();
  test::TempDir dir("fabtwin_security_tls");
  write(dir.path / "not.pem", "not a certificate\n");
  auto start = [&](server::TlsFiles tls) {
    static int n = 0;
    return server::Server::start(open_twin(dir.path / ("s" + std::to_string(n++) + ".db")),
                                 {.listen = "127.0.0.1:0", .tls = std::move(tls)});
  };
  auto refused = [&](server::TlsFiles tls, const std::string& field) {
    auto s = start(std::move(tls));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().field == field);
  };
  refused({c.file("server.pem"), "", ""}, "tls.key");
  refused({"", c.file("server.key"), ""}, "tls.cert");
  refused({"", "", c.file("ca.pem")}, "tls.cert");
  refused({dir.file("absent.pem"), c.file("server.key"), ""}, "tls.cert");
  refused({dir.file("not.pem"), c.file("server.key"), ""}, "tls.cert");
  refused({c.file("server.pem"), c.file("server.key"), dir.file("not.pem")}, "tls.client_ca");
  // A key that is not the certificate's: the port cannot be opened.
  auto mismatch = start({c.file("server.pem"), c.file("client.key"), ""});
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().field == "listen");

  auto client_error = [](const client::ChannelOptions& o) {
    auto ch = client::connect(o);
    REQUIRE_FALSE(ch.ok());
    return ch.error().field;
  };
  CHECK(client_error({.target = "127.0.0.1:1", .tls_cert = c.file("client.pem")}) == "tls_key");
  CHECK(client_error({.target = "127.0.0.1:1", .tls_key = c.file("client.key")}) == "tls_cert");
  CHECK(client_error({.target = "127.0.0.1:1", .tls_ca = dir.file("absent.pem")}) == "tls_ca");
  CHECK(client_error({.target = "127.0.0.1:1", .token = "two words"}) == "token");

  write(dir.path / "token", "  " + kViewer + " \r\nsecond line ignored\n");
  auto t = client::read_token_file(dir.file("token"));
  REQUIRE(t.ok());
  CHECK(t.value() == kViewer);
  write(dir.path / "empty", "\n");
  CHECK_FALSE(client::read_token_file(dir.file("empty")).ok());
  CHECK_FALSE(client::read_token_file(dir.file("absent")).ok());
}

TEST_CASE("IngestClient and StateFollower carry the channel's token", "[services][security]") {
  Running r({.tokens = test_tokens()});
  v1::IngestRequest batch;
  REQUIRE(batch.ParseFromString(request_for("/fabtwin.v1.IngestService/IngestEvents")));
  {
    client::IngestClient viewer(channel({.target = r.target, .token = kViewer}), 2, {.give_up_s = 10});
    auto sent = viewer.send(batch);
    if (sent.ok()) sent = viewer.finish();
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().message.find("status 7") != std::string::npos);  // PERMISSION_DENIED
  }
  {
    client::IngestClient op(channel({.target = r.target, .token = kOperator}), 2, {.give_up_s = 10});
    REQUIRE(op.send(batch).ok());
    REQUIRE(op.finish().ok());
    CHECK(op.counts().acknowledged_total() == 2);
  }
  {
    client::StateFollower nobody(channel({.target = r.target}), 100, {.give_up_s = 10});
    auto run = nobody.run({});
    REQUIRE_FALSE(run.ok());
    CHECK(run.error().message.find("status 16") != std::string::npos);  // UNAUTHENTICATED
  }
  {
    client::StateFollower viewer(channel({.target = r.target, .token = kViewer}), 100, {.give_up_s = 10});
    std::uint64_t version = 0;
    auto run = viewer.run([&](const v1::StateKeyframe& s, const v1::StateFrame&) {
      version = s.version();
      viewer.stop();
    });
    REQUIRE(run.ok());
    CHECK(version > 0);
  }
}
