// Groups, delegated organizations and user roles (OVGS GetGroup and friends).
#include "api/grpc/internal/codec.h"
#include "api/grpc/internal/ovgs_service.h"

namespace masa::api::grpc_internal {

using service::Caller;

grpc::ServerUnaryReactor* OvgsService::CreateGroup(grpc::CallbackServerContext* context,
                                                   const ovgs::v1::CreateGroupRequest* request,
                                                   ovgs::v1::CreateGroupResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("parent", request->parent()));
    MASA_RETURN_IF_ERROR(Required("description", request->description()));
    MASA_ASSIGN_OR_RETURN(
        service::GroupInfo group,
        services_.organizations->CreateGroup(caller, request->parent(), request->description()));
    response->set_group_id(group.group_id);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OvgsService::GetGroup(grpc::CallbackServerContext* context,
                                                const ovgs::v1::GetGroupRequest* request,
                                                ovgs::v1::GetGroupResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    MASA_ASSIGN_OR_RETURN(service::GroupDetails group,
                          services_.organizations->GetGroup(caller, request->group_id()));
    response->set_group_id(group.group.group_id);
    for (const std::string& id : group.cert_ids) response->add_cert_ids(id);
    for (const service::SerialRef& serial : group.components) {
      EncodeComponent(serial, response->add_components());
    }
    for (const service::GroupMember& member : group.users) {
      ovgs::v1::User* user = response->add_users();
      user->set_username(member.user.username);
      user->set_user_type(EncodeKind(member.user.kind));
      user->set_org_id(member.user.organization_id);
      user->set_user_role(EncodeRole(member.role));
    }
    for (const std::string& id : group.child_group_ids) response->add_child_group_ids(id);
    response->set_description(group.group.name);
    for (const auto& [org, sources] : group.delegated_orgs) {
      ovgs::v1::GroupList& list = (*response->mutable_delegated_orgs())[org];
      for (const std::string& id : sources) list.add_group_ids(id);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OvgsService::DeleteGroup(grpc::CallbackServerContext* context,
                                                   const ovgs::v1::DeleteGroupRequest* request,
                                                   ovgs::v1::DeleteGroupResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    return services_.organizations->DeleteGroup(caller, request->group_id());
  });
}

grpc::ServerUnaryReactor* OvgsService::AddGroupDelegatedOrg(
    grpc::CallbackServerContext* context, const ovgs::v1::AddGroupDelegatedOrgRequest* request,
    ovgs::v1::AddGroupDelegatedOrgResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    MASA_RETURN_IF_ERROR(Required("org_id", request->org_id()));
    return services_.organizations->AddDelegatedOrganization(caller, request->group_id(),
                                                             request->org_id());
  });
}

grpc::ServerUnaryReactor* OvgsService::RemoveGroupDelegatedOrg(
    grpc::CallbackServerContext* context, const ovgs::v1::RemoveGroupDelegatedOrgRequest* request,
    ovgs::v1::RemoveGroupDelegatedOrgResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    MASA_RETURN_IF_ERROR(Required("org_id", request->org_id()));
    return services_.organizations->RemoveDelegatedOrganization(caller, request->group_id(),
                                                                request->org_id());
  });
}

grpc::ServerUnaryReactor* OvgsService::AddUserRole(grpc::CallbackServerContext* context,
                                                   const ovgs::v1::AddUserRoleRequest* request,
                                                   ovgs::v1::AddUserRoleResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(service::UserRef user,
                          DecodeUser(request->username(), request->user_type(), request->org_id()));
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    MASA_ASSIGN_OR_RETURN(service::Role role, DecodeRole("user_role", request->user_role()));
    return services_.principals->AddUserRole(caller, user, request->group_id(), role).status();
  });
}

grpc::ServerUnaryReactor* OvgsService::RemoveUserRole(
    grpc::CallbackServerContext* context, const ovgs::v1::RemoveUserRoleRequest* request,
    ovgs::v1::RemoveUserRoleResponse*) {
  return calls_.Unary(context, [this, request](const Caller& caller) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(service::UserRef user,
                          DecodeUser(request->username(), request->user_type(), request->org_id()));
    MASA_RETURN_IF_ERROR(Required("group_id", request->group_id()));
    return services_.principals->RemoveUserRole(caller, user, request->group_id());
  });
}

grpc::ServerUnaryReactor* OvgsService::GetUserRole(grpc::CallbackServerContext* context,
                                                   const ovgs::v1::GetUserRoleRequest* request,
                                                   ovgs::v1::GetUserRoleResponse* response) {
  return calls_.Unary(context, [this, request, response](const Caller& caller) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(service::UserRef user,
                          DecodeUser(request->username(), request->user_type(), request->org_id()));
    MASA_ASSIGN_OR_RETURN(auto roles, services_.principals->GetUserRoles(caller, user));
    for (const auto& [group_id, role] : roles) {
      (*response->mutable_groups())[group_id] = EncodeRole(role);
    }
    return absl::OkStatus();
  });
}

}  // namespace masa::api::grpc_internal
