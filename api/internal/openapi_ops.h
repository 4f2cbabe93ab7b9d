// The OpenAPI document's table of operations, as data: openapi.cc holds the API's, and
// api/web/openapi_web.cc the web application's sign-in routes (/auth/*).
#pragma once

#include <vector>

#include "nlohmann/json.hpp"

namespace masa::api::internal {

struct ParamDoc {
  const char* name;
  const char* in;  // "path" or "query"
  // JSON schema type; "date-time" for RFC 3339 strings, "uuid" for voucher and request ids,
  // or the name of a component schema (capitalized, e.g. "VoucherStatus").
  const char* type;
  const char* description;
};

struct OperationDoc {
  const char* method;  // lower case, as OpenAPI writes it
  const char* path;
  const char* operation_id;
  const char* tag;
  const char* summary;
  std::vector<ParamDoc> params;
  const char* request_schema;  // component name, or nullptr
  bool request_required;
  int success;                 // HTTP status of success
  const char* success_type;    // media type; nullptr: no body (204) or a redirect (302)
  const char* success_schema;  // component name (or nullptr with binary/text bodies)
  bool authenticated;
};

// The /auth/* operations (api/web/openapi_web.cc), and the schemas they name.
const std::vector<OperationDoc>& WebOperations();
void AddWebSchemas(nlohmann::json& schemas);

}  // namespace masa::api::internal
