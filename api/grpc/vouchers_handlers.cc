// Ownership vouchers (OVGS GetOwnershipVoucher(s)): asynchronous, through the signing
// pipeline; the call is answered from the service's callback once the vouchers are durable.
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/grpc/internal/codec.h"
#include "api/grpc/internal/ovgs_service.h"

namespace masa::api::grpc_internal {
namespace {

using service::Caller;
using service::ComponentVoucher;

void EncodeVoucher(const ComponentVoucher& voucher, ovgs::v1::GetOwnershipVoucherResponse* out) {
  out->set_voucher_cms(voucher.cms);
  SetDeprecatedPublicKey(voucher.tpm, out);
  EncodeTpm(voucher.tpm, out->mutable_tpm_info());
}

// The fields both RPCs share: the cert_id and the lifetime (the vouchers' absolute expiry).
absl::Status DecodeCertAndLifetime(const std::string& cert_id, bool has_lifetime,
                                   const google::protobuf::Timestamp& lifetime,
                                   service::ComponentVoucherInput* input) {
  MASA_RETURN_IF_ERROR(Required("cert_id", cert_id));
  input->cert_id = cert_id;
  MASA_ASSIGN_OR_RETURN(input->expires_at, DecodeTime("lifetime", has_lifetime, lifetime));
  return absl::OkStatus();
}

// Issues `input`'s vouchers; once they are durable, `encode` gets them, one per component
// in request order, and `done` ends the call.
void Issue(service::VoucherRequests* vouchers, const Caller& caller,
           service::ComponentVoucherInput input, Done done,
           std::function<void(const std::vector<ComponentVoucher>&)> encode) {
  const size_t asked = input.components.size();
  absl::Status queued = vouchers->IssueComponentVouchers(
      caller, std::move(input),
      [done, asked,
       encode = std::move(encode)](absl::StatusOr<std::vector<ComponentVoucher>> issued) {
        if (!issued.ok()) return done(issued.status());
        if (issued->size() != asked) {
          return done(absl::InternalError(
              absl::StrCat(asked, " vouchers asked, ", issued->size(), " issued")));
        }
        encode(*issued);
        done(absl::OkStatus());
      });
  if (!queued.ok()) done(queued);
}

}  // namespace

grpc::ServerUnaryReactor* OvgsService::GetOwnershipVoucher(
    grpc::CallbackServerContext* context, const ovgs::v1::GetOwnershipVoucherRequest* request,
    ovgs::v1::GetOwnershipVoucherResponse* response) {
  return calls_.UnaryAsync(context, [this, request, response](const Caller& caller, Done done) {
    service::ComponentVoucherInput input;
    absl::Status decoded = [&]() -> absl::Status {
      MASA_ASSIGN_OR_RETURN(
          service::SerialRef component,
          DecodeComponent("component", request->has_component(), request->component()));
      input.components.push_back(std::move(component));
      return DecodeCertAndLifetime(request->cert_id(), request->has_lifetime(), request->lifetime(),
                                   &input);
    }();
    if (!decoded.ok()) return done(decoded);
    Issue(services_.voucher_requests, caller, std::move(input), std::move(done),
          [response](const std::vector<ComponentVoucher>& vouchers) {
            EncodeVoucher(vouchers.front(), response);
          });
  });
}

grpc::ServerUnaryReactor* OvgsService::GetOwnershipVouchers(
    grpc::CallbackServerContext* context, const ovgs::v1::GetOwnershipVouchersRequest* request,
    ovgs::v1::GetOwnershipVouchersResponse* response) {
  return calls_.UnaryAsync(context, [this, request, response](const Caller& caller, Done done) {
    service::ComponentVoucherInput input;
    absl::Status decoded = [&]() -> absl::Status {
      if (request->component().empty()) {
        return absl::InvalidArgumentError("component is required (one or more)");
      }
      for (int i = 0; i < request->component_size(); ++i) {
        MASA_ASSIGN_OR_RETURN(
            service::SerialRef component,
            DecodeComponent(absl::StrCat("component[", i, "]"), true, request->component(i)));
        input.components.push_back(std::move(component));
      }
      return DecodeCertAndLifetime(request->cert_id(), request->has_lifetime(), request->lifetime(),
                                   &input);
    }();
    if (!decoded.ok()) return done(decoded);
    Issue(services_.voucher_requests, caller, std::move(input), std::move(done),
          [response](const std::vector<ComponentVoucher>& vouchers) {
            for (const ComponentVoucher& voucher : vouchers) {
              EncodeVoucher(voucher, response->add_ownership_vouchers());
            }
          });
  });
}

}  // namespace masa::api::grpc_internal
