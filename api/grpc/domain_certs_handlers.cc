// Domain certificates (OVGS CreateDomainCert and friends): the REST API's PDCs.
#include "api/grpc/internal/codec.h"
#include "api/grpc/internal/ovgs_service.h"

namespace masa::api::grpc_internal {

using service::Caller;

grpc::ServerUnaryReactor* OvgsService::CreateDomainCert(
    grpc::CallbackServerContext* context, const ovgs::v1::CreateDomainCertRequest* request,
    ovgs::v1::CreateDomainCertResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    MASA_RETURN_IF_ERROR(Required("certificate_der", request->certificate_der()));
    MASA_ASSIGN_OR_RETURN(absl::Time expiry, DecodeTime("expiry_time", request->has_expiry_time(),
                                                        request->expiry_time()));
    MASA_ASSIGN_OR_RETURN(
        service::PdcInfo pdc,
        services_.pdcs->UploadPdc(caller, {.name = "",
                                           .certificate = request->certificate_der(),
                                           .group_id = request->group_id(),
                                           .revocation_checks = request->revocation_checks(),
                                           .expiry_time = expiry}));
    response->set_cert_id(pdc.cert_id);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OvgsService::GetDomainCert(grpc::CallbackServerContext* context,
                                                     const ovgs::v1::GetDomainCertRequest* request,
                                                     ovgs::v1::GetDomainCertResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("cert_id", request->cert_id()));
    MASA_ASSIGN_OR_RETURN(service::PdcInfo pdc, services_.pdcs->GetPdc(caller, request->cert_id()));
    response->set_cert_id(pdc.cert_id);
    response->set_group_id(pdc.group_id);
    response->set_certificate_der(pdc.certificate_der);
    response->set_revocation_checks(pdc.revocation_checks);
    // A PDC uploaded through REST without an expiry is usable until its notAfter.
    EncodeTime(pdc.expiry_time.value_or(pdc.not_after), response->mutable_expiry_time());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OvgsService::DeleteDomainCert(
    grpc::CallbackServerContext* context, const ovgs::v1::DeleteDomainCertRequest* request,
    ovgs::v1::DeleteDomainCertResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("cert_id", request->cert_id()));
    return services_.pdcs->DeletePdc(caller, request->cert_id());
  });
}

}  // namespace masa::api::grpc_internal
