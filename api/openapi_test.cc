// The route table and the OpenAPI document describe the same API: every route is
// documented with its operationId and path parameters, and nothing else is documented.
#include <functional>
#include <set>
#include <string>

#include "api/internal/rest_api_impl.h"
#include "api/internal/router.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/types.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json Document() {
  absl::StatusOr<std::string> text = BuildOpenApiDocument();
  EXPECT_TRUE(text.ok()) << text.status();
  return json::parse(text.value_or("{}"));
}

TEST(OpenApiTest, IsOpenApi31WithBearerScheme) {
  json doc = Document();
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["type"], "http");
}

TEST(OpenApiTest, EveryRouteIsDocumentedWithItsOperationIdAndPathParameters) {
  json doc = Document();
  for (const RouteSpec& route : RestApiImpl::RouteSpecs()) {
    SCOPED_TRACE(route.method + " " + route.path);
    ASSERT_TRUE(doc["paths"].contains(route.path)) << "path missing from the document";
    const json& item = doc["paths"][route.path];
    ASSERT_TRUE(item.contains(Lower(route.method))) << "method missing from the document";
    const json& op = item[Lower(route.method)];
    EXPECT_EQ(op["operationId"], route.operation_id);
    std::vector<std::string> documented;
    if (op.contains("parameters")) {
      for (const json& p : op["parameters"]) {
        if (p["in"] == "path") {
          documented.push_back(p["name"]);
          EXPECT_EQ(p["required"], true);
        }
      }
    }
    EXPECT_EQ(documented, PathParamNames(route.path));
    EXPECT_TRUE(op["responses"].is_object());
  }
}

TEST(OpenApiTest, EveryDocumentedOperationHasARoute) {
  json doc = Document();
  std::set<std::pair<std::string, std::string>> routes;
  for (const RouteSpec& route : RestApiImpl::RouteSpecs()) {
    routes.emplace(Lower(route.method), route.path);
  }
  std::set<std::string> operation_ids;
  for (auto& [path, item] : doc["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      EXPECT_TRUE(routes.count({method, path})) << method << " " << path << " has no route";
      EXPECT_TRUE(operation_ids.insert(op["operationId"]).second)
          << "duplicate operationId " << op["operationId"];
    }
  }
  EXPECT_EQ(operation_ids.size(), routes.size());
}

TEST(OpenApiTest, EveryReferencedSchemaExists) {
  json doc = Document();
  std::string text = doc.dump();
  const std::string kPrefix = "#/components/schemas/";
  for (size_t at = text.find(kPrefix); at != std::string::npos; at = text.find(kPrefix, at + 1)) {
    size_t start = at + kPrefix.size();
    std::string name = text.substr(start, text.find('"', start) - start);
    EXPECT_TRUE(doc["components"]["schemas"].contains(name)) << name;
  }
}

TEST(OpenApiTest, VoucherSchemaListsExactlyTheDocumentedFields) {
  json doc = Document();
  const json& voucher = doc["components"]["schemas"]["Voucher"];
  std::set<std::string> fields;
  for (auto& [k, v] : voucher["properties"].items()) fields.insert(k);
  EXPECT_EQ(fields, (std::set<std::string>{"req_id", "voucher_id", "requested_at", "created_at",
                                           "expires_at", "last_renewal_at", "assertion", "status",
                                           "serial_number", "pdc_organization", "requested_by"}));
}

// The schema `s` stands for, following one $ref into the components.
json Resolve(const json& doc, const json& s) {
  if (!s.contains("$ref")) return s;
  const std::string ref = s["$ref"];
  return doc["components"]["schemas"][ref.substr(ref.rfind('/') + 1)];
}

// Calls fn(name, schema) for every property of every object schema in `node`, at any depth.
void ForEachProperty(const json& node,
                     const std::function<void(const std::string&, const json&)>& fn) {
  if (node.is_object()) {
    if (node.contains("properties") && node["properties"].is_object()) {
      for (auto& [name, schema] : node["properties"].items()) fn(name, schema);
    }
    for (auto& [_, child] : node.items()) ForEachProperty(child, fn);
  } else if (node.is_array()) {
    for (const json& child : node) ForEachProperty(child, fn);
  }
}

TEST(OpenApiTest, EveryVoucherAndRequestIdIsAUuid) {
  json doc = Document();
  int params = 0;
  for (auto& [path, item] : doc["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      if (!op.contains("parameters")) continue;
      for (const json& p : op["parameters"]) {
        if (p["name"] != "voucher_id" && p["name"] != "req_id") continue;
        SCOPED_TRACE(method + " " + path + " " + p["name"].get<std::string>());
        EXPECT_EQ(p["schema"]["type"], "string");
        EXPECT_EQ(p["schema"]["format"], "uuid");
        ++params;
      }
    }
  }
  EXPECT_EQ(params, 8);  // 2 request routes, 5 voucher routes, the list filter
  int fields = 0;
  ForEachProperty(doc["components"]["schemas"], [&](const std::string& name, const json& s) {
    if (name != "voucher_id" && name != "req_id") return;
    SCOPED_TRACE(name + " " + s.dump());
    json schema = Resolve(doc, s);
    EXPECT_EQ(schema["format"], "uuid");
    EXPECT_TRUE(schema["type"] == "string" || schema["type"] == json({"string", "null"}));
    ++fields;
  });
  EXPECT_EQ(fields, 5);  // Voucher (2), SerialResult, VoucherRequestResult, Request
}

