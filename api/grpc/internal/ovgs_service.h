// The OwnershipVoucherService handlers, one file per concept:
//   groups_handlers.cc        groups, delegated organizations, user roles
//   serials_handlers.cc       serials and components (GetComponents streams)
//   domain_certs_handlers.cc  domain certificates
//   vouchers_handlers.cc      ownership vouchers (asynchronous: the signing pipeline)
// Each handler checks the fields it needs (INVALID_ARGUMENT naming the field), calls the
// service as the authenticated caller, and encodes the answer.
#pragma once

#include "api/grpc/grpc_server.h"
#include "api/grpc/internal/calls.h"
#include "api/grpc/ovgs.grpc.pb.h"
#include "common/status.h"

namespace masa::api::grpc_internal {

class OvgsService final : public ovgs::v1::OwnershipVoucherService::CallbackService {
 public:
  // Nothing is owned; all outlive the service.
  OvgsService(const GrpcServices& services, queue::WorkQueue* workers)
      : services_(services), calls_(services.authenticator, workers) {}

  // groups_handlers.cc
  grpc::ServerUnaryReactor* CreateGroup(grpc::CallbackServerContext* context,
                                        const ovgs::v1::CreateGroupRequest* request,
                                        ovgs::v1::CreateGroupResponse* response) override;
  grpc::ServerUnaryReactor* GetGroup(grpc::CallbackServerContext* context,
                                     const ovgs::v1::GetGroupRequest* request,
                                     ovgs::v1::GetGroupResponse* response) override;
  grpc::ServerUnaryReactor* DeleteGroup(grpc::CallbackServerContext* context,
                                        const ovgs::v1::DeleteGroupRequest* request,
                                        ovgs::v1::DeleteGroupResponse* response) override;
  grpc::ServerUnaryReactor* AddGroupDelegatedOrg(
      grpc::CallbackServerContext* context, const ovgs::v1::AddGroupDelegatedOrgRequest* request,
      ovgs::v1::AddGroupDelegatedOrgResponse* response) override;
  grpc::ServerUnaryReactor* RemoveGroupDelegatedOrg(
      grpc::CallbackServerContext* context, const ovgs::v1::RemoveGroupDelegatedOrgRequest* request,
      ovgs::v1::RemoveGroupDelegatedOrgResponse* response) override;
  grpc::ServerUnaryReactor* AddUserRole(grpc::CallbackServerContext* context,
                                        const ovgs::v1::AddUserRoleRequest* request,
                                        ovgs::v1::AddUserRoleResponse* response) override;
  grpc::ServerUnaryReactor* RemoveUserRole(grpc::CallbackServerContext* context,
                                           const ovgs::v1::RemoveUserRoleRequest* request,
                                           ovgs::v1::RemoveUserRoleResponse* response) override;
  grpc::ServerUnaryReactor* GetUserRole(grpc::CallbackServerContext* context,
                                        const ovgs::v1::GetUserRoleRequest* request,
                                        ovgs::v1::GetUserRoleResponse* response) override;
  // serials_handlers.cc
  grpc::ServerWriteReactor<ovgs::v1::GetComponentsResponse>* GetComponents(
      grpc::CallbackServerContext* context, const ovgs::v1::GetComponentsRequest* request) override;
  grpc::ServerUnaryReactor* AddSerial(grpc::CallbackServerContext* context,
                                      const ovgs::v1::AddSerialRequest* request,
                                      ovgs::v1::AddSerialResponse* response) override;
  grpc::ServerUnaryReactor* RemoveSerial(grpc::CallbackServerContext* context,
                                         const ovgs::v1::RemoveSerialRequest* request,
                                         ovgs::v1::RemoveSerialResponse* response) override;
  grpc::ServerUnaryReactor* GetSerial(grpc::CallbackServerContext* context,
                                      const ovgs::v1::GetSerialRequest* request,
                                      ovgs::v1::GetSerialResponse* response) override;
  grpc::ServerUnaryReactor* GetSerials(grpc::CallbackServerContext* context,
                                       const ovgs::v1::GetSerialsRequest* request,
                                       ovgs::v1::GetSerialsResponse* response) override;
  // domain_certs_handlers.cc
  grpc::ServerUnaryReactor* CreateDomainCert(grpc::CallbackServerContext* context,
                                             const ovgs::v1::CreateDomainCertRequest* request,
                                             ovgs::v1::CreateDomainCertResponse* response) override;
  grpc::ServerUnaryReactor* GetDomainCert(grpc::CallbackServerContext* context,
                                          const ovgs::v1::GetDomainCertRequest* request,
                                          ovgs::v1::GetDomainCertResponse* response) override;
  grpc::ServerUnaryReactor* DeleteDomainCert(grpc::CallbackServerContext* context,
                                             const ovgs::v1::DeleteDomainCertRequest* request,
                                             ovgs::v1::DeleteDomainCertResponse* response) override;
  // vouchers_handlers.cc
  grpc::ServerUnaryReactor* GetOwnershipVoucher(
      grpc::CallbackServerContext* context, const ovgs::v1::GetOwnershipVoucherRequest* request,
      ovgs::v1::GetOwnershipVoucherResponse* response) override;
  grpc::ServerUnaryReactor* GetOwnershipVouchers(
      grpc::CallbackServerContext* context, const ovgs::v1::GetOwnershipVouchersRequest* request,
      ovgs::v1::GetOwnershipVouchersResponse* response) override;

 private:
  GrpcServices services_;
  Calls calls_;
};

}  // namespace masa::api::grpc_internal
