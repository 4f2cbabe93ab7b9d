// Ownership vouchers (OVGS GetOwnershipVoucher(s)): asynchronous, through the signing
// pipeline; the call is answered from the service's callback once the vouchers are durable.
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/grpc/internal/codec.h"
#include "api/grpc/internal/ovgs_service.h"

namespace masa::api::grpc_internal {
namespace {

using service::Caller;

void EncodeVoucher(const service::ComponentVoucher& voucher,
                   ovgs::v1::GetOwnershipVoucherResponse* out) {
  out->set_voucher_cms(voucher.cms);
  SetDeprecatedPublicKey(voucher.tpm, out);
  EncodeTpm(voucher.tpm, out->mutable_tpm_info());
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
      MASA_RETURN_IF_ERROR(Required("cert_id", request->cert_id()));
      input.cert_id = request->cert_id();
      MASA_ASSIGN_OR_RETURN(input.expires_at,
                            DecodeTime("lifetime", request->has_lifetime(), request->lifetime()));
      return absl::OkStatus();
    }();
    if (!decoded.ok()) return done(decoded);
    absl::Status queued = services_.voucher_requests->IssueComponentVouchers(
        caller, std::move(input),
        [response, done](absl::StatusOr<std::vector<service::ComponentVoucher>> vouchers) {
          if (!vouchers.ok()) return done(vouchers.status());
          if (vouchers->size() != 1) {
            return done(absl::InternalError(
                absl::StrCat("one voucher asked, ", vouchers->size(), " issued")));
          }
          EncodeVoucher(vouchers->front(), response);
          done(absl::OkStatus());
        });
    if (!queued.ok()) done(queued);
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
      MASA_RETURN_IF_ERROR(Required("cert_id", request->cert_id()));
      input.cert_id = request->cert_id();
      MASA_ASSIGN_OR_RETURN(input.expires_at,
                            DecodeTime("lifetime", request->has_lifetime(), request->lifetime()));
      return absl::OkStatus();
    }();
    if (!decoded.ok()) return done(decoded);
    const size_t asked = input.components.size();
    absl::Status queued = services_.voucher_requests->IssueComponentVouchers(
        caller, std::move(input),
        [response, done, asked](absl::StatusOr<std::vector<service::ComponentVoucher>> vouchers) {
          if (!vouchers.ok()) return done(vouchers.status());
          if (vouchers->size() != asked) {
            return done(absl::InternalError(
                absl::StrCat(asked, " vouchers asked, ", vouchers->size(), " issued")));
          }
          for (const service::ComponentVoucher& voucher : *vouchers) {
            EncodeVoucher(voucher, response->add_ownership_vouchers());
          }
          done(absl::OkStatus());
        });
    if (!queued.ok()) done(queued);
  });
}

}  // namespace masa::api::grpc_internal