// Every status value the service can answer (its name tables) is in the document's enum
// for that status, and nothing else is: the document is built from the tables, and each
// status field refers to its enum.
template <typename E>
void ExpectEnumIsTheTable(const json& doc, const std::string& schema_name) {
  SCOPED_TRACE(schema_name);
  const json& schema = doc["components"]["schemas"][schema_name];
  ASSERT_TRUE(schema.contains("enum")) << schema.dump();
  std::set<std::string> documented = schema["enum"].get<std::set<std::string>>();
  std::set<std::string> named;
  for (std::string_view name : service::StatusNames<E>()) {
    named.emplace(name);
    EXPECT_TRUE(documented.count(std::string(name))) << name << " is not in the enum";
  }
  EXPECT_EQ(documented, named);
}

TEST(OpenApiTest, StatusEnumsListEveryValueTheServiceNames) {
  json doc = Document();
  ExpectEnumIsTheTable<service::VoucherStatus>(doc, "VoucherStatus");
  ExpectEnumIsTheTable<service::SerialStatus>(doc, "SerialStatus");
  ExpectEnumIsTheTable<service::RequestStatus>(doc, "RequestStatus");
  const json& schemas = doc["components"]["schemas"];
  EXPECT_EQ(schemas["Voucher"]["properties"]["status"]["$ref"],
            "#/components/schemas/VoucherStatus");
  EXPECT_EQ(schemas["SerialResult"]["properties"]["status"]["$ref"],
            "#/components/schemas/SerialStatus");
  EXPECT_EQ(schemas["Request"]["properties"]["status"]["$ref"],
            "#/components/schemas/RequestStatus");
  bool filter = false;
  for (const json& p : doc["paths"]["/vouchers"]["get"]["parameters"]) {
    if (p["name"] != "status") continue;
    filter = true;
    EXPECT_EQ(p["schema"]["$ref"], "#/components/schemas/VoucherStatus");
  }
  EXPECT_TRUE(filter);
  // The documentation's word for a signed voucher, not this API's former one.
  EXPECT_NE(schemas["VoucherStatus"]["enum"].dump().find("\"completed\""), std::string::npos);
  EXPECT_EQ(doc.dump().find("\"issued\""), std::string::npos);
}

TEST(RouterTest, PathParametersAndLiteralPrecedence) {
  std::vector<RouteSpec> routes = RestApiImpl::RouteSpecs();
  RouteLookup ov = FindRoute(routes, "POST", "/request/ov");
  ASSERT_GE(ov.index, 0);
  EXPECT_EQ(routes[ov.index].operation_id, "requestVouchers");

  RouteLookup get = FindRoute(routes, "GET", "/request/r-42");
  ASSERT_GE(get.index, 0);
  EXPECT_EQ(routes[get.index].operation_id, "getRequest");
  EXPECT_EQ(get.params.at("req_id"), "r-42");

  RouteLookup grant = FindRoute(routes, "DELETE", "/bindings/b-1/grants/archive");
  ASSERT_GE(grant.index, 0);
  EXPECT_EQ(grant.params.at("binding_id"), "b-1");
  EXPECT_EQ(grant.params.at("grant"), "archive");
}

TEST(RouterTest, UnknownPathAndWrongMethod) {
  std::vector<RouteSpec> routes = RestApiImpl::RouteSpecs();
  RouteLookup none = FindRoute(routes, "GET", "/nope");
  EXPECT_LT(none.index, 0);
  EXPECT_TRUE(none.allowed.empty());
  EXPECT_LT(FindRoute(routes, "GET", "/voucher/").index, 0);  // empty id segment
  EXPECT_LT(FindRoute(routes, "GET", "/voucher//download").index, 0);
  EXPECT_LT(FindRoute(routes, "GET", "voucher/x").index, 0);
  EXPECT_LT(FindRoute(routes, "GET", "").index, 0);

  RouteLookup wrong = FindRoute(routes, "PUT", "/voucher/v-1");
  EXPECT_LT(wrong.index, 0);
  EXPECT_EQ(wrong.allowed, std::vector<std::string>{"GET"});
  RouteLookup pdc = FindRoute(routes, "PATCH", "/pdc/c-1");
  EXPECT_EQ(pdc.allowed, (std::vector<std::string>{"DELETE", "GET"}));
}

}  // namespace
}  // namespace masa::api::internal
